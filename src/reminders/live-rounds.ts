// The reminder rounds running on this node: their actors (asked to stop when feedback comes), and
// the calls each deadline has up, so the rounds of a deadline whose cluster lease is lost can be
// stopped without recording anything and their calls hung up (the new owner records the rest).
import type { ActorRefFrom, Subscription } from 'xstate';
import type { reminderRoundMachine } from '../../machines/reminder-round.machine.js';
import type { ReminderAnswer } from '../../machines/reminder.policy.js';
import type { WriteQueue } from '../db/write-queue.js';
import type { Logger } from '../logging.js';
import type { TelephonyPort } from '../telephony/port.js';

export type RoundActor = ActorRefFrom<typeof reminderRoundMachine>;

/** A round's key is its deadline id (the chain) or `<deadline id>:<target>:<seq>` (leader, help alarm). */
const deadlineOf = (key: string): string => key.split(':')[0] ?? key;

export class LiveRounds {
  private readonly actors = new Map<string, RoundActor>();
  private readonly subscriptions = new Map<string, Subscription>();
  /** What each round leaves to forget when it ends, is stopped or abandoned (its calls' live state). */
  private readonly forgets = new Map<string, () => void>();
  private readonly calls = new Map<string, Set<string>>();

  constructor(
    private readonly telephony: TelephonyPort,
    /** The service's ordered writes: what follows a round waits for the round's own posted writes. */
    private readonly writes: WriteQueue,
    private readonly log: Logger,
    /** Cluster: a round holds its deadline's unit until what follows it has run (reminder-cluster.ts). */
    private readonly unit?: { hold(deadlineId: string): void; done(deadlineId: string): Promise<void> },
  ) {}

  /** Hangs a channel up on this node's Asterisk. Never rejects: a failure is logged (a channel already gone is no error worth more). */
  async hangUp(channelId: string, what = 'could not hang up an abandoned reminder call'): Promise<void> {
    try {
      await this.telephony.hangup(channelId);
    } catch (err) {
      this.log.warn({ channelId, err: String(err) }, what);
    }
  }

  /** Calls up now for the deadline, shared by its rounds: the round's actions add and remove them. */
  callsOf(deadlineId: string): Set<string> {
    const calls = this.calls.get(deadlineId) ?? new Set<string>();
    this.calls.set(deadlineId, calls);
    return calls;
  }

  /**
   * Starts a tracked round. `after` runs once it has ended and every write posted before is in,
   * with its answer (null, and `crash` set, if it crashed); a failure of `after` is logged.
   * `forget` runs once the round's machine has ended, crashed, been stopped or abandoned.
   */
  start(key: string, actor: RoundActor, after: (answer: ReminderAnswer | null, crash: string | undefined) => Promise<void>, forget: () => void = () => undefined): void {
    const deadlineId = deadlineOf(key);
    this.unit?.hold(deadlineId);
    const finish = (answer: ReminderAnswer | null, crash: string | undefined) => {
      this.ended(key);
      // After the posted writes, not inside the queue: what follows a round may wait for the queue itself.
      this.writes.run(() => Promise.resolve())
        .then(() => after(answer, crash))
        .catch((err: unknown) => this.log.error({ err, round: key }, crash === undefined ? 'reminders: after a reminder round failed' : 'reminders: after a crashed reminder round failed'))
        .finally(() => this.unit?.done(deadlineId))
        .catch((err: unknown) => this.log.error({ err, round: key }, 'reminders: releasing a reminder round failed'));
    };
    this.actors.set(key, actor);
    this.forgets.set(key, forget);
    this.subscriptions.set(key, actor.subscribe({
      complete: () => finish(actor.getSnapshot().output?.answer ?? null, undefined),
      error: (err: unknown) => {
        this.log.error({ err, round: key }, 'reminder round crashed');
        finish(null, err instanceof Error ? err.message : String(err));
      },
    }));
    actor.start();
  }

  /** The round ended. */
  private ended(key: string): void {
    this.actors.delete(key);
    this.subscriptions.delete(key);
    this.forget(key);
    const deadlineId = deadlineOf(key);
    if (this.calls.get(deadlineId)?.size === 0 && ![...this.actors.keys()].some((k) => deadlineOf(k) === deadlineId)) this.calls.delete(deadlineId);
  }

  has(key: string): boolean {
    return this.actors.has(key);
  }

  /** Rounds running here. */
  get size(): number {
    return this.actors.size;
  }

  private forget(key: string): void {
    this.forgets.get(key)?.();
    this.forgets.delete(key);
  }

  /** Asks the rounds whose key matches to stop (CANCEL: they end their call as they would). */
  cancel(matches: (key: string) => boolean): void {
    for (const [key, actor] of this.actors) if (matches(key)) actor.send({ type: 'CANCEL' });
  }

  /** Lost leases: the rounds stop without their observers (nothing recorded), their calls are hung up here. */
  abandon(ids: readonly string[] | 'all', reason: string): void {
    const lost = ids === 'all' ? undefined : new Set(ids);
    for (const [key, actor] of [...this.actors]) {
      if (lost && !lost.has(deadlineOf(key))) continue;
      this.subscriptions.get(key)?.unsubscribe();
      this.subscriptions.delete(key);
      this.actors.delete(key);
      actor.stop();
      this.forget(key);
      this.log.warn({ deadlineId: deadlineOf(key), round: key, reason }, 'reminder round abandoned: its lease is lost');
    }
    for (const [deadlineId, calls] of [...this.calls]) {
      if (lost && !lost.has(deadlineId)) continue;
      this.calls.delete(deadlineId);
      for (const channelId of calls) void this.hangUp(channelId);
    }
  }

  /** The service stops: every round stopped (its observers run, as before clusters). */
  stopAll(): void {
    for (const actor of this.actors.values()) actor.stop();
    this.actors.clear();
    this.subscriptions.clear();
    for (const key of [...this.forgets.keys()]) this.forget(key);
  }
}
