// The reminder rounds running on this node: their actors (asked to stop when feedback comes), and
// the calls each deadline has up, so the rounds of a deadline whose cluster lease is lost can be
// stopped without recording anything and their calls hung up (the new owner records the rest).
import type { ActorRefFrom, Observer, Snapshot, Subscription } from 'xstate';
import type { reminderRoundMachine } from '../../machines/reminder-round.machine.js';
import type { Logger } from '../logging.js';

export type RoundActor = ActorRefFrom<typeof reminderRoundMachine>;

/** A round's key is its deadline id (the chain) or `<deadline id>:<target>:<seq>` (leader, help alarm). */
const deadlineOf = (key: string): string => key.split(':')[0] ?? key;

export class LiveRounds {
  private readonly actors = new Map<string, RoundActor>();
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly calls = new Map<string, Set<string>>();

  constructor(
    /** Never rejects (logs its failure). */
    private readonly hangUp: (channelId: string) => Promise<void>,
    private readonly log: Logger,
  ) {}

  /** Calls up now for the deadline, shared by its rounds: the round's actions add and remove them. */
  callsOf(deadlineId: string): Set<string> {
    const calls = this.calls.get(deadlineId) ?? new Set<string>();
    this.calls.set(deadlineId, calls);
    return calls;
  }

  /** Tracks a round and subscribes the observer to it (before it starts). */
  track(key: string, actor: RoundActor, observer: Observer<Snapshot<unknown>>): void {
    this.actors.set(key, actor);
    this.subscriptions.set(key, actor.subscribe(observer));
  }

  /** The round ended (its own observer runs on). */
  ended(key: string): void {
    this.actors.delete(key);
    this.subscriptions.delete(key);
    const deadlineId = deadlineOf(key);
    if (this.calls.get(deadlineId)?.size === 0 && ![...this.actors.keys()].some((k) => deadlineOf(k) === deadlineId)) this.calls.delete(deadlineId);
  }

  has(key: string): boolean {
    return this.actors.has(key);
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
  }
}
