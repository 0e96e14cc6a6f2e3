// Who runs which live work in a cluster (PostgreSQL): the services ask here before they place
// calls for an order, a survey or a reminder round, and are told when another node's work becomes
// theirs. Built on the LeaseManager (leases.ts): claim → a fenced store for that unit's writes;
// done → release; a unit whose owner stopped renewing → the service's takeover handler, with the
// previous owner's node (its ARI address) so the calls it left are hung up through its Asterisk.
import type { Logger } from '../logging.js';
import type { Store } from '../db/store.js';
import { hangupThrough, type AriCredentials, type RemoteHangup } from '../telephony/ari/remote-hangup.js';
import type { LeaseManager, Takeover } from './leases.js';

/** What a service does with a unit it took over: resume it as a restart would. */
export type TakeoverHandler = (unitId: string, takeover: Takeover, store: Store) => Promise<void>;

/** Finds work of this kind that has no lease row at all (its node died between storing and claiming it). */
export type OrphanSweep = () => Promise<readonly string[]>;

export interface WorkOwnership {
  readonly nodeId: string;
  /** Claims unit `<kind>:<id>` for this node: its fenced store, or undefined if it may not run it here now. */
  claim(kind: string, id: string): Promise<Store | undefined>;
  /** The fenced store of a unit this node holds (writes fail with LeaseLostError once it is lost). */
  fenced(kind: string, id: string): Store;
  /** Puts a unit this node could not claim up for any node's takeover (no-op if it has a lease row). */
  offer(kind: string, id: string): Promise<void>;
  /** The unit is finished here: another node may claim it later at a new epoch. */
  release(kind: string, id: string): Promise<void>;
  /** False once this node could not renew in time: place no call. */
  canOriginate(): boolean;
  /** Hangs a channel up wherever it lives: here, or through the previous owner's Asterisk. */
  hangUpLeft(channelId: string, takeover: Takeover): Promise<RemoteHangup>;
  /** Registers the takeover handler of a kind (order, survey, reminder) and its orphan sweep. */
  handle(kind: string, handler: TakeoverHandler, orphans?: OrphanSweep): void;
  /** Told which units of a kind (or 'all') this node lost: stop their machines, hang up their calls. */
  onLost(kind: string, listener: (ids: readonly string[] | 'all', reason: string) => void): void;
}

export interface ClusterOwnershipOptions {
  readonly leases: LeaseManager;
  readonly logger: Logger;
  /** This node's own Asterisk: a channel left by this node's previous life is hung up there. */
  readonly hangUpLocal: (channelId: string) => Promise<RemoteHangup>;
  readonly ariCredentials: AriCredentials;
  /** Most units taken over per poll. */
  readonly takeoverBatch?: number;
  /**
   * Most units this node runs at once (its own trunk's channels): a new order beyond it is offered
   * to the cluster (a node with room takes it over), and the takeover poll takes no more than the room left.
   */
  readonly capacity?: number;
}

const unitKey = (kind: string, id: string) => `${kind}:${id}`;

export class ClusterOwnership implements WorkOwnership {
  private readonly handlers = new Map<string, { handler: TakeoverHandler; orphans: OrphanSweep | undefined }>();
  private readonly lostListeners = new Map<string, Array<(ids: readonly string[] | 'all', reason: string) => void>>();
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly options: ClusterOwnershipOptions) {
    this.log = options.logger.child({ component: 'cluster', nodeId: options.leases.nodeId });
    options.leases.onLost((units, reason) => this.lost(units, reason));
  }

  get nodeId(): string {
    return this.options.leases.nodeId;
  }

  async claim(kind: string, id: string): Promise<Store | undefined> {
    const result = await this.options.leases.claim(unitKey(kind, id), kind === 'lines' || this.options.capacity === undefined ? {} : { capacity: this.options.capacity });
    if (result.ok) return this.options.leases.fenced(result.lease.unitKey);
    this.log.info({ unit: unitKey(kind, id), reason: result.reason }, 'unit not claimed here');
    return undefined;
  }

  fenced(kind: string, id: string): Store {
    return this.options.leases.fenced(unitKey(kind, id));
  }

  async offer(kind: string, id: string): Promise<void> {
    await this.options.leases.offer(unitKey(kind, id));
  }

  async release(kind: string, id: string): Promise<void> {
    await this.options.leases.release(unitKey(kind, id));
  }

  canOriginate(): boolean {
    return this.options.leases.canOriginate();
  }

  async hangUpLeft(channelId: string, takeover: Takeover): Promise<RemoteHangup> {
    const previous = takeover.previousNode;
    if (takeover.previousOwner === this.nodeId || !previous?.ariUrl) return this.options.hangUpLocal(channelId);
    return hangupThrough(previous.ariUrl, this.options.ariCredentials, channelId);
  }

  handle(kind: string, handler: TakeoverHandler, orphans?: OrphanSweep): void {
    this.handlers.set(kind, { handler, orphans });
  }

  onLost(kind: string, listener: (ids: readonly string[] | 'all', reason: string) => void): void {
    this.lostListeners.set(kind, [...(this.lostListeners.get(kind) ?? []), listener]);
  }

  /**
   * Starts polling for expired units every half renewal period (TTL/6, 1 s by default): a unit is
   * taken over at most that long after its lease expired.
   */
  start(): void {
    this.stopped = false;
    const every = Math.max(100, Math.floor(this.options.leases.renewEveryMs / 2));
    // poll() never rejects (it logs); a poll in flight when stop() is called does not re-arm.
    const tick = () => {
      if (this.stopped) return;
      this.pollTimer = setTimeout(() => {
        void this.poll().then(tick);
      }, every);
    };
    void this.poll().then(tick);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
  }

  /** One round: offer orphans, take expired units, hand each to its kind's handler. Never throws. */
  async poll(): Promise<number> {
    if (this.polling) return 0;
    this.polling = true;
    try {
      for (const [kind, { orphans }] of this.handlers) {
        if (!orphans) continue;
        for (const id of await orphans()) await this.options.leases.offer(unitKey(kind, id));
      }
      const batch = this.options.takeoverBatch ?? 50;
      const room = this.options.capacity === undefined ? batch : Math.min(batch, this.options.capacity - (await this.options.leases.liveLeaseCount()));
      const taken = room > 0 ? await this.options.leases.claimExpired(room) : [];
      for (const t of taken) await this.takeOver(t);
      return taken.length;
    } catch (err) {
      this.log.error({ reason: err instanceof Error ? err.message : String(err) }, 'takeover poll failed; retried next period');
      return 0;
    } finally {
      this.polling = false;
    }
  }

  private async takeOver(t: Takeover): Promise<void> {
    const sep = t.lease.unitKey.indexOf(':');
    const kind = t.lease.unitKey.slice(0, sep);
    const id = t.lease.unitKey.slice(sep + 1);
    const entry = this.handlers.get(kind);
    if (!entry) {
      this.log.warn({ unit: t.lease.unitKey }, 'took over a unit of a kind nobody handles; released');
      await this.options.leases.release(t.lease.unitKey);
      return;
    }
    this.log.info({ unit: t.lease.unitKey, from: t.previousOwner, epoch: t.lease.epoch }, 'taking over');
    try {
      await entry.handler(id, t, this.options.leases.fenced(t.lease.unitKey));
    } catch (err) {
      // Released, not kept: this node would renew a lease it does nothing with. Released work still
      // unfinished is offered again by its kind's orphan sweep and taken over afresh.
      this.log.error({ unit: t.lease.unitKey, reason: err instanceof Error ? err.message : String(err) }, 'takeover failed; the unit is released');
      await this.options.leases.release(t.lease.unitKey);
    }
  }

  private lost(units: readonly string[] | 'all', reason: string): void {
    this.log.warn({ units: units === 'all' ? 'all' : units.length, reason }, 'leases lost');
    for (const [kind, listeners] of this.lostListeners) {
      const ids = units === 'all' ? 'all' : units.filter((u) => u.startsWith(`${kind}:`)).map((u) => u.slice(kind.length + 1));
      if (ids !== 'all' && ids.length === 0) continue;
      for (const listener of listeners) listener(ids, reason);
    }
  }
}
