// Reminder rounds under cluster ownership (PostgreSQL, several nodes; docs/cluster.md): the rounds
// of one feedback deadline (the chain, then the leader; a help alarm raised on one of its calls)
// are unit `reminder:<deadline id>`, claimed right after takeDue took the deadline, written through
// that unit's fenced store, released once the last of its rounds has ended and been recorded. A
// node that stops renewing loses its rounds to the node that takes them over, which hangs up the
// calls it left (through its Asterisk) and puts the deadline back as a restart would.
import type { Takeover } from '../cluster/leases.js';
import type { WorkOwnership } from '../cluster/ownership.js';
import type { Store } from '../db/store.js';
import type { Logger } from '../logging.js';
import type { ReminderRepository } from './reminder-repository.js';

export const REMINDER_UNIT = 'reminder';

/** A deadline `reminding` this long without a lease holder is an orphan (takeDue and the claim are milliseconds apart). */
export const ORPHAN_AFTER_MS = 5_000;

/** What the service does for its units. */
export interface ReminderUnitHost {
  /** Ends the deadline's open calls (each hung up first through hangUp) and places its round again if it was cut short. */
  recover(repo: ReminderRepository, deadlineId: string, hangUp: (channelId: string) => Promise<void>): Promise<void>;
  /** Stops these deadlines' rounds here and hangs their calls up, writing nothing more. */
  abandon(ids: readonly string[] | 'all', reason: string): void;
  /** Hangs a channel up on this node's Asterisk (a failure is logged there). */
  hangUpLocal(channelId: string): Promise<void>;
  /** A deadline may be due again: re-arm the timer. */
  wake(): void;
}

export class ReminderUnits {
  /** Work in progress per held unit (the round taken, its rounds, a help alarm): released at zero. */
  private readonly holds = new Map<string, number>();
  private readonly log: Logger;

  constructor(
    private readonly ownership: WorkOwnership,
    private readonly reminders: ReminderRepository,
    private readonly host: ReminderUnitHost,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'reminders', nodeId: ownership.nodeId });
  }

  /** Takes part in takeovers and hears of lost units (once, from the service's start). */
  register(): void {
    this.ownership.handle(REMINDER_UNIT, (id, takeover, store) => this.takeOver(id, takeover, store), () => this.orphans());
    this.ownership.onLost(REMINDER_UNIT, (ids, reason) => {
      for (const id of ids === 'all' ? [...this.holds.keys()] : ids) this.holds.delete(id);
      this.host.abandon(ids, reason);
    });
  }

  canOriginate(): boolean {
    return this.ownership.canOriginate();
  }

  /**
   * The deadline's repository on its unit's fenced store, held once (see done), or undefined
   * when this node may not run it now. A claim failure is logged and answered as undefined.
   */
  async claim(deadlineId: string): Promise<ReminderRepository | undefined> {
    let store: Store | undefined;
    try {
      store = await this.ownership.claim(REMINDER_UNIT, deadlineId);
    } catch (err) {
      this.log.error({ deadlineId, reason: err instanceof Error ? err.message : String(err) }, 'could not claim a reminder round');
    }
    if (!store) return undefined;
    this.hold(deadlineId);
    return this.reminders.withStore(store);
  }

  /** One more piece of work on a held unit (a round, a help alarm). */
  hold(deadlineId: string): void {
    this.holds.set(deadlineId, (this.holds.get(deadlineId) ?? 0) + 1);
  }

  /** A piece of work on the unit ended (and was recorded): the last one releases it. Never rejects. */
  async done(deadlineId: string): Promise<void> {
    const left = (this.holds.get(deadlineId) ?? 0) - 1;
    if (left > 0) {
      this.holds.set(deadlineId, left);
      return;
    }
    if (!this.holds.delete(deadlineId)) return; // lost meanwhile: nothing of ours to release
    await this.release(deadlineId);
  }

  private async release(deadlineId: string): Promise<void> {
    try {
      await this.ownership.release(REMINDER_UNIT, deadlineId);
    } catch (err) {
      // The lease then expires and is taken over; the handler finds the round settled and releases it.
      this.log.error({ deadlineId, reason: err instanceof Error ? err.message : String(err) }, 'could not release a reminder lease');
    }
  }

  /** A deadline whose node stopped renewing is ours now: its calls hung up where they live, the deadline put back, then released. */
  private async takeOver(deadlineId: string, takeover: Takeover, store: Store): Promise<void> {
    const repo = this.reminders.withStore(store);
    const hangUp = async (channelId: string) => {
      const r = await this.ownership.hangUpLeft(channelId, takeover);
      if (r.status === 'unreachable') this.log.warn({ deadlineId, channelId, from: takeover.previousOwner, reason: r.reason }, 'could not hang up a reminder call the previous owner left; its Asterisk is down with it');
    };
    this.holds.delete(deadlineId); // an older life of this unit in this process (it paused) holds nothing now
    try {
      const open = new Set((await repo.openAttempts(deadlineId)).map((a) => a.id));
      for (const channelId of takeover.channels) if (!open.has(channelId)) await hangUp(channelId);
      await this.host.recover(repo, deadlineId, hangUp);
      this.log.info({ deadlineId, from: takeover.previousOwner }, 'reminder round taken over and put back');
    } finally {
      // Also after a failure: a deadline left `reminding` without a holder is found by the orphan sweep.
      await this.release(deadlineId);
      this.host.wake();
    }
  }

  /**
   * Deadlines `reminding` without a holder for a while. Without any lease row: returned, so the
   * ownership offers them for takeover. A released row cannot be offered (its epoch must go on):
   * claimed and put back here; nobody holds it, so none of its calls is up anywhere.
   */
  private async orphans(): Promise<string[]> {
    const offer: string[] = [];
    let reconciled = false;
    for (const { id, leased } of await this.reminders.remindingUnowned(Date.now() - ORPHAN_AFTER_MS)) {
      if (Number(leased) === 0) {
        offer.push(id);
        continue;
      }
      const repo = await this.claim(id);
      if (!repo) continue; // another node got there first
      reconciled = true;
      try {
        await this.host.recover(repo, id, (c) => this.host.hangUpLocal(c));
        this.log.warn({ deadlineId: id }, 'deadline left reminding with a released lease; put back');
      } catch (err) {
        this.log.error({ deadlineId: id, reason: err instanceof Error ? err.message : String(err) }, 'could not put back an orphaned deadline; tried again next sweep');
      } finally {
        await this.done(id);
      }
    }
    if (reconciled) this.host.wake(); // due again now, or later than the timer thought
    if (offer.length > 0) this.log.warn({ deadlines: offer }, 'deadlines left reminding without a lease; offered for takeover');
    return offer;
  }
}
