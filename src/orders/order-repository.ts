// SQLite persistence of orders and everything that happens to them. Every write that a caller
// hears confirmed (acknowledgement, feedback) is committed here before the confirmation plays.
import { randomBytes, randomInt } from 'node:crypto';
import { UNIT_SEQ_BLOCK } from '../../machines/order.policy.js';
import type { Db } from '../db/database.js';

export type Urgency = 'urgent' | 'normal';
export type FeedbackKind = 'arrived' | 'progress' | 'completed';
export type OrderStatus = 'dispatching' | 'accepted' | 'unacknowledged' | 'cancelled' | 'arrived' | 'completed' | 'surveyed';
export type Script = 'dispatch' | 'alarm' | 'major';

export interface NewOrder {
  readonly externalId: string;
  readonly category: string;
  readonly departmentId: string;
  readonly summary: string;
  readonly address: string;
  readonly reporterPhone: string;
  readonly urgency: Urgency;
  readonly major: boolean;
  /** False: the reporter is never called back (anonymous, asked not to be, or an informant). Default true. */
  readonly callback?: boolean;
  /** Several units on one order: the units dispatched beside the lead (departmentId), in order. */
  readonly coUnits?: readonly string[];
}

export type UnitStatus = 'dispatching' | 'accepted' | 'unacknowledged' | 'cancelled' | 'arrived' | 'completed';

/** A unit dispatched beside the order's lead unit; its chain runs in parallel with the lead's. */
export interface CoUnitRow {
  order_id: string;
  department_id: string;
  /** 1, 2, …: its attempts' seqs start at unit_index × 1000 + 1. */
  unit_index: number;
  status: UnitStatus;
  resume: string | null;
  updated_at: string;
}

export interface OrderRow {
  id: string;
  code: string;
  external_id: string;
  category: string;
  department_id: string;
  summary: string;
  address: string;
  reporter_phone: string;
  urgency: Urgency;
  major: 0 | 1;
  /** 0: never called back (informants' privacy). */
  callback: 0 | 1;
  status: OrderStatus;
  created_at: string;
  updated_at: string;
  resume: string | null;
  /** When the current unit's dispatch began, if a settled dispute reassigned the order; null = created_at. */
  dispatched_at?: string | null;
  /** A normal order sent to the department's platform: when it is phoned unless acknowledged. */
  platform_due_at?: string | null;
}

export interface AttemptRow {
  id: string;
  order_id: string;
  seq: number;
  script: Script;
  contact_id: string;
  number: string;
  started_at: string;
  answered_at: string | null;
  ended_at: string | null;
  result: string | null;
  reason: string | null;
  digits: string;
  cause_code: number | null;
  cause_text: string | null;
  chain_loop: number | null;
  contact_index: number | null;
  attempt_on_contact: number;
  /** The unit whose chain placed the call (null: rows older than migration 43). */
  department_id: string | null;
}

export interface AcknowledgementRow {
  id: number;
  order_id: string;
  attempt_id: string | null;
  contact_id: string | null;
  script: Script;
  via: 'phone' | 'feedback';
  accepted_at: string;
  seconds_to_accept: number;
  disputed: 0 | 1;
  late: 0 | 1;
  /** The unit that accepted (null only for rows older than migration 41 without an order). */
  department_id: string | null;
}

export interface FeedbackRow {
  id: number; order_id: string; kind: FeedbackKind; note: string | null; via: 'api' | 'phone'; actor: string; at: string;
  /** The unit reporting (null: rows older than migration 43, the order's unit). */
  department_id: string | null;
}
export interface EventRow { id: number; order_id: string; at: string; actor: string; kind: string; detail: string }

export interface AttemptStart {
  readonly orderId: string;
  readonly attemptId: string;
  readonly seq: number;
  readonly script: Script;
  readonly contactId: string;
  readonly number: string;
  readonly attemptOnContact: number;
  readonly cursor: { readonly loop: number; readonly contactIndex: number } | null;
  /** The unit whose chain places the call. */
  readonly departmentId?: string;
}

export interface AttemptEnd {
  readonly result: string;
  readonly reason?: string | undefined;
  readonly digits: string;
  readonly answeredAt?: number | undefined;
  readonly endedAt: number;
  readonly cause?: { readonly code: number; readonly text: string } | undefined;
}

export interface OrderFilter {
  readonly status?: string | undefined;
  readonly departmentId?: string | undefined;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly limit: number;
  readonly offset: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

const STATUS_RANK: Readonly<Record<OrderStatus, number>> = { dispatching: 0, unacknowledged: 1, accepted: 2, arrived: 3, completed: 4, surveyed: 5, cancelled: 6 };

export class OrderRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** Inserts the order, or returns the one already stored under this externalId. */
  createOrder(order: NewOrder): { row: OrderRow; created: boolean } {
    return this.db.transaction(() => {
      const existing = this.db.prepare('SELECT * FROM orders WHERE external_id = ?').get(order.externalId) as OrderRow | undefined;
      if (existing) return { row: existing, created: false };
      const at = iso(this.now());
      const id = `o${randomBytes(8).toString('hex')}`;
      const code = this.freeCode();
      this.db
        .prepare(
          `INSERT INTO orders (id, code, external_id, category, department_id, summary, address, reporter_phone, urgency, major, status, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'dispatching', ?, ?)`,
        )
        .run(id, code, order.externalId, order.category, order.departmentId, order.summary, order.address, order.reporterPhone, order.urgency, order.major ? 1 : 0, at, at);
      if (order.callback === false) this.db.prepare('UPDATE orders SET callback = 0 WHERE id = ?').run(id); // informants' privacy
      const coUnits = order.coUnits ?? [];
      coUnits.forEach((departmentId, i) => {
        this.db.prepare("INSERT INTO order_co_units (order_id, department_id, unit_index, status, updated_at) VALUES (?, ?, ?, 'dispatching', ?)").run(id, departmentId, i + 1, at);
      });
      this.appendEvent(id, 'desk', 'order_created', {
        category: order.category, departmentId: order.departmentId, urgency: order.urgency, major: order.major, ...(coUnits.length > 0 ? { coUnits: coUnits.join(',') } : {}),
      });
      return { row: this.getOrder(id) as OrderRow, created: true };
    })();
  }

  getOrder(id: string): OrderRow | undefined {
    return this.db.prepare('SELECT * FROM orders WHERE id = ?').get(id) as OrderRow | undefined;
  }

  getOrderByCode(code: string): OrderRow | undefined {
    return this.db.prepare('SELECT * FROM orders WHERE code = ?').get(code) as OrderRow | undefined;
  }

  listOrders(filter: OrderFilter): { rows: OrderRow[]; total: number } {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (filter.status) { where.push('status = ?'); args.push(filter.status); }
    if (filter.departmentId) {
      // The unit's orders: those it leads and those it was dispatched to beside the lead.
      where.push('(department_id = ? OR EXISTS (SELECT 1 FROM order_co_units u WHERE u.order_id = orders.id AND u.department_id = ?))');
      args.push(filter.departmentId, filter.departmentId);
    }
    if (filter.from) { where.push('created_at >= ?'); args.push(filter.from); }
    if (filter.to) { where.push('created_at < ?'); args.push(filter.to); }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = this.db.prepare(`SELECT count(*) FROM orders ${clause}`).pluck().get(...args) as number;
    const rows = this.db.prepare(`SELECT * FROM orders ${clause} ORDER BY created_at DESC, id LIMIT ? OFFSET ?`).all(...args, filter.limit, filter.offset) as OrderRow[];
    return { rows, total };
  }

  /** Orders whose dispatch was under way when the service stopped. */
  dispatchingOrders(): OrderRow[] {
    return this.db.prepare("SELECT * FROM orders WHERE status = 'dispatching' ORDER BY created_at").all() as OrderRow[];
  }

  /**
   * Moves the status forward only: dispatching → accepted/unacknowledged → arrived → completed;
   * cancelled is final. A machine reporting "accepted" after feedback said "arrived" changes nothing.
   */
  advanceStatus(orderId: string, status: OrderStatus): void {
    const current = this.getOrder(orderId)?.status;
    if (current === undefined || current === status || current === 'cancelled') return;
    if (status !== 'cancelled' && STATUS_RANK[status] <= STATUS_RANK[current]) return;
    this.setStatus(orderId, status);
  }

  setStatus(orderId: string, status: OrderStatus): void {
    this.db.prepare('UPDATE orders SET status = ?, updated_at = ? WHERE id = ?').run(status, iso(this.now()), orderId);
  }

  /**
   * A settled dispute sends the order to another unit: its department changes and its dispatch
   * starts again (status back to dispatching, a fresh resume point, the clock of the new unit's
   * acceptance restarted). The first unit's acknowledgement stays on record.
   */
  reassign(orderId: string, departmentId: string): void {
    const at = iso(this.now());
    this.db.prepare("UPDATE orders SET department_id = ?, status = 'dispatching', resume = NULL, dispatched_at = ?, updated_at = ? WHERE id = ?").run(departmentId, at, at, orderId);
  }

  /** The units dispatched beside the lead, in unit order. */
  coUnits(orderId: string): CoUnitRow[] {
    return this.db.prepare('SELECT * FROM order_co_units WHERE order_id = ? ORDER BY unit_index').all(orderId) as CoUnitRow[];
  }

  coUnit(orderId: string, departmentId: string): CoUnitRow | undefined {
    return this.db.prepare('SELECT * FROM order_co_units WHERE order_id = ? AND department_id = ?').get(orderId, departmentId) as CoUnitRow | undefined;
  }

  /** Co-units whose dispatch was under way when the service stopped. */
  dispatchingCoUnits(): CoUnitRow[] {
    return this.db.prepare("SELECT * FROM order_co_units WHERE status = 'dispatching' ORDER BY order_id, unit_index").all() as CoUnitRow[];
  }

  /** Moves a co-unit's status forward only, like advanceStatus; cancelled is final. */
  advanceUnitStatus(orderId: string, departmentId: string, status: UnitStatus): void {
    const current = this.coUnit(orderId, departmentId)?.status;
    if (current === undefined || current === status || current === 'cancelled') return;
    if (status !== 'cancelled' && STATUS_RANK[status] <= STATUS_RANK[current]) return;
    this.db.prepare('UPDATE order_co_units SET status = ?, updated_at = ? WHERE order_id = ? AND department_id = ?').run(status, iso(this.now()), orderId, departmentId);
  }

  saveUnitResume(orderId: string, departmentId: string, resume: unknown): void {
    this.db.prepare('UPDATE order_co_units SET resume = ? WHERE order_id = ? AND department_id = ?').run(resume === null ? null : JSON.stringify(resume), orderId, departmentId);
  }

  setPlatformDue(orderId: string, dueMs: number | null): void {
    this.db.prepare('UPDATE orders SET platform_due_at = ? WHERE id = ?').run(dueMs === null ? null : iso(dueMs), orderId);
  }

  saveResume(orderId: string, resume: unknown): void {
    this.db.prepare('UPDATE orders SET resume = ? WHERE id = ?').run(resume === null ? null : JSON.stringify(resume), orderId);
  }

  /**
   * Called with every case event inside the transaction that appends it (set by the composition
   * root: the webhook outbox stores its events in the same commit, src/webhooks/events.ts).
   */
  onEvent: (e: { orderId: string; actor: string; kind: string; detail: Record<string, unknown> }) => void = () => undefined;

  appendEvent(orderId: string, actor: string, kind: string, detail: Record<string, unknown> = {}): void {
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO order_events (order_id, at, actor, kind, detail) VALUES (?, ?, ?, ?, ?)').run(orderId, iso(this.now()), actor, kind, JSON.stringify(detail));
      this.onEvent({ orderId, actor, kind, detail });
    })();
  }

  /** Told of every call attempt started and ended (set by the composition root: the metrics, src/metrics/). */
  onAttempt: (e: { phase: 'started' | 'ended'; attemptId: string; script: string; result?: string }) => void = () => undefined;

  startAttempt(a: AttemptStart): void {
    this.db
      .prepare(
        `INSERT INTO attempts (id, order_id, seq, script, contact_id, number, started_at, chain_loop, contact_index, attempt_on_contact, department_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(a.attemptId, a.orderId, a.seq, a.script, a.contactId, a.number, iso(this.now()), a.cursor?.loop ?? null, a.cursor?.contactIndex ?? null, a.attemptOnContact, a.departmentId ?? null);
    this.onAttempt({ phase: 'started', attemptId: a.attemptId, script: a.script });
  }

  markAnswered(attemptId: string, at: number): void {
    this.db.prepare('UPDATE attempts SET answered_at = coalesce(answered_at, ?) WHERE id = ?').run(iso(at), attemptId);
  }

  appendDigit(attemptId: string, key: string): void {
    this.db.prepare('UPDATE attempts SET digits = digits || ? WHERE id = ?').run(key, attemptId);
  }

  /** Writes the attempt's final result once; a second end (e.g. after a restart) is ignored. */
  endAttempt(attemptId: string, end: AttemptEnd): void {
    const info = this.db
      .prepare(
        `UPDATE attempts SET ended_at = ?, result = ?, reason = ?, digits = ?, answered_at = coalesce(answered_at, ?), cause_code = ?, cause_text = ?
         WHERE id = ? AND ended_at IS NULL`,
      )
      .run(iso(end.endedAt), end.result, end.reason ?? null, end.digits, end.answeredAt === undefined ? null : iso(end.answeredAt), end.cause?.code ?? null, end.cause?.text ?? null, attemptId);
    if (info.changes > 0) {
      const script = this.db.prepare('SELECT script FROM attempts WHERE id = ?').pluck().get(attemptId) as string;
      this.onAttempt({ phase: 'ended', attemptId, script, result: end.result });
    }
  }

  openAttempts(orderId: string): AttemptRow[] {
    return this.db.prepare('SELECT * FROM attempts WHERE order_id = ? AND ended_at IS NULL ORDER BY seq').all(orderId) as AttemptRow[];
  }

  /** Attempts of every order that were never ended (after a restart: the calls that were live). */
  allOpenAttempts(): AttemptRow[] {
    return this.db.prepare('SELECT * FROM attempts WHERE ended_at IS NULL ORDER BY order_id, seq').all() as AttemptRow[];
  }

  /** True when an acceptance or confirmation was committed for this attempt. */
  hasAcknowledgement(attemptId: string): boolean {
    return this.db.prepare('SELECT 1 FROM acknowledgements WHERE attempt_id = ?').get(attemptId) !== undefined;
  }

  /** The highest attempt seq of unit `unitIndex` (0 = the lead) on the order, or its block's start - 1. */
  maxSeq(orderId: string, unitIndex = 0): number {
    const base = unitIndex * UNIT_SEQ_BLOCK;
    return (this.db.prepare('SELECT coalesce(max(seq), ?) FROM attempts WHERE order_id = ? AND seq > ? AND seq <= ?').pluck().get(base, orderId, base, base + UNIT_SEQ_BLOCK) as number) ?? base;
  }

  /**
   * Commits an acceptance (dispatch) or confirmation (alarm, major) before the caller hears it.
   * The first dispatch acceptance while the order is dispatching wins and sets it accepted;
   * any later one is kept and marked late. Idempotent per attempt.
   */
  commitAcceptance(input: {
    orderId: string; attemptId: string | null; contactId: string | null; script: Script; disputed: boolean; via: 'phone' | 'feedback';
    /** A co-unit of the order (not the lead): its own acceptance, its own status. */
    coUnit?: string | undefined;
  }): { late: boolean } {
    return this.db.transaction(() => {
      if (input.attemptId) {
        const prior = this.db.prepare('SELECT late FROM acknowledgements WHERE attempt_id = ?').get(input.attemptId) as { late: 0 | 1 } | undefined;
        if (prior) return { late: prior.late === 1 };
      }
      const order = this.getOrder(input.orderId);
      if (!order) throw new Error(`order ${input.orderId} does not exist`);
      if (input.coUnit !== undefined) return this.commitUnitAcceptance(order, input.coUnit, input);
      const nowMs = this.now();
      const late = input.script === 'dispatch' && order.status !== 'dispatching';
      const seconds = Math.max(0, (nowMs - Date.parse(order.dispatched_at ?? order.created_at)) / 1000);
      const info = this.db
        .prepare(
          `INSERT INTO acknowledgements (order_id, attempt_id, contact_id, script, via, accepted_at, seconds_to_accept, disputed, late, department_id)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(input.orderId, input.attemptId, input.contactId, input.script, input.via, iso(nowMs), seconds, input.disputed ? 1 : 0, late ? 1 : 0, order.department_id);
      if (input.script === 'dispatch' && !late) this.setStatus(input.orderId, 'accepted');
      // Key 3: accepted (help first) and a jurisdiction dispute opened for the linkage office to settle.
      if (input.script === 'dispatch' && !late && input.disputed) {
        this.db
          .prepare("INSERT OR IGNORE INTO disputes (order_id, department_id, acknowledgement_id, opened_at, status) VALUES (?, ?, ?, ?, 'open')")
          .run(input.orderId, order.department_id, info.lastInsertRowid, iso(nowMs));
      }
      const kind = input.script === 'dispatch' ? (late ? 'late_acceptance_committed' : 'acceptance_committed') : `${input.script}_confirmation_committed`;
      this.appendEvent(input.orderId, input.contactId ?? input.via, kind, { attemptId: input.attemptId, disputed: input.disputed, secondsToAccept: Math.round(seconds * 10) / 10 });
      return { late };
    })();
  }

  /**
   * A co-unit's acceptance: the first one while that unit is dispatching counts and sets its status
   * accepted; the order's status is the lead's. Key 3 is kept as disputed on the acknowledgement;
   * the dispute procedure (settle, reassign) is the lead unit's.
   */
  private commitUnitAcceptance(order: OrderRow, departmentId: string, input: { attemptId: string | null; contactId: string | null; script: Script; disputed: boolean; via: 'phone' | 'feedback' }): { late: boolean } {
    const unit = this.coUnit(order.id, departmentId);
    if (!unit) throw new Error(`${departmentId} is not a co-unit of order ${order.id}`);
    const nowMs = this.now();
    const late = input.script === 'dispatch' && unit.status !== 'dispatching';
    const seconds = Math.max(0, (nowMs - Date.parse(order.created_at)) / 1000);
    this.db
      .prepare(
        `INSERT INTO acknowledgements (order_id, attempt_id, contact_id, script, via, accepted_at, seconds_to_accept, disputed, late, department_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(order.id, input.attemptId, input.contactId, input.script, input.via, iso(nowMs), seconds, input.disputed ? 1 : 0, late ? 1 : 0, departmentId);
    if (input.script === 'dispatch' && !late) this.advanceUnitStatus(order.id, departmentId, 'accepted');
    const kind = input.script === 'dispatch' ? (late ? 'late_acceptance_committed' : 'acceptance_committed') : `${input.script}_confirmation_committed`;
    this.appendEvent(order.id, input.contactId ?? input.via, kind, { attemptId: input.attemptId, departmentId, disputed: input.disputed, secondsToAccept: Math.round(seconds * 10) / 10 });
    return { late };
  }

  /** Feedback of the lead unit (coUnit undefined) moves the order; a co-unit's moves that unit only. */
  addFeedback(orderId: string, kind: FeedbackKind, note: string | null, via: 'api' | 'phone', actor: string, coUnit?: string): FeedbackRow {
    return this.db.transaction(() => {
      const order = this.getOrder(orderId);
      const departmentId = coUnit ?? order?.department_id ?? null;
      const info = this.db.prepare('INSERT INTO feedback (order_id, kind, note, via, actor, at, department_id) VALUES (?, ?, ?, ?, ?, ?, ?)').run(orderId, kind, note, via, actor, iso(this.now()), departmentId);
      // Feedback moves the case forward, never back: progress keeps the status.
      if (coUnit !== undefined) {
        if (kind !== 'progress') this.advanceUnitStatus(orderId, coUnit, kind);
      } else if (order && kind !== 'progress') this.advanceStatus(orderId, kind);
      this.appendEvent(orderId, actor, `feedback_${kind}`, { via, note, ...(coUnit !== undefined ? { departmentId: coUnit } : {}) });
      return this.db.prepare('SELECT * FROM feedback WHERE id = ?').get(info.lastInsertRowid) as FeedbackRow;
    })();
  }

  attempts(orderId: string): AttemptRow[] {
    return this.db.prepare('SELECT * FROM attempts WHERE order_id = ? ORDER BY seq').all(orderId) as AttemptRow[];
  }

  acknowledgements(orderId: string): AcknowledgementRow[] {
    return this.db.prepare('SELECT * FROM acknowledgements WHERE order_id = ? ORDER BY id').all(orderId) as AcknowledgementRow[];
  }

  feedback(orderId: string): FeedbackRow[] {
    return this.db.prepare('SELECT * FROM feedback WHERE order_id = ? ORDER BY id').all(orderId) as FeedbackRow[];
  }

  events(orderId: string): EventRow[] {
    return this.db.prepare('SELECT * FROM order_events WHERE order_id = ? ORDER BY id').all(orderId) as EventRow[];
  }

  /** A six-digit code not used by any stored order (about one in a million clash per try). */
  private freeCode(): string {
    for (let i = 0; i < 50; i += 1) {
      const code = String(randomInt(100_000, 1_000_000));
      if (!this.db.prepare('SELECT 1 FROM orders WHERE code = ?').get(code)) return code;
    }
    throw new Error('no free six-digit order code after 50 tries');
  }
}
