// The part of cluster ownership every kind of call unit shares (survey calls, reminder rounds;
// docs/cluster.md): claiming a unit's fenced store, releasing it, taking over a unit whose node
// stopped renewing, and sweeping units left without a holder. Each kind says how to recover one
// unit and which units are unowned; what only one kind needs (reminder holds, survey putBack)
// stays in its own file. Kept in one place so a fix to takeover or the sweep reaches every kind.
import type { Takeover } from './leases.js';
import type { WorkOwnership } from './ownership.js';
import type { Store } from '../db/store.js';
import type { Logger } from '../logging.js';

/** A unit's rows older than this in their working status without a lease holder are orphans (the take and the claim are milliseconds apart). */
export const ORPHAN_AFTER_MS = 5_000;

/** The repository of a unit kind: rebound to a unit's fenced store, listing the unit's open attempts (their ids are channel ids). */
export interface UnitRepository<Self> {
  withStore(store: Store): Self;
  openAttempts(unitId: string): Promise<ReadonlyArray<{ id: string }>>;
}

/** What the service does for its units, whatever their kind. */
export interface CallUnitHost {
  /** Stops these units' work here and hangs their calls up, writing nothing more. */
  abandon(ids: readonly string[] | 'all', reason: string): void;
  /** Hangs a channel up on this node's Asterisk (a failure is logged there). */
  hangUpLocal(channelId: string): Promise<void>;
  /** A unit may be due again: re-arm the timer. */
  wake(): void;
}

/** The kind's unit name and the words its logs use (kept as each kind logged them before). */
export interface CallUnitNames {
  /** Unit kind, `<kind>:<id>` in the leases; also the noun in the hang-up and release logs. */
  kind: string;
  /** Log component. */
  component: string;
  /** Log field naming one unit id, and the one listing offered ids. */
  idKey: string;
  listKey: string;
  takenOver: string;
  orphanRecovered: string;
  orphanFailed: string;
  orphansOffered: string;
}

export abstract class CallUnits<Repo extends UnitRepository<Repo>> {
  protected readonly log: Logger;

  constructor(
    protected readonly ownership: WorkOwnership,
    protected readonly repository: Repo,
    private readonly unitHost: CallUnitHost,
    private readonly names: CallUnitNames,
    logger: Logger,
  ) {
    this.log = logger.child({ component: names.component, nodeId: ownership.nodeId });
  }

  /** Ends the unit's open calls (each hung up first through hangUp) and settles it as a restart would. */
  protected abstract recoverUnit(repo: Repo, id: string, hangUp: (channelId: string) => Promise<void>): Promise<void>;

  /** Units in their working status without a holder since before beforeMs; leased 0 when no lease row exists. */
  protected abstract unowned(beforeMs: number): Promise<ReadonlyArray<{ id: string; leased: number }>>;

  /** Takes part in takeovers and hears of lost units (once, from the service's start). */
  register(): void {
    this.ownership.handle(this.names.kind, (id, takeover, store) => this.takeOver(id, takeover, store), () => this.orphans());
    this.ownership.onLost(this.names.kind, (ids, reason) => this.lost(ids, reason));
  }

  canOriginate(): boolean {
    return this.ownership.canOriginate();
  }

  /** The unit's repository on its fenced store, or undefined when this node may not run it now (a failure rejects). */
  async claim(id: string): Promise<Repo | undefined> {
    const store = await this.ownership.claim(this.names.kind, id);
    return store && this.repository.withStore(store);
  }

  /** Units lost to another node: their work here stops. */
  protected lost(ids: readonly string[] | 'all', reason: string): void {
    this.unitHost.abandon(ids, reason);
  }

  /** Before a takeover recovers the unit: forget what an older life of it in this process held. */
  protected forget(_id: string): void {
    // Nothing by default.
  }

  /** An orphan claimed by the sweep was handled (or could not be): let it go. Never rejects. */
  protected finishOrphan(id: string): Promise<void> {
    return this.releaseLease(id);
  }

  /** Never rejects. */
  protected async releaseLease(id: string): Promise<void> {
    try {
      await this.ownership.release(this.names.kind, id);
    } catch (err) {
      // The lease then expires and is taken over; the handler finds the unit settled and releases it.
      this.log.error({ [this.names.idKey]: id, reason: err instanceof Error ? err.message : String(err) }, `could not release a ${this.names.kind} lease`);
    }
  }

  /** A unit whose node stopped renewing is ours now: its calls hung up where they live, the unit recovered, then released. */
  private async takeOver(id: string, takeover: Takeover, store: Store): Promise<void> {
    const { idKey, kind } = this.names;
    const repo = this.repository.withStore(store);
    const hangUp = async (channelId: string) => {
      const r = await this.ownership.hangUpLeft(channelId, takeover);
      if (r.status === 'unreachable') this.log.warn({ [idKey]: id, channelId, from: takeover.previousOwner, reason: r.reason }, `could not hang up a ${kind} call the previous owner left; its Asterisk is down with it`);
    };
    this.forget(id);
    try {
      // Trunk lines it held for the unit: normally the open attempts' channels, hung up once (by recover).
      const open = new Set((await repo.openAttempts(id)).map((a) => a.id));
      for (const channelId of takeover.channels) if (!open.has(channelId)) await hangUp(channelId);
      await this.recoverUnit(repo, id, hangUp);
      this.log.info({ [idKey]: id, from: takeover.previousOwner }, this.names.takenOver);
    } finally {
      // Also after a failure: a unit left in its working status without a holder is found by the orphan sweep.
      await this.releaseLease(id);
      this.unitHost.wake();
    }
  }

  /**
   * Units in their working status without a holder for a while. Without any lease row: returned,
   * so the ownership offers them for takeover. A released row cannot be offered (its epoch must go
   * on): claimed and recovered here; nobody holds it, so none of its calls is up anywhere, and no
   * hang-up is needed beyond this node's own Asterisk.
   */
  private async orphans(): Promise<string[]> {
    const { idKey } = this.names;
    const offer: string[] = [];
    let reconciled = false;
    for (const { id, leased } of await this.unowned(Date.now() - ORPHAN_AFTER_MS)) {
      if (Number(leased) === 0) {
        offer.push(id);
        continue;
      }
      const repo = await this.claim(id);
      if (!repo) continue; // another node got there first
      reconciled = true;
      try {
        await this.recoverUnit(repo, id, (c) => this.unitHost.hangUpLocal(c));
        this.log.warn({ [idKey]: id }, this.names.orphanRecovered);
      } catch (err) {
        this.log.error({ [idKey]: id, reason: err instanceof Error ? err.message : String(err) }, this.names.orphanFailed);
      } finally {
        await this.finishOrphan(id);
      }
    }
    if (reconciled) this.unitHost.wake(); // due again now, or later than the timer thought
    if (offer.length > 0) this.log.warn({ [this.names.listKey]: offer }, this.names.orphansOffered);
    return offer;
  }
}
