// The console's server side without Asterisk: static files with their security headers, the
// session check, the board snapshot, and the live event stream over a real socket (SSE), with
// the stream's query token kept out of the log.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { consoleStatic, loadConsoleFiles } from '../../src/console/console.plugin.js';
import { OrderFeed } from '../../src/console/order-feed.js';
import { loadConfig } from '../../src/config.js';
import { run } from '../../src/db/sql.js';
import type { Engine } from '../../src/db/store.js';
import { buildApp } from '../../src/http/app.js';
import { eventRoutes } from '../../src/http/events.routes.js';
import { createLogger } from '../../src/logging.js';
import { ENGINES } from '../support/engines.js';
import { Fixture } from './reports-fixtures.js';
import { healthyProbe } from '../support/health.js';

const DESK = { authorization: 'Bearer dev-desk-token' };
const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

async function setup(intervalMs = 50, engine: Engine = 'sqlite') {
  const f = await Fixture.open(engine);
  open.push(() => f.close());
  const lines: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done(); } });
  const logger = createLogger('debug', sink);
  const config = loadConfig({}, 'dev');
  const feed = new OrderFeed(f.store, logger, intervalMs);
  const app = await buildApp({
    config,
    logger,
    health: healthyProbe(),
    apiRoutes: async (i) => {
      await i.register(consoleStatic, { files: loadConsoleFiles(), config });
      await i.register(eventRoutes, { store: f.store, feed });
    },
  });
  // Closed before the fixture's store (afterEach closes in reverse order of opening).
  open.push(() => app.close());
  return { app, f, feed, lines };
}

/** Reads an SSE response's frames as they come. */
function readStream(res: http.IncomingMessage) {
  let buffer = '';
  const frames: Array<{ id?: string; event?: string; data?: string }> = [];
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const raw = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const frame: Record<string, string> = {};
      for (const line of raw.split('\n')) {
        const m = /^([a-z]+): (.*)$/.exec(line);
        if (m?.[1] && m[2] !== undefined) frame[m[1]] = m[2];
      }
      if (Object.keys(frame).length > 0) frames.push(frame);
    }
  });
  return frames;
}

describe('console static files', () => {
  it('serves the app with a strict content security policy, no CDN, and 304 on a matching ETag', async () => {
    const { app } = await setup();
    const index = await app.inject({ method: 'GET', url: '/console/' });
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['content-security-policy']).toContain("script-src 'self'");
    expect(index.headers['x-frame-options']).toBe('DENY');
    expect(index.body).toContain('<script type="module" src="app.js">');
    for (const name of ['app.js', 'board.js', 'case.js', 'assessment.js', 'register.js', 'disputes.js', 'feed.js', 'api.js', 'dom.js', 'i18n.js', 'style.css']) {
      const res = await app.inject({ method: 'GET', url: `/console/${name}` });
      expect(res.statusCode, name).toBe(200);
      expect(res.body, name).not.toMatch(/https?:\/\/(?!www\.w3\.org)/); // nothing from the internet
    }
    const js = await app.inject({ method: 'GET', url: '/console/app.js' });
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    const again = await app.inject({ method: 'GET', url: '/console/app.js', headers: { 'if-none-match': String(js.headers.etag) } });
    expect(again.statusCode).toBe(304);
    expect((await app.inject({ method: 'GET', url: '/console' })).headers.location).toBe('/console/');
    expect((await app.inject({ method: 'GET', url: '/console/missing.js' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/console/tsconfig.json' })).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: '/console/..%2fconsole.plugin.ts' })).statusCode).toBe(400);
  });

  it('session says which role the token has; no token is 401', async () => {
    const { app } = await setup();
    expect((await app.inject({ method: 'GET', url: '/api/v1/session', headers: { authorization: 'Bearer dev-viewer-token' } })).json()).toEqual({ role: 'viewer', timezone: 'Asia/Shanghai', language: 'zh-CN' });
    expect((await app.inject({ method: 'GET', url: '/api/v1/session' })).statusCode).toBe(401);
  });
});

describe.each(ENGINES)('board snapshot on %s', (engine) => {
  it('gives the newest orders with their calls and acceptance, and the event id to continue from', async () => {
    const { app, f } = await setup(50, engine);
    f.order('o1', 'tourism', '2026-11-01T01:00:00.000Z').attempt('o1', 'no_answer').attempt('o1', 'accepted', { contactIndex: 1 }).acceptance('o1', 9.5);
    await f.order('o2', 'education', '2026-11-01T02:00:00.000Z', 'dispatching').attempt('o2', null).flush();
    const res = await app.inject({ method: 'GET', url: '/api/v1/board?limit=10', headers: DESK });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ lastEventId: number; orders: Array<{ id: string; status: string; attempts: Array<{ result: string | null; contactId: string }>; acknowledgement: { secondsToAccept: number } | null }> }>();
    expect(body.lastEventId).toBe(5); // 2 order_created + 3 attempt_started
    expect(body.orders.map((o) => [o.id, o.status])).toEqual([['o2', 'dispatching'], ['o1', 'accepted']]);
    expect(body.orders[1]?.attempts.map((a) => [a.contactId, a.result])).toEqual([['c0', 'no_answer'], ['c1', 'accepted']]);
    expect(body.orders[1]?.acknowledgement?.secondsToAccept).toBe(9.5);
    expect(body.orders[0]?.attempts[0]?.result).toBeNull();
    expect(JSON.stringify(body)).not.toContain('13800138000');
    expect((await app.inject({ method: 'GET', url: '/api/v1/board', headers: { authorization: 'Bearer dev-department-token' } })).statusCode).toBe(403);
  });
});

describe.each(ENGINES)('live order stream (server-sent events) on %s', (engine) => {
  it('catches up from ?after=, then pushes each change; the token in the URL is never logged', async () => {
    const { app, f, lines } = await setup(50, engine);
    await f.order('o1', 'tourism', '2026-11-01T01:00:00.000Z', 'dispatching').flush();
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(`http://127.0.0.1:${port}/api/v1/events/orders?token=dev-viewer-token&after=0`, resolve).on('error', reject);
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const frames = readStream(res);
    await expect.poll(() => frames.some((fr) => fr.event === 'ready'), { timeout: 3000 }).toBe(true);
    const first = frames.find((fr) => fr.event === 'order');
    expect(first?.id).toBe('1');
    expect(JSON.parse(first?.data ?? '{}')).toMatchObject({ eventId: 1, kinds: ['order_created'], order: { id: 'o1', status: 'dispatching', attempts: [] } });

    // A call is placed and accepted: the stream brings the new row without asking.
    await f.attempt('o1', 'accepted').acceptance('o1', 4.2).flush();
    await run(f.store.db, sql`UPDATE orders SET status = 'accepted' WHERE id = 'o1'`);
    await f.event('o1', 'acceptance_committed').flush();
    await expect.poll(() => frames.filter((fr) => fr.event === 'order').length, { timeout: 3000 }).toBe(2);
    const second = JSON.parse(frames.filter((fr) => fr.event === 'order')[1]?.data ?? '{}') as { eventId: number; kinds: string[]; order: { status: string; attempts: unknown[] } };
    expect(second).toMatchObject({ eventId: 3, kinds: ['attempt_started', 'acceptance_committed'], order: { status: 'accepted' } });
    expect(second.order.attempts).toHaveLength(1);

    expect((await app.inject({ method: 'GET', url: '/api/v1/board', headers: DESK })).statusCode).toBe(200);
    // The service stops with the stream open: the stream ends instead of holding the close.
    const ended = new Promise<void>((resolve) => res.on('end', resolve));
    await app.close();
    await ended;
    const log = lines.join('');
    expect(log).toMatch(/"route":"\/api\/v1\/board","status":200,"ms":[0-9.]+,"msg":"request"/); // other requests are logged (at debug) …
    expect(log).not.toContain('dev-viewer-token'); // … but never the stream's URL with the token
  });

  it('refuses a wrong token (401) and a department token (403), like any route', async () => {
    const { app } = await setup(50, engine);
    expect((await app.inject({ method: 'GET', url: '/api/v1/events/orders?token=not-a-real-token' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/api/v1/events/orders?token=dev-department-token' })).statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/api/v1/events/orders?token=dev-desk-token&after=x' })).statusCode).toBe(400);
  });

  it('a reconnect resumes after Last-Event-ID with nothing repeated', async () => {
    const { f, feed } = await setup(60_000, engine); // stepped by hand
    await f.order('a', 'tourism', '2026-11-01T01:00:00.000Z').order('b', 'tourism', '2026-11-01T02:00:00.000Z').flush();
    const seen: string[] = [];
    const first = await feed.subscribe((ms) => seen.push(...ms.map((m) => `${m.order.id}@${m.eventId}`)), 1);
    expect(first.catchUp.map((m) => `${m.order.id}@${m.eventId}`)).toEqual(['b@2']);
    await f.event('a', 'attempt_started').flush();
    await feed.tick();
    await feed.tick(); // nothing new: nothing sent twice
    expect(seen).toEqual(['a@3']);
    first.unsubscribe();
    expect(feed.subscribers).toBe(0);
  });
});
