// SQLite persistence of 督查催办: one feedback deadline per order and kind (arrival, completion)
// with its next due time, and the reminder calls. Due times live here, so a restart loses none.
import type { Db } from '../db/database.js';
import type { DeadlineKind, ReminderAnswer } from '../../machines/reminder.policy.js';

export type DeadlineStatus = 'pending' | 'reminding' | 'met' | 'overdue' | 'cancelled';
export type ReminderTargetKind = 'chain' | 'leader' | 'command_centre';

export interface DeadlineRow {
  id: string;
  order_id: string;
  kind: DeadlineKind;
  status: DeadlineStatus;
  deadline_seconds: number;
  first_due_at: string;
  due_at: string;
  rounds: number;
  unanswered: number;
  help_requests: number;
  missed_at: string | null;
  met_at: string | null;
  overdue_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface ReminderAttemptRow {
  id: string;
  order_id: string;
  deadline_id: string;
  seq: number;
  round: number;
  target: ReminderTargetKind;
  contact_id: string;
  number: string;
  started_at: string;
  answered_at: string | null;
  ended_at: string | null;
  result: string | null;
  reason: string | null;
  digits: string;
  answer: ReminderAnswer | null;
  cause_code: number | null;
  cause_text: string | null;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export class ReminderRepository {
  constructor(
    readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Creates the deadline unless the order already has one of this kind (a cancelled one, left by
   * a reassignment to another unit, starts again for the new unit); returns whether it did.
   */
  ensureDeadline(orderId: string, kind: DeadlineKind, deadlineSeconds: number, fromMs: number): boolean {
    const at = iso(this.now());
    const due = iso(fromMs + deadlineSeconds * 1000);
    const info = this.db
      .prepare(
        `INSERT INTO feedback_deadlines (id, order_id, kind, status, deadline_seconds, first_due_at, due_at, created_at, updated_at)
         VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET status = 'pending', deadline_seconds = excluded.deadline_seconds, first_due_at = excluded.first_due_at,
           due_at = excluded.due_at, rounds = 0, unanswered = 0, help_requests = 0, missed_at = NULL, met_at = NULL, overdue_at = NULL, updated_at = excluded.updated_at
         WHERE feedback_deadlines.status = 'cancelled'`,
      )
      .run(`${orderId}-${kind}`, orderId, kind, deadlineSeconds, due, due, at, at);
    return info.changes === 1;
  }

  /**
   * For /metrics: deadlines that passed without their feedback and are still being chased by
   * reminder calls, and orders escalated as overdue whose feedback has still not come.
   */
  openCounts(): { chasing: number; overdueOrders: number } {
    const row = this.db
      .prepare(
        `SELECT count(*) FILTER (WHERE status IN ('pending', 'reminding') AND missed_at IS NOT NULL) AS chasing,
                count(DISTINCT CASE WHEN status = 'overdue' AND met_at IS NULL THEN order_id END) AS overdueOrders
         FROM feedback_deadlines`,
      )
      .get() as { chasing: number; overdueOrders: number };
    return row;
  }

  get(id: string): DeadlineRow | undefined {
    return this.db.prepare('SELECT * FROM feedback_deadlines WHERE id = ?').get(id) as DeadlineRow | undefined;
  }

  forOrder(orderId: string): DeadlineRow[] {
    return this.db.prepare("SELECT * FROM feedback_deadlines WHERE order_id = ? ORDER BY CASE kind WHEN 'arrival' THEN 0 ELSE 1 END").all(orderId) as DeadlineRow[];
  }

  /** Pending deadlines due at `nowMs`, earliest first. */
  due(nowMs: number, limit: number): DeadlineRow[] {
    return this.db.prepare("SELECT * FROM feedback_deadlines WHERE status = 'pending' AND due_at <= ? ORDER BY due_at LIMIT ?").all(iso(nowMs), limit) as DeadlineRow[];
  }

  nextDueAt(): number | undefined {
    const v = this.db.prepare("SELECT min(due_at) FROM feedback_deadlines WHERE status = 'pending'").pluck().get() as string | null;
    return v === null ? undefined : Date.parse(v);
  }

  /** Deadlines left `reminding` by a stopped service. */
  reminding(): DeadlineRow[] {
    return this.db.prepare("SELECT * FROM feedback_deadlines WHERE status = 'reminding'").all() as DeadlineRow[];
  }

  /** A round starts: status reminding, one more round; the first time, the deadline is recorded as missed. */
  startRound(id: string): DeadlineRow {
    const at = iso(this.now());
    this.db
      .prepare("UPDATE feedback_deadlines SET status = 'reminding', rounds = rounds + 1, missed_at = coalesce(missed_at, ?), updated_at = ? WHERE id = ?")
      .run(at, at, id);
    return this.get(id) as DeadlineRow;
  }

  reschedule(id: string, dueMs: number, unanswered: number, helpRequested: boolean): void {
    this.db
      .prepare("UPDATE feedback_deadlines SET status = 'pending', due_at = ?, unanswered = ?, help_requests = help_requests + ?, updated_at = ? WHERE id = ? AND status = 'reminding'")
      .run(iso(dueMs), unanswered, helpRequested ? 1 : 0, iso(this.now()), id);
  }

  /** Back to pending, due now (a round cut short by a restart is placed again). */
  requeue(id: string): void {
    const at = iso(this.now());
    this.db.prepare("UPDATE feedback_deadlines SET status = 'pending', due_at = ?, updated_at = ? WHERE id = ? AND status = 'reminding'").run(at, at, id);
  }

  markOverdue(id: string, unanswered: number, helpRequested: boolean): void {
    const at = iso(this.now());
    this.db
      .prepare("UPDATE feedback_deadlines SET status = 'overdue', overdue_at = ?, unanswered = ?, help_requests = help_requests + ?, updated_at = ? WHERE id = ? AND status IN ('pending', 'reminding')")
      .run(at, unanswered, helpRequested ? 1 : 0, at, id);
  }

  noteHelpRequest(id: string): void {
    this.db.prepare('UPDATE feedback_deadlines SET help_requests = help_requests + 1, updated_at = ? WHERE id = ?').run(iso(this.now()), id);
  }

  /**
   * The feedback came (by API, feedback line or a reminder's key 1): the deadline is met. An
   * overdue one keeps its status (the linkage office's flag) and gets its met time.
   */
  meet(orderId: string, kinds: readonly DeadlineKind[]): DeadlineRow[] {
    const at = iso(this.now());
    const met: DeadlineRow[] = [];
    for (const kind of kinds) {
      const id = `${orderId}-${kind}`;
      const info = this.db
        .prepare("UPDATE feedback_deadlines SET status = CASE status WHEN 'overdue' THEN 'overdue' ELSE 'met' END, met_at = ?, updated_at = ? WHERE id = ? AND met_at IS NULL AND status != 'cancelled'")
        .run(at, at, id);
      if (info.changes === 1) met.push(this.get(id) as DeadlineRow);
    }
    return met;
  }

  /** Ends the open deadlines (order no longer chased); `all`: also met and overdue ones (the order went to another unit). */
  cancelForOrder(orderId: string, all = false): void {
    const at = iso(this.now());
    const which = all ? "status != 'cancelled'" : "status IN ('pending', 'reminding')";
    this.db.prepare(`UPDATE feedback_deadlines SET status = 'cancelled', updated_at = ? WHERE order_id = ? AND ${which}`).run(at, orderId);
  }

  maxSeq(orderId: string): number {
    return this.db.prepare('SELECT coalesce(max(seq), 0) FROM reminder_attempts WHERE order_id = ?').pluck().get(orderId) as number;
  }

  startAttempt(a: { id: string; orderId: string; deadlineId: string; seq: number; round: number; target: ReminderTargetKind; contactId: string; number: string }): void {
    this.db
      .prepare(
        `INSERT INTO reminder_attempts (id, order_id, deadline_id, seq, round, target, contact_id, number, started_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(a.id, a.orderId, a.deadlineId, a.seq, a.round, a.target, a.contactId, a.number, iso(this.now()));
  }

  markAnswered(attemptId: string, at: number): void {
    this.db.prepare('UPDATE reminder_attempts SET answered_at = coalesce(answered_at, ?) WHERE id = ?').run(iso(at), attemptId);
  }

  appendDigit(attemptId: string, key: string): void {
    this.db.prepare('UPDATE reminder_attempts SET digits = digits || ? WHERE id = ?').run(key, attemptId);
  }

  /** The answer is written with the feedback it causes, before the confirmation is heard. Idempotent. */
  setAnswer(attemptId: string, answer: ReminderAnswer): boolean {
    return this.db.prepare('UPDATE reminder_attempts SET answer = ? WHERE id = ? AND answer IS NULL').run(answer, attemptId).changes === 1;
  }

  endAttempt(attemptId: string, end: { result: string; reason?: string | undefined; digits?: string | undefined; answeredAt?: number | undefined; endedAt: number; cause?: { code: number; text: string } | undefined }): void {
    this.db
      .prepare(
        `UPDATE reminder_attempts SET ended_at = ?, result = ?, reason = ?, digits = coalesce(?, digits), answered_at = coalesce(answered_at, ?), cause_code = ?, cause_text = ?
         WHERE id = ? AND ended_at IS NULL`,
      )
      .run(iso(end.endedAt), end.result, end.reason ?? null, end.digits ?? null, end.answeredAt === undefined ? null : iso(end.answeredAt), end.cause?.code ?? null, end.cause?.text ?? null, attemptId);
  }

  attempt(attemptId: string): ReminderAttemptRow | undefined {
    return this.db.prepare('SELECT * FROM reminder_attempts WHERE id = ?').get(attemptId) as ReminderAttemptRow | undefined;
  }

  attempts(orderId: string): ReminderAttemptRow[] {
    return this.db.prepare('SELECT * FROM reminder_attempts WHERE order_id = ? ORDER BY seq').all(orderId) as ReminderAttemptRow[];
  }

  openAttempts(): ReminderAttemptRow[] {
    return this.db.prepare('SELECT * FROM reminder_attempts WHERE ended_at IS NULL').all() as ReminderAttemptRow[];
  }
}
