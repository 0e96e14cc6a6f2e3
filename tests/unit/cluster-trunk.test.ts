// Cluster-wide trunk limits: call starts per second and channels held, for all nodes together.
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { LeaseManager } from '../../src/cluster/leases.js';
import { ClusterTrunk, type CallStartResult, type ClusterTrunkLimits } from '../../src/cluster/trunk.js';
import { rows } from '../../src/db/sql.js';
import { ENGINES } from '../support/engines.js';
import { TTL_MS, sleep, testCluster, type TestCluster } from './cluster-fixtures.js';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

/** Takes call starts as fast as allowed until `untilMs` (performance.now), retrying after at most 2 ms. */
async function hammer(trunk: ClusterTrunk, untilMs: number, grants: number[], refusals: CallStartResult[]): Promise<void> {
  while (performance.now() < untilMs) {
    const r = await trunk.takeCallStart();
    if (r.ok) grants.push(r.at);
    else {
      refusals.push(r);
      await sleep(Math.min(r.retryInMs, 2));
    }
  }
}

/** No window [t, t + 1000 ms) of the database clock holds more than limit grants. */
function expectAtMostPerSecond(grants: number[], limit: number): void {
  const sorted = [...grants].sort((x, y) => x - y);
  for (let i = 0; i + limit < sorted.length; i++) expect(sorted[i + limit]! - sorted[i]!, `grants ${i}..${i + limit}`).toBeGreaterThanOrEqual(1000);
  const perWindow = new Map<number, number>();
  for (const at of sorted) perWindow.set(Math.floor(at / 1000), (perWindow.get(Math.floor(at / 1000)) ?? 0) + 1);
  for (const n of perWindow.values()) expect(n).toBeLessThanOrEqual(limit);
}

async function claimAll(node: LeaseManager, units: string[]): Promise<void> {
  for (const u of units) expect((await node.claim(u)).ok).toBe(true);
}

describe.each(ENGINES)('cluster trunk, one node, on %s', (engine) => {
  const limits: ClusterTrunkLimits = { callsPerSecond: 20, channels: 2 };

  it('grants at most callsPerSecond starts in any second and says when to retry', async () => {
    cluster = await testCluster(engine);
    const a = await cluster.openNode('a');
    const trunk = new ClusterTrunk(a, limits);
    const grants: number[] = [];
    const refusals: CallStartResult[] = [];
    const end = performance.now() + 1200;
    await Promise.all([hammer(trunk, end, grants, refusals), hammer(trunk, end, grants, refusals)]);
    expectAtMostPerSecond(grants, limits.callsPerSecond);
    expect(grants.length).toBeGreaterThanOrEqual(15); // 1.2 s × 20/s = 25 at most; lateness is not caught up
    const paced = refusals.find((r): r is Extract<CallStartResult, { ok: false }> => !r.ok && r.reason === 'paced');
    expect(paced?.retryInMs).toBeGreaterThan(0);
    expect(paced?.retryInMs).toBeLessThanOrEqual(50);
  });

  it('holds at most `channels` lines, frees them on release, and refuses a unit it does not hold', async () => {
    cluster = await testCluster(engine);
    const a = await cluster.openNode('a');
    const trunk = new ClusterTrunk(a, limits);
    await claimAll(a, ['order:1', 'order:2']);
    expect(await trunk.holdLine('order:1', 'ch-1')).toEqual({ ok: true, inUse: 1 });
    expect(await trunk.holdLine('order:1', 'ch-1')).toEqual({ ok: true, inUse: 1 }); // idempotent
    expect(await trunk.holdLine('order:2', 'ch-2')).toEqual({ ok: true, inUse: 2 });
    expect(await trunk.holdLine('order:2', 'ch-3')).toEqual({ ok: false, reason: 'full', inUse: 2 });
    expect(await trunk.holdLine('order:9', 'ch-9')).toMatchObject({ ok: false, reason: 'lease-lost' });
    expect(await trunk.releaseLine('ch-1')).toBe(true);
    expect(await trunk.releaseLine('ch-1')).toBe(false);
    expect(await trunk.holdLine('order:2', 'ch-3')).toEqual({ ok: true, inUse: 2 });
    expect(await a.release('order:2')).toBe(true); // a finished unit frees its lines
    expect(await trunk.linesInUse()).toBe(0);
  });

  it('refuses starts and lines once the node has not renewed for TTL/2', async () => {
    cluster = await testCluster(engine);
    const a = await cluster.openNode('a', { autoRenew: false });
    const trunk = new ClusterTrunk(a, limits);
    await claimAll(a, ['order:1']);
    await sleep(TTL_MS / 2 + 20);
    expect(await trunk.takeCallStart()).toMatchObject({ ok: false, reason: 'not-renewing' });
    expect(await trunk.holdLine('order:1', 'ch-1')).toMatchObject({ ok: false, reason: 'not-renewing' });
  });
});

describe('cluster trunk, two nodes on one PostgreSQL database', () => {
  it('two nodes hammering the bucket never get more than callsPerSecond starts in a second between them', async () => {
    cluster = await testCluster('postgres');
    const [a, b] = [await cluster.openNode('a'), await cluster.openNode('b')];
    const limits = { callsPerSecond: 25, channels: 10 };
    const [ta, tb] = [new ClusterTrunk(a, limits), new ClusterTrunk(b, limits)];
    const grantsA: number[] = [];
    const grantsB: number[] = [];
    const refusals: CallStartResult[] = [];
    const end = performance.now() + 2200;
    await Promise.all([0, 1, 2].flatMap(() => [hammer(ta, end, grantsA, refusals), hammer(tb, end, grantsB, refusals)]));
    const all = [...grantsA, ...grantsB];
    expectAtMostPerSecond(all, limits.callsPerSecond);
    // ~2.2 s × 25/s = 55 at most: the rate is used, not just capped (a late grant's lateness is not
    // caught up, so a busy database costs a few starts)
    expect(all.length).toBeGreaterThanOrEqual(40);
    expect(grantsA.length).toBeGreaterThan(0);
    expect(grantsB.length).toBeGreaterThan(0);
    console.log(`[cluster] bucket: ${all.length} starts in 2.2 s at 25/s (a ${grantsA.length}, b ${grantsB.length}), ${refusals.length} paced refusals`);
  });

  it('lines never exceed the channel limit across nodes; a dead node\'s lines are freed and handed to the taker', async () => {
    cluster = await testCluster('postgres');
    const a = await cluster.openNode('a', { autoRenew: false, originateGraceMs: TTL_MS * 10 }); // will die
    const b = await cluster.openNode('b');
    const limits = { callsPerSecond: 100, channels: 3 };
    const [ta, tb] = [new ClusterTrunk(a, limits), new ClusterTrunk(b, limits)];
    const aUnits = ['order:a1', 'order:a2', 'order:a3', 'order:a4'];
    const bUnits = ['order:b1', 'order:b2', 'order:b3', 'order:b4'];
    await claimAll(a, aUnits);
    await claimAll(b, bUnits);
    const results = await Promise.all([
      ...aUnits.map((u) => ta.holdLine(u, `ch-${u}`)),
      ...bUnits.map((u) => tb.holdLine(u, `ch-${u}`)),
    ]);
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect(results.filter((r) => !r.ok && r.reason === 'full')).toHaveLength(5);
    const store = await cluster.store();
    expect(await rows(store.db, sql`SELECT channel_id FROM cluster_lines`)).toHaveLength(3);
    const aHeld = aUnits.filter((_, i) => results[i]?.ok).map((u) => `ch-${u}`);

    // a stops renewing: once its leases run out on the database clock, its lines no longer count.
    await sleep(TTL_MS + 50);
    expect(await tb.linesInUse()).toBe(3 - aHeld.length);
    const free = bUnits.filter((_, i) => !results[aUnits.length + i]?.ok);
    for (const u of free.slice(0, aHeld.length)) expect(await tb.holdLine(u, `ch-${u}`)).toMatchObject({ ok: true });
    expect(await tb.linesInUse()).toBe(Math.min(3, 3 - aHeld.length + free.length));

    const taken = await b.claimExpired(10);
    expect(taken.flatMap((t) => t.channels).sort()).toEqual(aHeld.sort());
    expect(taken.every((t) => t.previousNode?.ariUrl === 'http://a:8088/ari')).toBe(true);
    const left = await rows(store.db, sql<{ owner: string }>`SELECT owner FROM cluster_lines`);
    expect(left.every((l) => l.owner === 'b')).toBe(true);
  });
});
