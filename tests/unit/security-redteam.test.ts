// The holes a hostile tester found (issue 13), each tried again against the composed service:
// rate-limit bypasses through the router's decoding and absolute-form request lines, unlimited
// token guessing, tokens in logs, one token holding every event stream, errors in Fastify's own
// shape echoing the path, text bodies, missing security headers, numbers in clear.
// Requests that the router must see byte for byte go over a real socket (net), not app.inject.
import net from 'node:net';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createServices, type Services } from '../../src/composition.js';
import { first } from '../../src/db/sql.js';
import { FailedAuthLimiter } from '../../src/http/auth-failures.js';
import { MAX_STREAMS_PER_TOKEN } from '../../src/http/events.routes.js';
import { createLogger } from '../../src/logging.js';

const open: Services[] = [];
afterAll(async () => {
  for (const s of open) await s.close();
});

/** The whole composed service on a loopback port; `env` overrides the dev profile. */
async function serve(env: Record<string, string> = {}, lines?: string[]): Promise<{ s: Services; port: number }> {
  const logger = lines ? createLogger('debug', { write: (line: string) => void lines.push(line) }) : createLogger('silent');
  const s = await createServices(loadConfig({ LIANDONG_DB: ':memory:', LOG_LEVEL: lines ? 'info' : 'silent', ...env }, 'dev'), { logger });
  open.push(s);
  await s.app.listen({ host: '127.0.0.1', port: 0 });
  return { s, port: (s.app.server.address() as AddressInfo).port };
}

const orderCount = async (s: Services) => (await first(s.store.db, sql<{ n: number }>`SELECT count(*) AS n FROM orders`))?.n;

interface RawResponse { status: number; headers: string; body: string }

/** Sends `head` (+ body) exactly as written over a fresh connection and reads the whole answer. */
function raw(port: number, head: string, body = ''): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), headers: text.slice(0, split), body: text.slice(split + 4) });
    });
    socket.end(`${head}\r\nConnection: close\r\n\r\n${body}`);
  });
}

const DESK = 'Authorization: Bearer dev-desk-token';

describe('rate limit keyed on the matched route (the raw URL no longer decides)', () => {
  async function statuses(port: number, send: () => Promise<RawResponse>, n: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < n; i += 1) out.push((await send()).status);
    void port;
    return out;
  }

  it('limits the plain path, the percent-encoded path /%61pi/v1/session and the absolute-form request line alike', async () => {
    for (const target of ['/api/v1/session', '/%61pi/v1/session', 'http://127.0.0.1/api/v1/session', '/%61%70%69/v1/session']) {
      const { port } = await serve({ LIANDONG_API_RATE_LIMIT: '5' });
      const got = await statuses(port, () => raw(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${DESK}`), 7);
      // The first five reach the route (it is matched), then the budget is spent.
      expect(got, target).toEqual([200, 200, 200, 200, 200, 429, 429]);
    }
  });

  it('limits POST /%61pi/v1/orders: the sixth order is refused with 429 before it is stored', async () => {
    const { s, port } = await serve({ LIANDONG_API_RATE_LIMIT: '5' });
    const body = JSON.stringify({ externalId: 'x', category: 'no-such-category', summary: 's', address: 'a', reporterPhone: '13800138000', urgency: 'normal' });
    const post = () => raw(port, `POST /%61pi/v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\n${DESK}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}`, body);
    const got = await statuses(port, post, 6);
    expect(got.slice(0, 5)).toEqual([400, 400, 400, 400, 400]); // routed to the orders route: unknown category
    expect(got[5]).toBe(429);
    const limited = await post();
    expect(JSON.parse(limited.body)).toMatchObject({ error: { code: 'rate_limited' } });
    expect(await orderCount(s)).toBe(0);
  });

  it('limits requests that match no route (keyed by address), and never /healthz', async () => {
    const { port } = await serve({ LIANDONG_API_RATE_LIMIT: '3' });
    const got = await statuses(port, () => raw(port, 'GET /%61pi/v1/nothing-here HTTP/1.1\r\nHost: 127.0.0.1'), 4);
    expect(got).toEqual([404, 404, 404, 429]);
    for (let i = 0; i < 5; i += 1) expect((await raw(port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1')).status).not.toBe(429);
  });
});

describe('failed authentication limited per client address', () => {
  it('answers 429 to the 21st refused token in a minute from one address, also for a right token then, while other addresses go on', async () => {
    const s = (await serve()).s;
    const get = (token: string, remoteAddress: string) =>
      s.app.inject({ method: 'GET', url: '/api/v1/orders', remoteAddress, headers: { authorization: `Bearer ${token}` } });
    const guesses: number[] = [];
    for (let i = 0; i < 21; i += 1) guesses.push((await get(`guess-${i}-aaaaaaaaaaaa`, '10.9.9.9')).statusCode);
    expect(guesses.slice(0, 20)).toEqual(Array.from({ length: 20 }, () => 401));
    expect(guesses[20]).toBe(429);
    const blocked = await get('dev-desk-token', '10.9.9.9');
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json()).toMatchObject({ error: { code: 'too_many_auth_failures' } });
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await get('dev-desk-token', '10.9.9.10')).statusCode).toBe(200);
    // Missing tokens count as refused too.
    for (let i = 0; i < 20; i += 1) await s.app.inject({ method: 'GET', url: '/api/v1/orders', remoteAddress: '10.9.9.11' });
    expect((await s.app.inject({ method: 'GET', url: '/api/v1/orders', remoteAddress: '10.9.9.11' })).statusCode).toBe(429);
  });

  it('forgets an address after its minute (fixed window)', () => {
    let t = 0;
    const limiter = new FailedAuthLimiter(3, 60_000, () => t);
    for (let i = 0; i < 3; i += 1) limiter.recordFailure('a');
    expect(limiter.blockedFor('a')).toBe(60);
    t = 59_000;
    expect(limiter.blockedFor('a')).toBe(1);
    t = 60_000;
    expect(limiter.blockedFor('a')).toBe(0);
  });
});

describe('tokens never reach a log', () => {
  it('logs each request by its route pattern, never its URL (the token, a number in a filter)', async () => {
    const lines: string[] = [];
    const { s } = await serve({}, lines);
    const secret = 'dev-desk-token';
    for (const url of ['/api/v1/orders', '/api/v1/board', '/api/v1/session', '/healthz', '/no/such/route', '/api/v1/orders/abc']) {
      await s.app.inject({ method: 'GET', url: `${url}?token=${secret}&phone=13800138000` });
    }
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.join('\n')).toMatch(/"method":"GET","route":"\/api\/v1\/board","status":401/);
    expect(lines.join('\n')).toMatch(/"route":"unmatched","status":404/);
    for (const line of lines) {
      expect(line).not.toContain(secret);
      expect(line).not.toContain('13800138000');
    }
  });
});

describe('event streams per token', () => {
  const sockets: http.ClientRequest[] = [];
  afterEach(() => {
    for (const r of sockets.splice(0)) r.destroy();
  });

  function stream(port: number, token: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/api/v1/events/orders', headers: { authorization: `Bearer ${token}` } }, (res) => {
        resolve(res.statusCode ?? 0);
        if (res.statusCode !== 200) res.resume();
      });
      req.on('error', reject);
      sockets.push(req);
    });
  }

  it(`lets one token hold at most ${MAX_STREAMS_PER_TOKEN} streams (429 beyond), leaving room for every other console`, async () => {
    const { port } = await serve();
    const mine: number[] = [];
    for (let i = 0; i <= MAX_STREAMS_PER_TOKEN; i += 1) mine.push(await stream(port, 'dev-desk-token'));
    expect(mine).toEqual([...Array.from({ length: MAX_STREAMS_PER_TOKEN }, () => 200), 429]);
    expect(await stream(port, 'dev-viewer-token')).toBe(200);
    // A closed stream gives its slot back.
    sockets[0]?.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect(await stream(port, 'dev-desk-token')).toBe(200);
  });
});

describe('one error shape, security headers, JSON only', () => {
  const errorShape = { error: { code: expect.any(String) as string, message: expect.any(String) as string } };

  it("gives Fastify's own router failures the {error:{code,message}} shape without echoing the path", async () => {
    const { s, port } = await serve();
    const long = `/api/v1/orders/${'probe'.repeat(40)}`;
    const tooLong = await s.app.inject({ method: 'GET', url: long, headers: { authorization: 'Bearer dev-desk-token' } });
    expect(tooLong.statusCode).toBe(414);
    expect(tooLong.json()).toEqual({ error: { code: 'uri_too_long', message: expect.any(String) as string } });
    expect(tooLong.body).not.toContain('probeprobe');

    const badUrl = await raw(port, 'GET /api/v1/orders/%E0%A4%A-probe HTTP/1.1\r\nHost: x');
    expect(badUrl.status).toBe(400);
    expect(JSON.parse(badUrl.body)).toEqual({ error: { code: 'bad_url', message: expect.any(String) as string } });
    expect(badUrl.body).not.toContain('probe');

    const notFound = await raw(port, 'GET /api/v1/secret-probe HTTP/1.1\r\nHost: x');
    expect(notFound.status).toBe(404);
    expect(JSON.parse(notFound.body)).toEqual(errorShape);
    expect(notFound.body).not.toContain('secret-probe');
  });

  it("gives the HTTP parser's 431 and 400 the same shape and headers, echoing nothing", async () => {
    const { port } = await serve();
    const big = await raw(port, `GET /api/v1/orders HTTP/1.1\r\nHost: x\r\nX-Probe: ${'p'.repeat(20_000)}`);
    expect(big.status).toBe(431);
    expect(JSON.parse(big.body)).toEqual({ error: { code: 'headers_too_large', message: expect.any(String) as string } });
    const garbage = await raw(port, 'HELLO /probe-path\u0001 HTTP/9\r\nHost: x');
    expect(garbage.status).toBe(400);
    expect(JSON.parse(garbage.body)).toEqual({ error: { code: 'bad_request', message: expect.any(String) as string } });
    expect(garbage.body).not.toContain('probe');
    for (const r of [big, garbage]) {
      expect(r.headers).toMatch(/\r\nX-Content-Type-Options: nosniff\r\n/i);
      expect(r.headers).toMatch(/\r\nCache-Control: no-store\r\n/i);
    }
  });

  it('refuses a text/plain body with 415', async () => {
    const { s } = await serve();
    const res = await s.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { authorization: 'Bearer dev-desk-token', 'content-type': 'text/plain' }, payload: 'hello' });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ error: { code: 'unsupported_media_type' } });
    expect(await orderCount(s)).toBe(0);
  });

  it('sends nosniff and no-store on API answers, successes and failures alike', async () => {
    const { s } = await serve();
    for (const [url, authorization] of [['/api/v1/orders', 'Bearer dev-desk-token'], ['/api/v1/orders', undefined], ['/api/v1/nothing', undefined], ['/api/v1/orders/none', 'Bearer dev-desk-token']] as const) {
      const res = await s.app.inject({ method: 'GET', url, headers: authorization ? { authorization } : {} });
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['cache-control'], url).toBe('no-store');
    }
  });
});

describe('numbers in responses', () => {
  it('shows contact, command-centre and leader numbers to the admin only; desk, viewer and department see them masked', async () => {
    const { s } = await serve();
    const get = (url: string, token: string) => s.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } }).then((r) => r.json<Record<string, unknown>>());
    type Depts = { departments: Array<{ contacts: Array<{ number: string }> }> };
    type Dir = { commandCentre: { number: string }; leaders: Array<{ number: string }> };
    const clear = ((await get('/api/v1/departments', 'dev-admin-token')) as unknown as Depts).departments.flatMap((d) => d.contacts.map((c) => c.number));
    expect(clear.length).toBeGreaterThan(0);
    for (const n of clear) expect(n).toMatch(/^\+?[0-9]+$/);
    for (const token of ['dev-desk-token', 'dev-viewer-token', 'dev-department-token']) {
      const masked = ((await get('/api/v1/departments', token)) as unknown as Depts).departments.flatMap((d) => d.contacts.map((c) => c.number));
      expect(masked.length).toBe(clear.length);
      for (const n of masked) expect(n, token).toMatch(/\*/);
    }
    const dirAdmin = (await get('/api/v1/directory', 'dev-admin-token')) as unknown as Dir;
    expect(dirAdmin.commandCentre.number).toMatch(/^\+?[0-9]+$/);
    for (const token of ['dev-desk-token', 'dev-viewer-token']) {
      const dir = (await get('/api/v1/directory', token)) as unknown as Dir;
      for (const e of [dir.commandCentre, ...dir.leaders]) expect(e.number, token).toMatch(/\*/);
    }
  });
});
