// /api/v1/webhooks without Asterisk: admin only, subscribers added and removed (audited, query
// strings kept out of the audit log), validation, the deliveries view, retry of a given-up
// delivery (on both engines); and the webhook settings in the config.
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { CoreServices } from '../../src/composition.js';
import type { ConfigError} from '../../src/config.js';
import { loadConfig, type Config } from '../../src/config.js';
import { first, rows, run } from '../../src/db/sql.js';
import type { Engine, Store } from '../../src/db/store.js';
import { loadCatalog } from '../../src/departments/catalog.js';
import { DepartmentStore } from '../../src/departments/store.js';
import { buildApp } from '../../src/http/app.js';
import { webhookRoutes } from '../../src/http/webhooks.routes.js';
import { createLogger } from '../../src/logging.js';
import { WebhookOutbox } from '../../src/webhooks/outbox.js';
import { ENGINES, openTestStore } from '../support/engines.js';
import { healthyProbe } from '../support/health.js';

const ADMIN = { authorization: 'Bearer dev-admin-token' };
const DESK = { authorization: 'Bearer dev-desk-token' };

const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

async function setup(engine: Engine, config: Config = loadConfig({}, 'dev')) {
  const store = await openTestStore(engine);
  stores.push(store);
  const webhooks = new WebhookOutbox(store, { secret: config.webhook.secret, globalUrl: config.webhookUrl, timeoutMs: 1000, retry: { firstMs: 1000, maxMs: 1000, forMs: 60_000 } }, pino({ level: 'silent' }));
  const core = { config, store, webhooks, departments: await DepartmentStore.open(store, loadCatalog()) } as unknown as CoreServices;
  const app = await buildApp({
    config,
    logger: createLogger('silent'),
    health: healthyProbe(),
    apiRoutes: async (i) => i.register(webhookRoutes, { core }),
  });
  return { app, store, webhooks };
}

describe.each(ENGINES)('webhook API on %s', (engine) => {
  it('admits only admin', async () => {
    const { app } = await setup(engine);
    for (const [method, url] of [['GET', '/api/v1/webhooks/deliveries'], ['GET', '/api/v1/webhooks/subscribers'], ['POST', '/api/v1/webhooks/subscribers'], ['DELETE', '/api/v1/webhooks/subscribers/x'], ['POST', '/api/v1/webhooks/deliveries/x/retry']] as const) {
      expect((await app.inject({ method, url })).statusCode, `${method} ${url}`).toBe(401);
      expect((await app.inject({ method, url, headers: DESK })).statusCode, `${method} ${url}`).toBe(403);
    }
  });

  it('adds, lists and removes subscribers; audited without the query string', async () => {
    const { app, store } = await setup(engine);
    const add = await app.inject({ method: 'POST', url: '/api/v1/webhooks/subscribers', headers: ADMIN, payload: { url: 'https://grid.example/hook?token=abc123', departmentId: 'water-supply', events: ['order.accepted'] } });
    expect(add.statusCode).toBe(201);
    const sub = add.json<{ id: string }>();
    expect(sub).toMatchObject({ url: 'https://grid.example/hook?token=abc123', departmentId: 'water-supply', events: ['order.accepted'], actor: 'api:admin' });
    const list = await app.inject({ method: 'GET', url: '/api/v1/webhooks/subscribers', headers: ADMIN });
    expect(list.json()).toMatchObject({ global: null, signed: true, subscribers: [{ id: sub.id }] });
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/webhooks/subscribers/${sub.id}`, headers: ADMIN })).statusCode).toBe(204);
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/webhooks/subscribers/${sub.id}`, headers: ADMIN })).json()).toEqual({ error: { code: 'subscriber_not_found', message: expect.any(String) as string } });
    const audit = await rows(store.db, sql<{ action: string; detail: string }>`SELECT action, detail FROM audit_log WHERE action LIKE 'webhook.%' ORDER BY id`);
    expect(audit.map((a) => a.action)).toEqual(['webhook.subscriber_added', 'webhook.subscriber_removed']);
    expect(audit[0]?.detail).not.toContain('abc123');
  });

  it('refuses a bad URL, an unknown department or event, unknown fields', async () => {
    const { app, store } = await setup(engine);
    for (const payload of [
      { url: 'ftp://x/y' },
      { url: 'https://x/ y' },
      { url: 'https://x/y', departmentId: 'no-such-dept' },
      { url: 'https://x/y', events: ['order.exploded'] },
      { url: 'https://x/y', events: [] },
      { url: 'https://x/y', secret: 'mine' },
    ]) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/webhooks/subscribers', headers: ADMIN, payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
    }
    expect(await first(store.db, sql<{ n: number }>`SELECT count(*) AS n FROM webhook_subscribers`)).toEqual({ n: 0 });
  });

  it('refuses subscribers while no secret is configured', async () => {
    const { app } = await setup(engine, loadConfig({ LIANDONG_API_TOKENS: 'admin:dev-admin-token', ARI_USERNAME: 'a', ARI_PASSWORD: 'aaaaaaaa', AMI_USERNAME: 'a', AMI_SECRET: 'aaaaaaaa', LIANDONG_DIAL_TEMPLATE: 'PJSIP/{number}@carrier' }, 'production'));
    const res = await app.inject({ method: 'POST', url: '/api/v1/webhooks/subscribers', headers: ADMIN, payload: { url: 'https://x/y' } });
    expect(res.statusCode).toBe(409);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('webhook_secret_missing');
  });

  it('shows deliveries with counts and filters; retries only a given-up one', async () => {
    const { app, store, webhooks } = await setup(engine, loadConfig({ LIANDONG_WEBHOOK_URL: 'http://127.0.0.1:9/hook' }, 'dev'));
    const a = await webhooks.enqueue('order.accepted', { orderId: 'o1' }, 'water-supply');
    await webhooks.enqueue('order.completed', { orderId: 'o1' }, 'water-supply');
    await run(store.db, sql`UPDATE webhook_deliveries SET status = 'failed' WHERE event_seq = (SELECT seq FROM webhook_events WHERE id = ${a.id})`);
    const all = await app.inject({ method: 'GET', url: '/api/v1/webhooks/deliveries', headers: ADMIN });
    expect(all.statusCode).toBe(200);
    expect(all.json()).toMatchObject({ total: 2, counts: { pending: 1, delivered: 0, failed: 1 } });
    const failed = await app.inject({ method: 'GET', url: `/api/v1/webhooks/deliveries?status=failed&eventId=${a.id}`, headers: ADMIN });
    const d = failed.json<{ deliveries: Array<{ id: string; event: string; subscriberId: string }> }>().deliveries;
    expect(d).toEqual([expect.objectContaining({ event: 'order.accepted', subscriberId: 'global' })]);
    const id = d[0]?.id as string;
    expect((await app.inject({ method: 'POST', url: `/api/v1/webhooks/deliveries/${id}/retry`, headers: ADMIN })).json()).toEqual({ id, status: 'pending' });
    expect((await app.inject({ method: 'POST', url: `/api/v1/webhooks/deliveries/${id}/retry`, headers: ADMIN })).statusCode).toBe(409);
    expect((await app.inject({ method: 'POST', url: '/api/v1/webhooks/deliveries/dl_none/retry', headers: ADMIN })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/api/v1/webhooks/deliveries?status=lost', headers: ADMIN })).statusCode).toBe(400);
  });
});

describe('webhook config', () => {
  const prod = { LIANDONG_API_TOKENS: 'admin:dev-admin-token', ARI_USERNAME: 'a', ARI_PASSWORD: 'aaaaaaaa', AMI_USERNAME: 'a', AMI_SECRET: 'aaaaaaaa', LIANDONG_DIAL_TEMPLATE: 'PJSIP/{number}@carrier' };
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig({ ...prod, ...env }, 'production');
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };

  it('defaults: 10 s timeout, backoff 10 s doubling to 1 h, 3 days', () => {
    expect(loadConfig(prod, 'production').webhook).toEqual({ secret: undefined, timeoutSeconds: 10, retryFirstSeconds: 10, retryMaxSeconds: 3600, retryForSeconds: 259200 });
  });

  it('a URL needs a secret of 16+ printable characters; bounds are checked', () => {
    expect(problems({ LIANDONG_WEBHOOK_URL: 'https://x/y' })).toEqual([expect.stringContaining('LIANDONG_WEBHOOK_SECRET is required')]);
    expect(problems({ LIANDONG_WEBHOOK_URL: 'https://x/y', LIANDONG_WEBHOOK_SECRET: 'short' })).toEqual([expect.stringContaining('at least 16')]);
    expect(problems({ LIANDONG_WEBHOOK_URL: 'https://x/y', LIANDONG_WEBHOOK_SECRET: 'a-long-enough-secret' })).toEqual([]);
    expect(problems({ LIANDONG_WEBHOOK_TIMEOUT_SECONDS: '0' })).toEqual([expect.stringContaining('LIANDONG_WEBHOOK_TIMEOUT_SECONDS')]);
    expect(problems({ LIANDONG_WEBHOOK_RETRY_FIRST_SECONDS: '100', LIANDONG_WEBHOOK_RETRY_MAX_SECONDS: '10' })).toEqual([expect.stringContaining('must not be below')]);
  });
});
