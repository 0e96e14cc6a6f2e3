// The linkage office works the flags (issue 13): PATCH /api/v1/flags/:id sets the owner, the
// status (open, in_progress, closed) and the resolution note; each change is in the history with
// who made it; closing needs a note; only the linkage office (viewer) and the admin may. On both
// engines: the flag routes and the list over a fresh store.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { first } from '../../src/db/sql.js';
import type { Store } from '../../src/db/store.js';
import { WriteQueue } from '../../src/db/write-queue.js';
import { buildApp } from '../../src/http/app.js';
import { flagRoutes } from '../../src/http/flags.routes.js';
import { surveyRoutes } from '../../src/http/survey.routes.js';
import { createLogger } from '../../src/logging.js';
import { SurveyRepository } from '../../src/survey/survey-repository.js';
import { SurveyService } from '../../src/survey/survey-service.js';
import { ENGINES, openTestStore } from '../support/engines.js';
import { Fixture } from './reports-fixtures.js';
import { healthyProbe } from '../support/health.js';

/** Parts of the survey service the flag list never touches. */
const unused = undefined as never;

describe.each(ENGINES)('PATCH /api/v1/flags/:id on %s', (engine) => {
  let store: Store;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let flagId = 0;
  beforeAll(async () => {
    store = await openTestStore(engine);
    const config = loadConfig({}, 'dev');
    const logger = createLogger('silent');
    const surveys = new SurveyService({
      config, logger, surveys: new SurveyRepository(store), writes: new WriteQueue(() => undefined),
      orders: unused, departments: unused, telephony: unused, prompts: unused,
    });
    app = await buildApp({
      config,
      logger,
      health: healthyProbe(),
      apiRoutes: async (i) => {
        await i.register(flagRoutes, { store });
        await i.register(surveyRoutes, { surveys });
      },
    });
    await Fixture.over(store).order('o1', 'tourism', '2026-11-01T00:00:00.000Z', 'surveyed').survey('o1', 'callback', 'completed', { quality: 'unsatisfied' }).flag('o1').flush();
    flagId = (await first(store.db, sql<{ id: number }>`SELECT id FROM flags`))?.id ?? 0;
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  const patch = (id: number | string, token: string, payload: object) =>
    app.inject({ method: 'PATCH', url: `/api/v1/flags/${id}`, headers: { authorization: `Bearer ${token}` }, payload });

  it('lists flags with their id and status open', async () => {
    const list = (await app.inject({ method: 'GET', url: '/api/v1/flags', headers: { authorization: 'Bearer dev-viewer-token' } })).json<{ flags: Array<Record<string, unknown>> }>();
    expect(list.flags).toEqual([expect.objectContaining({ id: flagId, orderId: 'o1', status: 'open', owner: null, resolution: null })]);
  });

  it('takes an owner, then in_progress, then closed with a note; the history names who did each', async () => {
    expect((await patch(flagId, 'dev-viewer-token', { owner: '孙科员' })).statusCode).toBe(200);
    expect((await patch(flagId, 'dev-viewer-token', { status: 'in_progress' })).json()).toMatchObject({ status: 'in_progress', owner: '孙科员' });
    const refused = await patch(flagId, 'dev-viewer-token', { status: 'closed' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: { code: 'resolution_required' } });
    const closed = await patch(flagId, 'dev-admin-token', { status: 'closed', resolution: '已回访市民，问题解决' });
    expect(closed.statusCode).toBe(200);
    const flag = closed.json<{ status: string; resolution: string; history: Array<{ actor: string; changes: Record<string, { from: unknown; to: unknown }> }> }>();
    expect(flag.status).toBe('closed');
    expect(flag.history.map((h) => [h.actor, Object.keys(h.changes).sort()])).toEqual([
      ['api:viewer', ['owner']],
      ['api:viewer', ['status']],
      ['api:admin', ['resolution', 'status']],
    ]);
    expect(flag.history[2]?.changes.status).toEqual({ from: 'in_progress', to: 'closed' });
    expect((await app.inject({ method: 'GET', url: `/api/v1/flags/${flagId}`, headers: { authorization: 'Bearer dev-viewer-token' } })).json()).toEqual(flag);
    // The case record tells it too.
    expect(await first(store.db, sql<{ n: number }>`SELECT count(*) AS n FROM order_events WHERE order_id = 'o1' AND kind = 'flag_updated'`)).toEqual({ n: 3 });
  });

  it('records nothing for a change that changes nothing', async () => {
    const before = (await app.inject({ method: 'GET', url: `/api/v1/flags/${flagId}`, headers: { authorization: 'Bearer dev-viewer-token' } })).json<{ history: unknown[] }>();
    const same = await patch(flagId, 'dev-viewer-token', { status: 'closed' });
    expect(same.json<{ history: unknown[] }>().history.length).toBe(before.history.length);
  });

  it('refuses other roles, unknown flags, bad statuses and empty bodies', async () => {
    expect((await patch(flagId, 'dev-desk-token', { status: 'open' })).statusCode).toBe(403);
    expect((await patch(flagId, 'dev-department-token', { status: 'open' })).statusCode).toBe(403);
    expect((await patch(999, 'dev-viewer-token', { status: 'open' })).statusCode).toBe(404);
    expect((await patch(flagId, 'dev-viewer-token', { status: 'done' })).statusCode).toBe(400);
    expect((await patch(flagId, 'dev-viewer-token', {})).statusCode).toBe(400);
    expect((await patch(flagId, 'dev-viewer-token', { owner: '' })).statusCode).toBe(400);
    expect((await patch('abc', 'dev-viewer-token', { status: 'open' })).statusCode).toBe(400);
  });
});
