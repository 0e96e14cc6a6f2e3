// Ownership of live work by fenced leases (docs/cluster.md, "Leases and fencing"). Each unit of
// work (an order being dispatched, a survey call, a leader notification, a reminder) is owned by
// one node through a row of cluster_leases: owner, epoch (the fencing number) and an expiry on the
// database clock. This node renews its leases every TTL/3; if it has not had a renewal confirmed
// for TTL/2 it stops originating and tells its listeners to hang up everything (onLost('all')),
// well before TTL, when another node may take the units over with epoch + 1.
import { sql, type RawBuilder } from 'kysely';
import { disprove } from '../db/group-commit.js';
import { first, rows, run } from '../db/sql.js';
import type { Executor, Store } from '../db/store.js';
import { dbNowMs, rowLock } from './db-clock.js';
import { fencedStore, leaseFact, type Lease } from './fencing.js';
import { getNode, heartbeat, listNodes, liveLeaseCount, registerNode, type NodeInfo, type NodeRow } from './nodes.js';

export interface LeaseManagerOptions extends Partial<Omit<NodeInfo, 'nodeId'>> {
  readonly store: Store;
  /**
   * Where renewals run; default store. On PostgreSQL give it a store of its own (a second pool; it
   * uses one connection): a renewal queued behind the node's other work for a free connection
   * counts against the grace and could stop a busy but healthy node.
   */
  readonly renewalStore?: Store;
  /** LIANDONG_NODE_ID (default host:port, chosen by config). */
  readonly nodeId: string;
  /** Lease lifetime, ms (LIANDONG_LEASE_SECONDS × 1000, default 6000). */
  readonly ttlMs: number;
  /** Renewal period, ms; default TTL/3. */
  readonly renewEveryMs?: number;
  /** No confirmed renewal for this long (ms) → stop originating, onLost('all'); default TTL/2. */
  readonly originateGraceMs?: number;
  /** Monotonic clock, ms: only measures time since a renewal was sent, never compared with the database. */
  readonly monotonicNow?: () => number;
}

export type ClaimResult =
  | { readonly ok: true; readonly lease: Lease }
  /** Another node holds it (expired: it may soon come back through claimExpired). */
  | { readonly ok: false; readonly reason: 'held'; readonly owner: string; readonly epoch: number; readonly expired: boolean }
  /** preferNode is alive with spare capacity: forward the unit to node.httpAddress. */
  | { readonly ok: false; readonly reason: 'elsewhere'; readonly node: NodeRow }
  /** This node is at capacity; node: the least loaded live node with room, if any. */
  | { readonly ok: false; readonly reason: 'full'; readonly node: NodeRow | undefined }
  /** This node is stopped or has not renewed for the originate grace: it must not take new work. */
  | { readonly ok: false; readonly reason: 'not-renewing' };

export interface ClaimOptions {
  /** The node that should preferably own the unit (e.g. the one whose Asterisk has the caller). */
  readonly preferNode?: string;
  /** Most live leases a node takes; unset: no limit. */
  readonly capacity?: number;
}

/** A unit taken over from a node that stopped renewing. */
export interface Takeover {
  /** The new lease, owned by this node at the previous epoch + 1. */
  readonly lease: Lease;
  readonly previousOwner: string;
  readonly previousEpoch: number;
  /** The previous owner's row (its ARI URL, to hang up what it left), if it ever registered. */
  readonly previousNode: NodeRow | undefined;
  /** Trunk channels the previous owner held for this unit: freed now, to be hung up by the caller. */
  readonly channels: readonly string[];
}

export type RenewResult =
  | { readonly ok: true; readonly renewed: number; readonly lost: readonly string[] }
  | { readonly ok: false; readonly reason: string };

/** Units this node no longer owns ('all': it could not renew in time), and why. */
export type LostListener = (units: readonly string[] | 'all', reason: string) => void;

export class LeaseManager {
  readonly store: Store;
  private readonly renewalStore: Store;
  readonly nodeId: string;
  readonly ttlMs: number;
  readonly renewEveryMs: number;
  readonly originateGraceMs: number;
  private readonly info: NodeInfo;
  private readonly mono: () => number;
  private readonly held = new Map<string, Lease>();
  private readonly listeners = new Set<LostListener>();
  private running = false;
  /** Monotonic ms when the last confirmed renewal (or registration) was sent. */
  private lastConfirmedSentAt = Number.NEGATIVE_INFINITY;
  private lostAllSince: number | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private originateWatchdog: NodeJS.Timeout | undefined;
  private lastError: string | undefined;

  constructor(options: LeaseManagerOptions) {
    if (!(options.ttlMs > 0)) throw new RangeError('ttlMs must be > 0');
    this.store = options.store;
    this.renewalStore = options.renewalStore ?? options.store;
    this.nodeId = options.nodeId;
    this.ttlMs = Math.round(options.ttlMs);
    this.renewEveryMs = options.renewEveryMs ?? Math.floor(this.ttlMs / 3);
    this.originateGraceMs = options.originateGraceMs ?? Math.floor(this.ttlMs / 2);
    this.mono = options.monotonicNow ?? (() => performance.now());
    this.info = { nodeId: options.nodeId, ariUrl: options.ariUrl ?? null, httpAddress: options.httpAddress ?? null };
  }

  /**
   * Registers this node and, unless autoRenew is false (tests), starts the renewal timer.
   * restarted: this process replaces a previous one with the same node id, which is gone (it could
   * not be listening on the same host:port otherwise): the leases it left expire now, so
   * claimExpired resumes its units at once instead of after TTL. The single SQLite node's restart.
   */
  async start({ autoRenew = true, restarted = false }: { autoRenew?: boolean; restarted?: boolean } = {}): Promise<void> {
    const sentAt = this.mono();
    await registerNode(this.store, this.info, this.ttlMs);
    if (restarted) {
      await this.store.transaction(async (tx) => {
        await run(tx, sql`UPDATE cluster_leases SET expires_at = 0 WHERE owner = ${this.nodeId}`);
      });
    }
    this.running = true;
    this.confirmed(sentAt);
    if (autoRenew) this.scheduleRenew();
  }

  /**
   * Stops the timers. handOver: expire this node's leases and heartbeat now, so another node's
   * claimExpired takes the units at once instead of after TTL (a graceful shutdown).
   */
  async stop({ handOver = false }: { handOver?: boolean } = {}): Promise<void> {
    this.running = false;
    clearTimeout(this.renewTimer);
    clearTimeout(this.originateWatchdog);
    if (!handOver) return;
    await this.store.transaction(async (tx) => {
      await run(tx, sql`UPDATE cluster_leases SET expires_at = 0 WHERE owner = ${this.nodeId}`);
      await run(tx, sql`UPDATE cluster_nodes SET expires_at = 0 WHERE node_id = ${this.nodeId}`);
    });
    this.held.clear();
  }

  /** True while this node may place calls: started, and a renewal confirmed within the grace. */
  canOriginate(): boolean {
    return this.running && this.lostAllSince === undefined && this.mono() - this.lastConfirmedSentAt < this.originateGraceMs;
  }

  onLost(listener: LostListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The lease this node believes it holds on unitKey. */
  lease(unitKey: string): Lease | undefined {
    return this.held.get(unitKey);
  }

  heldLeases(): Lease[] {
    return [...this.held.values()];
  }

  /** A Store whose transactions commit only while this node still holds unitKey (fencedStore). */
  fenced(unitKey: string): Store {
    // Not held: epoch 0 is never granted (epochs start at 1), so every transaction throws LeaseLostError.
    return fencedStore(this.store, this.held.get(unitKey) ?? { unitKey, owner: this.nodeId, epoch: 0 });
  }

  status(): { canOriginate: boolean; held: number; msSinceConfirmedRenewal: number; lastError: string | undefined } {
    return { canOriginate: this.canOriginate(), held: this.held.size, msSinceConfirmedRenewal: this.mono() - this.lastConfirmedSentAt, lastError: this.lastError };
  }

  /** Live leases held by a node (default this one): its load. */
  liveLeaseCount(nodeId: string = this.nodeId): Promise<number> {
    return liveLeaseCount(this.store, nodeId);
  }

  /** Every registered node with its liveness and load, alive and least loaded first. */
  nodes(): Promise<NodeRow[]> {
    return listNodes(this.store);
  }

  /**
   * Claims a new unit (or one released, whose row stays with owner null) for this node at the next
   * epoch. An expired unit of another node is not taken here: claimExpired does that and reports
   * what the previous owner left. Placement: see ClaimOptions and ClaimResult.
   */
  async claim(unitKey: string, { preferNode, capacity }: ClaimOptions = {}): Promise<ClaimResult> {
    if (!this.canOriginate()) return { ok: false, reason: 'not-renewing' };
    const mine = this.held.get(unitKey);
    if (mine !== undefined) return { ok: true, lease: mine };
    if (preferNode !== undefined && preferNode !== this.nodeId) {
      const node = await getNode(this.store, preferNode);
      if (node?.alive === true && (capacity === undefined || node.liveLeases < capacity)) return { ok: false, reason: 'elsewhere', node };
    }
    if (capacity !== undefined && (await this.liveLeaseCount()) >= capacity) {
      const room = (await this.nodes()).find((n) => n.alive && n.nodeId !== this.nodeId && n.liveLeases < capacity);
      return { ok: false, reason: 'full', node: room };
    }
    const now = dbNowMs(this.store.engine);
    const result = await this.store.transaction(async (tx) => {
      const got = await first(tx, sql<{ epoch: number }>`
        INSERT INTO cluster_leases (unit_key, owner, epoch, acquired_at, expires_at)
        VALUES (${unitKey}, ${this.nodeId}, 1, ${now}, ${now} + ${this.ttlMs})
        ON CONFLICT (unit_key) DO UPDATE SET owner = excluded.owner, epoch = cluster_leases.epoch + 1,
          acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
        WHERE cluster_leases.owner IS NULL
        RETURNING epoch`);
      if (got !== undefined) return { ok: true as const, epoch: got.epoch };
      const row = await first(tx, sql<{ owner: string; epoch: number; expired: number }>`
        SELECT owner, epoch, CASE WHEN expires_at <= ${now} THEN 1 ELSE 0 END AS expired FROM cluster_leases WHERE unit_key = ${unitKey}`);
      return { ok: false as const, owner: row?.owner ?? '', epoch: row?.epoch ?? 0, expired: Number(row?.expired) === 1 };
    });
    if (!result.ok) {
      // Two claims of one unit on this node at once: the other one won it for us.
      const won = this.held.get(unitKey);
      if (won !== undefined && won.epoch === result.epoch && result.owner === this.nodeId) return { ok: true, lease: won };
      return { ok: false, reason: 'held', owner: result.owner, epoch: result.epoch, expired: result.expired };
    }
    const lease: Lease = { unitKey, owner: this.nodeId, epoch: result.epoch };
    this.held.set(unitKey, lease);
    return { ok: true, lease };
  }

  /**
   * Puts a unit nobody holds up for takeover: a row (epoch 0 when new) that has already expired,
   * so the next claimExpired of any node (this one included) takes it at the next epoch. For work
   * whose node died between storing it and claiming it, or released it unfinished. A unit some
   * node holds is left alone.
   */
  async offer(unitKey: string): Promise<boolean> {
    return this.store.transaction(async (tx) => (await run(tx, sql`
      INSERT INTO cluster_leases (unit_key, owner, epoch, acquired_at, expires_at)
      VALUES (${unitKey}, ${this.nodeId}, 0, 0, 0)
      ON CONFLICT (unit_key) DO UPDATE SET owner = excluded.owner, expires_at = 0 WHERE cluster_leases.owner IS NULL`)) > 0);
  }

  /**
   * The unit is done: its lease row keeps its epoch with owner null (a later claim gets epoch + 1),
   * its trunk lines are freed. False if this node no longer held it.
   */
  async release(unitKey: string): Promise<boolean> {
    const lease = this.held.get(unitKey);
    if (lease === undefined) return false;
    this.held.delete(unitKey);
    return this.store.transaction(async (tx) => {
      const changed = await run(tx, sql`
        UPDATE cluster_leases SET owner = NULL, expires_at = 0 WHERE unit_key = ${unitKey} AND owner = ${this.nodeId} AND epoch = ${lease.epoch}`);
      await run(tx, sql`DELETE FROM cluster_lines WHERE unit_key = ${unitKey} AND owner = ${this.nodeId} AND epoch = ${lease.epoch}`);
      // A write of the same group commit posted after this one must find the lease released.
      disprove(tx, leaseFact(lease));
      return changed > 0;
    });
  }

  /**
   * One renewal: heartbeat this node and extend every lease it holds that has not expired yet, in
   * one transaction. A lease that could not be extended (taken over, expired) is dropped and
   * reported to onLost. A database failure is returned, not thrown; the watchdog acts on silence.
   *
   * A lease row share-locked by a fenced transaction of this node (fencing.ts) is skipped by that
   * transaction's UPDATE and extended afterwards on its own, once the lock is gone: a group commit
   * checks the leases of many orders in one transaction, and an UPDATE that held one of them while
   * waiting for another would deadlock with it (PostgreSQL aborts one after deadlock_timeout).
   */
  async renew(): Promise<RenewResult> {
    const sentAt = this.mono();
    const snapshot = [...this.held.values()];
    const now = dbNowMs(this.store.engine);
    type Renewed = { unit_key: string; epoch: number };
    const extend = (db: Executor, keys: readonly string[], lock: RawBuilder<unknown>) => rows(db, sql<Renewed>`
      UPDATE cluster_leases SET expires_at = ${now} + ${this.ttlMs}
      WHERE unit_key IN (SELECT unit_key FROM cluster_leases
        WHERE owner = ${this.nodeId} AND expires_at > ${now} AND unit_key IN (${sql.join(keys)})${lock})
      RETURNING unit_key, epoch`);
    let renewed: Renewed[];
    try {
      renewed = await this.renewalStore.transaction(async (tx) => {
        if (!(await heartbeat(tx, this.renewalStore, this.nodeId, this.ttlMs))) await registerNode(this.renewalStore.within(tx), this.info, this.ttlMs);
        if (snapshot.length === 0) return [];
        return extend(tx, snapshot.map((l) => l.unitKey), rowLock(this.store.engine, 'no-key-update-skip-locked'));
      });
      // Skipped (locked) or lost: each alone, holding no other lease row while it waits.
      const done = new Set(renewed.map((r) => r.unit_key));
      for (const l of snapshot) if (!done.has(l.unitKey)) renewed.push(...(await extend(this.renewalStore.db, [l.unitKey], sql``)));
    } catch (err) {
      this.lastError = `renewal failed: ${err instanceof Error ? err.message : String(err)}`;
      return { ok: false, reason: this.lastError };
    }
    const epochs = new Map(renewed.map((r) => [r.unit_key, r.epoch]));
    // Only what was snapshotted and is still the same lease object: a claim or takeover during the
    // round trip has its own, newer answer.
    const lost = snapshot.filter((l) => epochs.get(l.unitKey) !== l.epoch && this.held.get(l.unitKey) === l).map((l) => l.unitKey);
    for (const key of lost) this.held.delete(key);
    this.lastError = undefined;
    this.confirmed(sentAt);
    if (lost.length > 0) this.emitLost(lost, 'not renewed: expired or taken over');
    return { ok: true, renewed: renewed.length, lost };
  }

  /**
   * Takes over at most limit units whose lease expired on the database clock (their owner died or
   * stopped renewing): each now owned by this node at epoch + 1, the previous owner's trunk lines
   * freed and returned with its node row so the caller hangs those channels up through its ARI.
   * Rows another node is taking over at the same moment are skipped (SKIP LOCKED), not waited for.
   */
  async claimExpired(limit: number): Promise<Takeover[]> {
    if (!this.canOriginate() || limit <= 0) return [];
    const engine = this.store.engine;
    const now = dbNowMs(engine);
    const taken = await this.store.transaction(async (tx) => {
      const expired = await rows(tx, sql<{ unit_key: string; owner: string; epoch: number }>`
        SELECT unit_key, owner, epoch FROM cluster_leases
        WHERE owner IS NOT NULL AND expires_at <= ${now}
        ORDER BY expires_at LIMIT ${limit}${rowLock(engine, 'update-skip-locked')}`);
      if (expired.length === 0) return [];
      const keys = sql.join(expired.map((e) => e.unit_key));
      const updated = await rows(tx, sql<{ unit_key: string; epoch: number }>`
        UPDATE cluster_leases SET owner = ${this.nodeId}, epoch = epoch + 1, acquired_at = ${now}, expires_at = ${now} + ${this.ttlMs}
        WHERE unit_key IN (${keys}) RETURNING unit_key, epoch`);
      const lines = await rows(tx, sql<{ channel_id: string; unit_key: string }>`
        DELETE FROM cluster_lines WHERE unit_key IN (${keys}) RETURNING channel_id, unit_key`);
      const nodes = new Map<string, NodeRow | undefined>();
      for (const owner of new Set(expired.map((e) => e.owner))) nodes.set(owner, await getNode(this.store, owner, tx));
      const epochs = new Map(updated.map((u) => [u.unit_key, u.epoch]));
      return expired.map((e): Takeover => ({
        lease: { unitKey: e.unit_key, owner: this.nodeId, epoch: epochs.get(e.unit_key) ?? e.epoch + 1 },
        previousOwner: e.owner,
        previousEpoch: e.epoch,
        previousNode: nodes.get(e.owner),
        channels: lines.filter((l) => l.unit_key === e.unit_key).map((l) => l.channel_id),
      }));
    });
    // Our own expired leases (we paused): the old epoch's holder here is a zombie too.
    const ownOld = taken.filter((t) => t.previousOwner === this.nodeId && this.held.has(t.lease.unitKey)).map((t) => t.lease.unitKey);
    for (const t of taken) this.held.set(t.lease.unitKey, t.lease);
    if (ownOld.length > 0) this.emitLost(ownOld, 'own lease expired and was taken over at a new epoch');
    return taken;
  }

  private confirmed(sentAt: number): void {
    if (sentAt <= this.lastConfirmedSentAt) return;
    this.lastConfirmedSentAt = sentAt;
    this.lostAllSince = undefined;
    this.armWatchdog();
  }

  /** Fires when the grace has run out since the last confirmed renewal was sent, unless a later one re-arms it. */
  private armWatchdog(): void {
    if (!this.running) return;
    clearTimeout(this.originateWatchdog);
    // +1 ms: Node's timers count whole ms and may fire a fraction of one before the monotonic clock says so.
    this.originateWatchdog = setTimeout(() => this.checkSilence(), Math.max(0, this.lastConfirmedSentAt + this.originateGraceMs - this.mono()) + 1);
  }

  private checkSilence(): void {
    if (!this.running || this.lostAllSince !== undefined) return;
    if (this.canOriginate()) return this.armWatchdog(); // woke early or a renewal came in between
    this.lostAllSince = this.mono();
    this.held.clear();
    this.emitLost('all', `no lease renewal confirmed for ${Math.round(this.mono() - this.lastConfirmedSentAt)} ms (grace ${this.originateGraceMs} ms)${this.lastError ? `: ${this.lastError}` : ''}`);
  }

  /** Next renewal renewEveryMs after the previous one was sent (not after it answered: a slow answer must not push the next one later). */
  private scheduleRenew(delayMs: number = this.renewEveryMs): void {
    if (!this.running) return;
    this.renewTimer = setTimeout(() => void this.renewTick(), delayMs);
  }

  private async renewTick(): Promise<void> {
    const sentAt = this.mono();
    await this.renew(); // a failure is kept in lastError; the watchdog acts if they go on
    this.scheduleRenew(Math.max(0, sentAt + this.renewEveryMs - this.mono()));
  }

  private emitLost(units: readonly string[] | 'all', reason: string): void {
    for (const listener of this.listeners) {
      try {
        listener(units, reason);
      } catch (err) {
        this.lastError = `onLost listener failed: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
  }
}
