// Reminder rounds under cluster ownership (PostgreSQL, several nodes; docs/cluster.md): the rounds
// of one feedback deadline (the chain, then the leader; a help alarm raised on one of its calls)
// are unit `reminder:<deadline id>`, claimed right after takeDue took the deadline, written through
// that unit's fenced store, released once the last of its rounds has ended and been recorded. A
// node that stops renewing loses its rounds to the node that takes them over, which hangs up the
// calls it left (through its Asterisk) and puts the deadline back as a restart would. Claim,
// takeover and the orphan sweep are shared with surveys (cluster/call-units.ts); what is the
// reminders' own is the hold count, since one unit carries several rounds and alarms.
import { CallUnits, type CallUnitHost } from '../cluster/call-units.js';
import type { WorkOwnership } from '../cluster/ownership.js';
import type { Logger } from '../logging.js';
import type { ReminderRepository } from './reminder-repository.js';

export const REMINDER_UNIT = 'reminder';

/** What the service does for its units. */
export interface ReminderUnitHost extends CallUnitHost {
  /** Ends the deadline's open calls (each hung up first through hangUp) and places its round again if it was cut short. */
  recover(repo: ReminderRepository, deadlineId: string, hangUp: (channelId: string) => Promise<void>): Promise<void>;
}

export class ReminderUnits extends CallUnits<ReminderRepository> {
  /** Work in progress per held unit (the round taken, its rounds, a help alarm): released at zero. */
  private readonly holds = new Map<string, number>();

  constructor(ownership: WorkOwnership, reminders: ReminderRepository, private readonly host: ReminderUnitHost, logger: Logger) {
    super(ownership, reminders, host, {
      kind: REMINDER_UNIT, component: 'reminders', idKey: 'deadlineId', listKey: 'deadlines',
      takenOver: 'reminder round taken over and put back',
      orphanRecovered: 'deadline left reminding with a released lease; put back',
      orphanFailed: 'could not put back an orphaned deadline; tried again next sweep',
      orphansOffered: 'deadlines left reminding without a lease; offered for takeover',
    }, logger);
  }

  /**
   * The deadline's repository on its unit's fenced store, held once (see done), or undefined
   * when this node may not run it now. A claim failure is logged and answered as undefined.
   */
  override async claim(deadlineId: string): Promise<ReminderRepository | undefined> {
    let repo: ReminderRepository | undefined;
    try {
      repo = await super.claim(deadlineId);
    } catch (err) {
      this.log.error({ deadlineId, reason: err instanceof Error ? err.message : String(err) }, 'could not claim a reminder round');
    }
    if (!repo) return undefined;
    this.hold(deadlineId);
    return repo;
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
    await this.releaseLease(deadlineId);
  }

  protected override recoverUnit(repo: ReminderRepository, deadlineId: string, hangUp: (channelId: string) => Promise<void>): Promise<void> {
    return this.host.recover(repo, deadlineId, hangUp);
  }

  protected override unowned(beforeMs: number): Promise<Array<{ id: string; leased: number }>> {
    return this.repository.remindingUnowned(beforeMs);
  }

  protected override lost(ids: readonly string[] | 'all', reason: string): void {
    for (const id of ids === 'all' ? [...this.holds.keys()] : ids) this.holds.delete(id);
    super.lost(ids, reason);
  }

  /** An older life of this unit in this process (it paused) holds nothing now. */
  protected override forget(deadlineId: string): void {
    this.holds.delete(deadlineId);
  }

  /** The sweep claimed it through claim (one hold): done lets it go. */
  protected override finishOrphan(deadlineId: string): Promise<void> {
    return this.done(deadlineId);
  }
}
