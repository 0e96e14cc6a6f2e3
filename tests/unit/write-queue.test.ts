// The WriteQueue's group commit on both engines: posted writes commit together in one transaction
// per window, in the order they were posted, around awaited writes; one failing write is rolled
// back alone and reported; fenced writes check their lease once per group. The window is never
// waited for: a window longer than any test (the constructor takes any; only the setting is
// capped at 50 ms) and explicit flushes, or fake timers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LeaseManager } from '../../src/cluster/leases.js';
import { run } from '../../src/db/sql.js';
import { openStore, type Store } from '../../src/db/store.js';
import { MAX_GROUP_WRITES, WriteQueue } from '../../src/db/write-queue.js';
import { OrderRepository } from '../../src/orders/order-repository.js';
import { ENGINES, openTestStore } from '../support/engines.js';
import { testCluster, type TestCluster } from './cluster-fixtures.js';

/** Longer than any test: a group commits only when the test (or run, or drain) ends it. */
const NEVER_MS = 3_600_000;

let store: Store | undefined;
let cluster: TestCluster | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await store?.close();
  store = undefined;
  await cluster?.close();
  cluster = undefined;
});

/** A store with one order, a queue over it and what the queue reported. */
async function setUp(engine: (typeof ENGINES)[number], windowMs = NEVER_MS) {
  store = await openTestStore(engine);
  const repo = new OrderRepository(store);
  const { row } = await repo.createOrder({ externalId: 'wq-1', category: 'water-main-burst', departmentId: 'water-supply', summary: 's', address: 'a', reporterPhone: '13800138000', urgency: 'urgent', major: false });
  const failures: string[] = [];
  const writes = new WriteQueue((label, reason) => failures.push(`${label}: ${reason}`), { store, windowMs });
  const event = (kind: string) => () => repo.appendEvent(row.id, 'test', kind);
  const kinds = async () => (await repo.events(row.id)).map((e) => e.kind).filter((k) => k !== 'order_created');
  return { store, repo, orderId: row.id, writes, failures, event, kinds };
}

describe.each(ENGINES)('WriteQueue group commit on %s', (engine) => {
  it('commits posted writes in order, one transaction per group, around an awaited write', async () => {
    const { store, writes, failures, event, kinds } = await setUp(engine);
    const before = store.commits();
    writes.post('e1', event('e1'));
    writes.post('e2', event('e2'));
    writes.post('e3', event('e3'));
    await writes.run(event('e4'));
    writes.post('e5', event('e5'));
    writes.post('e6', event('e6'));
    await writes.drain();

    expect(failures).toEqual([]);
    expect(await kinds()).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
    // e1-e3 in one group, e4 alone, e5-e6 in another: three commits for six writes.
    expect(store.commits() - before).toBe(3);
    expect(writes.stats()).toEqual({ pending: 0, collecting: 0, failures: 0, groups: 2, grouped: 5 });
  });

  it('commits each write alone with a window of 0, as without a store', async () => {
    const { store, writes, event, kinds } = await setUp(engine, 0);
    const before = store.commits();
    for (let i = 1; i <= 20; i++) writes.post(`e${i}`, event(`e${i}`));
    await writes.drain();
    expect((await kinds()).length).toBe(20);
    expect(store.commits() - before).toBe(20);
    expect(writes.stats().groups).toBe(0);
  });

  it('commits twenty posted writes in one transaction', async () => {
    const { store, writes, event, kinds } = await setUp(engine);
    const before = store.commits();
    for (let i = 1; i <= 20; i++) writes.post(`e${i}`, event(`e${i}`));
    await writes.drain();
    expect(await kinds()).toEqual(Array.from({ length: 20 }, (_, i) => `e${i + 1}`));
    expect(store.commits() - before).toBe(1);
  });

  it(`ends a group at ${MAX_GROUP_WRITES} writes, whatever its window`, async () => {
    const { store, writes } = await setUp(engine);
    const before = store.commits();
    for (let i = 0; i <= MAX_GROUP_WRITES; i++) writes.post('e', () => Promise.resolve());
    expect(writes.stats().collecting).toBe(1);
    await writes.drain();
    expect(store.commits() - before).toBe(2);
    expect(writes.stats()).toMatchObject({ groups: 2, grouped: MAX_GROUP_WRITES + 1 });
  });

  it('ends a group when its window, counted from its first write, ends', async () => {
    const { store, writes, event, kinds } = await setUp(engine, 20);
    const before = store.commits();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    writes.post('e1', event('e1'));
    vi.advanceTimersByTime(10);
    writes.post('e2', event('e2'));
    vi.advanceTimersByTime(9);
    expect(writes.stats().collecting).toBe(2);
    vi.advanceTimersByTime(1);
    expect(writes.stats().collecting).toBe(0);
    vi.useRealTimers();
    await writes.drain();
    expect(await kinds()).toEqual(['e1', 'e2']);
    expect(store.commits() - before).toBe(1);
  });

  it('rolls a failing write back alone and reports it; the others of its group commit', async () => {
    const { store, repo, orderId, writes, failures, event, kinds } = await setUp(engine);
    const before = store.commits();
    writes.post('e1', event('e1'));
    writes.post('half done', async () => {
      await repo.appendEvent(orderId, 'test', 'rolled back');
      throw new Error('refused after its first statement');
    });
    // On PostgreSQL a failed statement aborts the transaction: its savepoint's rollback restores it.
    writes.post('bad statement', () => run(store.db, sql`INSERT INTO no_such_table (x) VALUES (1)`));
    writes.post('e2', event('e2'));
    await writes.drain();

    expect(await kinds()).toEqual(['e1', 'e2']);
    expect(failures).toHaveLength(2);
    expect(failures[0]).toBe('half done: refused after its first statement');
    expect(failures[1]).toMatch(/^bad statement: .*no_such_table/);
    expect(store.commits() - before).toBe(1);
    expect(writes.stats()).toMatchObject({ pending: 0, failures: 2, groups: 1, grouped: 2 });
  });

  it('run() commits the collected group before its own write runs', async () => {
    const { store, writes, event, kinds } = await setUp(engine);
    writes.post('e1', event('e1'));
    writes.post('e2', event('e2'));
    const before = store.commits();
    // Read outside any group: on PostgreSQL another connection, which sees committed rows only.
    const seen = await writes.run(async () => ({ kinds: await kinds(), commits: store.commits() - before }));
    expect(seen).toEqual({ kinds: ['e1', 'e2'], commits: 1 });
  });

  it('a write reading through store.db inside a group reads the group, without waiting for itself', async () => {
    const { repo, orderId, writes, failures, event, kinds } = await setUp(engine);
    writes.post('e1', event('e1'));
    // Reads what e1 wrote, uncommitted, in the group's transaction (SQLite: its one connection).
    writes.post('count', async () => {
      const seen = (await repo.events(orderId)).length;
      await repo.appendEvent(orderId, 'test', `saw ${seen}`);
    });
    await writes.drain();
    expect(failures).toEqual([]);
    expect(await kinds()).toEqual(['e1', 'saw 2']);
  });

  it('work a write started in the background uses the store, not that write\'s ended group, even while another group runs', async () => {
    const { store, repo, orderId, writes, failures, kinds } = await setUp(engine);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    let background: Promise<void> | undefined;
    writes.post('starts work', async () => {
      await repo.appendEvent(orderId, 'test', 'e1');
      background = gate.then(() => repo.appendEvent(orderId, 'test', 'background'));
    });
    await writes.drain();
    const before = store.commits();
    // The work starts while the next group runs (it does not wait for it: on SQLite the work
    // waits for the group's connection).
    writes.post('opens the gate', async () => {
      release();
      await new Promise((resolve) => setTimeout(resolve, 0));
      await repo.appendEvent(orderId, 'test', 'e2');
    });
    await writes.drain();
    await background;
    expect(failures).toEqual([]);
    expect((await kinds()).sort()).toEqual(['background', 'e1', 'e2']);
    // The second group, and the background work in a transaction of its own.
    expect(store.commits() - before).toBe(2);
  });

  it('a write of a group that writes to another store commits there, on its own', async () => {
    const { store, writes, failures, event, kinds } = await setUp(engine);
    const other = await openTestStore(engine);
    try {
      const otherRepo = new OrderRepository(other);
      const { row } = await otherRepo.createOrder({ externalId: 'wq-other', category: 'water-main-burst', departmentId: 'water-supply', summary: 's', address: 'a', reporterPhone: '13800138000', urgency: 'urgent', major: false });
      const [before, otherBefore] = [store.commits(), other.commits()];
      writes.post('e1', event('e1'));
      writes.post('elsewhere', () => otherRepo.appendEvent(row.id, 'test', 'elsewhere'));
      await writes.drain();
      expect(failures).toEqual([]);
      expect(await kinds()).toEqual(['e1']);
      expect((await otherRepo.events(row.id)).map((e) => e.kind)).toEqual(['order_created', 'elsewhere']);
      expect([store.commits() - before, other.commits() - otherBefore]).toEqual([1, 1]);
    } finally {
      await other.close();
    }
  });

  it('a write posted alone commits after the group before it, in its own transactions', async () => {
    const { store, writes, event, kinds } = await setUp(engine);
    const before = store.commits();
    writes.post('e1', event('e1'));
    writes.post('alone', event('alone'), { alone: true });
    writes.post('e2', event('e2'));
    await writes.drain();
    expect(await kinds()).toEqual(['e1', 'alone', 'e2']);
    expect(store.commits() - before).toBe(3);
  });
});

/** A write about a unit: one settings row, through the store view the caller holds (fenced or not). */
function setting(s: Store, key: string) {
  return () => s.transaction(async (tx) => {
    await run(tx, sql`INSERT INTO settings (key, value, actor, at) VALUES (${key}, 'v', 'test', '2026-12-01T00:00:00Z')`);
  });
}

async function settings(s: Store): Promise<string[]> {
  return (await s.db.selectFrom('settings').select('key').orderBy('key').execute()).map((r) => r.key as string);
}

describe.each(ENGINES)('WriteQueue group commit of fenced writes on %s', (engine) => {
  async function node(): Promise<{ a: LeaseManager; writes: WriteQueue; failures: string[] }> {
    cluster = await testCluster(engine);
    const a = await cluster.openNode('a', { autoRenew: false, ttlMs: 600_000 });
    for (const unit of ['order:1', 'order:2']) expect((await a.claim(unit)).ok).toBe(true);
    const failures: string[] = [];
    return { a, writes: new WriteQueue((label, reason) => failures.push(`${label}: ${reason}`), { store: a.store, windowMs: NEVER_MS }), failures };
  }
  const takeOver = (s: Store, unit: string) => run(s.db, sql`UPDATE cluster_leases SET owner = 'b', epoch = epoch + 1 WHERE unit_key = ${unit}`);

  it('a write whose lease was taken fails alone; the other unit\'s writes in its group commit', async () => {
    const { a, writes, failures } = await node();
    await takeOver(a.store, 'order:2');
    const before = a.store.commits();
    writes.post('w1', setting(a.fenced('order:1'), 'w1'));
    writes.post('w2', setting(a.fenced('order:2'), 'w2'));
    writes.post('w3', setting(a.fenced('order:1'), 'w3'));
    await writes.drain();
    expect(failures).toEqual(['w2: lease on order:2 lost (taken): held by a at epoch 1, now b at epoch 2']);
    expect(await settings(a.store)).toEqual(['w1', 'w3']);
    expect(a.store.commits() - before).toBe(1);
  });

  it('a read through a fenced store inside a group reads the group (SQLite: no wait for its own connection)', async () => {
    const { a, writes, failures } = await node();
    const order1 = a.fenced('order:1');
    writes.post('w1', setting(order1, 'w1'));
    writes.post('reads', async () => setting(order1, `saw ${(await settings(order1)).length}`)());
    await writes.drain();
    expect(failures).toEqual([]);
    expect(await settings(a.store)).toEqual(['saw 1', 'w1']);
  });

  it('checks a lease once per group, again after a write that checked it was rolled back, and after its release', async () => {
    const { a, writes, failures } = await node();
    const order1 = a.fenced('order:1');
    // Checked by w1; the row changed inside the group (no other node can: the check locks it) is not read again.
    writes.post('w1', setting(order1, 'w1'));
    writes.post('change', () => takeOver(a.store, 'order:1'));
    writes.post('w2', setting(order1, 'w2'));
    await writes.drain();
    expect(failures).toEqual([]);

    // Checked by a write that is rolled back: forgotten (on PostgreSQL its row lock went with it).
    const order2 = a.fenced('order:2');
    writes.post('checked then failed', async () => {
      await setting(order2, 'x1')();
      throw new Error('failed after its check');
    });
    writes.post('change', () => takeOver(a.store, 'order:2'));
    writes.post('w3', setting(order2, 'w3'));
    await writes.drain();
    expect(failures).toEqual(['checked then failed: failed after its check', 'w3: lease on order:2 lost (taken): held by a at epoch 1, now b at epoch 2']);
    expect(await settings(a.store)).toEqual(['w1', 'w2']);
  });

  it('a write posted after its unit\'s release in the same group finds the lease released', async () => {
    const { a, writes, failures } = await node();
    const order1 = a.fenced('order:1');
    writes.post('w1', setting(order1, 'w1'));
    writes.post('release', () => a.release('order:1'));
    writes.post('late', setting(order1, 'late'));
    await writes.drain();
    expect(failures).toEqual(['late: lease on order:1 lost (released): held by a at epoch 1, now nobody at epoch 1']);
    expect(await settings(a.store)).toEqual(['w1']);
  });
});

describe('WriteQueue group commit on a SQLite file: what is synced to disk', () => {
  it('a transaction (an awaited write) resolves after its WAL is fsynced; a group of posted events is not synced', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-wal-'));
    try {
      const fileStore = await openStore({ engine: 'sqlite', path: path.join(dir, 'case.db') });
      try {
        const repo = new OrderRepository(fileStore);
        const { row } = await repo.createOrder({ externalId: 'wal-1', category: 'water-main-burst', departmentId: 'water-supply', summary: 's', address: 'a', reporterPhone: '13800138000', urgency: 'urgent', major: false });
        const writes = new WriteQueue(() => undefined, { store: fileStore, windowMs: NEVER_MS });
        const synced = fileStore.syncs();
        expect(synced).toBeGreaterThan(0); // the order's creation was synced
        writes.post('e1', () => repo.appendEvent(row.id, 'test', 'e1'));
        writes.post('e2', () => repo.appendEvent(row.id, 'test', 'e2'));
        await writes.committed();
        expect(fileStore.syncs()).toBe(synced);
        await writes.run(() => repo.appendEvent(row.id, 'test', 'e3'));
        expect(fileStore.syncs()).toBe(synced + 1);
        // The connection itself never waits for an fsync on the event loop.
        expect((await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(fileStore.db)).rows[0]?.synchronous).toBe(1);
      } finally {
        await fileStore.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
