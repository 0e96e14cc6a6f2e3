// Context, events, outputs and the parameters of the named actions of the order machine, and
// the pure helpers that build them. Kept apart so order.machine.ts stays the state chart.
import { enqueueActions, type EventObject, type ParameterizedObject } from 'xstate';
import type { callAttemptMachine, CallAttemptInput, CallAttemptOutput, CallScript } from './call-attempt.machine.js';

/** The calls an order's escalation places (reminders are placed by the reminder service). */
export type OrderCallScript = Exclude<CallScript, 'reminder'>;
import { reasonOf } from './clock.js';
import {
  FIRST_CURSOR,
  normalizeCursor,
  type Contact,
  type DispatchCursor,
  type EscalationPolicy,
  type LeaderProgress,
  type OrderInput,
  type OrderResume,
  type OrderStatus,
} from './order.policy.js';

export type OrderEvent =
  /** Accepted through the HTTP API or the inbound line (already committed in the database). */
  | { type: 'ACCEPTED_ELSEWHERE'; source: 'http' | 'inbound'; acceptedAttemptId?: string }
  /** The desk withdrew the order. */
  | { type: 'CANCEL'; reason?: string }
  /** Internal: raised after retryDelay to call a leader again. */
  | { type: 'LEADER.RETRY'; leaderIndex: number };

/** Done/error events of the leader calls, spawned with the attempt id as actor id. */
export type ChildDone = { type: `xstate.done.actor.${string}`; output: CallAttemptOutput; actorId: string };
export type ChildError = { type: `xstate.error.actor.${string}`; error: unknown; actorId: string };

export interface OrderOutput {
  status: OrderStatus;
  acceptedAttemptId?: string;
  /** Attempts (dispatch, alarm and leader calls) started by this actor. */
  attempts: number;
}

export type OrderEventKind =
  | 'dispatch_started' | 'attempt_started' | 'attempt_ended' | 'retry_scheduled' | 'next_contact' | 'loop_scheduled' | 'dead_line'
  | 'accepted' | 'late_acceptance' | 'awaiting_settlement' | 'cancelled' | 'cancel_ignored' | 'chain_exhausted'
  | 'alarm_target_missing' | 'alarm_confirmed' | 'alarm_retry_scheduled' | 'alarm_unconfirmed'
  | 'leaders_notified' | 'leader_confirmed' | 'leader_retry_scheduled' | 'leader_unconfirmed' | 'leader_cancelled' | 'finished';
export type EventDetail = Record<string, string | number | boolean | null>;

// Parameters of the named actions, for the implementations in src/.
export interface RecordAttemptStartedParams {
  orderId: string; attemptId: string; seq: number; script: OrderCallScript; contactId: string; number: string;
  /** Zero-based attempt index to this contact (in this pass, for dispatch). */
  attemptOnContact: number;
  /** Position in the chain; null for alarm and leader calls. */
  cursor: DispatchCursor | null;
}
export interface RecordAttemptResultParams { orderId: string; attemptId: string; contactId: string; script: OrderCallScript; output: CallAttemptOutput }
export interface RecordStatusParams { orderId: string; status: OrderStatus }
export interface RecordEventParams { orderId: string; kind: OrderEventKind; detail: EventDetail }
export interface NotifyWebhookParams { orderId: string; status: 'unacknowledged'; attempts: number }

export interface Attempt { attemptId: string; seq: number; script: OrderCallScript; contactId: string; number: string; cursor: DispatchCursor | null }

export interface OrderContext {
  orderId: string;
  /** The co-unit this machine dispatches (its department id); null for the lead unit. */
  coUnit: string | null;
  contacts: Contact[];
  policy: EscalationPolicy;
  major: boolean;
  commandCentre: Contact | null;
  status: OrderStatus;
  firstSeq: number;
  nextSeq: number;
  /** The next dispatch attempt to place (loop > chainLoops once exhausted). */
  next: DispatchCursor;
  /** The live (or last) dispatch or alarm attempt. */
  current: Attempt | null;
  lastOutput: CallAttemptOutput | null;
  acceptedAttemptId: string | null;
  alarmAttempts: number;
  /** The alarm needs no more calls (confirmed, unconfirmed, or nobody to call). */
  alarmSettled: boolean;
  leaders: LeaderProgress[];
  leadersCancelled: boolean;
}

/**
 * What to pass as `resume` to continue this order after a restart. A withdrawn order (cancelled)
 * is never resumed: the dispatcher keeps no point for it.
 */
export function resumePointOf(c: OrderContext): OrderResume {
  const point: OrderResume = { nextAttemptSeq: c.nextSeq, cursor: c.next, leaders: c.leaders.map((l) => ({ id: l.id, attempts: l.attempts, phase: l.phase })) };
  if (c.status === 'accepted') return { ...point, status: 'accepted' };
  if (c.status === 'unacknowledged') return { ...point, status: 'unacknowledged', alarmAttempts: c.alarmAttempts, alarmSettled: c.alarmSettled };
  return point;
}

/** The status a resume point puts the machine in: dispatching unless it says accepted/unacknowledged. */
function resumedStatus(resume: OrderResume | undefined): OrderStatus {
  return resume?.status === 'accepted' || resume?.status === 'unacknowledged' ? resume.status : 'dispatching';
}

export const TERMINAL: ReadonlyArray<LeaderProgress['phase']> = ['confirmed', 'unconfirmed', 'cancelled'];

export function initialContext(input: OrderInput): OrderContext {
  const { policy, contacts } = input;
  const seq = Math.max(1, Math.floor(input.resume?.nextAttemptSeq ?? 1));
  const leaders = input.major
    ? input.leaders.map((l): LeaderProgress => {
        const saved = input.resume?.leaders?.find((s) => s.id === l.id);
        const attempts = saved?.attempts ?? 0;
        const phase = saved && TERMINAL.includes(saved.phase) ? saved.phase : attempts >= policy.attemptsPerContact ? 'unconfirmed' : 'pending';
        return { id: l.id, number: l.number, attempts, phase, attemptId: null };
      })
    : [];
  return {
    orderId: input.orderId, coUnit: input.coUnit ?? null, contacts, policy, major: input.major, commandCentre: input.commandCentre,
    status: resumedStatus(input.resume), firstSeq: seq, nextSeq: seq,
    next: normalizeCursor(input.resume?.cursor ?? FIRST_CURSOR, policy, contacts.length),
    current: null, lastOutput: null, acceptedAttemptId: null,
    alarmAttempts: Math.max(0, Math.floor(input.resume?.alarmAttempts ?? 0)), alarmSettled: input.resume?.alarmSettled === true,
    leaders, leadersCancelled: false,
  };
}

export function callInput(c: OrderContext, a: Attempt): CallAttemptInput {
  return {
    orderId: c.orderId, attemptId: a.attemptId, contactId: a.contactId, number: a.number, script: a.script,
    ringTimeoutSeconds: c.policy.ringTimeoutSeconds, maxReplays: c.policy.maxReplays,
    ...(c.coUnit !== null ? { coUnit: c.coUnit } : {}),
  };
}

/** How a call ended: its output, or the error it crashed with (e.g. a provided effect threw). */
export type Ended = { output: CallAttemptOutput } | { error: unknown };

/** A crashed call counts as a failed attempt with the reason. */
export function outputOf(ended: Ended, now: number): CallAttemptOutput {
  if ('output' in ended) return ended.output;
  return { result: 'failed', reason: `call attempt crashed: ${reasonOf(ended.error)}`, digits: '', endedAt: now };
}

export type AnyOrderEvent = OrderEvent | ChildDone | ChildError;

// Typed builders of the named record actions, for use inside enqueueActions.
export const record = {
  status: (c: OrderContext, status: OrderStatus) => ({ type: 'recordStatus' as const, params: { orderId: c.orderId, status } satisfies RecordStatusParams }),
  event: (c: OrderContext, kind: OrderEventKind, detail: EventDetail) => ({ type: 'recordEvent' as const, params: { orderId: c.orderId, kind, detail } satisfies RecordEventParams }),
  started: (c: OrderContext, a: Attempt, attemptOnContact: number) => [
    {
      type: 'recordAttemptStarted' as const,
      params: {
        orderId: c.orderId, attemptId: a.attemptId, seq: a.seq, script: a.script, contactId: a.contactId, number: a.number, attemptOnContact, cursor: a.cursor,
      } satisfies RecordAttemptStartedParams,
    },
    record.event(c, 'attempt_started', { attemptId: a.attemptId, seq: a.seq, script: a.script, contactId: a.contactId, attemptOnContact }),
  ],
  result: (c: OrderContext, a: { attemptId: string; contactId: string; script: OrderCallScript }, output: CallAttemptOutput) => [
    { type: 'recordAttemptResult' as const, params: { orderId: c.orderId, ...a, output } satisfies RecordAttemptResultParams },
    record.event(c, 'attempt_ended', { attemptId: a.attemptId, script: a.script, result: output.result, reason: output.reason ?? null }),
  ],
};

export type RecordAction =
  | { type: 'recordAttemptStarted'; params: RecordAttemptStartedParams }
  | { type: 'recordAttemptResult'; params: RecordAttemptResultParams }
  | { type: 'recordStatus'; params: RecordStatusParams }
  | { type: 'recordEvent'; params: RecordEventParams }
  | { type: 'notifyWebhook'; params: NotifyWebhookParams };
export type CallAttemptActor = { src: 'callAttempt'; logic: typeof callAttemptMachine; id: string | undefined };

/** enqueueActions typed with this machine's named effects, child source and delays. */
export function step<P extends ParameterizedObject['params'] | undefined>(
  collect: Parameters<typeof enqueueActions<OrderContext, AnyOrderEvent, P, AnyOrderEvent, CallAttemptActor, RecordAction, never, 'retryDelay' | 'loopDelay', EventObject>>[0],
) {
  return enqueueActions(collect);
}
