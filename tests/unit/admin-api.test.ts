// /api/v1/admin without Asterisk: roles, validation, the simulated dry run, the audit log,
// secrets kept out of answers, and clear errors when Asterisk is not there.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AmiPort } from '../../src/admin/dialplan-reload.js';
import type { CoreServices } from '../../src/composition.js';
import { loadConfig, type Config } from '../../src/config.js';
import { first } from '../../src/db/sql.js';
import type { Engine, Store } from '../../src/db/store.js';
import { WriteQueue } from '../../src/db/write-queue.js';
import { loadCatalog } from '../../src/departments/catalog.js';
import { DepartmentStore } from '../../src/departments/store.js';
import { createAdminRoutes } from '../../src/http/admin.routes.js';
import { buildApp } from '../../src/http/app.js';
import { createLogger } from '../../src/logging.js';
import { ENGINES, openTestStore } from '../support/engines.js';
import { healthyProbe } from '../support/health.js';

const ADMIN = { authorization: 'Bearer dev-admin-token' };
const DESK = { authorization: 'Bearer dev-desk-token' };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-admin-api-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const telephonyFile = path.join(dir, 'telephony.json');
fs.writeFileSync(telephonyFile, JSON.stringify({
  trunk: { id: 'carrier', mode: 'registration', host: '127.0.0.1', port: 5099, username: 'county', password: 'trunk-secret-77' },
  extensions: [{ number: '8091', departmentId: 'water-supply', label: '值班室', password: 'ext-secret-8091' }],
  feedbackNumbers: ['96110'],
}));

const opened: Store[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

async function setup(engine: Engine, opts: { config?: Config; ami?: AmiPort } = {}) {
  const config = opts.config ?? loadConfig({}, 'dev');
  const store = await openTestStore(engine);
  opened.push(store);
  const writes = new WriteQueue((label, reason) => {
    throw new Error(`posted write ${label} failed: ${reason}`);
  });
  const ami: AmiPort = opts.ami ?? { action: () => Promise.reject(new Error('ECONNREFUSED')), command: () => Promise.reject(new Error('ECONNREFUSED')) };
  const core = {
    config, store, writes, ami, logger: createLogger('silent'),
    departments: await DepartmentStore.open(store, loadCatalog()),
    telephony: { health: () => ({ connected: false, since: new Date() }) },
  } as unknown as CoreServices;
  const app = await buildApp({
    config,
    logger: createLogger('silent'),
    health: healthyProbe(),
    apiRoutes: async (i) => i.register(createAdminRoutes({ telephonyFile, etcDir: dir }), { core }),
  });
  return { app, store };
}

const auditCount = async (store: Store, action: string) =>
  (await first(store.db, sql<{ n: number }>`SELECT count(*) AS n FROM audit_log WHERE action = ${action}`))?.n;

const ROUTES = [
  ['GET', '/api/v1/admin/telephony'],
  ['POST', '/api/v1/admin/dialplan/render'],
  ['POST', '/api/v1/admin/dialplan/check'],
  ['POST', '/api/v1/admin/dialplan/reload'],
  ['GET', '/api/v1/admin/endpoints'],
  ['POST', '/api/v1/admin/test-call'],
  ['POST', '/api/v1/admin/policy/dry-run'],
  ['GET', '/api/v1/admin/policy/dry-run/x'],
  ['GET', '/api/v1/admin/audit'],
] as const;

describe.each(ENGINES)('admin API on %s', (engine) => {
  it('admits the admin role only', async () => {
    const { app } = await setup(engine);
    for (const [method, url] of ROUTES) {
      expect((await app.inject({ method, url })).statusCode, url).toBe(401);
      const res = await app.inject({ method, url, headers: DESK, payload: {} });
      expect(res.statusCode, url).toBe(403);
      expect(res.json()).toMatchObject({ error: { code: 'forbidden' } });
    }
  });

  it('runs a simulated dry run and logs it, visible in the audit log', async () => {
    const { app } = await setup(engine);
    const res = await app.inject({ method: 'POST', url: '/api/v1/admin/policy/dry-run', headers: ADMIN, payload: { departmentId: 'water-supply', policy: { attemptsPerContact: 1, chainLoops: 0 }, phones: { backup: 'accept' } } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ mode: 'simulated', status: 'accepted', calls: 2 });
    const audit = await app.inject({ method: 'GET', url: '/api/v1/admin/audit?action=policy.*', headers: ADMIN });
    expect(audit.json()).toEqual({
      entries: [expect.objectContaining({ actor: 'api:admin', action: 'policy.dry_run', detail: expect.objectContaining({ departmentId: 'water-supply', status: 'accepted', calls: 2 }) as unknown })],
      nextBefore: null,
    });
  });

  it.each([
    ['an unknown behaviour', { departmentId: 'water-supply', phones: { backup: 'maybe' } }, 400, 'invalid_request'],
    ['an unknown field', { departmentId: 'water-supply', turbo: true }, 400, 'invalid_request'],
    ['a phone outside the chain', { departmentId: 'water-supply', phones: { stranger: 'accept' } }, 400, 'invalid_request'],
    ['an unknown department', { departmentId: 'ministry-of-magic' }, 404, 'department_not_found'],
    ['a live run without simulated phones', { departmentId: 'water-supply', mode: 'live' }, 409, 'sim_phones_off'],
  ])('refuses a dry run with %s', async (_label, payload, status, code) => {
    const { app } = await setup(engine, { config: loadConfig({ LIANDONG_SIM_PHONES: 'false' }, 'dev') });
    const res = await app.inject({ method: 'POST', url: '/api/v1/admin/policy/dry-run', headers: ADMIN, payload });
    expect(res.statusCode, res.body).toBe(status);
    expect(res.json()).toMatchObject({ error: { code } });
  });

  it.each([
    ['a number with &', { target: '138&Local/1@x' }, 400, 'invalid_target'],
    ['an unknown contact', { target: 'water-supply/nobody' }, 400, 'invalid_target'],
    ['a key that is not a key', { target: '70111', expectKey: '11' }, 400, 'invalid_request'],
    ['no connection to Asterisk', { target: 'water-supply/duty-room' }, 503, 'asterisk_unreachable'],
  ])('refuses a test call with %s, placing no call', async (_label, payload, status, code) => {
    const { app, store } = await setup(engine);
    const res = await app.inject({ method: 'POST', url: '/api/v1/admin/test-call', headers: ADMIN, payload });
    expect(res.statusCode, res.body).toBe(status);
    expect(res.json()).toMatchObject({ error: { code } });
    expect(await auditCount(store, 'test_call')).toBe(0);
  });

  it('checks and renders without showing a password', async () => {
    const { app } = await setup(engine);
    const check = await app.inject({ method: 'POST', url: '/api/v1/admin/dialplan/check', headers: ADMIN });
    expect(check.statusCode, check.body).toBe(200);
    expect(check.json()).toMatchObject({ ok: true, asteriskChecked: false, telephony: { trunk: { id: 'carrier', username: 'county' } } });
    const render = await app.inject({ method: 'POST', url: '/api/v1/admin/dialplan/render', headers: ADMIN });
    const body = render.json<{ rendered: Record<string, string> }>();
    expect(body.rendered['pjsip.conf']).toMatch(/^password = \*{8}$/m);
    for (const secret of ['trunk-secret-77', 'ext-secret-8091', 'liandong-dev-ari', 'liandong-dev-ami']) expect(render.body + check.body).not.toContain(secret);
    const telephony = await app.inject({ method: 'GET', url: '/api/v1/admin/telephony', headers: ADMIN });
    expect(telephony.json()).toMatchObject({ extensions: [{ number: '8091', departmentId: 'water-supply', label: '值班室' }] });
    expect(telephony.body).not.toContain('secret');
  });

  it('answers 503 when Asterisk does not answer AMI, and lists endpoints when it does', async () => {
    const down = await setup(engine);
    const res = await down.app.inject({ method: 'GET', url: '/api/v1/admin/endpoints', headers: ADMIN });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ error: { code: 'asterisk_unreachable', message: expect.stringContaining('ECONNREFUSED') as string } });
    const up = await setup(engine, { ami: { action: () => Promise.resolve({}), command: () => Promise.resolve('No objects found.\n') } });
    const list = await up.app.inject({ method: 'GET', url: '/api/v1/admin/endpoints', headers: ADMIN });
    expect(list.json()).toEqual({
      endpoints: [
        expect.objectContaining({ name: 'carrier', kind: 'trunk', state: 'not loaded', registration: 'not loaded', registered: false }),
        expect.objectContaining({ name: '8091', kind: 'extension', registered: false, reachable: false }),
      ],
    });
  });

  it('pages the audit log newest first', async () => {
    const { app, store } = await setup(engine);
    const add = (action: string) => sql`INSERT INTO audit_log (at, actor, action, detail) VALUES ('2026-01-01T00:00:00.000Z', 'cli:root', ${action}, '{}')`.execute(store.db);
    for (const action of ['a.one', 'a.two', 'b.three']) await add(action);
    const page = (await app.inject({ method: 'GET', url: '/api/v1/admin/audit?limit=2', headers: ADMIN })).json<{ entries: Array<{ action: string }>; nextBefore: number }>();
    expect(page.entries.map((e) => e.action)).toEqual(['b.three', 'a.two']);
    const next = (await app.inject({ method: 'GET', url: `/api/v1/admin/audit?limit=2&before=${page.nextBefore}`, headers: ADMIN })).json<{ entries: Array<{ action: string }>; nextBefore: null }>();
    expect(next).toEqual({ entries: [expect.objectContaining({ action: 'a.one' })], nextBefore: null });
    expect((await app.inject({ method: 'GET', url: '/api/v1/admin/audit?action=a.*', headers: ADMIN })).json<{ entries: unknown[] }>().entries).toHaveLength(2);
    // In a prefix '_' is the character, not LIKE's "any character", on both engines.
    for (const action of ['pin_x.set', 'pinax.set']) await add(action);
    expect((await app.inject({ method: 'GET', url: '/api/v1/admin/audit?action=pin_x.*', headers: ADMIN })).json<{ entries: Array<{ action: string }> }>().entries.map((e) => e.action)).toEqual(['pin_x.set']);
    expect((await app.inject({ method: 'GET', url: '/api/v1/admin/audit?limit=0', headers: ADMIN })).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: "/api/v1/admin/audit?action=x';--", headers: ADMIN })).statusCode).toBe(400);
  });
});
