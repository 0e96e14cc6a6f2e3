// HTTP security: every /api route of the whole composed service states a role (no token → 401,
// unknown token → 401); tokens are compared in constant time; the API is rate limited.
import { createHash } from 'node:crypto';
import type * as NodeCrypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config.js';
import { createServices, type Services } from '../../src/composition.js';
import { buildApp } from '../../src/http/app.js';
import { makeRoleGuard } from '../../src/http/auth.js';
import { rateLimitKey } from '../../src/http/rate-limit.js';
import { createLogger } from '../../src/logging.js';
import { healthyProbe } from '../support/health.js';

const crypto = vi.hoisted(() => ({ compares: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof NodeCrypto>();
  return {
    ...actual,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      crypto.compares += 1;
      return actual.timingSafeEqual(a, b);
    },
  };
});

/** Routes that answer without a token, and why. Anything else must refuse anonymous callers. */
const PUBLIC: ReadonlyArray<{ readonly pattern: RegExp; readonly why: string }> = [
  { pattern: /^GET \/healthz$/, why: 'monitoring; reveals no data' },
  { pattern: /^GET \/media\//, why: 'Asterisk fetches prompt audio by content hash' },
  { pattern: /^GET \/console(\/.*)?$/, why: 'static console page and its files; its data comes from /api with a token' },
  { pattern: /^GET \/api\/v1\/openapi\.json$/, why: 'the OpenAPI document: routes and schemas, no data' },
  { pattern: /^GET \/docs(\/.*)?$/, why: 'the API reference UI and its static files; no data' },
];
/** Server-sent event streams never end: the admin check only looks at whether they start. */
const STREAMS = /^GET \/api\/v1\/events\//;

/** Every method and path of the app, from Fastify's route tree (commonPrefix off: full segments). */
export function routesOf(app: FastifyInstance): Array<{ method: string; path: string }> {
  const out: Array<{ method: string; path: string }> = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (.+?)(?: \(([A-Z, -]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = (m[1] as string).length / 4;
    stack.length = depth;
    stack.push(m[2] as string);
    const methods = (m[3] ?? '').split(', ').filter((x) => /^[A-Z]+$/.test(x) && x !== 'HEAD');
    for (const method of methods) out.push({ method, path: stack.join('') });
  }
  return out;
}

let services: Services;
beforeAll(async () => {
  // Every route is probed with refused tokens from one address: the failed-authentication limit
  // (tested in security-redteam.test.ts) is raised so these probes see 401, not 429.
  services = await createServices(loadConfig({ LIANDONG_DB: ':memory:', LOG_LEVEL: 'silent', LIANDONG_AUTH_FAILURES_PER_MINUTE: '100000' }, 'dev'), { logger: createLogger('silent') });
  await services.app.ready();
});
afterAll(async () => {
  await services?.close();
});

describe('a role on every route', () => {
  it('finds the routes of the composed service (orders, departments, surveys and the features)', () => {
    const routes = routesOf(services.app).map((r) => `${r.method} ${r.path}`);
    expect(routes).toEqual(expect.arrayContaining(['POST /api/v1/orders', 'GET /api/v1/orders/:id', 'PUT /api/v1/departments/:id', 'GET /api/v1/reports/callbacks', 'GET /healthz']));
  });

  it('refuses every non-public route without a token or with an unknown one (401), and admits the admin token', async () => {
    const routes = routesOf(services.app).filter((r) => !PUBLIC.some((p) => p.pattern.test(`${r.method} ${r.path}`)));
    expect(routes.length).toBeGreaterThan(10);
    for (const { method, path } of routes) {
      const url = path.replace(/:[A-Za-z]+/g, 'x').replace(/\*/g, 'x');
      const inject = (authorization?: string) =>
        services.app.inject({ method: method as 'GET', url, headers: authorization ? { authorization } : {}, ...(method === 'GET' || method === 'DELETE' ? {} : { payload: {} }) });
      const anonymous = await inject();
      expect(anonymous.statusCode, `${method} ${path} without a token`).toBe(401);
      expect(anonymous.json()).toMatchObject({ error: { code: 'unauthorized' } });
      expect((await inject('Bearer not-a-known-token-000')).statusCode, `${method} ${path} with an unknown token`).toBe(401);
      if (STREAMS.test(`${method} ${path}`)) continue;
      expect([401, 403], `${method} ${path} refuses the admin`).not.toContain((await inject('Bearer dev-admin-token')).statusCode);
    }
  }, 20_000); // every route of a whole service, some reading AMI or the store: seconds on a loaded machine

  it('keeps each role to its routes (403 for the others)', async () => {
    const cases: Array<[string, string, string, number]> = [
      ['POST', '/api/v1/orders', 'dev-viewer-token', 403],
      ['POST', '/api/v1/orders', 'dev-department-token', 403],
      ['PUT', '/api/v1/departments/water-supply', 'dev-desk-token', 403],
      ['PUT', '/api/v1/directory', 'dev-desk-token', 403],
      ['POST', '/api/v1/orders/x/feedback', 'dev-desk-token', 403],
      ['POST', '/api/v1/orders/x/cancel', 'dev-department-token', 403],
      ['GET', '/api/v1/reports/callbacks', 'dev-department-token', 403],
    ];
    for (const [method, url, token, status] of cases) {
      const res = await services.app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${token}` }, ...(method === 'GET' ? {} : { payload: {} }) });
      expect(res.statusCode, `${method} ${url} as ${token}`).toBe(status);
      expect(res.json()).toMatchObject({ error: { code: 'forbidden' } });
    }
  });
});

describe('bearer tokens', () => {
  const tokens = [
    { role: 'desk' as const, token: 'desk-token-aaaaaaaa' },
    { role: 'viewer' as const, token: 'viewer-token-bbbbbbbbbbbbbbbbbbbbbbbb' },
    { role: 'department' as const, token: 'dept-token-cccccccccc' },
    { role: 'admin' as const, token: 'admin-token-dddd' },
  ];
  const guard = makeRoleGuard(tokens);

  async function roleFor(authorization: string | undefined): Promise<string | number> {
    const request = { headers: { authorization }, method: 'GET', url: '/x', routeOptions: { url: '/x' } } as unknown as Parameters<ReturnType<typeof guard>>[0];
    try {
      await guard('desk', 'viewer', 'department')(request);
      return (request as { role?: string }).role ?? 'none';
    } catch (err) {
      return (err as { statusCode: number }).statusCode;
    }
  }

  it('compares in constant time: every known token is compared, on digests of one length, whatever is presented', async () => {
    for (const presented of ['desk-token-aaaaaaaa', 'admin-token-dddd', 'x', 'desk-token-aaaaaaa', 'desk-token-aaaaaaaab', 'y'.repeat(500)]) {
      crypto.compares = 0;
      await roleFor(`Bearer ${presented}`);
      expect(crypto.compares, presented).toBe(tokens.length);
    }
  });

  it('knows each token exactly: prefixes, extensions, other schemes and whitespace are refused', async () => {
    expect(await roleFor('Bearer desk-token-aaaaaaaa')).toBe('desk');
    expect(await roleFor('Bearer admin-token-dddd')).toBe('admin');
    for (const bad of ['Bearer desk-token-aaaaaaa', 'Bearer desk-token-aaaaaaaaa', 'Basic desk-token-aaaaaaaa', 'bearer desk-token-aaaaaaaa', 'Bearer  desk-token-aaaaaaaa', 'Bearer desk-token-aaaaaaaa ', undefined, '']) {
      expect(await roleFor(bad), String(bad)).toBe(401);
    }
  });
});

describe('rate limit', () => {
  async function app(perMinute: number) {
    const config = loadConfig({ LIANDONG_API_RATE_LIMIT: String(perMinute) }, 'dev');
    return buildApp({
      config,
      logger: createLogger('silent'),
      health: healthyProbe(),
      apiRoutes: (i) => {
        i.get('/api/v1/ping', { onRequest: i.requireRole('desk', 'viewer') }, () => Promise.resolve({ ok: true }));
        return Promise.resolve();
      },
    });
  }

  it('answers 429 with Retry-After after the limit, per client; /healthz is never limited', async () => {
    const a = await app(5);
    const get = (authorization?: string, remoteAddress = '10.0.0.1') =>
      a.inject({ method: 'GET', url: '/api/v1/ping', remoteAddress, headers: authorization ? { authorization } : {} });
    for (let i = 0; i < 5; i += 1) expect((await get('Bearer dev-desk-token')).statusCode).toBe(200);
    const limited = await get('Bearer dev-desk-token');
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another known token has its own budget, from the same address.
    expect((await get('Bearer dev-viewer-token')).statusCode).toBe(200);
    // Unknown tokens count against their address: guessing is limited as well.
    const guesses = [];
    for (let i = 0; i < 6; i += 1) guesses.push((await get(`Bearer guess-${i}-aaaaaaaaaa`, '10.0.0.9')).statusCode);
    expect(guesses).toEqual([401, 401, 401, 401, 401, 429]);
    for (let i = 0; i < 10; i += 1) expect((await a.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('keys known tokens by their digest (never the token itself) and everything else by address', () => {
    const token = 'desk-token-for-the-key-test';
    const known = new Set([createHash('sha256').update(token).digest('hex')]);
    const key = rateLimitKey(known, { headers: { authorization: `Bearer ${token}` }, ip: '1.2.3.4' });
    expect(key).toMatch(/^token:[0-9a-f]{64}$/);
    expect(key).not.toContain(token);
    expect(rateLimitKey(known, { headers: {}, ip: '1.2.3.4' })).toBe('ip:1.2.3.4');
    expect(rateLimitKey(known, { headers: { authorization: 'Bearer nope-nope-nope' }, ip: '1.2.3.4' })).toBe('ip:1.2.3.4');
  });
});
