// Reads, for every order created in [from, to), the few facts the assessment counts. One row
// per order; the arithmetic on them is pure and lives in assessment.ts. The SQL reads the same on
// SQLite and PostgreSQL: flags are CASE … THEN 1 ELSE 0 (PostgreSQL's EXISTS is a boolean), and
// the department an event names (JSON text) is read in TypeScript, not with json_extract.
import { sql, type RawBuilder } from 'kysely';
import { rows } from '../db/sql.js';
import type { Executor } from '../db/store.js';
import type { Answer, SurveyStatus } from '../survey/survey-repository.js';

export interface OrderFacts {
  readonly id: string;
  readonly departmentId: string;
  /** ISO UTC */
  readonly createdAt: string;
  readonly status: string;
  /** The dispatch chain ran out without an acceptance (or could not start): `chain_exhausted` or `dispatch_failed` was recorded. */
  readonly exhausted: boolean;
  /** The department's acceptance that counted (pressed 1 or 3, or feedback while dispatching); late ones are not it. */
  readonly acceptance: { readonly secondsToAccept: number; readonly disputed: boolean; readonly via: 'phone' | 'feedback' } | null;
  /** Calls placed to the department's contacts (script dispatch), whatever their result. */
  readonly dispatchAttempts: number;
  /** Some dispatch call went past the first contact of the first pass (contact_index > 0 or chain_loop > 0). */
  readonly escalated: boolean;
  /** ISO UTC of the first `arrived` feedback, if any. */
  readonly arrivedAt: string | null;
  /** ISO UTC of the first `completed` feedback, if any. */
  readonly completedAt: string | null;
  /** The callback survey (kind callback), if one was scheduled. */
  readonly callback: { readonly status: SurveyStatus; readonly attitude: Answer | null; readonly speed: Answer | null; readonly quality: Answer | null } | null;
  /** Follow-up surveys scheduled because a callback answer was "not satisfied". */
  readonly followUps: number;
  /** Flags raised for the linkage office by "not satisfied" answers. */
  readonly flags: number;
  /** 督查催办: the arrival / completion deadline passed without that feedback (a reminder was due). */
  readonly overdueArrival: boolean;
  readonly overdueCompletion: boolean;
  /** Reminder rounds placed to the department (chain and leader; not the help alarms to the 110 centre). */
  readonly reminderRounds: number;
  /** Jurisdiction disputes opened on the order (key 3), by the disputing unit, with their settlement. */
  readonly disputes: readonly DisputeFact[];
  /**
   * Several units on one order: true for the facts of a unit dispatched beside the lead (its own
   * acceptance, calls and feedback; the callback, reminders and disputes are the lead's). Counted
   * in that unit's row; the county totals count orders, i.e. the lead's facts only.
   */
  readonly coUnit?: boolean;
}

export interface DisputeFact {
  readonly departmentId: string;
  readonly status: 'open' | 'upheld' | 'rejected';
}

interface OrderJoin {
  id: string; department_id: string; created_at: string; status: string; dispatch_attempts: number; escalated: 0 | 1;
  arrived_at: string | null; completed_at: string | null; follow_ups: number; flags: number;
  overdue_arrival: 0 | 1; overdue_completion: 0 | 1; reminder_rounds: number;
}
interface AckJoin { order_id: string; seconds_to_accept: number; disputed: 0 | 1; via: 'phone' | 'feedback' }
interface SurveyJoin { order_id: string; status: SurveyStatus; attitude: Answer | null; speed: Answer | null; quality: Answer | null }

/** 1 when the condition holds, else 0, as a number on both engines. */
const flag = (condition: RawBuilder<unknown>) => sql`CASE WHEN ${condition} THEN 1 ELSE 0 END`;

/** Facts of the orders created in [fromIso, toIso) (ISO UTC instants, as stored), oldest first. */
export async function loadOrderFacts(db: Executor, fromIso: string, toIso: string): Promise<OrderFacts[]> {
  const from = new Date(fromIso).toISOString();
  const to = new Date(toIso).toISOString();
  const inRange = sql`o.created_at >= ${from} AND o.created_at < ${to}`;
  const dispatchByLead = sql`a.order_id = o.id AND a.script = 'dispatch' AND ${notCoUnit(sql`a.department_id`)}`;
  const orders = await rows(
    db,
    sql<OrderJoin>`SELECT o.id, o.department_id, o.created_at, o.status,
         (SELECT count(*) FROM attempts a WHERE ${dispatchByLead}) AS dispatch_attempts,
         ${flag(sql`EXISTS (SELECT 1 FROM attempts a WHERE ${dispatchByLead} AND (coalesce(a.contact_index, 0) > 0 OR coalesce(a.chain_loop, 0) > 0))`)} AS escalated,
         (SELECT min(f.at) FROM feedback f WHERE f.order_id = o.id AND f.kind = 'arrived' AND ${notCoUnit(sql`f.department_id`)}) AS arrived_at,
         (SELECT min(f.at) FROM feedback f WHERE f.order_id = o.id AND f.kind = 'completed' AND ${notCoUnit(sql`f.department_id`)}) AS completed_at,
         (SELECT count(*) FROM surveys s WHERE s.order_id = o.id AND s.kind = 'follow_up') AS follow_ups,
         (SELECT count(*) FROM flags g WHERE g.order_id = o.id) AS flags,
         ${flag(sql`EXISTS (SELECT 1 FROM feedback_deadlines d WHERE d.order_id = o.id AND d.kind = 'arrival' AND d.missed_at IS NOT NULL)`)} AS overdue_arrival,
         ${flag(sql`EXISTS (SELECT 1 FROM feedback_deadlines d WHERE d.order_id = o.id AND d.kind = 'completion' AND d.missed_at IS NOT NULL)`)} AS overdue_completion,
         (SELECT count(DISTINCT r.deadline_id || ':' || CAST(r.round AS TEXT) || ':' || r.target) FROM reminder_attempts r
            WHERE r.order_id = o.id AND r.target != 'command_centre') AS reminder_rounds
       FROM orders o WHERE ${inRange} ORDER BY o.created_at, o.id`,
  );
  const exhausted = await exhaustedByLead(db, inRange);
  const acks = new Map<string, AckJoin>();
  // The lead's own acceptance first (or one that names no unit), then the oldest.
  const ackRows = await rows(
    db,
    sql<AckJoin>`SELECT k.order_id, k.seconds_to_accept, k.disputed, k.via FROM acknowledgements k JOIN orders o ON o.id = k.order_id
       WHERE ${inRange} AND k.script = 'dispatch' AND k.late = 0 AND ${notCoUnit(sql`k.department_id`)}
       ORDER BY CASE WHEN k.department_id IS NULL OR k.department_id = o.department_id THEN 0 ELSE 1 END, k.id`,
  );
  for (const a of ackRows) if (!acks.has(a.order_id)) acks.set(a.order_id, a);
  const callbacks = new Map<string, SurveyJoin>();
  const surveyRows = await rows(
    db,
    sql<SurveyJoin>`SELECT s.order_id, s.status, s.attitude, s.speed, s.quality FROM surveys s JOIN orders o ON o.id = s.order_id
       WHERE ${inRange} AND s.kind = 'callback'`,
  );
  for (const s of surveyRows) callbacks.set(s.order_id, s);
  const disputes = new Map<string, DisputeFact[]>();
  const disputeRows = await rows(
    db,
    sql<{ order_id: string; department_id: string; status: DisputeFact['status'] }>`SELECT d.order_id, d.department_id, d.status
       FROM disputes d JOIN orders o ON o.id = d.order_id WHERE ${inRange} ORDER BY d.id`,
  );
  for (const d of disputeRows) disputes.set(d.order_id, [...(disputes.get(d.order_id) ?? []), { departmentId: d.department_id, status: d.status }]);

  const leads = orders.map((o): OrderFacts => {
    const ack = acks.get(o.id);
    const cb = callbacks.get(o.id);
    return {
      id: o.id,
      departmentId: o.department_id,
      createdAt: o.created_at,
      status: o.status,
      exhausted: exhausted.has(o.id),
      acceptance: ack ? { secondsToAccept: ack.seconds_to_accept, disputed: ack.disputed === 1, via: ack.via } : null,
      dispatchAttempts: o.dispatch_attempts,
      escalated: o.escalated === 1,
      arrivedAt: o.arrived_at,
      completedAt: o.completed_at,
      callback: cb ? { status: cb.status, attitude: cb.attitude, speed: cb.speed, quality: cb.quality } : null,
      followUps: o.follow_ups,
      flags: o.flags,
      overdueArrival: o.overdue_arrival === 1,
      overdueCompletion: o.overdue_completion === 1,
      reminderRounds: o.reminder_rounds,
      disputes: disputes.get(o.id) ?? [],
    };
  });
  return [...leads, ...(await loadCoUnitFacts(db, inRange))].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

/** `column` (a department id) is not one of the order o's co-units: the lead's record (or an older row). */
function notCoUnit(column: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`(${column} IS NULL OR NOT EXISTS (SELECT 1 FROM order_co_units cu WHERE cu.order_id = o.id AND cu.department_id = ${column}))`;
}

/**
 * Orders in range whose lead's chain ran out (or could not start): a `chain_exhausted` or
 * `dispatch_failed` event that names no unit, or a unit that is not one of the order's co-units.
 */
async function exhaustedByLead(db: Executor, inRange: RawBuilder<unknown>): Promise<Set<string>> {
  const events = await rows(
    db,
    sql<{ order_id: string; detail: string }>`SELECT e.order_id, e.detail FROM order_events e JOIN orders o ON o.id = e.order_id
       WHERE ${inRange} AND e.kind IN ('chain_exhausted', 'dispatch_failed')`,
  );
  const coUnits = await rows(
    db,
    sql<{ order_id: string; department_id: string }>`SELECT cu.order_id, cu.department_id FROM order_co_units cu JOIN orders o ON o.id = cu.order_id WHERE ${inRange}`,
  );
  const co = new Set(coUnits.map((u) => `${u.order_id}\u0000${u.department_id}`));
  const out = new Set<string>();
  for (const e of events) {
    const unit = departmentNamed(e.detail);
    if (unit === undefined || !co.has(`${e.order_id}\u0000${unit}`)) out.add(e.order_id);
  }
  return out;
}

/** The `departmentId` a case event's detail names (as json_extract read it: only a string or number counts). */
function departmentNamed(detail: string): string | undefined {
  try {
    const value = (JSON.parse(detail) as Record<string, unknown> | null)?.departmentId;
    return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
  } catch {
    return undefined; // every detail is written by JSON.stringify; anything else names no unit
  }
}

interface CoUnitJoin {
  id: string; department_id: string; created_at: string; status: string; dispatch_attempts: number; escalated: 0 | 1;
  arrived_at: string | null; completed_at: string | null; seconds_to_accept: number | null; disputed: 0 | 1 | null; via: 'phone' | 'feedback' | null;
}

/** The facts of every co-unit of the orders in range: its own acceptance, calls and feedback. */
async function loadCoUnitFacts(db: Executor, inRange: RawBuilder<unknown>): Promise<OrderFacts[]> {
  const units = await rows(
    db,
    sql<CoUnitJoin>`SELECT o.id, u.department_id, o.created_at, u.status,
         (SELECT count(*) FROM attempts a WHERE a.order_id = o.id AND a.script = 'dispatch' AND a.department_id = u.department_id) AS dispatch_attempts,
         ${flag(sql`EXISTS (SELECT 1 FROM attempts a WHERE a.order_id = o.id AND a.script = 'dispatch' AND a.department_id = u.department_id
                 AND (coalesce(a.contact_index, 0) > 0 OR coalesce(a.chain_loop, 0) > 0))`)} AS escalated,
         (SELECT min(f.at) FROM feedback f WHERE f.order_id = o.id AND f.kind = 'arrived' AND f.department_id = u.department_id) AS arrived_at,
         (SELECT min(f.at) FROM feedback f WHERE f.order_id = o.id AND f.kind = 'completed' AND f.department_id = u.department_id) AS completed_at,
         k.seconds_to_accept, k.disputed, k.via
       FROM order_co_units u JOIN orders o ON o.id = u.order_id
       LEFT JOIN acknowledgements k ON k.id = (SELECT min(k2.id) FROM acknowledgements k2
         WHERE k2.order_id = o.id AND k2.department_id = u.department_id AND k2.script = 'dispatch' AND k2.late = 0)
       WHERE ${inRange} ORDER BY o.created_at, o.id, u.unit_index`,
  );
  return units.map((u) => ({
    id: u.id,
    departmentId: u.department_id,
    createdAt: u.created_at,
    status: u.status,
    exhausted: u.status === 'unacknowledged',
    acceptance: u.seconds_to_accept !== null && u.via !== null ? { secondsToAccept: u.seconds_to_accept, disputed: u.disputed === 1, via: u.via } : null,
    dispatchAttempts: u.dispatch_attempts,
    escalated: u.escalated === 1,
    arrivedAt: u.arrived_at,
    completedAt: u.completed_at,
    callback: null,
    followUps: 0,
    flags: 0,
    overdueArrival: false,
    overdueCompletion: false,
    reminderRounds: 0,
    disputes: [],
    coUnit: true,
  }));
}
