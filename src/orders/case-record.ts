// The whole case record of an order as the API returns it. Phone numbers are masked here: the
// record is read by desk staff, departments and the linkage office, and ends up in reports.
import { maskPhone } from '../logging.js';
import type { AcknowledgementRow, AttemptRow, EventRow, FeedbackRow, OrderRepository, OrderRow } from './order-repository.js';

export interface OrderSummary {
  id: string;
  code: string;
  externalId: string;
  status: string;
  category: string;
  departmentId: string;
  urgency: string;
  major: boolean;
  /** False: the reporter is never called back (informants' privacy). */
  callback: boolean;
  createdAt: string;
}

export function orderSummary(row: OrderRow): OrderSummary {
  return {
    id: row.id,
    code: row.code,
    externalId: row.external_id,
    status: row.status,
    category: row.category,
    departmentId: row.department_id,
    urgency: row.urgency,
    major: row.major === 1,
    callback: row.callback === 1,
    createdAt: row.created_at,
  };
}

function attemptJson(a: AttemptRow) {
  return {
    id: a.id,
    seq: a.seq,
    script: a.script,
    contactId: a.contact_id,
    number: maskPhone(a.number),
    startedAt: a.started_at,
    answeredAt: a.answered_at,
    endedAt: a.ended_at,
    result: a.result,
    reason: a.reason,
    digits: a.digits,
    cause: a.cause_code === null ? null : { code: a.cause_code, text: a.cause_text ?? '' },
    departmentId: a.department_id,
  };
}

function acknowledgementJson(a: AcknowledgementRow) {
  return {
    attemptId: a.attempt_id,
    contactId: a.contact_id,
    via: a.via,
    acceptedAt: a.accepted_at,
    secondsToAccept: a.seconds_to_accept,
    disputed: a.disputed === 1,
    late: a.late === 1,
    departmentId: a.department_id,
  };
}

/** Actors like "phone:05770001234" (a caller on the feedback line) are shown masked. */
const maskActor = (actor: string): string => (actor.startsWith('phone:') && /[0-9]{3}/.test(actor) ? `phone:${maskPhone(actor.slice(6))}` : actor);
const feedbackJson = (f: FeedbackRow) => ({ kind: f.kind, note: f.note, via: f.via, actor: maskActor(f.actor), at: f.at, departmentId: f.department_id });
const eventJson = (e: EventRow) => ({ at: e.at, actor: maskActor(e.actor), kind: e.kind, detail: JSON.parse(e.detail) as Record<string, unknown> });

export async function caseRecord(repo: OrderRepository, row: OrderRow) {
  const [acks, coUnits, attempts, feedback, events] = await Promise.all([
    repo.acknowledgements(row.id), repo.coUnits(row.id), repo.attempts(row.id), repo.feedback(row.id), repo.events(row.id),
  ]);
  const dispatchAcks = acks.filter((a) => a.script === 'dispatch');
  const onTime = dispatchAcks.filter((a) => a.late === 0);
  const coUnitIds = new Set(coUnits.map((u) => u.department_id));
  // `acknowledgement` is the lead unit's. After a settled dispute reassigned the order, the current
  // unit's acceptance is the one; the first unit's (it helped first) stays in `acknowledgements`.
  const leadAcks = onTime.filter((a) => a.department_id === null || !coUnitIds.has(a.department_id));
  const winner = leadAcks.find((a) => (a.department_id ?? row.department_id) === row.department_id) ?? leadAcks[0] ?? null;
  const ackOf = (departmentId: string) => onTime.find((a) => a.department_id === departmentId) ?? null;
  return {
    ...orderSummary(row),
    summary: row.summary,
    address: row.address,
    reporterPhone: maskPhone(row.reporter_phone),
    updatedAt: row.updated_at,
    attempts: attempts.map(attemptJson),
    acknowledgement: winner ? acknowledgementJson(winner) : null,
    // Several units on one order: the lead first, each with its own status and acceptance.
    units: [
      { departmentId: row.department_id, lead: true, status: row.status as string, acknowledgement: winner ? acknowledgementJson(winner) : null },
      ...coUnits.map((u) => {
        const ack = ackOf(u.department_id);
        return { departmentId: u.department_id, lead: false, status: u.status, acknowledgement: ack ? acknowledgementJson(ack) : null };
      }),
    ],
    acknowledgements: onTime.map(acknowledgementJson),
    lateAcknowledgements: dispatchAcks.filter((a) => a.late === 1).map(acknowledgementJson),
    confirmations: acks.filter((a) => a.script !== 'dispatch').map((a) => ({ ...acknowledgementJson(a), script: a.script })),
    feedback: feedback.map(feedbackJson),
    events: events.map(eventJson),
  };
}
export type CaseRecord = Awaited<ReturnType<typeof caseRecord>>;
