// Fixture rows for the report tests, written straight into an in-memory database with the real
// schema (src/db/migrations.ts), so the SQL that reads them is tested too.
import { openDatabase, type Db } from '../../src/db/database.js';

type Answer = 'satisfied' | 'unsatisfied' | 'no_answer' | null;

export class Fixture {
  readonly db: Db = openDatabase(':memory:');
  private seq = 0;

  order(id: string, departmentId: string, createdAt: string, status = 'accepted'): this {
    this.seq += 1;
    this.db
      .prepare(
        `INSERT INTO orders (id, code, external_id, category, department_id, summary, address, reporter_phone, urgency, major, status, created_at, updated_at)
         VALUES (?, ?, ?, 'water-main-burst', ?, '水管爆裂', '城关镇', '13800138000', 'urgent', 0, ?, ?, ?)`,
      )
      .run(id, String(100000 + this.seq), `ext-${id}`, departmentId, status, createdAt, createdAt);
    this.event(id, 'order_created', createdAt);
    return this;
  }

  /** A dispatch (or alarm/major) call; contactIndex and loop place it in the chain. */
  attempt(orderId: string, result: string | null, opts: { script?: string; contactIndex?: number; loop?: number; at?: string } = {}): this {
    const seq = (this.db.prepare('SELECT coalesce(max(seq), 0) + 1 FROM attempts WHERE order_id = ?').pluck().get(orderId) as number);
    const at = opts.at ?? '2026-11-01T00:00:00.000Z';
    this.db
      .prepare(
        `INSERT INTO attempts (id, order_id, seq, script, contact_id, number, started_at, ended_at, result, chain_loop, contact_index, attempt_on_contact)
         VALUES (?, ?, ?, ?, ?, '70111', ?, ?, ?, ?, ?, 0)`,
      )
      .run(`${orderId}-a${seq}`, orderId, seq, opts.script ?? 'dispatch', `c${opts.contactIndex ?? 0}`, at, result === null ? null : at, result, opts.loop ?? 0, opts.contactIndex ?? 0);
    this.event(orderId, 'attempt_started', at);
    return this;
  }

  acceptance(orderId: string, secondsToAccept: number, opts: { late?: boolean; disputed?: boolean; via?: 'phone' | 'feedback'; script?: string } = {}): this {
    this.db
      .prepare(
        `INSERT INTO acknowledgements (order_id, attempt_id, contact_id, script, via, accepted_at, seconds_to_accept, disputed, late)
         VALUES (?, NULL, 'c0', ?, ?, '2026-11-01T00:00:00.000Z', ?, ?, ?)`,
      )
      .run(orderId, opts.script ?? 'dispatch', opts.via ?? 'phone', secondsToAccept, opts.disputed ? 1 : 0, opts.late ? 1 : 0);
    return this;
  }

  feedback(orderId: string, kind: 'arrived' | 'progress' | 'completed', at: string): this {
    this.db.prepare("INSERT INTO feedback (order_id, kind, note, via, actor, at) VALUES (?, ?, NULL, 'api', 'api:department', ?)").run(orderId, kind, at);
    return this;
  }

  survey(orderId: string, kind: 'callback' | 'follow_up', status: string, answers: { attitude?: Answer; speed?: Answer; quality?: Answer } = {}): this {
    const id = `s-${orderId}-${kind}`;
    this.db
      .prepare(
        `INSERT INTO surveys (id, order_id, kind, status, number, due_at, attitude, speed, quality, created_at, updated_at, finished_at)
         VALUES (?, ?, ?, ?, '13800138000', '2026-11-02T00:00:00.000Z', ?, ?, ?, '2026-11-02T00:00:00.000Z', '2026-11-02T00:00:00.000Z', ?)`,
      )
      .run(id, orderId, kind, status, answers.attitude ?? null, answers.speed ?? null, answers.quality ?? null, ['scheduled', 'calling'].includes(status) ? null : '2026-11-02T00:10:00.000Z');
    return this;
  }

  flag(orderId: string): this {
    this.db.prepare("INSERT INTO flags (order_id, survey_id, reason, created_at) VALUES (?, ?, 'not satisfied: quality', '2026-11-02T00:10:00.000Z')").run(orderId, `s-${orderId}-callback`);
    return this;
  }

  /** A 督查催办 deadline; `missed`: it passed without the feedback (a reminder was due). */
  deadline(orderId: string, kind: 'arrival' | 'completion', missed: boolean, status = 'met'): this {
    const at = '2026-11-01T00:30:00.000Z';
    this.db
      .prepare(
        `INSERT INTO feedback_deadlines (id, order_id, kind, status, deadline_seconds, first_due_at, due_at, missed_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, 1800, ?, ?, ?, ?, ?)`,
      )
      .run(`${orderId}-${kind}`, orderId, kind, status, at, at, missed ? at : null, at, at);
    return this;
  }

  /** A jurisdiction dispute raised by `departmentId` on the order. */
  dispute(orderId: string, departmentId: string, status: 'open' | 'upheld' | 'rejected'): this {
    this.db.prepare("INSERT INTO disputes (order_id, department_id, opened_at, status) VALUES (?, ?, '2026-11-01T00:01:00.000Z', ?)").run(orderId, departmentId, status);
    return this;
  }

  /** A reminder call of round `round` to `target`. */
  reminderCall(orderId: string, kind: 'arrival' | 'completion', round: number, target: 'chain' | 'leader' | 'command_centre' = 'chain'): this {
    const seq = (this.db.prepare('SELECT coalesce(max(seq), 0) + 1 FROM reminder_attempts WHERE order_id = ?').pluck().get(orderId) as number);
    this.db
      .prepare(
        `INSERT INTO reminder_attempts (id, order_id, deadline_id, seq, round, target, contact_id, number, started_at, ended_at, result)
         VALUES (?, ?, ?, ?, ?, ?, 'c0', '70111', '2026-11-01T00:30:00.000Z', '2026-11-01T00:31:00.000Z', 'no_answer')`,
      )
      .run(`${orderId}-r${seq}`, orderId, `${orderId}-${kind}`, seq, round, target);
    return this;
  }

  event(orderId: string, kind: string, at = '2026-11-01T00:00:00.000Z'): this {
    this.db.prepare("INSERT INTO order_events (order_id, at, actor, kind, detail) VALUES (?, ?, 'liandong', ?, '{}')").run(orderId, at, kind);
    return this;
  }
}
