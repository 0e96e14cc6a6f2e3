// The console's live board: a snapshot of recent orders, then server-sent events as orders change.
// EventSource cannot set headers, so the stream (and only the stream) also takes the bearer token
// as `?token=`; the route logs at warn level, so the URL carrying the token is never logged.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { recentBoard } from '../console/board.js';
import type { FeedMessage, OrderFeed } from '../console/order-feed.js';
import type { Store } from '../db/store.js';
import { errorBodySchema, HttpError } from './errors.js';
import { boardSchema, textResponse } from './response-schemas.js';

/** Streams open at once; a console is one stream, so this is generous for a county. */
const MAX_STREAMS = 100;
/**
 * Streams one credential may hold at once (a few browser tabs), so that one token — leaked, or
 * a runaway script — cannot take every slot of MAX_STREAMS and lock the other consoles out.
 */
export const MAX_STREAMS_PER_TOKEN = 5;
/** A comment line this often keeps proxies and idle timers from closing the stream, ms. */
const HEARTBEAT_MS = 15_000;
/** A console that reads slower than this much queued output is cut off (it reconnects and catches up), bytes. */
const MAX_QUEUED_BYTES = 1024 * 1024;
/** How long EventSource waits before reconnecting, ms (sent as `retry:`). */
const RECONNECT_MS = 2000;

const boardQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: { type: 'string', pattern: '^(200|1[0-9]{2}|[1-9][0-9]?)$' } },
} as const;
const streamQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    token: { type: 'string', minLength: 1, maxLength: 512 },
    after: { type: 'string', pattern: '^[0-9]{1,15}$' },
  },
} as const;

type StreamQuery = { token?: string; after?: string };

/** For the stream only: a `?token=` stands in for the Authorization header EventSource cannot send. */
async function tokenFromQuery(request: FastifyRequest): Promise<void> {
  const { token } = request.query as StreamQuery;
  if (request.headers.authorization === undefined && typeof token === 'string') request.headers.authorization = `Bearer ${token}`;
  return Promise.resolve();
}

/** Where a (re)connecting console resumes: EventSource's Last-Event-ID, else `?after=`, else now. */
function resumePoint(request: FastifyRequest<{ Querystring: StreamQuery }>): number | undefined {
  const header = request.headers['last-event-id'];
  if (typeof header === 'string' && header !== '') {
    if (!/^[0-9]{1,15}$/.test(header)) throw new HttpError(400, 'invalid_request', 'Last-Event-ID must be an event id (digits)');
    return Number(header);
  }
  return request.query.after === undefined ? undefined : Number(request.query.after);
}

const frame = (m: FeedMessage): string => `id: ${m.eventId}\nevent: order\ndata: ${JSON.stringify(m)}\n\n`;

export const eventRoutes: FastifyPluginAsync<{ store: Store; feed: OrderFeed }> = async (app, { store, feed }) => {
  const streams = new Set<() => void>();
  /** Open streams per credential id (auth.ts); an entry is removed when its count reaches 0. */
  const perToken = new Map<string, number>();

  app.get<{ Querystring: { limit?: string } }>(
    '/api/v1/board',
    { onRequest: app.requireRole('desk', 'viewer'), schema: { querystring: boardQuery, response: { 200: boardSchema } } },
    async (request) => recentBoard(store.db, Number(request.query.limit ?? 50)),
  );

  app.get<{ Querystring: StreamQuery }>(
    '/api/v1/events/orders',
    { logLevel: 'warn', onRequest: [tokenFromQuery, app.requireRole('desk', 'viewer')], schema: { querystring: streamQuery, response: { 200: textResponse('text/event-stream', 'server-sent events: order and call changes, a snapshot first (the token may come as ?token= since EventSource sends no header)'), 503: errorBodySchema } } },
    async (request, reply) => {
      const owner = request.credentialId ?? 'unknown';
      if ((perToken.get(owner) ?? 0) >= MAX_STREAMS_PER_TOKEN) throw new HttpError(429, 'too_many_streams_for_token', `at most ${MAX_STREAMS_PER_TOKEN} live consoles per token; close one first`);
      if (streams.size >= MAX_STREAMS) throw new HttpError(503, 'too_many_streams', `at most ${MAX_STREAMS} live consoles at once`);
      const after = resumePoint(request);
      reply.hijack();
      const res: ServerResponse = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-content-type-options': 'nosniff',
      });
      let open = true;
      let unsubscribe: (() => void) | undefined;
      perToken.set(owner, (perToken.get(owner) ?? 0) + 1);
      const close = () => {
        if (!open) return;
        open = false;
        clearInterval(heartbeat);
        unsubscribe?.();
        streams.delete(close);
        const left = (perToken.get(owner) ?? 1) - 1;
        if (left > 0) perToken.set(owner, left);
        else perToken.delete(owner);
        res.end();
      };
      const send = (messages: readonly FeedMessage[]) => {
        for (const m of messages) res.write(frame(m));
        if (res.writableLength > MAX_QUEUED_BYTES) close();
      };
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      streams.add(close);
      request.raw.on('close', close);
      res.write(`retry: ${RECONNECT_MS}\n\n`);
      try {
        const subscription = await feed.subscribe(send, after);
        if (!open) {
          subscription.unsubscribe(); // the console left while the feed read its catch-up
          return;
        }
        unsubscribe = subscription.unsubscribe;
        send(subscription.catchUp);
        // The feed position as an id: a reconnect resumes from here even if no order changed.
        res.write(`id: ${subscription.position}\nevent: ready\ndata: ${JSON.stringify({ position: subscription.position })}\n\n`);
      } catch (err) {
        // Headers are sent: the stream ends and EventSource reconnects after RECONNECT_MS.
        request.log.error({ err }, 'order feed could not subscribe the console');
        close();
      }
    },
  );

  // Open streams would hold app.close() forever: end them first.
  app.addHook('preClose', async () => {
    for (const close of [...streams]) close();
    feed.close();
    return Promise.resolve();
  });
  return Promise.resolve();
};
