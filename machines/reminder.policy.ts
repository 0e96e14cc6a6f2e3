// 督查催办 (supervising and chasing): when a unit that accepted an order has not reported arrival
// or completion in time, liandong phones it. Plain data and pure functions: the deadlines a
// department's policy and the order's urgency give, and what happens after a reminder round.
// The waiting itself is durable (due times in SQLite, src/reminders/); see docs/reminders.md.

export type DeadlineKind = 'arrival' | 'completion';
/** What the person reminded pressed: 1 arrived / completed, 2 still on the way (still handling), 3 we need help. */
export type ReminderAnswer = 'done' | 'on_the_way' | 'need_help';

export interface ReminderPolicy {
  /** Seconds from the acceptance to the arrival feedback; 0 = no arrival reminders. */
  arrivalDeadlineSeconds: number;
  /** Seconds from the acceptance to the completion feedback; 0 = no completion reminders. */
  completionDeadlineSeconds: number;
  /** Unanswered or "still on the way" rounds before the leader contact is called and the order flagged overdue. */
  remindersBeforeEscalation: number;
  /** Seconds to the next round after a round nobody answered. */
  reminderIntervalSeconds: number;
}

/**
 * Defaults by urgency. Urgent (and major) orders: arrival within 30 min, completion within 24 h;
 * normal orders: 2 h and 72 h. Two unanswered or "still on the way" rounds escalate; a round
 * nobody answered is repeated after 10 min.
 */
export const REMINDER_DEFAULTS = {
  urgent: { arrivalDeadlineSeconds: 1800, completionDeadlineSeconds: 86_400 },
  normal: { arrivalDeadlineSeconds: 7200, completionDeadlineSeconds: 259_200 },
  remindersBeforeEscalation: 2,
  reminderIntervalSeconds: 600,
} as const;

/** The department's own values where set, else the defaults of the order's urgency. */
export function reminderPolicyOf(own: Partial<ReminderPolicy>, urgency: 'urgent' | 'normal', major: boolean): ReminderPolicy {
  const byUrgency = major || urgency === 'urgent' ? REMINDER_DEFAULTS.urgent : REMINDER_DEFAULTS.normal;
  return {
    arrivalDeadlineSeconds: own.arrivalDeadlineSeconds ?? byUrgency.arrivalDeadlineSeconds,
    completionDeadlineSeconds: own.completionDeadlineSeconds ?? byUrgency.completionDeadlineSeconds,
    remindersBeforeEscalation: own.remindersBeforeEscalation ?? REMINDER_DEFAULTS.remindersBeforeEscalation,
    reminderIntervalSeconds: own.reminderIntervalSeconds ?? REMINDER_DEFAULTS.reminderIntervalSeconds,
  };
}

export function deadlineSecondsOf(policy: ReminderPolicy, kind: DeadlineKind): number {
  return kind === 'arrival' ? policy.arrivalDeadlineSeconds : policy.completionDeadlineSeconds;
}

export interface DeadlineState {
  readonly kind: DeadlineKind;
  /** Length of the deadline, s; a "still on the way" answer starts a new one of the same length. */
  readonly deadlineSeconds: number;
  /** Rounds so far that count toward escalation (nobody answered, or "still on the way"). */
  readonly unanswered: number;
}

export type NextStep =
  /** The feedback was given on the call (key 1): the deadline is met. */
  | { readonly kind: 'met'; readonly alert: false }
  /** Remind again at `dueAt` (epoch ms); `alert`: key 3, the 110 command centre is alerted. */
  | { readonly kind: 'reschedule'; readonly dueAt: number; readonly unanswered: number; readonly alert: boolean }
  /** Enough rounds: call the department's leader contact and flag the order overdue. */
  | { readonly kind: 'escalate'; readonly unanswered: number; readonly alert: boolean };

/** What follows a reminder round that ended with `answer` (null: nobody pressed 1, 2 or 3) at `now` (epoch ms). */
export function afterRound(state: DeadlineState, answer: ReminderAnswer | null, policy: ReminderPolicy, now: number): NextStep {
  if (answer === 'done') return { kind: 'met', alert: false };
  if (answer === 'need_help') return { kind: 'reschedule', dueAt: now + state.deadlineSeconds * 1000, unanswered: state.unanswered, alert: true };
  const unanswered = state.unanswered + 1;
  if (unanswered >= policy.remindersBeforeEscalation) return { kind: 'escalate', unanswered, alert: false };
  const waitSeconds = answer === 'on_the_way' ? state.deadlineSeconds : policy.reminderIntervalSeconds;
  return { kind: 'reschedule', dueAt: now + waitSeconds * 1000, unanswered, alert: false };
}

/** The key's meaning on a reminder call; other keys are refused by the call machine and never reach here. */
export function answerOfKey(key: string): ReminderAnswer | null {
  return key === '1' ? 'done' : key === '2' ? 'on_the_way' : key === '3' ? 'need_help' : null;
}
