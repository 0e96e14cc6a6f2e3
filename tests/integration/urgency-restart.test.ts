// A normal order waiting for its platform acknowledgement when the service stopped: on restart
// the wait goes on from the store (platform_due_at), and the order is phoned when it ends.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/composition.js';
import { sql } from 'kysely';
import { openStore } from '../../src/db/store.js';
import { OrderRepository } from '../../src/orders/order-repository.js';
import { ARTIFACTS, startServices } from './support.js';

const dbFile = path.join(ARTIFACTS, `urgency-restart-${process.pid}.db`);
let s: Services | undefined;
afterAll(async () => {
  await s?.close();
  for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) fs.rmSync(f, { force: true });
});

describe('platform wait across a restart', () => {
  it('a normal order still waiting on its platform is phoned when the wait ends, not at once', async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const store = await openStore({ engine: 'sqlite', path: dbFile });
    const repo = new OrderRepository(store);
    const change = JSON.stringify({
      update: { name: { 'zh-CN': '旅发局', en: 'Tourism' }, categories: ['tourism-complaint'], contacts: [{ id: 'c1', name: 'duty', number: '70111', priority: 1 }], rosters: [] },
      policy: { attemptsPerContact: 1, retryDelaySeconds: 1, ringTimeoutSeconds: 5, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 1, keyTimeoutSeconds: 4, platformAckSeconds: 600 },
      platform: { url: 'http://127.0.0.1:9/never-called' },
    });
    await sql`INSERT INTO department_changes (department_id, body, actor, at) VALUES ('tourism', ${change}, 'test', ${new Date().toISOString()})`.execute(store.db);
    const { row } = await repo.createOrder({ externalId: 'platform-restart', category: 'tourism-complaint', departmentId: 'tourism', summary: '投诉', address: '景区', reporterPhone: '13800138000', urgency: 'normal', major: false });
    const dueMs = Date.now() + 4000;
    await repo.setPlatformDue(row.id, dueMs);
    await store.close();

    s = await startServices('urgency-restart', { LIANDONG_DB: dbFile });
    const services = s;
    await expect.poll(() => services.dispatcher.isAwaitingPlatform(row.id), { timeout: 20_000 }).toBe(true);
    expect(await services.repo.attempts(row.id)).toEqual([]);
    await expect.poll(async () => (await services.repo.getOrder(row.id))?.status, { timeout: 40_000, interval: 250 }).toBe('accepted');
    const [first] = await services.repo.attempts(row.id);
    expect(Date.parse(first?.started_at ?? '')).toBeGreaterThanOrEqual(dueMs);
    expect((await services.repo.events(row.id)).map((e) => e.kind)).toContain('platform_unacknowledged');
  });
});
