// Persistence of 督查催办 (SQLite or PostgreSQL): one feedback deadline per order and kind
// (arrival, completion) with its next due time, and the reminder calls. Due times live here, so a
// restart loses none.
import { sql } from 'kysely';
import { unownedUnits } from '../cluster/unowned-units.js';
import { first, rows, run } from '../db/sql.js';
import type { Store } from '../db/store.js';
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
    readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The same repository writing through another view of the store (a cluster node's fenced store
   * of one deadline's unit): its writes commit only while the node holds that lease.
   */
  withStore(store: Store): ReminderRepository {
    return new ReminderRepository(store, this.now);
  }

  /** Every write goes through store.transaction, even one statement (a fenced store view checks its epoch there). */
  private write(query: Parameters<typeof run>[1]): Promise<number> {
    return this.store.transaction((tx) => run(tx, query));
  }

  /**
   * Creates the deadline unless the order already has one of this kind (a cancelled one, left by
   * a reassignment to another unit, starts again for the new unit); returns whether it did.
   */
  async ensureDeadline(orderId: string, kind: DeadlineKind, deadlineSeconds: number, fromMs: number): Promise<boolean> {
    const at = iso(this.now());
    const due = iso(fromMs + deadlineSeconds * 1000);
    const changed = await this.write(sql`
      INSERT INTO feedback_deadlines (id, order_id, kind, status, deadline_seconds, first_due_at, due_at, created_at, updated_at)
      VALUES (${`${orderId}-${kind}`}, ${orderId}, ${kind}, 'pending', ${deadlineSeconds}, ${due}, ${due}, ${at}, ${at})
      ON CONFLICT (id) DO UPDATE SET status = 'pending', deadline_seconds = excluded.deadline_seconds, first_due_at = excluded.first_due_at,
        due_at = excluded.due_at, rounds = 0, unanswered = 0, help_requests = 0, missed_at = NULL, met_at = NULL, overdue_at = NULL, updated_at = excluded.updated_at
      WHERE feedback_deadlines.status = 'cancelled'`);
    return changed === 1;
  }

  /**
   * For /metrics: deadlines that passed without their feedback and are still being chased by
   * reminder calls, and orders escalated as overdue whose feedback has still not come.
   */
  async openCounts(): Promise<{ chasing: number; overdueOrders: number }> {
    // snake_case aliases: PostgreSQL folds an unquoted alias to lower case.
    const row = await first(this.store.db, sql<{ chasing: number; overdue_orders: number }>`
      SELECT count(*) FILTER (WHERE status IN ('pending', 'reminding') AND missed_at IS NOT NULL) AS chasing,
             count(DISTINCT CASE WHEN status = 'overdue' AND met_at IS NULL THEN order_id END) AS overdue_orders
      FROM feedback_deadlines`);
    return { chasing: row?.chasing ?? 0, overdueOrders: row?.overdue_orders ?? 0 };
  }

  get(id: string): Promise<DeadlineRow | undefined> {
    return first(this.store.db, sql<DeadlineRow>`SELECT * FROM feedback_deadlines WHERE id = ${id}`);
  }

  forOrder(orderId: string): Promise<DeadlineRow[]> {
    return rows(this.store.db, sql<DeadlineRow>`SELECT * FROM feedback_deadlines WHERE order_id = ${orderId} ORDER BY CASE kind WHEN 'arrival' THEN 0 ELSE 1 END`);
  }

  /**
   * Takes pending deadlines due at `nowMs`, earliest first, for this node: each is claimed with a
   * conditional UPDATE (pending and due → reminding) and is ours only if that UPDATE changed its
   * row. Two nodes that read the same due deadline both try; the database lets one change it
   * (SQLite: one writer at a time; PostgreSQL: the second UPDATE waits for the first's row lock,
   * then re-checks `status = 'pending'` on the committed row and changes nothing), so a deadline
   * is reminded once. The round itself is counted by startRound.
   */
  async takeDue(nowMs: number, limit: number): Promise<DeadlineRow[]> {
    const due = iso(nowMs);
    const candidates = await rows(this.store.db, sql<{ id: string }>`
      SELECT id FROM feedback_deadlines WHERE status = 'pending' AND due_at <= ${due} ORDER BY due_at LIMIT ${limit}`);
    const taken: DeadlineRow[] = [];
    for (const { id } of candidates) {
      const row = await this.store.transaction(async (tx) => {
        const won = await run(tx, sql`
          UPDATE feedback_deadlines SET status = 'reminding', updated_at = ${iso(this.now())}
          WHERE id = ${id} AND status = 'pending' AND due_at <= ${due}`);
        return won === 1 ? first(tx, sql<DeadlineRow>`SELECT * FROM feedback_deadlines WHERE id = ${id}`) : undefined;
      });
      if (row) taken.push(row);
    }
    return taken;
  }

  async nextDueAt(): Promise<number | undefined> {
    const row = await first(this.store.db, sql<{ due_at: string | null }>`SELECT min(due_at) AS due_at FROM feedback_deadlines WHERE status = 'pending'`);
    return row?.due_at == null ? undefined : Date.parse(row.due_at);
  }

  /**
   * Cluster: deadlines `reminding` since before `beforeMs` whose lease nobody holds: no lease row
   * (the node died between takeDue and its claim on the first round) or a released one (the same
   * on a later round). `leased`: 1 when a released row exists.
   */
  remindingUnowned(beforeMs: number): Promise<Array<{ id: string; leased: number }>> {
    return unownedUnits(this.store.db, 'feedback_deadlines', 'reminding', 'reminder', beforeMs);
  }

  /** Deadlines left `reminding` by a stopped service. */
  reminding(): Promise<DeadlineRow[]> {
    return rows(this.store.db, sql<DeadlineRow>`SELECT * FROM feedback_deadlines WHERE status = 'reminding'`);
  }

  /** A round starts on a taken deadline: one more round; the first time, the deadline is recorded as missed. */
  async startRound(id: string): Promise<DeadlineRow> {
    const at = iso(this.now());
    return this.store.transaction(async (tx) => {
      await run(tx, sql`UPDATE feedback_deadlines SET status = 'reminding', rounds = rounds + 1, missed_at = coalesce(missed_at, ${at}), updated_at = ${at} WHERE id = ${id}`);
      const row = await first(tx, sql<DeadlineRow>`SELECT * FROM feedback_deadlines WHERE id = ${id}`);
      if (!row) throw new Error(`no feedback deadline ${id}`);
      return row;
    });
  }

  async reschedule(id: string, dueMs: number, unanswered: number, helpRequested: boolean): Promise<void> {
    await this.write(sql`
      UPDATE feedback_deadlines SET status = 'pending', due_at = ${iso(dueMs)}, unanswered = ${unanswered}, help_requests = help_requests + ${helpRequested ? 1 : 0}, updated_at = ${iso(this.now())}
      WHERE id = ${id} AND status = 'reminding'`);
  }

  /** Back to pending, due now or at `dueMs` (a round cut short by a restart, or one that could not start). */
  async requeue(id: string, dueMs?: number): Promise<void> {
    const at = iso(this.now());
    await this.write(sql`UPDATE feedback_deadlines SET status = 'pending', due_at = ${dueMs === undefined ? at : iso(dueMs)}, updated_at = ${at} WHERE id = ${id} AND status = 'reminding'`);
  }

  async markOverdue(id: string, unanswered: number, helpRequested: boolean): Promise<void> {
    const at = iso(this.now());
    await this.write(sql`
      UPDATE feedback_deadlines SET status = 'overdue', overdue_at = ${at}, unanswered = ${unanswered}, help_requests = help_requests + ${helpRequested ? 1 : 0}, updated_at = ${at}
      WHERE id = ${id} AND status IN ('pending', 'reminding')`);
  }

  async noteHelpRequest(id: string): Promise<void> {
    await this.write(sql`UPDATE feedback_deadlines SET help_requests = help_requests + 1, updated_at = ${iso(this.now())} WHERE id = ${id}`);
  }

  /**
   * The feedback came (by API, feedback line or a reminder's key 1): the deadline is met. An
   * overdue one keeps its status (the linkage office's flag) and gets its met time.
   */
  async meet(orderId: string, kinds: readonly DeadlineKind[]): Promise<DeadlineRow[]> {
    const at = iso(this.now());
    return this.store.transaction(async (tx) => {
      const met: DeadlineRow[] = [];
      for (const kind of kinds) {
        const id = `${orderId}-${kind}`;
        const changed = await run(tx, sql`
          UPDATE feedback_deadlines SET status = CASE status WHEN 'overdue' THEN 'overdue' ELSE 'met' END, met_at = ${at}, updated_at = ${at}
          WHERE id = ${id} AND met_at IS NULL AND status != 'cancelled'`);
        const row = changed === 1 ? await first(tx, sql<DeadlineRow>`SELECT * FROM feedback_deadlines WHERE id = ${id}`) : undefined;
        if (row) met.push(row);
      }
      return met;
    });
  }

  /** Ends the open deadlines (order no longer chased); `all`: also met and overdue ones (the order went to another unit). */
  async cancelForOrder(orderId: string, all = false): Promise<void> {
    const which = all ? sql`status != 'cancelled'` : sql`status IN ('pending', 'reminding')`;
    await this.write(sql`UPDATE feedback_deadlines SET status = 'cancelled', updated_at = ${iso(this.now())} WHERE order_id = ${orderId} AND ${which}`);
  }

  async maxSeq(orderId: string): Promise<number> {
    const row = await first(this.store.db, sql<{ n: number }>`SELECT coalesce(max(seq), 0) AS n FROM reminder_attempts WHERE order_id = ${orderId}`);
    return row?.n ?? 0;
  }

  async startAttempt(a: { id: string; orderId: string; deadlineId: string; seq: number; round: number; target: ReminderTargetKind; contactId: string; number: string }): Promise<void> {
    await this.write(sql`
      INSERT INTO reminder_attempts (id, order_id, deadline_id, seq, round, target, contact_id, number, started_at)
      VALUES (${a.id}, ${a.orderId}, ${a.deadlineId}, ${a.seq}, ${a.round}, ${a.target}, ${a.contactId}, ${a.number}, ${iso(this.now())})`);
  }

  async markAnswered(attemptId: string, at: number): Promise<void> {
    await this.write(sql`UPDATE reminder_attempts SET answered_at = coalesce(answered_at, ${iso(at)}) WHERE id = ${attemptId}`);
  }

  async appendDigit(attemptId: string, key: string): Promise<void> {
    await this.write(sql`UPDATE reminder_attempts SET digits = digits || ${key} WHERE id = ${attemptId}`);
  }

  /** The answer is written with the feedback it causes, before the confirmation is heard. Idempotent. */
  async setAnswer(attemptId: string, answer: ReminderAnswer): Promise<boolean> {
    return (await this.write(sql`UPDATE reminder_attempts SET answer = ${answer} WHERE id = ${attemptId} AND answer IS NULL`)) === 1;
  }

  async endAttempt(attemptId: string, end: { result: string; reason?: string | undefined; digits?: string | undefined; answeredAt?: number | undefined; endedAt: number; cause?: { code: number; text: string } | undefined }): Promise<void> {
    const answeredAt = end.answeredAt === undefined ? null : iso(end.answeredAt);
    await this.write(sql`
      UPDATE reminder_attempts SET ended_at = ${iso(end.endedAt)}, result = ${end.result}, reason = ${end.reason ?? null}, digits = coalesce(${end.digits ?? null}, digits),
        answered_at = coalesce(answered_at, ${answeredAt}), cause_code = ${end.cause?.code ?? null}, cause_text = ${end.cause?.text ?? null}
      WHERE id = ${attemptId} AND ended_at IS NULL`);
  }

  attempt(attemptId: string): Promise<ReminderAttemptRow | undefined> {
    return first(this.store.db, sql<ReminderAttemptRow>`SELECT * FROM reminder_attempts WHERE id = ${attemptId}`);
  }

  attempts(orderId: string): Promise<ReminderAttemptRow[]> {
    return rows(this.store.db, sql<ReminderAttemptRow>`SELECT * FROM reminder_attempts WHERE order_id = ${orderId} ORDER BY seq`);
  }

  /** Calls not ended: of every deadline (a restart), or of one (a cluster takeover of its unit). */
  openAttempts(deadlineId?: string): Promise<ReminderAttemptRow[]> {
    const of = deadlineId === undefined ? sql`` : sql` AND deadline_id = ${deadlineId}`;
    return rows(this.store.db, sql<ReminderAttemptRow>`SELECT * FROM reminder_attempts WHERE ended_at IS NULL${of} ORDER BY seq`);
  }

  /**
   * Orders accepted (a dispatch acceptance in time) since `sinceIso` that have no deadline yet,
   * with their first acceptance: an acceptance committed just before a stop gets its deadlines.
   */
  acceptedWithoutDeadlines(sinceIso: string): Promise<Array<{ id: string; accepted_at: string }>> {
    return rows(this.store.db, sql<{ id: string; accepted_at: string }>`
      SELECT o.id, min(k.accepted_at) AS accepted_at FROM orders o JOIN acknowledgements k ON k.order_id = o.id AND k.script = 'dispatch' AND k.late = 0
      WHERE o.status IN ('accepted', 'arrived') AND NOT EXISTS (SELECT 1 FROM feedback_deadlines d WHERE d.order_id = o.id)
      GROUP BY o.id HAVING min(k.accepted_at) >= ${sinceIso}`);
  }
}
