// How the reminders read in an order's case record, and who a deadline escalates to.
import type { ReminderTarget } from '../../machines/reminder-round.machine.js';
import type { Department } from '../departments/catalog.js';
import type { DeadlineRow, ReminderAttemptRow } from './reminder-repository.js';

/** The deadlines and reminder calls of an order, for its case record. */
export function caseRecord(deadlines: readonly DeadlineRow[], calls: readonly ReminderAttemptRow[]) {
  return {
    deadlines: deadlines.map((d) => ({
      kind: d.kind, status: d.status, deadlineSeconds: d.deadline_seconds, firstDueAt: d.first_due_at, dueAt: d.due_at, rounds: d.rounds,
      unanswered: d.unanswered, helpRequests: d.help_requests, missedAt: d.missed_at, metAt: d.met_at, overdueAt: d.overdue_at,
    })),
    calls: calls.map((a) => attemptView(a)),
  };
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
