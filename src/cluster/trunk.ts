// Trunk limits for the whole cluster: the carrier's call starts per second
// (LIANDONG_TRUNK_CALLS_PER_SECOND) and channels (LIANDONG_TRUNK_CHANNELS) hold for all nodes
// together, so they live in the database, not in each node's TrunkPacer (src/dispatch/pacing.ts).
// - Call starts: one row-locked timeline (cluster_pacing 'call_start'): a start is granted when the
//   database clock has reached next_at, which then moves to now + 1000/callsPerSecond ms. Starts are
//   spaced evenly, so no 1-s window ever holds more than callsPerSecond of them.
// - Lines: one row per held channel (cluster_lines), held under the unit's lease. Counting and
//   inserting happen under the 'lines' row lock. A line whose lease expired or moved to another
//   epoch counts as free at once; its row stays until claimExpired deletes it and hands its channel
//   id to the taker (to hang it up through the old node's ARI), or its owner releases it.
import { sql } from 'kysely';
import { first, run } from '../db/sql.js';
import type { Executor, Store } from '../db/store.js';
import { dbNowMs, rowLock } from './db-clock.js';
import { assertLease, LeaseLostError } from './fencing.js';
import type { LeaseManager } from './leases.js';

export interface ClusterTrunkLimits {
  /** Call starts per second across all nodes. */
  readonly callsPerSecond: number;
  /** Channels held at once across all nodes. */
  readonly channels: number;
}

export type CallStartResult =
  | { readonly ok: true; /** the grant's time, ms since the epoch on the database clock */ readonly at: number }
  | { readonly ok: false; readonly reason: 'paced' | 'not-renewing'; readonly retryInMs: number };

export type HoldLineResult =
  | { readonly ok: true; /** lines held cluster-wide, this one included */ readonly inUse: number }
  | { readonly ok: false; readonly reason: 'full'; readonly inUse: number }
  /** duplicate: another node holds a live line with this channel id (ids are meant to be unique). */
  | { readonly ok: false; readonly reason: 'lease-lost' | 'not-renewing' | 'duplicate'; readonly detail: string };

/** A line is live while the lease it was held under still has that owner and epoch and has not expired. */
const LIVE_LINE = (store: Store) => sql`EXISTS (SELECT 1 FROM cluster_leases l
  WHERE l.unit_key = cluster_lines.unit_key AND l.owner = cluster_lines.owner AND l.epoch = cluster_lines.epoch
    AND l.expires_at > ${dbNowMs(store.engine)})`;

export class ClusterTrunk {
  private readonly store: Store;
  /** ms between two call starts. */
  readonly spacingMs: number;

  constructor(
    private readonly leases: LeaseManager,
    readonly limits: ClusterTrunkLimits,
  ) {
    if (!(limits.callsPerSecond > 0 && Number.isInteger(limits.channels) && limits.channels > 0)) {
      throw new RangeError('cluster trunk needs callsPerSecond > 0 and a whole channels > 0');
    }
    this.store = leases.store;
    this.spacingMs = 1000 / limits.callsPerSecond;
  }

  /** One call start, if the cluster's rate allows it now; otherwise how long to wait (ms). */
  async takeCallStart(): Promise<CallStartResult> {
    if (!this.leases.canOriginate()) return { ok: false, reason: 'not-renewing', retryInMs: this.leases.renewEveryMs };
    const engine = this.store.engine;
    return this.store.transaction(async (tx): Promise<CallStartResult> => {
      const row = await first(tx, sql<{ next_at: number }>`SELECT next_at FROM cluster_pacing WHERE name = 'call_start'${rowLock(engine, 'update')}`);
      // Read the clock after the lock is ours: a wait for it must not make the grant look earlier.
      const now = await dbNow(tx, this.store);
      const nextAt = Number(row?.next_at ?? 0);
      if (now < nextAt) return { ok: false, reason: 'paced', retryInMs: Math.ceil(nextAt - now) };
      await run(tx, sql`UPDATE cluster_pacing SET next_at = ${now + this.spacingMs} WHERE name = 'call_start'`);
      return { ok: true, at: now };
    });
  }

  /**
   * Holds a trunk line for channelId under unitKey's lease, if the cluster has one free. Idempotent
   * for a channel already held. Fails with lease-lost if this node no longer holds the unit.
   */
  async holdLine(unitKey: string, channelId: string): Promise<HoldLineResult> {
    if (!this.leases.canOriginate()) return { ok: false, reason: 'not-renewing', detail: `node ${this.leases.nodeId} cannot renew its leases` };
    const lease = this.leases.lease(unitKey);
    if (lease === undefined) return { ok: false, reason: 'lease-lost', detail: `node ${this.leases.nodeId} holds no lease on ${unitKey}` };
    const engine = this.store.engine;
    try {
      return await this.store.transaction(async (tx): Promise<HoldLineResult> => {
        await first(tx, sql`SELECT name FROM cluster_pacing WHERE name = 'lines'${rowLock(engine, 'update')}`);
        await assertLease(this.store, tx, lease);
        const existing = await first(tx, sql<{ owner: string; live: number }>`
          SELECT owner, CASE WHEN ${LIVE_LINE(this.store)} THEN 1 ELSE 0 END AS live FROM cluster_lines WHERE channel_id = ${channelId}`);
        const inUse = await countLines(tx, this.store);
        if (existing !== undefined && Number(existing.live) === 1) {
          if (existing.owner === lease.owner) return { ok: true, inUse };
          return { ok: false, reason: 'duplicate', detail: `channel ${channelId} is held by node ${existing.owner}` };
        }
        if (inUse >= this.limits.channels) return { ok: false, reason: 'full', inUse };
        // A stale row for this channel id (its lease moved on) gives way; a dead node's lines are
        // otherwise kept until claimExpired hands them to the taker, who hangs them up.
        if (existing !== undefined) await run(tx, sql`DELETE FROM cluster_lines WHERE channel_id = ${channelId}`);
        await run(tx, sql`
          INSERT INTO cluster_lines (channel_id, unit_key, owner, epoch, held_at)
          VALUES (${channelId}, ${unitKey}, ${lease.owner}, ${lease.epoch}, ${dbNowMs(engine)})`);
        return { ok: true, inUse: inUse + 1 };
      });
    } catch (err) {
      if (err instanceof LeaseLostError) return { ok: false, reason: 'lease-lost', detail: err.message };
      throw err;
    }
  }

  /** Frees channelId's line (its call ended). False if this node did not hold it (already freed). */
  releaseLine(channelId: string): Promise<boolean> {
    return this.store.transaction(async (tx) => (await run(tx, sql`DELETE FROM cluster_lines WHERE channel_id = ${channelId} AND owner = ${this.leases.nodeId}`)) > 0);
  }

  /** Live lines held cluster-wide. */
  linesInUse(): Promise<number> {
    return countLines(this.store.db, this.store);
  }
}

async function dbNow(db: Executor, store: Store): Promise<number> {
  const r = await first(db, sql<{ now_ms: number }>`SELECT ${dbNowMs(store.engine)} AS now_ms`);
  return Number(r?.now_ms);
}

async function countLines(db: Executor, store: Store): Promise<number> {
  const r = await first(db, sql<{ n: number }>`SELECT count(*) AS n FROM cluster_lines WHERE ${LIVE_LINE(store)}`);
  return Number(r?.n ?? 0);
}
