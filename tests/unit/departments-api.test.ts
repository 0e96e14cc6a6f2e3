import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { first, rows } from '../../src/db/sql.js';
import type { Engine, Store } from '../../src/db/store.js';
import { loadCatalog } from '../../src/departments/catalog.js';
import { DepartmentStore } from '../../src/departments/store.js';
import { buildApp } from '../../src/http/app.js';
import { departmentRoutes } from '../../src/http/departments.routes.js';
import { createLogger } from '../../src/logging.js';
import { ENGINES, openTestStore } from '../support/engines.js';
import { healthyProbe } from '../support/health.js';

const ADMIN = { authorization: 'Bearer dev-admin-token' };

const opened: Store[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

async function setup(engine: Engine) {
  const store = await openTestStore(engine);
  opened.push(store);
  const departments = await DepartmentStore.open(store, loadCatalog());
  const app = await buildApp({
    config: loadConfig({}, 'dev'),
    logger: createLogger('silent'),
    health: healthyProbe(),
    apiRoutes: async (i) => i.register(departmentRoutes, { departments }),
  });
  const current = departments.current().departmentsById.get('water-supply');
  if (!current) throw new Error('water-supply missing from config');
  const body = {
    name: current.name,
    categories: current.categories,
    contacts: [{ id: 'duty', name: '值班室', number: '+8605770001', priority: 1 }],
  };
  return { app, store, departments, body };
}

const changes = async (store: Store) => (await first(store.db, sql<{ n: number }>`SELECT count(*) AS n FROM department_changes`))?.n;

describe.each(ENGINES)('PUT /api/v1/departments/:id on %s', (engine) => {
  it('updates contacts and policy, and logs who changed what', async () => {
    const { app, store, departments, body } = await setup(engine);
    const res = await app.inject({ method: 'PUT', url: '/api/v1/departments/water-supply', headers: ADMIN, payload: { ...body, policy: { retryDelaySeconds: 30 } } });
    expect(res.statusCode, res.body).toBe(200);
    expect(departments.current().departmentsById.get('water-supply')?.contacts.map((c) => c.number)).toEqual(['+8605770001']);
    expect(departments.policyOf('water-supply').retryDelaySeconds).toBe(30);
    expect(await rows(store.db, sql`SELECT actor, action FROM audit_log`)).toEqual([{ actor: 'api:admin', action: 'department.update' }]);
    // The change survives a restart: a new store over the same database applies it again.
    expect((await DepartmentStore.open(store, loadCatalog())).current().departmentsById.get('water-supply')?.contacts[0]?.id).toBe('duty');
  });

  it.each([
    ['a number with @', { contacts: [{ id: 'd', name: 'x', number: '0577@evil', priority: 1 }] }, 400, 'contacts[0].number'],
    ['a number with a line break', { contacts: [{ id: 'd', name: 'x', number: '0577\r\n1', priority: 1 }] }, 400, 'contacts[0].number'],
    ['a policy out of bounds', { policy: { attemptsPerContact: 0 } }, 400, 'policy.attemptsPerContact'],
    ['an unknown policy field', { policy: { turbo: 1 } }, 400, 'policy.turbo'],
    ['an unknown field', { dutyClass: 'x' }, 400, 'dutyClass'],
  ])('refuses %s, changing nothing', async (_label, patch, status, mentions) => {
    const { app, store, body } = await setup(engine);
    const res = await app.inject({ method: 'PUT', url: '/api/v1/departments/water-supply', headers: ADMIN, payload: { ...body, ...patch } });
    expect(res.statusCode).toBe(status);
    expect(res.json<{ error: { message: string } }>().error.message).toContain(mentions);
    expect(await changes(store)).toBe(0);
  });

  it('404 for an unknown department, 403 for a non-admin role, 401 without a token', async () => {
    const { app, body } = await setup(engine);
    expect((await app.inject({ method: 'PUT', url: '/api/v1/departments/nope', headers: ADMIN, payload: body })).statusCode).toBe(404);
    expect((await app.inject({ method: 'PUT', url: '/api/v1/departments/water-supply', headers: { authorization: 'Bearer dev-desk-token' }, payload: body })).statusCode).toBe(403);
    expect((await app.inject({ method: 'PUT', url: '/api/v1/departments/water-supply', payload: body })).statusCode).toBe(401);
  });

  it('GET lists all departments with their effective policy', async () => {
    const { app } = await setup(engine);
    const res = await app.inject({ method: 'GET', url: '/api/v1/departments', headers: { authorization: 'Bearer dev-viewer-token' } });
    const body = res.json<{ departments: Array<{ id: string; policy: { attemptsPerContact: number } }>; categories: unknown[] }>();
    expect(body.departments.length).toBeGreaterThanOrEqual(22);
    expect(body.departments[0]?.policy.attemptsPerContact).toBe(2);
    expect(body.categories.length).toBeGreaterThan(40);
  });

  it('PUT /api/v1/directory stores the directory, audits it, and a restart keeps it', async () => {
    const { app, store } = await setup(engine);
    const directory = {
      commandCentre: { id: 'command-centre', name: { 'zh-CN': '110指挥中心', en: '110 command centre' }, number: '05770000110' },
      leaders: [{ id: 'deputy-mayor', name: { 'zh-CN': '分管副县长', en: 'Deputy county head' }, number: '13900000001' }],
    };
    const res = await app.inject({ method: 'PUT', url: '/api/v1/directory', headers: ADMIN, payload: directory });
    expect(res.statusCode, res.body).toBe(200);
    expect(await rows(store.db, sql`SELECT actor, action FROM audit_log`)).toEqual([{ actor: 'api:admin', action: 'directory.update' }]);
    const again = await DepartmentStore.open(store, loadCatalog());
    expect(again.current().leaders).toEqual(directory.leaders);
    expect(again.current().commandCentre).toEqual(directory.commandCentre);
  });
});
