// After a crash mid-dispatch the service resumes the order from its store: the attempt that was
// live is ended as interrupted (its channel hung up if Asterisk still has it), and the next
// attempt gets a new channel id, so nobody is called twice for one attempt.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/composition.js';
import { sql } from 'kysely';
import { openStore } from '../../src/db/store.js';
import { OrderRepository } from '../../src/orders/order-repository.js';
import { ARTIFACTS, startServices } from './support.js';

const dbFile = path.join(ARTIFACTS, `resume-${process.pid}.db`);
let s: Services | undefined;
afterAll(async () => {
  await s?.close();
  for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) fs.rmSync(f, { force: true });
});

describe('restart mid-dispatch', () => {
  it('interrupts the live attempt, resumes with a new attempt id, and the order is accepted', async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    // The state a crashed service leaves behind: order dispatching, attempt 1 started, never ended.
    const store = await openStore({ engine: 'sqlite', path: dbFile });
    const repo = new OrderRepository(store);
    const change = JSON.stringify({
      update: { name: { 'zh-CN': '旅发局', en: 'Tourism' }, categories: ['tourism-complaint'], contacts: [{ id: 'c1', name: 'duty', number: '70111', priority: 1 }], rosters: [] },
      policy: { attemptsPerContact: 2, retryDelaySeconds: 1, ringTimeoutSeconds: 5, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 1, keyTimeoutSeconds: 3 },
    });
    await sql`INSERT INTO department_changes (department_id, body, actor, at) VALUES ('tourism', ${change}, 'test', ${new Date().toISOString()})`.execute(store.db);
    const { row } = await repo.createOrder({ externalId: 'resume-1', category: 'water-main-burst', departmentId: 'tourism', summary: '水管爆裂', address: '城关镇', reporterPhone: '13800138000', urgency: 'urgent', major: false });
    const firstAttempt = `${row.id}-a1`;
    await repo.startAttempt({ orderId: row.id, attemptId: firstAttempt, seq: 1, script: 'dispatch', contactId: 'c1', number: '70111', attemptOnContact: 0, cursor: { loop: 0, contactIndex: 0 } });
    await repo.saveResume(row.id, { nextAttemptSeq: 2, cursor: { loop: 0, contactIndex: 0, attemptOnContact: 1 }, leaders: [] });
    await store.close();

    s = await startServices('restart-resume', { LIANDONG_DB: dbFile });
    const services = s;
    await expect.poll(async () => (await services.repo.getOrder(row.id))?.status, { timeout: 30_000, interval: 250 }).toBe('accepted');
    await expect.poll(() => services.dispatcher.isLive(row.id), { timeout: 30_000 }).toBe(false);
    const attempts = await services.repo.attempts(row.id);
    expect(attempts.map((a) => [a.id, a.result])).toEqual([
      [firstAttempt, 'interrupted'],
      [`${row.id}-a2`, 'accepted'],
    ]);
    const kinds = (await services.repo.events(row.id)).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['attempt_interrupted', 'dispatch_resumed', 'acceptance_committed']));
    expect(await services.repo.acknowledgements(row.id)).toHaveLength(1);
  });

  it('an attempt whose acceptance was committed before the crash stays accepted (confirmation interrupted); nobody is called', async () => {
    const services = s as Services;
    // The state a service killed during the confirmation leaves: acceptance committed, attempt open.
    const { row } = await services.repo.createOrder({ externalId: 'resume-2', category: 'water-main-burst', departmentId: 'tourism', summary: '水管爆裂', address: '城关镇', reporterPhone: '13800138000', urgency: 'urgent', major: false });
    const attemptId = `${row.id}-a1`;
    await services.repo.startAttempt({ orderId: row.id, attemptId, seq: 1, script: 'dispatch', contactId: 'c1', number: '70111', attemptOnContact: 0, cursor: { loop: 0, contactIndex: 0 } });
    await services.repo.appendDigit(attemptId, '1');
    await services.repo.commitAcceptance({ orderId: row.id, attemptId, contactId: 'c1', script: 'dispatch', disputed: false, via: 'phone' });
    expect(await services.dispatcher.resumeAll()).toBe(0);
    const [attempt] = await services.repo.attempts(row.id);
    expect([attempt?.result, attempt?.reason, attempt?.digits]).toEqual(['accepted', 'confirmation interrupted', '1']);
    expect((await services.repo.getOrder(row.id))?.status).toBe('accepted');
    expect(await services.repo.attempts(row.id)).toHaveLength(1);
    expect((await services.repo.events(row.id)).map((e) => e.kind)).toContain('confirmation_interrupted');
  });
});
