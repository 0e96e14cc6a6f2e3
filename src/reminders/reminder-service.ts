// 督查催办: chases a unit that accepted an order until it reports arrival and completion.
// Deadlines and their next due times live in the store (a restart loses none); a timer wakes for
// the next one, like the callback surveys. Each round runs the pure reminder-round machine over
// the call-attempt machine with real effects; what follows a round is machines/reminder.policy.
// A round's bookkeeping is posted to the shared write queue from machine actions; what follows a
// round waits for those writes first, so a case reads in the order things happened. In a cluster
// the rounds of a deadline are also a leased unit of work (reminder-cluster.ts).
import { createActor } from 'xstate';
import { reminderAttemptIdOf, type ReminderTarget } from '../../machines/reminder-round.machine.js';
export { leaderOf } from './reminder-views.js';
import { afterRound, deadlineSecondsOf, reminderPolicyOf, type DeadlineKind, type ReminderAnswer, type ReminderPolicy } from '../../machines/reminder.policy.js';
import type { WorkOwnership } from '../cluster/ownership.js';
import type { Language } from '../config.js';
import type { WriteQueue } from '../db/write-queue.js';
import { contactsOnDuty, type Department } from '../departments/catalog.js';
import type { DepartmentStore } from '../departments/store.js';
import type { Webhook, WebhookPayload } from '../dispatch/webhook.js';
import type { Logger } from '../logging.js';
import type { FeedbackKind, OrderRepository, OrderRow } from '../orders/order-repository.js';
import type { Prompts } from '../prompts/index.js';
import type { TelephonyPort } from '../telephony/port.js';
import { ReminderUnits } from './reminder-cluster.js';
import { ReminderCalls } from './reminder-effects.js';
import { LiveRounds } from './live-rounds.js';
import { caseRecord, leaderOf } from './reminder-views.js';
import { recoverAfterRestart, recoverDeadline } from './reminder-recovery.js';
import type { DeadlineRow, ReminderRepository, ReminderTargetKind } from './reminder-repository.js';

export interface ReminderServiceDeps {
  readonly config: { readonly language: Language; readonly timezone: string };
  readonly reminders: ReminderRepository;
  readonly orders: OrderRepository;
  readonly departments: DepartmentStore;
  readonly telephony: TelephonyPort;
  readonly prompts: Prompts;
  readonly webhook: Webhook;
  readonly logger: Logger;
  /** Ordered writes shared with the dispatch (composition's queue). */
  readonly writes: WriteQueue;
  /**
   * Records feedback given on a reminder call as if the unit had reported it (status, survey,
   * deadlines); awaited: the caller hears the confirmation only once it is committed.
   */
  readonly recordFeedback: (orderId: string, kind: FeedbackKind, note: string, actor: string) => Promise<unknown>;
  /**
   * Cluster mode (PostgreSQL, several nodes): a deadline's rounds are unit `reminder:<deadline id>`,
   * claimed after takeDue, written through its fenced store, released when its last round is
   * recorded; rounds of a node that stopped renewing are taken over. Undefined (one node): a
   * restart recovers every round left open.
   */
  readonly ownership?: WorkOwnership;
}

/** Rounds started per wake-up; the rest a moment later. */
const MAX_ROUNDS_PER_WAKE = 10;
/** Longest sleep between checks, ms (also how soon deadlines another node set are seen). */
const MAX_SLEEP_MS = 60_000;
/** Wait before trying again after the store failed a check, ms. */
const RETRY_AFTER_FAILURE_MS = 5_000;
/** Hours back an acceptance without deadlines still gets them at start (see acceptedWithoutDeadlines). */
const CATCH_UP_HOURS = 24;
/** Orders in these statuses are chased; a deadline of another order is cancelled when due. */
const CHASED: ReadonlySet<string> = new Set(['accepted', 'arrived']);

export class ReminderService {
  private readonly live: LiveRounds;
  /** The round machine (and the call machine inside it) with its effects, provided once. */
  private readonly calls: ReminderCalls;
  private readonly units: ReminderUnits | undefined;
  /** Next reminder attempt seq per order (rounds of one order may overlap: help alarm, leader). */
  private readonly seqs = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly log: Logger;

  constructor(private readonly deps: ReminderServiceDeps) {
    this.log = deps.logger.child({ component: 'reminders' });
    const units = deps.ownership && new ReminderUnits(deps.ownership, deps.reminders, {
      recover: (repo, deadlineId, hangUp) => recoverDeadline(repo, deadlineId, hangUp, (o, k, d) => this.event(o, k, d)),
      abandon: (ids, reason) => this.live.abandon(ids, reason),
      hangUpLocal: (channelId) => this.live.hangUp(channelId, 'could not hang up an orphaned reminder call'),
      wake: () => this.wake(),
    }, deps.logger);
    this.units = units;
    this.live = new LiveRounds(deps.telephony, deps.writes, this.log, units);
    this.calls = new ReminderCalls({
      telephony: deps.telephony, prompts: deps.prompts, writes: deps.writes, logger: this.log,
      appendEvent: async (o, actor, kind, detail) => {
        await deps.orders.appendEvent(o, actor, kind, detail);
      },
    });
  }

  policyFor(order: OrderRow): ReminderPolicy {
    return reminderPolicyOf(this.deps.departments.policyOf(order.department_id), order.urgency, order.major === 1);
  }

  /**
   * The order was accepted: its arrival and completion deadlines start (0 = off), counted from
   * the committed acceptance of its current unit (the order machine reports it only after the
   * confirmation has played), else from `atMs`.
   */
  async onAccepted(orderId: string, atMs = Date.now()): Promise<void> {
    const { orders, reminders } = this.deps;
    const order = await orders.getOrder(orderId);
    if (!order) return;
    const ack = (await orders.acknowledgements(orderId)).find((a) => a.script === 'dispatch' && a.late === 0 && (a.department_id ?? order.department_id) === order.department_id);
    if (ack) atMs = Date.parse(ack.accepted_at);
    const policy = this.policyFor(order);
    const feedback = new Set((await orders.feedback(orderId)).map((f) => f.kind));
    for (const kind of ['arrival', 'completion'] as const) {
      const seconds = deadlineSecondsOf(policy, kind);
      const given = kind === 'arrival' ? feedback.has('arrived') || feedback.has('completed') : feedback.has('completed');
      if (seconds <= 0 || given) continue;
      if (await reminders.ensureDeadline(orderId, kind, seconds, atMs)) {
        await this.event(orderId, 'deadline_set', { deadline: kind, dueAt: new Date(atMs + seconds * 1000).toISOString(), seconds });
      }
    }
    this.wake();
  }

  /** Feedback came (any way): the deadlines it answers are met, their live rounds asked to stop. */
  async onFeedback(orderId: string, kind: FeedbackKind): Promise<void> {
    const kinds: DeadlineKind[] = kind === 'arrived' ? ['arrival'] : kind === 'completed' ? ['arrival', 'completion'] : [];
    for (const row of await this.deps.reminders.meet(orderId, kinds)) {
      await this.event(orderId, 'deadline_met', { deadline: row.kind, late: row.missed_at !== null, overdue: row.status === 'overdue' });
      this.live.cancel((key) => key === row.id);
    }
  }

  /** The order went to another unit (a settled dispute): the first unit is no longer chased; the new one's deadlines start at its acceptance. */
  async onReassigned(orderId: string): Promise<void> {
    await this.deps.reminders.cancelForOrder(orderId, true);
    this.live.cancel((key) => key.startsWith(`${orderId}-`));
  }

  /**
   * Starts the timer; rounds cut short by a stop are placed again, accepted orders without
   * deadlines get them. In a cluster, rounds left open may be other nodes' live rounds: only those
   * whose lease ran out are taken over (by the ownership's poll), orphans are found by its sweep.
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const { reminders, telephony } = this.deps;
    if (this.units) this.units.register();
    else await recoverAfterRestart(reminders, telephony, (o, k, d) => this.event(o, k, d), this.log);
    // Idempotent (one deadline per order and kind): every node may catch up.
    const since = new Date(Date.now() - CATCH_UP_HOURS * 3_600_000).toISOString();
    for (const order of await reminders.acceptedWithoutDeadlines(since)) await this.onAccepted(order.id, Date.parse(order.accepted_at));
    this.wake();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.live.stopAll();
  }

  isLive(deadlineId: string): boolean {
    return this.live.has(deadlineId);
  }

  /** What this service holds for rounds (all 0 once every round has ended, been stopped or abandoned). */
  liveState(): { rounds: number; attemptIds: number; traces: number } {
    return { rounds: this.live.size, ...this.calls.liveState() };
  }

  /** The deadlines and reminder calls of an order, for its case record. */
  async forOrder(orderId: string) {
    const [deadlines, calls] = await Promise.all([this.deps.reminders.forOrder(orderId), this.deps.reminders.attempts(orderId)]);
    return caseRecord(deadlines, calls);
  }

  /** Sets the timer for the next due deadline (read from the store). */
  wake(): void {
    if (!this.running) return;
    this.background('reminder timer', this.schedule());
  }

  private async schedule(): Promise<void> {
    let delay: number;
    try {
      const next = await this.deps.reminders.nextDueAt();
      delay = next === undefined ? MAX_SLEEP_MS : Math.min(Math.max(next - Date.now(), 0), MAX_SLEEP_MS);
    } catch (err) {
      this.log.error({ err }, 'reminders: next due deadline unreadable; trying again shortly');
      delay = RETRY_AFTER_FAILURE_MS;
    }
    if (!this.running) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.background('reminder tick', this.tick()), delay);
  }

  /** Takes the due deadlines (each taken by one node only, see ReminderRepository.takeDue) and reminds them. */
  private async tick(): Promise<void> {
    try {
      // Cluster: a node that is not renewing takes nothing (another node reminds them).
      if (this.deps.telephony.health().connected && (this.units?.canOriginate() ?? true)) {
        for (const row of await this.deps.reminders.takeDue(Date.now(), MAX_ROUNDS_PER_WAKE)) {
          const repo = this.units ? await this.units.claim(row.id) : this.deps.reminders;
          if (!repo) {
            // Not renewing: due now for another node. Held elsewhere (a help alarm of the deadline
            // still running there): due shortly, not at once, which would only spin.
            const dueAt = Date.now() + (this.units?.canOriginate() ? RETRY_AFTER_FAILURE_MS : 0);
            this.log.warn({ orderId: row.order_id, deadline: row.kind, dueAt: new Date(dueAt).toISOString() }, 'reminder round taken but not claimed here; put back as due');
            await this.deps.reminders.requeue(row.id, dueAt);
            continue;
          }
          try {
            await this.remind(row, repo);
          } catch (err) {
            // Taken but no round started: due again shortly, not left `reminding` (nor retried in a tight loop).
            this.log.error({ err, orderId: row.order_id, deadline: row.kind }, 'reminder round not started; placed again');
            await repo.requeue(row.id, Date.now() + RETRY_AFTER_FAILURE_MS);
          } finally {
            // The round started holds the unit itself (runRound); this releases one that started none.
            await this.units?.done(row.id);
          }
        }
      }
    } finally {
      this.wake();
    }
  }

  /** A deadline passed without its feedback: the accepting contact, then the duty chain. `reminders`: the unit's repository (cluster: fenced). */
  private async remind(row: DeadlineRow, reminders: ReminderRepository): Promise<void> {
    const { orders } = this.deps;
    const order = await orders.getOrder(row.order_id);
    const department = order && this.deps.departments.current().departmentsById.get(order.department_id);
    if (!order || !department || !CHASED.has(order.status)) {
      await reminders.cancelForOrder(row.order_id);
      if (order) await this.event(order.id, 'deadline_cancelled', { deadline: row.kind, status: order.status });
      return;
    }
    const started = await reminders.startRound(row.id);
    if (started.rounds === 1) await this.event(order.id, 'deadline_missed', { deadline: row.kind, dueAt: row.first_due_at });
    await this.event(order.id, 'reminder_round', { deadline: row.kind, round: started.rounds });
    await this.runRound(reminders, order, department, started, 'chain', await this.chainTargets(order, department), (answer) => this.afterChainRound(reminders, order, department, row.id, answer));
  }

  private async afterChainRound(reminders: ReminderRepository, order: OrderRow, department: Department, deadlineId: string, answer: ReminderAnswer | null): Promise<void> {
    const row = await reminders.get(deadlineId);
    if (!row || row.status !== 'reminding') return; // met (key 1 or feedback meanwhile) or cancelled
    const step = afterRound({ kind: row.kind, deadlineSeconds: row.deadline_seconds, unanswered: row.unanswered }, answer, this.policyFor(order), Date.now());
    if (step.kind === 'met') {
      await reminders.meet(order.id, [row.kind]);
      return;
    }
    if (step.kind === 'reschedule') {
      // A help request (step.alert) was counted and alerted when its key was committed.
      await reminders.reschedule(row.id, step.dueAt, step.unanswered, false);
      await this.event(order.id, 'reminder_scheduled', { deadline: row.kind, answer, dueAt: new Date(step.dueAt).toISOString(), unanswered: step.unanswered });
    } else {
      await reminders.markOverdue(row.id, step.unanswered, false);
      await this.event(order.id, 'flagged_overdue', { deadline: row.kind, rounds: row.rounds, unanswered: step.unanswered });
      await this.notify(order, 'overdue', row.kind);
      const leader = leaderOf(department);
      if (leader) await this.runRound(reminders, order, department, row, 'leader', [leader], (leaderAnswer) => this.event(order.id, 'leader_reminder_ended', { deadline: row.kind, answer: leaderAnswer }));
      else await this.event(order.id, 'leader_missing', { deadline: row.kind });
    }
    this.wake();
  }

  /** Key 3: webhook and an alarm call to the 110 command centre (not retried; the webhook is the second channel). */
  private async raiseHelpAlarm(reminders: ReminderRepository, order: OrderRow, department: Department, row: DeadlineRow): Promise<void> {
    await this.notify(order, 'help_requested', row.kind);
    const centre = this.deps.departments.current().commandCentre;
    await this.runRound(reminders, order, department, row, 'command_centre', [{ id: centre.id, number: centre.number }], (answer) =>
      this.event(order.id, answer ? 'help_alarm_confirmed' : 'help_alarm_unconfirmed', { deadline: row.kind }),
    );
  }

  /**
   * Starts a round of calls; `done` runs when it ends (its failure is logged). `reminders`: the
   * unit's repository (cluster: fenced), which the round holds until `done` has run.
   */
  private async runRound(reminders: ReminderRepository, order: OrderRow, department: Department, row: DeadlineRow, target: ReminderTargetKind, targets: ReminderTarget[], done: (answer: ReminderAnswer | null) => Promise<void>): Promise<void> {
    const { departments, config } = this.deps;
    const policy = departments.policyOf(department.id);
    const firstSeq = await this.reserveSeqs(order.id, targets.length);
    const liveKey = target === 'chain' ? row.id : `${row.id}:${target}:${firstSeq}`;
    // One call per target, each under its own attempt id: the round's state is found by them.
    const attemptIds = targets.map((_, i) => reminderAttemptIdOf(order.id, firstSeq + i));
    this.calls.add(attemptIds, {
      orderId: order.id, code: order.code, departmentName: department.name[config.language], deadlineId: row.id, kind: row.kind, round: row.rounds, target,
      keyTimeoutSeconds: policy.keyTimeoutSeconds, reminders, calls: this.live.callsOf(row.id),
      commitAnswer: (attemptId, contactId, answer) => this.commitAnswer(reminders, order, row, target, attemptId, contactId, answer),
    });
    const actor = createActor(this.calls.machine, {
      input: { orderId: order.id, firstSeq, targets, script: target === 'command_centre' ? 'alarm' : 'reminder', ringTimeoutSeconds: policy.ringTimeoutSeconds, maxReplays: policy.maxReplays },
    });
    this.live.start(liveKey, actor, async (answer, crash) => {
      if (crash !== undefined) await this.event(order.id, 'reminder_crashed', { reason: crash });
      await done(answer);
    }, () => this.calls.remove(attemptIds));
  }

  /** Runs inside the call's commit, before the confirmation: the key's meaning is durable first. */
  private async commitAnswer(reminders: ReminderRepository, order: OrderRow, row: DeadlineRow, target: ReminderTargetKind, attemptId: string, contactId: string, answer: ReminderAnswer): Promise<void> {
    await this.event(order.id, 'reminder_answered', { attemptId, target, contactId, deadline: row.kind, answer });
    if (target === 'command_centre') return;
    const actor = `reminder:${contactId}`;
    if (answer === 'done') await this.deps.recordFeedback(order.id, row.kind === 'arrival' ? 'arrived' : 'completed', '督查催办电话按1', actor);
    else if (answer === 'on_the_way') await this.deps.recordFeedback(order.id, 'progress', row.kind === 'arrival' ? '督查催办电话：仍在途中' : '督查催办电话：仍在处置', actor);
    else {
      // Key 3: counted now, alerted at once (webhook + alarm call), while the caller hears the confirmation.
      await reminders.noteHelpRequest(row.id);
      const department = this.deps.departments.current().departmentsById.get(order.department_id);
      if (department) {
        // Held from now: the chain round may end before the alarm round has started.
        this.units?.hold(row.id);
        this.background('help alarm', this.raiseHelpAlarm(reminders, order, department, row).finally(() => this.units?.done(row.id)));
      }
    }
  }

  private async chainTargets(order: OrderRow, department: Department): Promise<ReminderTarget[]> {
    const onDuty = contactsOnDuty(department, new Date(), this.deps.config.timezone).map((c) => ({ id: c.id, number: c.number }));
    const acceptedBy = (await this.deps.orders.acknowledgements(order.id)).find((a) => a.script === 'dispatch' && a.late === 0)?.contact_id ?? null;
    const first = onDuty.find((c) => c.id === acceptedBy);
    return first ? [first, ...onDuty.filter((c) => c !== first)] : onDuty;
  }

  private async reserveSeqs(orderId: string, count: number): Promise<number> {
    const stored = await this.deps.reminders.maxSeq(orderId);
    // Read after the await: another round of this order may have reserved meanwhile.
    const first = Math.max(this.seqs.get(orderId) ?? 1, stored + 1);
    this.seqs.set(orderId, first + count);
    return first;
  }

  private async notify(order: OrderRow, status: WebhookPayload['status'], deadline: DeadlineKind): Promise<void> {
    // Called after the round's posted writes are in (LiveRounds.start waits for them, or the committed key).
    const attempts = (await this.deps.reminders.attempts(order.id)).length;
    const outcome = await this.deps.webhook.notify({ orderId: order.id, code: order.code, departmentId: order.department_id, status, attempts, deadline });
    await this.event(order.id, outcome.ok ? 'webhook_queued' : 'webhook_failed', outcome.ok ? { eventId: outcome.eventId, event: status } : { reason: outcome.reason, event: status });
  }

  /**
   * A case event, written directly, never through the queue: onAccepted and onFeedback are called
   * from inside queued writes (the dispatcher posts its acceptance hook, the feedback line runs its
   * feedback through the queue), where waiting for the queue would wait for itself.
   */
  private async event(orderId: string, kind: string, detail: Record<string, unknown>): Promise<void> {
    await this.deps.orders.appendEvent(orderId, 'liandong', kind, detail);
  }

  /** Work started from a callback that cannot wait for it: a failure is logged, never lost. */
  private background(what: string, work: Promise<unknown>): void {
    work.catch((err: unknown) => this.log.error({ err }, `reminders: ${what} failed`));
  }
}
