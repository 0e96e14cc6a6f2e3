// Fenced leases: one owner per unit, renewal, takeover after TTL on the database clock, zombie
// writes refused. Two nodes on PostgreSQL; the single-node behaviour on both engines.
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LeaseLostError, fencedStore } from '../../src/cluster/fencing.js';
import type { LeaseManager } from '../../src/cluster/leases.js';
import { first, rows, run } from '../../src/db/sql.js';
import type { Store } from '../../src/db/store.js';
import { ENGINES } from '../support/engines.js';
import { TTL_MS, dbNow, sleep, testCluster, type TestCluster } from './cluster-fixtures.js';

let cluster: TestCluster | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await cluster?.close();
  cluster = undefined;
});

/** A write about the unit: one settings row, through whatever store view the caller holds. */
function writeSetting(store: Store, key: string, value: string): Promise<void> {
  return store.transaction(async (tx) => {
    await run(tx, sql`
      INSERT INTO settings (key, value, actor, at) VALUES (${key}, ${value}, 'test', '2026-12-01T00:00:00Z')
      ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
  });
}

async function settingValue(store: Store, key: string): Promise<string | undefined> {
  return (await first(store.db, sql<{ value: string }>`SELECT value FROM settings WHERE key = ${key}`))?.value;
}

async function claimOk(node: LeaseManager, unitKey: string): Promise<void> {
  const r = await node.claim(unitKey);
  expect(r.ok, JSON.stringify(r)).toBe(true);
}

describe.each(ENGINES)('leases, one node, on %s', (engine) => {
  it('claims a unit once, renews it, fences writes by epoch, and releases it', async () => {
    cluster = await testCluster(engine);
    const a = await cluster.openNode('a', { autoRenew: false });
    const first1 = await a.claim('order:1');
    expect(first1).toEqual({ ok: true, lease: { unitKey: 'order:1', owner: 'a', epoch: 1 } });
    expect(await a.claim('order:1')).toEqual(first1); // idempotent for the holder
    const [x, y] = await Promise.all([a.claim('order:3'), a.claim('order:3')]);
    expect([x, y]).toEqual([{ ok: true, lease: { unitKey: 'order:3', owner: 'a', epoch: 1 } }, { ok: true, lease: { unitKey: 'order:3', owner: 'a', epoch: 1 } }]);
    expect(await a.release('order:3')).toBe(true);
    expect(await a.liveLeaseCount()).toBe(1);

    await writeSetting(a.fenced('order:1'), 'k', 'by epoch 1');
    expect((await a.renew())).toEqual({ ok: true, renewed: 1, lost: [] });

    expect(await a.release('order:1')).toBe(true);
    const stale = fencedStore(a.store, { unitKey: 'order:1', owner: 'a', epoch: 1 });
    await expect(writeSetting(stale, 'k', 'after release')).rejects.toMatchObject({ name: 'LeaseLostError', reason: 'released' });
    const again = await a.claim('order:1');
    expect(again).toMatchObject({ ok: true, lease: { epoch: 2 } });
    await expect(writeSetting(stale, 'k', 'old epoch')).rejects.toBeInstanceOf(LeaseLostError);
    await expect(writeSetting(a.fenced('order:2'), 'k', 'never held')).rejects.toMatchObject({ reason: 'missing' });
    expect(await settingValue(a.store, 'k')).toBe('by epoch 1');
  });

  it('a nested transaction and within(tx) join the checked one', async () => {
    cluster = await testCluster(engine);
    const a = await cluster.openNode('a', { autoRenew: false });
    await claimOk(a, 'order:1');
    const fenced = a.fenced('order:1');
    await fenced.transaction(async (tx) => {
      await writeSetting(fenced.within(tx), 'x', '1');
      await fenced.within(tx).transaction(async (inner) => writeSetting(fenced.within(inner), 'y', '2'));
    });
    expect([await settingValue(a.store, 'x'), await settingValue(a.store, 'y')]).toEqual(['1', '2']);
  });

  it('stops originating after TTL/2 without renewal, loses everything, and takes its expired units back at a new epoch', async () => {
    cluster = await testCluster(engine);
    const a = await cluster.openNode('a', { autoRenew: false });
    const lost: Array<readonly string[] | 'all'> = [];
    a.onLost((units) => lost.push(units));
    await claimOk(a, 'survey:7');
    expect(a.canOriginate()).toBe(true);
    await sleep(TTL_MS / 2 - 100);
    expect(a.canOriginate()).toBe(true);
    await vi.waitFor(() => expect(lost).toEqual(['all']), { timeout: 300, interval: 10 });
    expect(a.canOriginate()).toBe(false);
    expect(a.heldLeases()).toEqual([]);
    expect(await a.claim('survey:8')).toEqual({ ok: false, reason: 'not-renewing' });

    expect(await a.renew()).toMatchObject({ ok: true, renewed: 0 }); // the store answers again
    expect(a.canOriginate()).toBe(true);
    expect(await a.claimExpired(10)).toEqual([]); // survey:7's lease has not run out yet
    await sleep(TTL_MS / 2 + 50);
    await a.renew();
    const taken = await a.claimExpired(10);
    expect(taken).toMatchObject([{ lease: { unitKey: 'survey:7', owner: 'a', epoch: 2 }, previousOwner: 'a', previousEpoch: 1, channels: [] }]);
    await expect(writeSetting(fencedStore(a.store, { unitKey: 'survey:7', owner: 'a', epoch: 1 }), 'z', 'zombie')).rejects.toMatchObject({ reason: 'taken' });
    await writeSetting(a.fenced('survey:7'), 'z', 'epoch 2');
    expect(await settingValue(a.store, 'z')).toBe('epoch 2');
  });

  it('a restarted process with the same node id resumes its units at once, at a new epoch', async () => {
    cluster = await testCluster(engine);
    const before = await cluster.openNode('a', { autoRenew: false });
    await claimOk(before, 'order:1');
    await claimOk(before, 'reminder:2');
    await before.stop(); // the process dies: its leases stay until TTL
    const after = await cluster.openNode('a', { restarted: true });
    const taken = await after.claimExpired(10);
    expect(taken.map((t) => [t.lease.unitKey, t.lease.epoch, t.previousOwner]).sort()).toEqual([['order:1', 2, 'a'], ['reminder:2', 2, 'a']]);
    await expect(writeSetting(before.fenced('order:1'), 'k', 'old process')).rejects.toMatchObject({ reason: 'taken' });
  });

  it('computes expiry on the database clock, whatever the node believes the time is', async () => {
    cluster = await testCluster(engine);
    const realNow = Date.now();
    vi.spyOn(Date, 'now').mockReturnValue(realNow + 3_600_000); // an hour ahead
    const a = await cluster.openNode('a', { autoRenew: false });
    await claimOk(a, 'order:9');
    const store = await cluster.store();
    const row = await first(store.db, sql<{ acquired_at: number; expires_at: number }>`SELECT acquired_at, expires_at FROM cluster_leases WHERE unit_key = 'order:9'`);
    expect(row?.expires_at).toBe((row?.acquired_at ?? 0) + TTL_MS);
    expect(Math.abs((row?.acquired_at ?? 0) - realNow)).toBeLessThan(5_000);
    expect(Math.abs((await dbNow(store)) - realNow)).toBeLessThan(5_000);
  });
});

describe('leases, two nodes on one PostgreSQL database', () => {
  it('two nodes contending for the same units: each unit is owned by exactly one', async () => {
    cluster = await testCluster('postgres');
    // Ownership, not timing: a TTL that 80 concurrent claims on a loaded test machine cannot outlast
    // (with 600 ms, renewals slowed past 100 ms by the claims' row locks tripped the 300 ms grace).
    const ttlMs = 3000;
    const [a, b] = [await cluster.openNode('a', { ttlMs }), await cluster.openNode('b', { ttlMs })];
    const lost: string[] = [];
    for (const n of [a, b]) n.onLost((units, reason) => lost.push(`${n.nodeId}: ${String(units)} (${reason})`));
    const units = Array.from({ length: 40 }, (_, i) => `order:${i}`);
    const started = performance.now();
    const results = await Promise.all(units.flatMap((u) => [a.claim(u).then((r) => ({ u, node: 'a', r })), b.claim(u).then((r) => ({ u, node: 'b', r }))]));
    const claimMs = (performance.now() - started) / results.length;
    for (const u of units) {
      const winners = results.filter((x) => x.u === u && x.r.ok);
      expect(winners, u).toHaveLength(1);
      const loser = results.find((x) => x.u === u && !x.r.ok);
      expect(loser?.r).toMatchObject({ ok: false, reason: 'held', owner: winners[0]?.node, epoch: 1 });
    }
    expect(lost).toEqual([]);
    const store = await cluster.store();
    const owners = await rows(store.db, sql<{ unit_key: string; owner: string }>`SELECT unit_key, owner FROM cluster_leases`);
    expect(owners).toHaveLength(40);
    for (const o of owners) expect([a, b].find((n) => n.nodeId === o.owner)?.lease(o.unit_key)).toBeDefined();
    expect(a.heldLeases().length + b.heldLeases().length).toBe(40);

    const sequential = performance.now();
    for (let i = 0; i < 20; i++) await claimOk(b, `survey:${i}`);
    const sequentialMs = (performance.now() - sequential) / 20;
    const t0 = performance.now();
    expect(await a.renew()).toMatchObject({ ok: true, renewed: a.heldLeases().length, lost: [] });
    const renewMs = performance.now() - t0;
    console.log(`[cluster] PostgreSQL: claim ${claimMs.toFixed(2)} ms per contended claim (80 concurrent), ${sequentialMs.toFixed(2)} ms one at a time; renew of ${a.heldLeases().length} leases ${renewMs.toFixed(1)} ms`);
  });

  it('renewal keeps ownership: nothing expires while the owner renews', async () => {
    cluster = await testCluster('postgres');
    const [a, b] = [await cluster.openNode('a'), await cluster.openNode('b')];
    await claimOk(a, 'leader:1');
    await sleep(TTL_MS * 3);
    expect(await b.claimExpired(10)).toEqual([]);
    expect(a.lease('leader:1')).toEqual({ unitKey: 'leader:1', owner: 'a', epoch: 1 });
    expect(a.canOriginate()).toBe(true);
    expect(await b.claim('leader:1')).toMatchObject({ ok: false, reason: 'held', owner: 'a', expired: false });
    const nodes = await b.nodes();
    expect(nodes.map((n) => [n.nodeId, n.alive, n.liveLeases])).toEqual([['b', true, 0], ['a', true, 1]]);
  });

  it('a node that stops renewing loses its units to the other after TTL; the zombie writes nothing', async () => {
    cluster = await testCluster('postgres');
    const a = await cluster.openNode('a', { autoRenew: false });
    const b = await cluster.openNode('b');
    const aLost: Array<readonly string[] | 'all'> = [];
    a.onLost((units) => aLost.push(units));
    for (const u of ['order:1', 'order:2', 'reminder:3']) await claimOk(a, u);
    const lastRenewal = performance.now();
    await a.renew();
    await writeSetting(a.fenced('order:1'), 'order:1', 'a epoch 1');

    let taken = await b.claimExpired(10);
    while (taken.length === 0) {
      await sleep(10);
      taken = await b.claimExpired(10);
    }
    const delay = performance.now() - lastRenewal;
    console.log(`[cluster] takeover ${delay.toFixed(0)} ms after the owner's last renewal (TTL ${TTL_MS} ms, polling every 10 ms)`);
    expect(delay).toBeGreaterThanOrEqual(TTL_MS - 20);
    expect(delay).toBeLessThan(TTL_MS + 300);
    expect(taken.map((t) => t.lease.unitKey).sort()).toEqual(['order:1', 'order:2', 'reminder:3']);
    expect(taken[0]).toMatchObject({ lease: { owner: 'b', epoch: 2 }, previousOwner: 'a', previousEpoch: 1, previousNode: { nodeId: 'a', ariUrl: 'http://a:8088/ari', httpAddress: 'http://a:3000' } });
    expect(aLost).toEqual(['all']); // at TTL/2, before the takeover

    const zombie = fencedStore(a.store, { unitKey: 'order:1', owner: 'a', epoch: 1 });
    const err: unknown = await writeSetting(zombie, 'order:1', 'a after takeover').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseLostError);
    expect(err).toMatchObject({ reason: 'taken', current: { owner: 'b', epoch: 2 } });
    expect(await settingValue(b.store, 'order:1')).toBe('a epoch 1');
    await writeSetting(b.fenced('order:1'), 'order:1', 'b epoch 2');
    expect(await settingValue(b.store, 'order:1')).toBe('b epoch 2');

    const back = await a.renew(); // it wakes up: it renews nothing, its units are gone
    expect(back).toMatchObject({ ok: true, renewed: 0, lost: [] });
    expect(await a.claim('order:2')).toMatchObject({ ok: false, reason: 'held', owner: 'b', epoch: 2 });
  });

  it('a node whose renewals fail while the other takes over hears which units it lost', async () => {
    cluster = await testCluster('postgres');
    const a = await cluster.openNode('a', { autoRenew: false, originateGraceMs: TTL_MS * 10 }); // keep the watchdog out of it
    const b = await cluster.openNode('b');
    const aLost: Array<readonly string[] | 'all'> = [];
    a.onLost((units) => aLost.push(units));
    await claimOk(a, 'order:5');
    await claimOk(a, 'order:6');
    await sleep(TTL_MS + 50);
    expect(await b.claimExpired(1)).toHaveLength(1); // limit 1: one of the two
    expect(await a.renew()).toMatchObject({ ok: true, renewed: 0 });
    expect(aLost).toHaveLength(1);
    expect([...(aLost[0] as string[])].sort()).toEqual(['order:5', 'order:6']);
  });

  it('two nodes taking over at once never take the same unit (SKIP LOCKED)', async () => {
    cluster = await testCluster('postgres');
    const dead = await cluster.openNode('dead', { autoRenew: false, originateGraceMs: TTL_MS * 10 });
    for (let i = 0; i < 30; i++) await claimOk(dead, `order:${i}`);
    const [a, b] = [await cluster.openNode('a'), await cluster.openNode('b')];
    await sleep(TTL_MS + 50);
    const [ta, tb] = await Promise.all([a.claimExpired(20), b.claimExpired(20)]);
    const keys = [...ta, ...tb].map((t) => t.lease.unitKey);
    expect(new Set(keys).size).toBe(keys.length);
    const [ta2, tb2] = await Promise.all([a.claimExpired(20), b.claimExpired(20)]);
    expect(keys.length + ta2.length + tb2.length).toBe(30);
  });

  it('places a new unit by capacity and preference; a graceful stop hands units over at once', async () => {
    cluster = await testCluster('postgres');
    const [a, b] = [await cluster.openNode('a'), await cluster.openNode('b')];
    await claimOk(a, 'order:1');
    await claimOk(a, 'order:2');
    expect(await a.claim('order:3', { capacity: 2 })).toMatchObject({ ok: false, reason: 'full', node: { nodeId: 'b', liveLeases: 0, httpAddress: 'http://b:3000' } });
    expect(await a.claim('order:3', { preferNode: 'b', capacity: 5 })).toMatchObject({ ok: false, reason: 'elsewhere', node: { nodeId: 'b' } });
    expect(await a.claim('order:3', { preferNode: 'nobody', capacity: 5 })).toMatchObject({ ok: true });
    expect(await b.liveLeaseCount('a')).toBe(3);

    await a.stop({ handOver: true });
    const taken = await b.claimExpired(10);
    expect(taken.map((t) => t.lease.unitKey).sort()).toEqual(['order:1', 'order:2', 'order:3']);
    expect((await b.nodes()).find((n) => n.nodeId === 'a')?.alive).toBe(false);
  });

  it('a renewal never deadlocks with a transaction that checked several leases (a group commit of many orders)', async () => {
    cluster = await testCluster('postgres');
    const a = await cluster.openNode('a', { autoRenew: false, ttlMs: 60_000 });
    await claimOk(a, 'order:a');
    await claimOk(a, 'order:b');
    const waitingOnLocks = async (): Promise<number> =>
      Number((await first(a.store.db, sql<{ n: number }>`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`))?.n);
    let renewal: ReturnType<LeaseManager['renew']> | undefined;
    // One transaction checks order:b (its lease row share-locked until the commit), the renewal
    // starts and waits for that row, then the transaction checks order:a too. A renewal that
    // locked order:a first while waiting for order:b would close a cycle: PostgreSQL would abort one.
    await a.store.transaction(async (tx) => {
      await writeSetting(a.fenced('order:b').within(tx), 'b', '1');
      renewal = a.renew();
      for (let tries = 0; (await waitingOnLocks()) === 0; tries++) {
        if (tries > 500) throw new Error('the renewal never waited for the share-locked lease');
        await sleep(10);
      }
      await writeSetting(a.fenced('order:a').within(tx), 'a', '1');
    });
    expect(await renewal).toEqual({ ok: true, renewed: 2, lost: [] });
    expect([await settingValue(a.store, 'a'), await settingValue(a.store, 'b')]).toEqual(['1', '1']);
  });
});
