// 督查催办 on the real Asterisk with simulated phones: an accepted order whose arrival is not
// reported by the deadline gets a reminder call; key 1 records the arrival through the phone.
// And the deadline is durable: a round cut short by a stopped service is placed again on restart.
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/composition.js';
import { run } from '../../src/db/sql.js';
import { openStore } from '../../src/db/store.js';
import { OrderRepository } from '../../src/orders/order-repository.js';
import { ARTIFACTS, startServices } from './support.js';

const DESK = { authorization: 'Bearer dev-desk-token' };
const ADMIN = { authorization: 'Bearer dev-admin-token' };
const POLICY = {
  attemptsPerContact: 1, retryDelaySeconds: 1, ringTimeoutSeconds: 5, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 1, keyTimeoutSeconds: 4,
  arrivalDeadlineSeconds: 3, completionDeadlineSeconds: 0,
};

interface Reminders {
  deadlines: Array<{ kind: string; status: string; rounds: number; missedAt: string | null; metAt: string | null }>;
  calls: Array<{ id: string; target: string; contactId: string; result: string | null; digits: string; answer: string | null }>;
}
interface Record { status: string; feedback: Array<{ kind: string; via: string; actor: string }>; events: Array<{ kind: string }>; reminders: Reminders }

const dbFile = path.join(ARTIFACTS, `reminders-${process.pid}.db`);
let s: Services | undefined;
afterAll(async () => {
  await s?.close();
  for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) fs.rmSync(f, { force: true });
});

async function record(services: Services, id: string): Promise<Record> {
  return (await services.app.inject({ method: 'GET', url: `/api/v1/orders/${id}`, headers: DESK })).json<Record>();
}

describe('reminder calls (督查催办)', () => {
  it('arrival not reported by the deadline: the accepting contact is phoned and key 1 records the arrival', async () => {
    s = await startServices('reminders');
    const services = s;
    const dept = (await services.app.inject({ method: 'GET', url: '/api/v1/departments', headers: DESK })).json<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>()
      .departments.find((d) => d.id === 'tourism');
    const put = await services.app.inject({
      method: 'PUT', url: '/api/v1/departments/tourism', headers: ADMIN,
      payload: { name: dept?.name, categories: dept?.categories, contacts: [{ id: 'c1', name: 'duty', number: '70111', priority: 1 }], policy: POLICY },
    });
    expect(put.statusCode, put.body).toBe(200);
    const res = await services.app.inject({
      method: 'POST', url: '/api/v1/orders', headers: DESK,
      payload: { externalId: `rem-${Date.now()}`, category: 'tourism-complaint', departmentId: 'tourism', summary: '游客被困', address: '景区', reporterPhone: '13800138000', urgency: 'urgent' },
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json<{ id: string }>().id;
    await expect.poll(async () => (await record(services, id)).status, { timeout: 60_000, interval: 250 }).toBe('arrived');
    const r = await record(services, id);
    expect(r.reminders.calls[0]).toMatchObject({ id: `${id}-r1`, target: 'chain', contactId: 'c1', answer: 'done', digits: '1' });
    expect(r.feedback).toEqual([expect.objectContaining({ kind: 'arrived', via: 'phone', actor: 'reminder:c1' })]);
    expect(r.reminders.deadlines).toEqual([expect.objectContaining({ kind: 'arrival', status: 'met', rounds: 1 })]);
    expect(r.reminders.deadlines[0]?.missedAt).not.toBeNull();
    const kinds = r.events.map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['deadline_set', 'deadline_missed', 'reminder_round', 'reminder_answered', 'feedback_arrived', 'deadline_met']));
    // The answer is committed before the confirmation ends the call.
    await expect.poll(async () => (await record(services, id)).reminders.calls[0]?.result, { timeout: 30_000 }).toBe('accepted');
    expect(kinds.indexOf('reminder_answered')).toBeLessThan(kinds.indexOf('feedback_arrived'));
    await services.close();
    s = undefined;
  });

  it('survives a restart: a round cut short by a stopped service is placed again with a new channel id', async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const store = await openStore({ engine: 'sqlite', path: dbFile });
    const repo = new OrderRepository(store);
    const change = JSON.stringify({
      update: { name: { 'zh-CN': '旅发局', en: 'Tourism' }, categories: ['tourism-complaint'], contacts: [{ id: 'c1', name: 'duty', number: '70111', priority: 1 }], rosters: [] },
      policy: POLICY,
    });
    await run(store.db, sql`INSERT INTO department_changes (department_id, body, actor, at) VALUES ('tourism', ${change}, 'test', ${new Date().toISOString()})`);
    const { row } = await repo.createOrder({ externalId: 'rem-restart', category: 'tourism-complaint', departmentId: 'tourism', summary: '游客被困', address: '景区', reporterPhone: '13800138000', urgency: 'urgent', major: false });
    await repo.startAttempt({ orderId: row.id, attemptId: `${row.id}-a1`, seq: 1, script: 'dispatch', contactId: 'c1', number: '70111', attemptOnContact: 0, cursor: { loop: 0, contactIndex: 0 } });
    await repo.commitAcceptance({ orderId: row.id, attemptId: `${row.id}-a1`, contactId: 'c1', script: 'dispatch', disputed: false, via: 'phone' });
    await repo.endAttempt(`${row.id}-a1`, { result: 'accepted', digits: '1', endedAt: Date.now() });
    // The service stopped during reminder round 1: deadline `reminding`, its call open.
    const now = new Date().toISOString();
    await run(store.db, sql`
      INSERT INTO feedback_deadlines (id, order_id, kind, status, deadline_seconds, first_due_at, due_at, rounds, missed_at, created_at, updated_at)
      VALUES (${`${row.id}-arrival`}, ${row.id}, 'arrival', 'reminding', 3, ${now}, ${now}, 1, ${now}, ${now}, ${now})`);
    await run(store.db, sql`
      INSERT INTO reminder_attempts (id, order_id, deadline_id, seq, round, target, contact_id, number, started_at)
      VALUES (${`${row.id}-r1`}, ${row.id}, ${`${row.id}-arrival`}, 1, 1, 'chain', 'c1', '70111', ${now})`);
    await store.close();

    s = await startServices('reminders-restart', { LIANDONG_DB: dbFile });
    const services = s;
    await expect.poll(async () => (await record(services, row.id)).status, { timeout: 60_000, interval: 250 }).toBe('arrived');
    await expect.poll(async () => (await record(services, row.id)).reminders.calls[1]?.result, { timeout: 30_000 }).toBe('accepted');
    const r = await record(services, row.id);
    expect(r.reminders.calls.map((c) => [c.id, c.result, c.answer])).toEqual([
      [`${row.id}-r1`, 'interrupted', null],
      [`${row.id}-r2`, 'accepted', 'done'],
    ]);
    expect(r.events.map((e) => e.kind)).toContain('reminder_resumed');
    expect(r.reminders.deadlines[0]).toMatchObject({ status: 'met', rounds: 2 });
  });
});
