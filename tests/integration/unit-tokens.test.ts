// Credentials per unit and per person on the running service (issue 13): an order is being
// phoned to the water-supply unit's duty line (a simulated phone that rings and never answers);
// the tourism unit's token cannot read it or report on it (403, nothing stored, the calls go on);
// the water-supply officer's own token from the token file reports arrival (201): that counts as
// the acceptance, stops the calls, and the case record names the person.
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Services } from '../../src/composition.js';
import { rows } from '../../src/db/sql.js';
import type { CaseRecord } from '../../src/orders/case-record.js';
import { addToken, writeTokenFile } from '../../src/tokens/token-file.js';
import { ARTIFACTS, startServices } from './support.js';

const DESK = 'dev-desk-token';
const ADMIN = 'dev-admin-token';
const TOURISM = 'dev-tourism-unit-token';
/** Rings, never answers; two calls of 10 s each, so the order is still being phoned when feedback comes. */
const POLICY = { attemptsPerContact: 2, retryDelaySeconds: 1, ringTimeoutSeconds: 10, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 1, keyTimeoutSeconds: 3 };

let s: Services | undefined;
let officer = '';
const tokensFile = path.join(ARTIFACTS, `unit-tokens-${process.pid}.json`);

const api = (method: 'GET' | 'POST' | 'PUT', url: string, token: string, payload?: unknown) =>
  (s as Services).app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload === undefined ? {} : { payload: payload as object }) });

beforeAll(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const issued = addToken({ version: 1, tokens: [] }, { role: 'department', unitId: 'water-supply', person: '李四' });
  officer = issued.token;
  writeTokenFile(tokensFile, issued.data);
  s = await startServices('unit-tokens', {
    LIANDONG_TOKENS_FILE: tokensFile,
    LIANDONG_API_TOKENS: `desk:${DESK},admin:${ADMIN},department/tourism:${TOURISM}`,
  });
  const dept = (await api('GET', '/api/v1/departments', ADMIN)).json<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>().departments.find((d) => d.id === 'water-supply');
  const put = await api('PUT', '/api/v1/departments/water-supply', ADMIN, {
    name: dept?.name, categories: dept?.categories, contacts: [{ id: 'duty-room', name: '值班室', number: '730', priority: 1 }], policy: POLICY,
  });
  expect(put.statusCode, put.body).toBe(200);
}, 60_000);

afterAll(async () => {
  await s?.close();
  fs.rmSync(tokensFile, { force: true });
});

describe('a unit-bound token on a live order', () => {
  it('gets 403 on another unit\'s order and 201 on its own, with the person recorded', async () => {
    const created = await api('POST', '/api/v1/orders', DESK, {
      externalId: `unit-tokens-${Date.now()}`, category: 'water-main-burst', departmentId: 'water-supply', summary: '水管爆裂', address: '城关镇', reporterPhone: '13800138000', urgency: 'urgent',
    });
    expect(created.statusCode, created.body).toBe(201);
    const { id } = created.json<{ id: string }>();
    const record = async () => (await api('GET', `/api/v1/orders/${id}`, DESK)).json<CaseRecord>();
    // The duty phone is ringing.
    await vi.waitFor(async () => expect((await record()).attempts.length).toBeGreaterThan(0), { timeout: 10_000, interval: 200 });

    const otherRead = await api('GET', `/api/v1/orders/${id}`, TOURISM);
    expect(otherRead.statusCode).toBe(403);
    const otherFeedback = await api('POST', `/api/v1/orders/${id}/feedback`, TOURISM, { kind: 'arrived' });
    expect(otherFeedback.statusCode).toBe(403);
    expect(otherFeedback.json()).toMatchObject({ error: { code: 'other_unit' } });
    const untouched = await record();
    expect(untouched.status).toBe('dispatching');
    expect(untouched.feedback).toEqual([]);

    const own = await api('POST', `/api/v1/orders/${id}/feedback`, officer, { kind: 'arrived', note: '已到场' });
    expect(own.statusCode, own.body).toBe(201);
    const after = await record();
    expect(after.feedback).toEqual([expect.objectContaining({ kind: 'arrived', via: 'api', actor: '李四' })]);
    expect(after.acknowledgement).toMatchObject({ via: 'feedback' });
    expect(['accepted', 'arrived']).toContain(after.status);
    // The calls stop: the ringing attempt ends and no further one starts.
    await vi.waitFor(async () => expect((await record()).attempts.every((a) => a.endedAt !== null)).toBe(true), { timeout: 15_000, interval: 250 });
    const attempts = (await record()).attempts.length;
    await new Promise((r) => setTimeout(r, 2000));
    expect((await record()).attempts.length).toBe(attempts);
    const actors = await rows((s as Services).store.db, sql<{ actor: string }>`SELECT actor FROM order_events WHERE order_id = ${id} AND kind = 'feedback_arrived'`);
    expect(actors.map((r) => r.actor)).toEqual(['李四']);
  }, 60_000);
});
