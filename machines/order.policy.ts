// The escalation policy of one order as plain data and pure functions: where the next dispatch
// attempt goes (cursor), how long to wait before it, attempt ids, and the resume point.
// Everything here is JSON-serializable so the order's context can be persisted and resumed.

export interface Contact {
  id: string;
  number: string;
}

export interface EscalationPolicy {
  /** Attempts to one contact before moving to the next, ≥ 1. */
  attemptsPerContact: number;
  /** Seconds between two attempts to the same contact (also between alarm and leader retries). */
  retryDelaySeconds: number;
  /** Seconds a phone may ring. */
  ringTimeoutSeconds: number;
  /** Extra passes over the whole chain after the first one (0 = one pass only). */
  chainLoops: number;
  /** Seconds between the end of one pass and the start of the next. */
  loopDelaySeconds: number;
  /** Menu replays per call before `no_input`. */
  maxReplays: number;
}

/**
 * Position of a dispatch attempt in the chain, all zero-based: `loop` 0 is the first pass (up to
 * chainLoops), `contactIndex` into contacts, `attemptOnContact` up to attemptsPerContact - 1.
 */
export interface DispatchCursor {
  loop: number;
  contactIndex: number;
  attemptOnContact: number;
}

/** Progress of one county leader's notification call (major incidents). */
export interface LeaderProgress {
  id: string;
  number: string;
  /** Attempts started so far. */
  attempts: number;
  phase: 'pending' | 'calling' | 'waiting' | 'confirmed' | 'unconfirmed' | 'cancelled';
  /** Attempt id of the live call, or of the last one. */
  attemptId: string | null;
}

export interface OrderResume {
  /** Seq of the next attempt id (`${orderId}-a${seq}`); ids are never reused. */
  nextAttemptSeq: number;
  /** The next dispatch attempt to place. */
  cursor: DispatchCursor;
  /** Leaders' progress; a leader not listed is called again from the start. */
  leaders?: Array<Pick<LeaderProgress, 'id' | 'attempts' | 'phase'>>;
  /**
   * Where the dispatch region stood; absent (older points) = dispatching. `accepted`: the dispatch
   * region is done, only the leaders go on. `unacknowledged`: the chain was exhausted (status,
   * event and webhook already written); the alarm goes on unless `alarmSettled`.
   */
  status?: ResumedStatus;
  /** Alarm calls started so far (an interrupted one counts toward attemptsPerContact). */
  alarmAttempts?: number;
  /** The alarm needs no more calls (confirmed, unconfirmed, or no command centre). */
  alarmSettled?: boolean;
}

/** The statuses an order machine is resumed in (a withdrawn order is never resumed). */
export type ResumedStatus = 'dispatching' | 'accepted' | 'unacknowledged';

export interface OrderInput {
  orderId: string;
  /** In priority order: duty room, backup, leader. */
  contacts: Contact[];
  policy: EscalationPolicy;
  major: boolean;
  /** County leadership, called in parallel when `major`. */
  leaders: Contact[];
  /** Alarm call target when the chain is exhausted. */
  commandCentre: Contact | null;
  /** To continue an order (dispatching, or still alarming / notifying leaders) after a restart. */
  resume?: OrderResume;
  /**
   * Set when this machine dispatches a co-unit of the order (its department id); absent for the
   * lead unit. Passed to every call, so the effects find the unit's live state from the input alone.
   */
  coUnit?: string;
}

export type OrderStatus = 'dispatching' | 'accepted' | 'unacknowledged' | 'cancelled';

/**
 * The attempt's (and its channel's) id. A co-unit's attempts carry its unit index too: Asterisk
 * refused `<order>-a1` as "already exists" while `<order>-a1001` was up (measured on Asterisk 22),
 * so no id of one unit may be a prefix of another unit's live one.
 */
export function attemptIdOf(orderId: string, seq: number): string {
  const unit = Math.floor((seq - 1) / UNIT_SEQ_BLOCK);
  return unit > 0 ? `${orderId}-u${unit}-a${seq}` : `${orderId}-a${seq}`;
}

/**
 * Several units on one order: each unit's chain is its own order machine, and unit `index` (0 =
 * the lead, 1, 2, … the co-units) numbers its attempts from index × UNIT_SEQ_BLOCK + 1, so the
 * attempt ids of units dispatched in parallel never meet (no chain places 1000 calls).
 */
export const UNIT_SEQ_BLOCK = 1000;
export function firstSeqOfUnit(index: number): number {
  return index * UNIT_SEQ_BLOCK + 1;
}

const count = (n: number): number => (Number.isFinite(n) ? Math.max(0, Math.floor(n)) : 0);

/** True once every pass over the chain is used up (or there is nobody to call). */
export function isExhausted(cursor: DispatchCursor, policy: EscalationPolicy, contactCount: number): boolean {
  return contactCount === 0 || count(policy.attemptsPerContact) === 0 || cursor.loop > count(policy.chainLoops);
}

/** Carries overflowing fields into the next contact or loop. Exhausted cursors have loop > chainLoops. */
export function normalizeCursor(cursor: DispatchCursor, policy: EscalationPolicy, contactCount: number): DispatchCursor {
  let loop = count(cursor.loop);
  let contactIndex = count(cursor.contactIndex);
  let attemptOnContact = count(cursor.attemptOnContact);
  if (attemptOnContact >= count(policy.attemptsPerContact)) {
    contactIndex += 1;
    attemptOnContact = 0;
  }
  if (contactIndex >= contactCount) {
    loop += 1;
    contactIndex = 0;
    attemptOnContact = 0;
  }
  return { loop, contactIndex, attemptOnContact };
}

/** The cursor after an attempt at `cursor`. */
export function advanceCursor(cursor: DispatchCursor, policy: EscalationPolicy, contactCount: number): DispatchCursor {
  return normalizeCursor({ ...cursor, attemptOnContact: cursor.attemptOnContact + 1 }, policy, contactCount);
}

/** The cursor of the next contact's first attempt after `cursor` (its remaining attempts skipped). */
export function skipContact(cursor: DispatchCursor, policy: EscalationPolicy, contactCount: number): DispatchCursor {
  return normalizeCursor({ loop: cursor.loop, contactIndex: cursor.contactIndex + 1, attemptOnContact: 0 }, policy, contactCount);
}

/** What separates the attempt at `from` from the one at `to`. */
export function stepBetween(
  from: DispatchCursor,
  to: DispatchCursor,
  policy: EscalationPolicy,
  contactCount: number,
): 'exhausted' | 'retry' | 'next_contact' | 'next_loop' {
  if (isExhausted(to, policy, contactCount)) return 'exhausted';
  if (to.loop !== from.loop) return 'next_loop';
  return to.contactIndex === from.contactIndex ? 'retry' : 'next_contact';
}

export const FIRST_CURSOR: DispatchCursor = { loop: 0, contactIndex: 0, attemptOnContact: 0 };
