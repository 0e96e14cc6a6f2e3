// 督查催办: chases a unit that accepted an order until it reports arrival and completion.
// Deadlines and their next due times live in SQLite (a restart loses none); a timer wakes for
// the next one, like the callback surveys. Each round runs the pure reminder-round machine over
// the call-attempt machine with real effects; what follows a round is machines/reminder.policy.
import { createActor, type ActorRefFrom } from 'xstate';
import { reminderRoundMachine, type ReminderTarget } from '../../machines/reminder-round.machine.js';
import { afterRound, deadlineSecondsOf, reminderPolicyOf, type DeadlineKind, type ReminderAnswer, type ReminderPolicy } from '../../machines/reminder.policy.js';
import type { Language } from '../config.js';
import { contactsOnDuty, type Department } from '../departments/catalog.js';
import type { DepartmentStore } from '../departments/store.js';
import type { Webhook, WebhookPayload } from '../dispatch/webhook.js';
import type { Logger } from '../logging.js';
import type { FeedbackKind, OrderRepository, OrderRow } from '../orders/order-repository.js';
import type { Prompts } from '../prompts/index.js';
import type { TelephonyPort } from '../telephony/port.js';
import { provideReminderCall } from './reminder-effects.js';
import type { DeadlineRow, ReminderAttemptRow, ReminderRepository, ReminderTargetKind } from './reminder-repository.js';

export interface ReminderServiceDeps {
  readonly config: { readonly language: Language; readonly timezone: string };
  readonly reminders: ReminderRepository;
  readonly orders: OrderRepository;
  readonly departments: DepartmentStore;
  readonly telephony: TelephonyPort;
  readonly prompts: Prompts;
  readonly webhook: Webhook;
  readonly logger: Logger;
  /** Records feedback given on a reminder call as if the unit had reported it (status, survey, deadlines). */
  readonly recordFeedback: (orderId: string, kind: FeedbackKind, note: string, actor: string) => void;
}

/** Rounds started per wake-up; the rest a moment later. */
const MAX_ROUNDS_PER_WAKE = 10;
/** Longest sleep between checks, ms. */
const MAX_SLEEP_MS = 60_000;
/** Hours back an acceptance without deadlines still gets them at start (see acceptedWithoutDeadlines). */
const CATCH_UP_HOURS = 24;
/** Orders in these statuses are chased; a deadline of another order is cancelled when due. */
const CHASED: ReadonlySet<string> = new Set(['accepted', 'arrived']);

type RoundActor = ActorRefFrom<typeof reminderRoundMachine>;

export class ReminderService {
  private readonly live = new Map<string, RoundActor>();
  /** Next reminder attempt seq per order (rounds of one order may overlap: help alarm, leader). */
  private readonly seqs = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly log: Logger;

  constructor(private readonly deps: ReminderServiceDeps) {
    this.log = deps.logger.child({ component: 'reminders' });
  }

  policyFor(order: OrderRow): ReminderPolicy {
    return reminderPolicyOf(this.deps.departments.policyOf(order.department_id), order.urgency, order.major === 1);
  }

  /**
   * The order was accepted: its arrival and completion deadlines start (0 = off), counted from
   * the committed acceptance of its current unit (the order machine reports it only after the
   * confirmation has played), else from `atMs`.
   */
  onAccepted(orderId: string, atMs = Date.now()): void {
    const order = this.deps.orders.getOrder(orderId);
    if (!order) return;
    const ack = this.deps.orders.acknowledgements(orderId).find((a) => a.script === 'dispatch' && a.late === 0 && (a.department_id ?? order.department_id) === order.department_id);
    if (ack) atMs = Date.parse(ack.accepted_at);
    const policy = this.policyFor(order);
    const feedback = new Set(this.deps.orders.feedback(orderId).map((f) => f.kind));
    for (const kind of ['arrival', 'completion'] as const) {
      const seconds = deadlineSecondsOf(policy, kind);
      const given = kind === 'arrival' ? feedback.has('arrived') || feedback.has('completed') : feedback.has('completed');
      if (seconds <= 0 || given) continue;
      if (this.deps.reminders.ensureDeadline(orderId, kind, seconds, atMs)) {
        this.event(orderId, 'deadline_set', { deadline: kind, dueAt: new Date(atMs + seconds * 1000).toISOString(), seconds });
      }
    }
    this.wake();
  }

  /** Feedback came (any way): the deadlines it answers are met, their live rounds asked to stop. */
  onFeedback(orderId: string, kind: FeedbackKind): void {
    const kinds: DeadlineKind[] = kind === 'arrived' ? ['arrival'] : kind === 'completed' ? ['arrival', 'completion'] : [];
    for (const row of this.deps.reminders.meet(orderId, kinds)) {
      this.event(orderId, 'deadline_met', { deadline: row.kind, late: row.missed_at !== null, overdue: row.status === 'overdue' });
      this.live.get(row.id)?.send({ type: 'CANCEL' });
    }
  }

  /** The order went to another unit (a settled dispute): the first unit is no longer chased; the new one's deadlines start at its acceptance. */
  onReassigned(orderId: string): void {
    this.deps.reminders.cancelForOrder(orderId, true);
    for (const [key, actor] of this.live) if (key.startsWith(`${orderId}-`)) actor.send({ type: 'CANCEL' });
  }

  /** Starts the timer; rounds cut short by a stop are placed again, accepted orders without deadlines get them. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const { reminders, telephony } = this.deps;
    const leftovers = reminders.openAttempts();
    for (const a of leftovers) {
      reminders.endAttempt(a.id, { result: a.answer ? 'accepted' : 'interrupted', reason: a.answer ? 'confirmation interrupted' : 'service restarted during the call', endedAt: Date.now() });
    }
    for (const row of reminders.reminding()) {
      reminders.requeue(row.id);
      this.event(row.order_id, 'reminder_resumed', { deadline: row.kind });
    }
    for (const order of this.acceptedWithoutDeadlines()) this.onAccepted(order.id, order.acceptedAtMs);
    const hangUp = () => {
      for (const a of leftovers) telephony.hangup(a.id).catch((err: unknown) => this.log.warn({ channelId: a.id, err: String(err) }, 'could not hang up a reminder call left by a stopped service'));
    };
    if (leftovers.length > 0 && telephony.health().connected) hangUp();
    else if (leftovers.length > 0) {
      const off = telephony.onHealthChange((h) => {
        if (!h.connected) return;
        off();
        hangUp();
      });
    }
    this.wake();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    for (const actor of this.live.values()) actor.stop();
    this.live.clear();
  }

  isLive(deadlineId: string): boolean {
    return this.live.has(deadlineId);
  }

  /** The deadlines and reminder calls of an order, for its case record. */
  forOrder(orderId: string) {
    return {
      deadlines: this.deps.reminders.forOrder(orderId).map((d) => ({
        kind: d.kind, status: d.status, deadlineSeconds: d.deadline_seconds, firstDueAt: d.first_due_at, dueAt: d.due_at, rounds: d.rounds,
        unanswered: d.unanswered, helpRequests: d.help_requests, missedAt: d.missed_at, metAt: d.met_at, overdueAt: d.overdue_at,
      })),
      calls: this.deps.reminders.attempts(orderId).map((a) => attemptView(a)),
    };
  }

  wake(): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    const next = this.deps.reminders.nextDueAt();
    const delay = next === undefined ? MAX_SLEEP_MS : Math.min(Math.max(next - Date.now(), 0), MAX_SLEEP_MS);
    this.timer = setTimeout(() => this.tick(), delay);
  }

  private tick(): void {
    if (this.deps.telephony.health().connected) {
      for (const row of this.deps.reminders.due(Date.now(), MAX_ROUNDS_PER_WAKE)) this.remind(row);
    }
    this.wake();
  }

  /** A deadline passed without its feedback: the accepting contact, then the duty chain. */
  private remind(row: DeadlineRow): void {
    const { reminders, orders } = this.deps;
    const order = orders.getOrder(row.order_id);
    const department = order && this.deps.departments.current().departmentsById.get(order.department_id);
    if (!order || !department || !CHASED.has(order.status)) {
      reminders.cancelForOrder(row.order_id);
      if (order) this.event(order.id, 'deadline_cancelled', { deadline: row.kind, status: order.status });
      return;
    }
    const started = reminders.startRound(row.id);
    if (started.rounds === 1) this.event(order.id, 'deadline_missed', { deadline: row.kind, dueAt: row.first_due_at });
    this.event(order.id, 'reminder_round', { deadline: row.kind, round: started.rounds });
    this.runRound(order, department, started, 'chain', this.chainTargets(order, department), (answer) => this.afterChainRound(order, department, row.id, answer));
  }

  private afterChainRound(order: OrderRow, department: Department, deadlineId: string, answer: ReminderAnswer | null): void {
    const row = this.deps.reminders.get(deadlineId);
    if (!row || row.status !== 'reminding') return; // met (key 1 or feedback meanwhile) or cancelled
    const step = afterRound({ kind: row.kind, deadlineSeconds: row.deadline_seconds, unanswered: row.unanswered }, answer, this.policyFor(order), Date.now());
    if (step.kind === 'met') {
      this.deps.reminders.meet(order.id, [row.kind]);
      return;
    }
    if (step.kind === 'reschedule') {
      // A help request (step.alert) was counted and alerted when its key was committed.
      this.deps.reminders.reschedule(row.id, step.dueAt, step.unanswered, false);
      this.event(order.id, 'reminder_scheduled', { deadline: row.kind, answer, dueAt: new Date(step.dueAt).toISOString(), unanswered: step.unanswered });
    } else {
      this.deps.reminders.markOverdue(row.id, step.unanswered, false);
      this.event(order.id, 'flagged_overdue', { deadline: row.kind, rounds: row.rounds, unanswered: step.unanswered });
      this.notify(order, 'overdue', row.kind);
      const leader = leaderOf(department);
      if (leader) this.runRound(order, department, row, 'leader', [leader], (leaderAnswer) => this.event(order.id, 'leader_reminder_ended', { deadline: row.kind, answer: leaderAnswer }));
      else this.event(order.id, 'leader_missing', { deadline: row.kind });
    }
    this.wake();
  }

  /** Key 3: webhook and an alarm call to the 110 command centre (not retried; the webhook is the second channel). */
  private raiseHelpAlarm(order: OrderRow, department: Department, row: DeadlineRow): void {
    this.notify(order, 'help_requested', row.kind);
    const centre = this.deps.departments.current().commandCentre;
    this.runRound(order, department, row, 'command_centre', [{ id: centre.id, number: centre.number }], (answer) =>
      this.event(order.id, answer ? 'help_alarm_confirmed' : 'help_alarm_unconfirmed', { deadline: row.kind }),
    );
  }

  private runRound(order: OrderRow, department: Department, row: DeadlineRow, target: ReminderTargetKind, targets: ReminderTarget[], done: (answer: ReminderAnswer | null) => void): void {
    const { reminders, departments, config } = this.deps;
    const policy = departments.policyOf(department.id);
    const firstSeq = this.reserveSeqs(order.id, targets.length);
    const liveKey = target === 'chain' ? row.id : `${row.id}:${target}:${firstSeq}`;
    const callAttempt = provideReminderCall(
      { ...this.deps, appendEvent: (o, actor, kind, detail) => this.deps.orders.appendEvent(o, actor, kind, detail) },
      {
        orderId: order.id, code: order.code, departmentName: department.name[config.language], kind: row.kind, keyTimeoutSeconds: policy.keyTimeoutSeconds,
        commitAnswer: (attemptId, contactId, answer) => this.commitAnswer(order, row, target, attemptId, contactId, answer),
      },
    );
    const machine = reminderRoundMachine.provide({
      actors: { callAttempt },
      actions: {
        recordReminderStarted: (_, p) =>
          reminders.startAttempt({ id: p.attemptId, orderId: p.orderId, deadlineId: row.id, seq: p.seq, round: row.rounds, target, contactId: p.contactId, number: p.number }),
        recordReminderResult: (_, p) => {
          const o = p.output;
          reminders.endAttempt(p.attemptId, { result: o.result, reason: o.reason, digits: o.digits, answeredAt: o.answeredAt, endedAt: o.endedAt, cause: o.cause });
          this.event(order.id, 'reminder_call_ended', { attemptId: p.attemptId, target, contactId: p.contactId, result: o.result });
        },
      },
    });
    const actor = createActor(machine, {
      input: { orderId: order.id, firstSeq, targets, script: target === 'command_centre' ? 'alarm' : 'reminder', ringTimeoutSeconds: policy.ringTimeoutSeconds, maxReplays: policy.maxReplays },
    });
    this.live.set(liveKey, actor);
    actor.subscribe({
      complete: () => {
        this.live.delete(liveKey);
        done(actor.getSnapshot().output?.answer ?? null);
      },
      error: (err: unknown) => {
        this.live.delete(liveKey);
        this.log.error({ err, orderId: order.id }, 'reminder round crashed');
        this.event(order.id, 'reminder_crashed', { reason: err instanceof Error ? err.message : String(err) });
        done(null);
      },
    });
    actor.start();
  }

  /** Runs inside the call's commit, before the confirmation: the key's meaning is durable first. */
  private commitAnswer(order: OrderRow, row: DeadlineRow, target: ReminderTargetKind, attemptId: string, contactId: string, answer: ReminderAnswer): void {
    this.event(order.id, 'reminder_answered', { attemptId, target, contactId, deadline: row.kind, answer });
    if (target === 'command_centre') return;
    const actor = `reminder:${contactId}`;
    if (answer === 'done') this.deps.recordFeedback(order.id, row.kind === 'arrival' ? 'arrived' : 'completed', '督查催办电话按1', actor);
    else if (answer === 'on_the_way') this.deps.recordFeedback(order.id, 'progress', row.kind === 'arrival' ? '督查催办电话：仍在途中' : '督查催办电话：仍在处置', actor);
    else {
      // Key 3: counted now, alerted at once (webhook + alarm call), while the caller hears the confirmation.
      this.deps.reminders.noteHelpRequest(row.id);
      const department = this.deps.departments.current().departmentsById.get(order.department_id);
      if (department) queueMicrotask(() => this.raiseHelpAlarm(order, department, row));
    }
  }

  private chainTargets(order: OrderRow, department: Department): ReminderTarget[] {
    const onDuty = contactsOnDuty(department, new Date(), this.deps.config.timezone).map((c) => ({ id: c.id, number: c.number }));
    const acceptedBy = this.deps.orders.acknowledgements(order.id).find((a) => a.script === 'dispatch' && a.late === 0)?.contact_id ?? null;
    const first = onDuty.find((c) => c.id === acceptedBy);
    return first ? [first, ...onDuty.filter((c) => c !== first)] : onDuty;
  }

  private reserveSeqs(orderId: string, count: number): number {
    const first = Math.max(this.seqs.get(orderId) ?? 1, this.deps.reminders.maxSeq(orderId) + 1);
    this.seqs.set(orderId, first + count);
    return first;
  }

  /**
   * Accepted orders without deadlines whose acceptance is recent (an acceptance committed just
   * before a stop). Older ones (e.g. accepted before this feature was installed) are left alone
   * rather than all phoned at once after an upgrade.
   */
  private acceptedWithoutDeadlines(): Array<{ id: string; acceptedAtMs: number }> {
    const since = new Date(Date.now() - CATCH_UP_HOURS * 3_600_000).toISOString();
    const rows = this.deps.reminders.db
      .prepare(
        `SELECT o.id, min(k.accepted_at) AS accepted_at FROM orders o JOIN acknowledgements k ON k.order_id = o.id AND k.script = 'dispatch' AND k.late = 0
         WHERE o.status IN ('accepted', 'arrived') AND NOT EXISTS (SELECT 1 FROM feedback_deadlines d WHERE d.order_id = o.id)
         GROUP BY o.id HAVING min(k.accepted_at) >= ?`,
      )
      .all(since) as Array<{ id: string; accepted_at: string }>;
    return rows.map((r) => ({ id: r.id, acceptedAtMs: Date.parse(r.accepted_at) }));
  }

  private notify(order: OrderRow, status: WebhookPayload['status'], deadline: DeadlineKind): void {
    const attempts = this.deps.reminders.attempts(order.id).length;
    void this.deps.webhook.notify({ orderId: order.id, code: order.code, departmentId: order.department_id, status, attempts, deadline }).then((outcome) =>
      this.event(order.id, outcome.ok ? 'webhook_queued' : 'webhook_failed', outcome.ok ? { eventId: outcome.eventId, event: status } : { reason: outcome.reason, event: status }),
    );
  }

  private event(orderId: string, kind: string, detail: Record<string, unknown>): void {
    this.deps.orders.appendEvent(orderId, 'liandong', kind, detail);
  }
}

/** The department's leader contact: the one with id `leader`, else the last by priority. */
export function leaderOf(department: Department): ReminderTarget | null {
  const byId = department.contacts.find((c) => c.id === 'leader');
  const last = [...department.contacts].sort((a, b) => a.priority - b.priority).at(-1);
  const c = byId ?? last;
  return c ? { id: c.id, number: c.number } : null;
}

function attemptView(a: ReminderAttemptRow) {
  return {
    id: a.id, seq: a.seq, round: a.round, target: a.target, contactId: a.contact_id, startedAt: a.started_at, answeredAt: a.answered_at,
    endedAt: a.ended_at, result: a.result, reason: a.reason, digits: a.digits, answer: a.answer,
  };
}
