// Several units on one order (issue 11, item 2) end to end on the real Asterisk with simulated
// phones: one order, one code, the lead's and the co-unit's dispatch chains run in parallel and
// each unit accepts by phone; unit-bound tokens act on the order for their own unit only; the
// co-unit's feedback is its own and only the lead's `completed` completes the order. And after a
// crash mid-call, a co-unit's chain resumes from its own resume point in its own attempt ids.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/composition.js';
import { sql } from 'kysely';
import { openStore } from '../../src/db/store.js';
import type { CaseRecord } from '../../src/orders/case-record.js';
import { OrderRepository } from '../../src/orders/order-repository.js';
import { ARTIFACTS, startServices } from './support.js';

const DESK = 'dev-desk-token';
const ADMIN = 'dev-admin-token';
const EDUCATION = 'dev-education-unit-token';
const TRANSPORT = 'dev-transport-unit-token';
const FAST = { attemptsPerContact: 1, retryDelaySeconds: 1, ringTimeoutSeconds: 5, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 1, keyTimeoutSeconds: 3 };
const dbFile = path.join(ARTIFACTS, `co-dispatch-${process.pid}.db`);

let s: Services | undefined;
let crashed = { orderId: '', openAttempt: '' };

const api = (method: 'GET' | 'POST' | 'PUT', url: string, token: string, payload?: unknown) =>
  (s as Services).app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
const record = async (id: string) => (await api('GET', `/api/v1/orders/${id}`, DESK)).json<CaseRecord>();

async function configure(id: string, numbers: readonly string[]) {
  const dept = (await api('GET', '/api/v1/departments', ADMIN)).json<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>().departments.find((d) => d.id === id);
  const contacts = numbers.map((number, i) => ({ id: `c${i + 1}`, name: `duty ${i + 1}`, number, priority: i + 1 }));
  const res = await api('PUT', `/api/v1/departments/${id}`, ADMIN, { name: dept?.name, categories: dept?.categories, contacts, policy: FAST });
  expect(res.statusCode, res.body).toBe(200);
}

beforeAll(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  // The state a service killed mid-call leaves: the lead (tourism) accepted; the co-unit
  // (civil-affairs) was being phoned in its own block (attempt 1001 open, resume point saved).
  const store = await openStore({ engine: 'sqlite', path: dbFile });
  const repo = new OrderRepository(store);
  const { row } = await repo.createOrder({
    externalId: `co-crash-${Date.now()}`, category: 'water-main-burst', departmentId: 'tourism', summary: '水管爆裂', address: '城关镇',
    reporterPhone: '13800138000', urgency: 'urgent', major: false, coUnits: ['civil-affairs'],
  });
  await repo.startAttempt({ orderId: row.id, attemptId: `${row.id}-a1`, seq: 1, script: 'dispatch', contactId: 'c1', number: '70111', attemptOnContact: 0, cursor: { loop: 0, contactIndex: 0 }, departmentId: 'tourism' });
  await repo.commitAcceptance({ orderId: row.id, attemptId: `${row.id}-a1`, contactId: 'c1', script: 'dispatch', disputed: false, via: 'phone' });
  await repo.endAttempt(`${row.id}-a1`, { result: 'accepted', digits: '1', endedAt: Date.now() });
  const openAttempt = `${row.id}-u1-a1001`;
  await repo.startAttempt({ orderId: row.id, attemptId: openAttempt, seq: 1001, script: 'dispatch', contactId: 'c1', number: '70111', attemptOnContact: 0, cursor: { loop: 0, contactIndex: 0 }, departmentId: 'civil-affairs' });
  await repo.saveUnitResume(row.id, 'civil-affairs', { nextAttemptSeq: 1002, cursor: { loop: 0, contactIndex: 0, attemptOnContact: 1 }, leaders: [] });
  const change = JSON.stringify({
    update: { name: { 'zh-CN': '民政局', en: 'Civil affairs' }, categories: ['stray-beggar', 'abandoned-infant', 'lost-child-or-elderly', 'unidentified-body', 'destitute-patient', 'emergency-relocation'],
      contacts: [{ id: 'c1', name: 'duty', number: '70111', priority: 1 }], rosters: [] },
    policy: { ...FAST, attemptsPerContact: 2 },
  });
  await sql`INSERT INTO department_changes (department_id, body, actor, at) VALUES ('civil-affairs', ${change}, 'test', ${new Date().toISOString()})`.execute(store.db);
  await store.close();
  crashed = { orderId: row.id, openAttempt };

  s = await startServices('co-dispatch', {
    LIANDONG_DB: dbFile,
    LIANDONG_API_TOKENS: `desk:${DESK},admin:${ADMIN},department/education:${EDUCATION},department/transport:${TRANSPORT}`,
  });
}, 90_000);

afterAll(async () => {
  await s?.close();
  for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) fs.rmSync(f, { force: true });
});

describe('several units on one order', () => {
  it('a co-unit\'s chain resumes after a crash from its own resume point, in its own attempt ids; the lead is left alone', async () => {
    const services = s as Services;
    const { orderId, openAttempt } = crashed;
    await expect.poll(async () => (await services.repo.coUnit(orderId, 'civil-affairs'))?.status, { timeout: 30_000, interval: 250 }).toBe('accepted');
    // Its call ends after the confirmation is played.
    await expect.poll(async () => (await services.repo.openAttempts(orderId)).length, { timeout: 30_000, interval: 250 }).toBe(0);
    const attempts = await services.repo.attempts(orderId);
    expect(attempts.map((a) => [a.id, a.department_id, a.result])).toEqual([
      [`${orderId}-a1`, 'tourism', 'accepted'],
      [openAttempt, 'civil-affairs', 'interrupted'],
      [`${orderId}-u1-a1002`, 'civil-affairs', 'accepted'],
    ]);
    const r = await record(orderId);
    expect(r.status).toBe('accepted');
    expect(r.units.map((u) => [u.departmentId, u.lead, u.status, u.acknowledgement?.attemptId])).toEqual([
      ['tourism', true, 'accepted', `${orderId}-a1`],
      ['civil-affairs', false, 'accepted', `${orderId}-u1-a1002`],
    ]);
    expect(r.events.filter((e) => e.kind === 'dispatch_resumed').map((e) => e.detail)).toEqual([{ nextAttemptSeq: 1002, departmentId: 'civil-affairs' }]);
  });

  it('one order, two units phoned in parallel, both accept; tokens act for their unit; only the lead\'s completed completes it', async () => {
    await configure('tourism', ['70111']); // presses 1 one second after answering
    await configure('education', ['70211']); // presses 1 two seconds after answering
    const created = await api('POST', '/api/v1/orders', DESK, {
      externalId: `co-${Date.now()}`, category: 'water-main-burst', departmentIds: ['tourism', 'education'], summary: '水管爆裂', address: '城关镇', reporterPhone: '13800138000', urgency: 'urgent',
    });
    expect(created.statusCode, created.body).toBe(201);
    const { id, code, departmentId, departmentIds } = created.json<{ id: string; code: string; departmentId: string; departmentIds: string[] }>();
    expect(code).toMatch(/^[0-9]{6}$/);
    expect([departmentId, departmentIds]).toEqual(['tourism', ['tourism', 'education']]);

    await expect.poll(async () => (await record(id)).units.map((u) => u.status), { timeout: 40_000, interval: 250 }).toEqual(['accepted', 'accepted']);
    await expect.poll(() => (s as Services).dispatcher.liveCount(), { timeout: 20_000, interval: 250 }).toBe(0);
    const r = await record(id);
    expect(r.status).toBe('accepted');
    const calls = r.attempts.filter((a) => a.script === 'dispatch');
    expect(calls.map((a) => [a.id, a.departmentId, a.result, a.digits])).toEqual([
      [`${id}-a1`, 'tourism', 'accepted', '1'],
      [`${id}-u1-a1001`, 'education', 'accepted', '1'],
    ]);
    // In parallel: the co-unit's phone rang at the same time as the lead's, not after it.
    const started = calls.map((a) => Date.parse(a.startedAt));
    expect(Math.abs((started[1] ?? 0) - (started[0] ?? 0))).toBeLessThan(2_000);
    expect(r.acknowledgement).toMatchObject({ attemptId: `${id}-a1`, departmentId: 'tourism', via: 'phone', late: false });
    // One acknowledgement per unit (in the order they were committed).
    expect(new Map(r.acknowledgements.map((a) => [a.departmentId, a.attemptId]))).toEqual(new Map([['tourism', `${id}-a1`], ['education', `${id}-u1-a1001`]]));
    expect(r.acknowledgements).toHaveLength(2);
    expect(r.units.map((u) => [u.departmentId, u.lead, u.acknowledgement?.contactId])).toEqual([['tourism', true, 'c1'], ['education', false, 'c1']]);

    // A token of a unit not on the order: 403, nothing stored; the co-unit's own token reads and reports.
    expect((await api('GET', `/api/v1/orders/${id}`, TRANSPORT)).statusCode).toBe(403);
    expect((await api('POST', `/api/v1/orders/${id}/feedback`, TRANSPORT, { kind: 'arrived' })).statusCode).toBe(403);
    expect((await api('GET', `/api/v1/orders/${id}`, EDUCATION)).statusCode).toBe(200);
    expect((await api('GET', '/api/v1/orders', EDUCATION)).json<{ orders: Array<{ id: string }> }>().orders.map((o) => o.id)).toContain(id);
    expect((await api('POST', `/api/v1/orders/${id}/feedback`, EDUCATION, { kind: 'arrived', departmentId: 'tourism' })).statusCode).toBe(403);
    const arrived = await api('POST', `/api/v1/orders/${id}/feedback`, EDUCATION, { kind: 'arrived', note: '已到现场' });
    expect(arrived.statusCode, arrived.body).toBe(201);
    expect(arrived.json<{ department_id: string }>().department_id).toBe('education');
    const coDone = await api('POST', `/api/v1/orders/${id}/feedback`, EDUCATION, { kind: 'completed' });
    expect(coDone.statusCode, coDone.body).toBe(201);
    let after = await record(id);
    expect(after.status).toBe('accepted'); // the co-unit's completed does not complete the order
    expect(after.units.map((u) => u.status)).toEqual(['accepted', 'completed']);

    // The desk (no unit) reports for the lead by default: its completed completes the order.
    const leadDone = await api('POST', `/api/v1/orders/${id}/feedback`, ADMIN, { kind: 'completed' });
    expect(leadDone.statusCode, leadDone.body).toBe(201);
    after = await record(id);
    expect(after.status).toBe('completed');
    expect(after.feedback.map((f) => [f.kind, f.departmentId])).toEqual([['arrived', 'education'], ['completed', 'education'], ['completed', 'tourism']]);

    // A unit not on the order named in the body: 409, nothing stored.
    const stranger = await api('POST', `/api/v1/orders/${id}/feedback`, ADMIN, { kind: 'arrived', departmentId: 'transport' });
    expect(stranger.statusCode).toBe(409);
    expect((await record(id)).feedback).toHaveLength(3);
  });

  it('on the feedback line, the caller\'s number names the unit: a co-unit\'s contact reports its own arrival', async () => {
    const services = s as Services;
    const coCaller = '05770001234';
    await configure('tourism', ['70111']);
    await configure('education', ['70211', coCaller]); // 70211 accepts the dispatch call: coCaller is never phoned
    const created = await api('POST', '/api/v1/orders', DESK, {
      externalId: `co-line-${Date.now()}`, category: 'water-main-burst', departmentIds: ['tourism', 'education'], summary: '水管爆裂', address: '城关镇', reporterPhone: '13800138000', urgency: 'urgent',
    });
    expect(created.statusCode, created.body).toBe(201);
    const { id, code } = created.json<{ id: string; code: string }>();
    await expect.poll(async () => (await record(id)).units.map((u) => u.status), { timeout: 40_000, interval: 250 }).toEqual(['accepted', 'accepted']);
    // The co-unit's officer phones the feedback line: keys the code, then 1 (arrived).
    const channelId = `co-fb-${process.pid}-${Date.now().toString(36)}`;
    const res = await services.ami.action({
      Action: 'Originate', Channel: `Local/7021${code}1@sim-phones`, Application: 'Stasis', Data: `${services.config.ari.app},inbound,12110`,
      CallerID: `"Duty" <${coCaller}>`, ChannelId: channelId, OtherChannelId: `${channelId}-sim`, Async: 'true',
    });
    expect(String(res.response).toLowerCase()).toBe('success');
    await expect.poll(async () => (await record(id)).feedback.map((f) => [f.kind, f.via, f.departmentId]), { timeout: 50_000, interval: 500 }).toEqual([['arrived', 'phone', 'education']]);
    const r = await record(id);
    expect(r.status).toBe('accepted');
    expect(r.units.map((u) => [u.departmentId, u.status])).toEqual([['tourism', 'accepted'], ['education', 'arrived']]);
  });

  it('a lead\'s key-3 dispute cannot be settled by reassigning the order to a unit already on it', async () => {
    await configure('civil-affairs', ['70113']); // presses 3 one second after answering
    await configure('education', ['70211']);
    const created = await api('POST', '/api/v1/orders', DESK, {
      externalId: `co-dispute-${Date.now()}`, category: 'water-main-burst', departmentIds: ['civil-affairs', 'education'], summary: '水管爆裂', address: '城关镇', reporterPhone: '13800138000', urgency: 'urgent',
    });
    expect(created.statusCode, created.body).toBe(201);
    const { id } = created.json<{ id: string }>();
    await expect.poll(async () => (await record(id)).units.map((u) => u.status), { timeout: 40_000, interval: 250 }).toEqual(['accepted', 'accepted']);
    await expect.poll(() => (s as Services).dispatcher.liveCount(), { timeout: 20_000, interval: 250 }).toBe(0);
    expect((await record(id)).acknowledgement).toMatchObject({ disputed: true, departmentId: 'civil-affairs' });
    const settle = await api('POST', `/api/v1/orders/${id}/disputes/civil-affairs`, ADMIN, { decision: 'upheld', reassignTo: 'education', note: '改派' });
    expect(settle.statusCode, settle.body).toBe(409);
    expect(settle.json<{ error: { code: string } }>().error.code).toBe('already_on_order');
    const r = (await api('GET', `/api/v1/orders/${id}`, DESK)).json<{ departmentId: string; disputes: Array<{ status: string }> }>();
    expect([r.departmentId, r.disputes.map((d) => d.status)]).toEqual(['civil-affairs', ['open']]);
  });

  it('refuses a bad unit list and stores nothing', async () => {
    const base = { category: 'water-main-burst', summary: '水管爆裂', address: '城关镇', reporterPhone: '13800138000', urgency: 'urgent' };
    const cases = [
      { departmentIds: ['tourism', 'tourism'] },
      { departmentIds: ['tourism', 'no-such-unit'] },
      { departmentIds: [] },
      { departmentId: 'education', departmentIds: ['tourism', 'education'] },
    ];
    for (const [i, extra] of cases.entries()) {
      const externalId = `co-bad-${i}-${Date.now()}`;
      const res = await api('POST', '/api/v1/orders', DESK, { ...base, externalId, ...extra });
      expect(res.statusCode, res.body).toBe(400);
      expect((await (s as Services).repo.listOrders({ limit: 200, offset: 0 })).rows.some((o) => o.external_id === externalId)).toBe(false);
    }
  });
});
