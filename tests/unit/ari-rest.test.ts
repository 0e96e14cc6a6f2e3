// The lean ARI REST client against a local HTTP server standing in for Asterisk's REST API:
// the requests it sends (method, path, query, body, credentials), Asterisk's errors as messages
// the adapter matches ("not found", "already exists"), kept-alive connections, and timeouts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AriRest, AriRestError } from '../../src/telephony/ari/ari-rest.js';

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  auth: string | undefined;
  body: string;
}

type Answer = (seen: Seen) => { status: number; body?: unknown } | 'never';

async function fakeAri(answer: Answer): Promise<{ url: string; seen: Seen[]; connections: () => number; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const s: Seen = { method: req.method ?? '', path: u.pathname, query: Object.fromEntries(u.searchParams), auth: req.headers.authorization, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(s);
      const a = answer(s);
      if (a === 'never') return;
      const text = a.body === undefined ? '' : JSON.stringify(a.body);
      res.writeHead(a.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(answer: Answer, timeoutMs = 5000) {
  const ari = await fakeAri(answer);
  const rest = new AriRest({ url: ari.url, username: 'liandong', password: 's3cret', maxSockets: 4, timeoutMs });
  cleanups.push(() => ari.close(), () => rest.close());
  return { ari, rest };
}

describe('AriRest', () => {
  it('originates with our channel id in the path, parameters in the query and channel variables in a JSON body', async () => {
    const { ari, rest } = await setup(() => ({ status: 200, body: { id: 'o1-a1' } }));
    await rest.originate('o1-a1', { endpoint: 'PJSIP/70591@trunk', app: 'liandong', appArgs: 'outbound', timeout: 30, callerId: undefined }, { LIANDONG_ORDER: 'o1' });
    const s = ari.seen[0] as Seen;
    expect(s.method).toBe('POST');
    expect(s.path).toBe('/ari/channels/o1-a1');
    expect(s.query).toEqual({ endpoint: 'PJSIP/70591@trunk', app: 'liandong', appArgs: 'outbound', timeout: '30' });
    expect(JSON.parse(s.body)).toEqual({ variables: { LIANDONG_ORDER: 'o1' } });
    expect(s.auth).toBe(`Basic ${Buffer.from('liandong:s3cret').toString('base64')}`);
  });

  it('plays several media as one comma-separated parameter, and stops, answers and hangs up by id', async () => {
    const { ari, rest } = await setup(() => ({ status: 204 }));
    await rest.play('c1', 'p1', ['sound:http://127.0.0.1:3000/media/a.wav', 'sound:http://127.0.0.1:3000/media/b.wav']);
    await rest.stopPlayback('p1');
    await rest.answer('c1');
    await rest.hangup('c1', 'busy');
    expect(ari.seen.map((s) => `${s.method} ${s.path} ${new URLSearchParams(s.query).toString()}`)).toEqual([
      'POST /ari/channels/c1/play/p1 media=sound%3Ahttp%3A%2F%2F127.0.0.1%3A3000%2Fmedia%2Fa.wav%2Csound%3Ahttp%3A%2F%2F127.0.0.1%3A3000%2Fmedia%2Fb.wav',
      'DELETE /ari/playbacks/p1 ',
      'POST /ari/channels/c1/answer ',
      'DELETE /ari/channels/c1 reason=busy',
    ]);
  });

  it('asks for the event types the app uses as its event filter', async () => {
    const { ari, rest } = await setup(() => ({ status: 200, body: { name: 'liandong' } }));
    await rest.setEventFilter('liandong', ['StasisStart', 'ChannelDestroyed']);
    const s = ari.seen[0] as Seen;
    expect([s.method, s.path]).toEqual(['PUT', '/ari/applications/liandong/eventFilter']);
    expect(JSON.parse(s.body)).toEqual({ allowed: [{ type: 'StasisStart' }, { type: 'ChannelDestroyed' }] });
  });

  it("rejects with Asterisk's own message and the status, so 'not found' and 'already exists' are recognised", async () => {
    const { rest } = await setup((s) => (s.method === 'DELETE'
      ? { status: 404, body: { message: 'Channel not found' } }
      : { status: 409, body: { message: 'Channel with given unique ID already exists' } }));
    const gone = await rest.hangup('c9', 'normal').then(() => undefined, (e: unknown) => e);
    expect(gone).toBeInstanceOf(AriRestError);
    expect((gone as AriRestError).status).toBe(404);
    expect((gone as Error).message).toMatch(/not found/i);
    await expect(rest.originate('c9', { endpoint: 'Local/1@x', app: 'a' }, {})).rejects.toThrow(/already exists.*HTTP 409/);
  });

  it('reuses its connections instead of opening one per request', async () => {
    const { ari, rest } = await setup(() => ({ status: 204 }));
    for (let i = 0; i < 20; i += 1) await rest.answer(`c${i}`);
    expect(ari.seen).toHaveLength(20);
    expect(ari.connections()).toBe(1);
  });

  it('fails a request Asterisk never answers after its timeout, with a reason', async () => {
    const { rest } = await setup(() => 'never', 200);
    await expect(rest.answer('c1')).rejects.toThrow(/timed out after 200 ms/);
  });

  it('refuses an ARI URL that is not http://', () => {
    expect(() => new AriRest({ url: 'ws://127.0.0.1:8088', username: 'u', password: 'p', maxSockets: 1, timeoutMs: 1000 })).toThrow(/must be http/);
  });
});
