// Persistence of orders and everything that happens to them, on SQLite or PostgreSQL (the Store).
// Every write that a caller hears confirmed (acknowledgement, feedback) is committed here before
// the confirmation plays.
import { randomBytes, randomInt } from 'node:crypto';
import { sql } from 'kysely';
import { UNIT_SEQ_BLOCK } from '../../machines/order.policy.js';
import { first, rows, run } from '../db/sql.js';
import type { Store, Tx } from '../db/store.js';
import type { AcceptanceInput, AcknowledgementRow, AttemptEnd, AttemptRow, AttemptStart, CaseEvent, CoUnitRow, EventRow, FeedbackKind, FeedbackRow, NewOrder, OrderFilter, OrderRow, OrderStatus, UnitStatus } from './order-rows.js';

// The row types live in order-rows.ts; their importers keep importing them from here.
export type { Urgency, FeedbackKind, OrderStatus, Script, NewOrder, UnitStatus, CoUnitRow, OrderRow, AttemptRow, AcknowledgementRow, FeedbackRow, EventRow, AttemptStart, AttemptEnd, CaseEvent, AcceptanceInput, OrderFilter } from './order-rows.js';

const iso = (ms: number): string => new Date(ms).toISOString();

const STATUS_RANK: Readonly<Record<OrderStatus, number>> = { dispatching: 0, unacknowledged: 1, accepted: 2, arrived: 3, completed: 4, surveyed: 5, cancelled: 6 };

/** Both engines name the violated unique constraint or index in the message (GUIDE). */
export const isUniqueViolation = (err: unknown): boolean => err instanceof Error && /unique|UNIQUE constraint/i.test(err.message);

const ACK_COLUMNS = sql`(order_id, attempt_id, contact_id, script, via, accepted_at, seconds_to_accept, disputed, late, department_id)`;

export class OrderRepository {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /** This repository inside tx (same clock and hooks): what it does commits with tx (Store.within). */
  within(tx: Tx): OrderRepository {
    return this.over(this.store.within(tx));
  }

  /** This repository over another view of the store (a cluster node's fenced store of one order), same clock and hooks. */
  over(store: Store): OrderRepository {
    const repo = new OrderRepository(store, this.now);
    repo.onEvent = this.onEvent;
    repo.onAttempt = this.onAttempt;
    return repo;
  }

  /** Inserts the order, or returns the one already stored under this externalId. */
  async createOrder(order: NewOrder): Promise<{ row: OrderRow; created: boolean }> {
    try {
      return await this.store.transaction((tx) => this.within(tx).insertOrder(order));
    } catch (err) {
      // Two desks (or cluster nodes) sent the same externalId at once: the other one's order stands.
      const existing = isUniqueViolation(err) ? await this.getOrderByExternalId(order.externalId) : undefined;
      if (!existing) throw err;
      return { row: existing, created: false };
    }
  }

  private async insertOrder(order: NewOrder): Promise<{ row: OrderRow; created: boolean }> {
    const existing = await this.getOrderByExternalId(order.externalId);
    if (existing) return { row: existing, created: false };
    const at = iso(this.now());
    const id = `o${randomBytes(8).toString('hex')}`;
    const code = await this.freeCode();
    const callback = order.callback === false ? 0 : 1; // 0: informants' privacy
    await run(this.store.db, sql`INSERT INTO orders (id, code, external_id, category, department_id, summary, address, reporter_phone, urgency, major, callback, status, created_at, updated_at)
      VALUES (${id}, ${code}, ${order.externalId}, ${order.category}, ${order.departmentId}, ${order.summary}, ${order.address}, ${order.reporterPhone}, ${order.urgency}, ${order.major ? 1 : 0}, ${callback}, 'dispatching', ${at}, ${at})`);
    const coUnits = order.coUnits ?? [];
    for (const [i, departmentId] of coUnits.entries()) {
      await run(this.store.db, sql`INSERT INTO order_co_units (order_id, department_id, unit_index, status, updated_at) VALUES (${id}, ${departmentId}, ${i + 1}, 'dispatching', ${at})`);
    }
    await this.appendEvent(id, 'desk', 'order_created', {
      category: order.category, departmentId: order.departmentId, urgency: order.urgency, major: order.major, ...(coUnits.length > 0 ? { coUnits: coUnits.join(',') } : {}),
    });
    return { row: (await this.getOrder(id)) as OrderRow, created: true };
  }

  getOrder(id: string): Promise<OrderRow | undefined> {
    return first(this.store.db, sql<OrderRow>`SELECT * FROM orders WHERE id = ${id}`);
  }

  getOrderByCode(code: string): Promise<OrderRow | undefined> {
    return first(this.store.db, sql<OrderRow>`SELECT * FROM orders WHERE code = ${code}`);
  }

  private getOrderByExternalId(externalId: string): Promise<OrderRow | undefined> {
    return first(this.store.db, sql<OrderRow>`SELECT * FROM orders WHERE external_id = ${externalId}`);
  }

  async listOrders(filter: OrderFilter): Promise<{ rows: OrderRow[]; total: number }> {
    const where = [sql`1 = 1`];
    if (filter.status) where.push(sql`status = ${filter.status}`);
    if (filter.departmentId) {
      // The unit's orders: those it leads and those it was dispatched to beside the lead.
      where.push(sql`(department_id = ${filter.departmentId} OR EXISTS (SELECT 1 FROM order_co_units u WHERE u.order_id = orders.id AND u.department_id = ${filter.departmentId}))`);
    }
    if (filter.from) where.push(sql`created_at >= ${filter.from}`);
    if (filter.to) where.push(sql`created_at < ${filter.to}`);
    const clause = sql.join(where, sql` AND `);
    const total = (await first(this.store.db, sql<{ n: number }>`SELECT count(*) AS n FROM orders WHERE ${clause}`))?.n ?? 0;
    const page = await rows(this.store.db, sql<OrderRow>`SELECT * FROM orders WHERE ${clause} ORDER BY created_at DESC, id LIMIT ${filter.limit} OFFSET ${filter.offset}`);
    return { rows: page, total };
  }

  /** Orders whose dispatch was under way when the service stopped. */
  dispatchingOrders(): Promise<OrderRow[]> {
    return rows(this.store.db, sql<OrderRow>`SELECT * FROM orders WHERE status = 'dispatching' ORDER BY created_at`);
  }

  /**
   * Orders whose lead machine was running when the service stopped: dispatching, or past it
   * (accepted, unacknowledged) with a resume point, i.e. leader or alarm calls still due.
   */
  resumableOrders(): Promise<OrderRow[]> {
    return rows(this.store.db, sql<OrderRow>`SELECT * FROM orders WHERE status = 'dispatching' OR (status IN ('accepted', 'unacknowledged') AND resume IS NOT NULL) ORDER BY created_at, id`);
  }

  /**
   * Moves the status forward only: dispatching → accepted/unacknowledged → arrived → completed;
   * cancelled is final. A machine reporting "accepted" after feedback said "arrived" changes nothing.
   */
  async advanceStatus(orderId: string, status: OrderStatus): Promise<void> {
    await this.store.transaction(async (tx) => {
      const inTx = this.within(tx);
      const current = (await inTx.getOrder(orderId))?.status;
      if (current === undefined || current === status || current === 'cancelled') return;
      if (status !== 'cancelled' && STATUS_RANK[status] <= STATUS_RANK[current]) return;
      await inTx.setStatus(orderId, status);
    });
  }

  async setStatus(orderId: string, status: OrderStatus): Promise<void> {
    await this.store.transaction(async (tx) => {
      await run(tx, sql`UPDATE orders SET status = ${status}, updated_at = ${iso(this.now())} WHERE id = ${orderId}`);
    });
  }

  /**
   * A settled dispute sends the order to another unit: its department changes and its dispatch
   * starts again (status back to dispatching, a fresh resume point, the clock of the new unit's
   * acceptance restarted). The first unit's acknowledgement stays on record.
   */
  async reassign(orderId: string, departmentId: string): Promise<void> {
    const at = iso(this.now());
    await this.store.transaction(async (tx) => {
      await run(tx, sql`UPDATE orders SET department_id = ${departmentId}, status = 'dispatching', resume = NULL, dispatched_at = ${at}, updated_at = ${at} WHERE id = ${orderId}`);
    });
  }

  /** The units dispatched beside the lead, in unit order. */
  coUnits(orderId: string): Promise<CoUnitRow[]> {
    return rows(this.store.db, sql<CoUnitRow>`SELECT * FROM order_co_units WHERE order_id = ${orderId} ORDER BY unit_index`);
  }

  coUnit(orderId: string, departmentId: string): Promise<CoUnitRow | undefined> {
    return first(this.store.db, sql<CoUnitRow>`SELECT * FROM order_co_units WHERE order_id = ${orderId} AND department_id = ${departmentId}`);
  }

  /** Co-units whose dispatch was under way when the service stopped. */
  /**
   * Cluster: orders still being dispatched (lead or a co-unit) that no node holds a lease on — their
   * node died between storing and claiming them, or released them early. Stored before `before`
   * (ISO), so an order being created right now is not taken for one.
   */
  async unownedDispatchingOrders(before: string): Promise<string[]> {
    const found = await rows(this.store.db, sql<{ id: string }>`
      SELECT o.id FROM orders o
      WHERE o.created_at < ${before}
        AND (o.status = 'dispatching' OR EXISTS (SELECT 1 FROM order_co_units u WHERE u.order_id = o.id AND u.status = 'dispatching'))
        AND NOT EXISTS (SELECT 1 FROM cluster_leases l WHERE l.unit_key = 'order:' || o.id AND l.owner IS NOT NULL)
      ORDER BY o.created_at LIMIT 100`);
    return found.map((r) => r.id);
  }

  /**
   * What other nodes did to these orders (a cluster node checks the orders it runs): cancelled ones,
   * and the units (`<order>` for the lead, `<order>/<unit>` for a co-unit) accepted other than by
   * phone (feedback, the inbound line), whose calls must stop.
   */
  async settledElsewhere(orderIds: readonly string[]): Promise<{ cancelled: Set<string>; acceptedElsewhere: Set<string> }> {
    if (orderIds.length === 0) return { cancelled: new Set(), acceptedElsewhere: new Set() };
    const ids = sql.join([...orderIds]);
    const cancelled = await rows(this.store.db, sql<{ id: string }>`
      SELECT id FROM orders WHERE id IN (${ids}) AND status = 'cancelled'
      UNION SELECT order_id || '/' || department_id AS id FROM order_co_units WHERE order_id IN (${ids}) AND status = 'cancelled'`);
    const accepted = await rows(this.store.db, sql<{ order_id: string; department_id: string | null; lead: string }>`
      SELECT k.order_id, k.department_id, o.department_id AS lead FROM acknowledgements k JOIN orders o ON o.id = k.order_id
      WHERE k.order_id IN (${ids}) AND k.script = 'dispatch' AND k.late = 0 AND k.via <> 'phone'`);
    return {
      cancelled: new Set(cancelled.map((r) => r.id)),
      acceptedElsewhere: new Set(accepted.map((r) => (r.department_id === null || r.department_id === r.lead ? r.order_id : `${r.order_id}/${r.department_id}`))),
    };
  }

  /** Co-units whose machine was running when the service stopped (as resumableOrders). */
  resumableCoUnits(): Promise<CoUnitRow[]> {
    return rows(this.store.db, sql<CoUnitRow>`SELECT * FROM order_co_units WHERE status = 'dispatching' OR (status IN ('accepted', 'unacknowledged') AND resume IS NOT NULL) ORDER BY order_id, unit_index`);
  }

  dispatchingCoUnits(): Promise<CoUnitRow[]> {
    return rows(this.store.db, sql<CoUnitRow>`SELECT * FROM order_co_units WHERE status = 'dispatching' ORDER BY order_id, unit_index`);
  }

  /** Moves a co-unit's status forward only, like advanceStatus; cancelled is final. */
  async advanceUnitStatus(orderId: string, departmentId: string, status: UnitStatus): Promise<void> {
    await this.store.transaction(async (tx) => {
      const current = (await this.within(tx).coUnit(orderId, departmentId))?.status;
      if (current === undefined || current === status || current === 'cancelled') return;
      if (status !== 'cancelled' && STATUS_RANK[status] <= STATUS_RANK[current]) return;
      await run(tx, sql`UPDATE order_co_units SET status = ${status}, updated_at = ${iso(this.now())} WHERE order_id = ${orderId} AND department_id = ${departmentId}`);
    });
  }

  async saveUnitResume(orderId: string, departmentId: string, resume: unknown): Promise<void> {
    const text = resume === null ? null : JSON.stringify(resume);
    await this.store.transaction(async (tx) => {
      await run(tx, sql`UPDATE order_co_units SET resume = ${text} WHERE order_id = ${orderId} AND department_id = ${departmentId}`);
    });
  }

  async setPlatformDue(orderId: string, dueMs: number | null): Promise<void> {
    const due = dueMs === null ? null : iso(dueMs);
    await this.store.transaction(async (tx) => {
      await run(tx, sql`UPDATE orders SET platform_due_at = ${due} WHERE id = ${orderId}`);
    });
  }

  async saveResume(orderId: string, resume: unknown): Promise<void> {
    const text = resume === null ? null : JSON.stringify(resume);
    await this.store.transaction(async (tx) => {
      await run(tx, sql`UPDATE orders SET resume = ${text} WHERE id = ${orderId}`);
    });
  }

  /**
   * Awaited with every case event inside the transaction that appends it, with that transaction's
   * store view (set by the composition root: the webhook outbox stores its events in the same
   * commit, src/webhooks/events.ts). A failure rolls the event back with everything in its commit.
   */
  onEvent: (e: CaseEvent, store: Store) => Promise<void> = () => Promise.resolve();

  async appendEvent(orderId: string, actor: string, kind: string, detail: Record<string, unknown> = {}): Promise<void> {
    await this.store.transaction(async (tx) => {
      await run(tx, sql`INSERT INTO order_events (order_id, at, actor, kind, detail) VALUES (${orderId}, ${iso(this.now())}, ${actor}, ${kind}, ${JSON.stringify(detail)})`);
      await this.onEvent({ orderId, actor, kind, detail }, this.store.within(tx));
    });
  }

  /** Told of every call attempt started and ended, after its write (set by the composition root: the metrics, src/metrics/). */
  onAttempt: (e: { phase: 'started' | 'ended'; attemptId: string; script: string; result?: string }) => void = () => undefined;

  async startAttempt(a: AttemptStart): Promise<void> {
    await this.store.transaction(async (tx) => {
      await run(tx, sql`INSERT INTO attempts (id, order_id, seq, script, contact_id, number, started_at, chain_loop, contact_index, attempt_on_contact, department_id)
        VALUES (${a.attemptId}, ${a.orderId}, ${a.seq}, ${a.script}, ${a.contactId}, ${a.number}, ${iso(this.now())}, ${a.cursor?.loop ?? null}, ${a.cursor?.contactIndex ?? null}, ${a.attemptOnContact}, ${a.departmentId ?? null})`);
    });
    this.onAttempt({ phase: 'started', attemptId: a.attemptId, script: a.script });
  }

  async markAnswered(attemptId: string, at: number): Promise<void> {
    await this.store.transaction(async (tx) => {
      await run(tx, sql`UPDATE attempts SET answered_at = coalesce(answered_at, ${iso(at)}) WHERE id = ${attemptId}`);
    });
  }

  async appendDigit(attemptId: string, key: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      await run(tx, sql`UPDATE attempts SET digits = digits || ${key} WHERE id = ${attemptId}`);
    });
  }

  /** Writes the attempt's final result once; a second end (e.g. after a restart) is ignored. */
  async endAttempt(attemptId: string, end: AttemptEnd): Promise<void> {
    const answeredAt = end.answeredAt === undefined ? null : iso(end.answeredAt);
    const script = await this.store.transaction(async (tx) => {
      const changed = await run(tx, sql`UPDATE attempts SET ended_at = ${iso(end.endedAt)}, result = ${end.result}, reason = ${end.reason ?? null}, digits = ${end.digits},
          answered_at = coalesce(answered_at, ${answeredAt}), cause_code = ${end.cause?.code ?? null}, cause_text = ${end.cause?.text ?? null}
        WHERE id = ${attemptId} AND ended_at IS NULL`);
      if (changed === 0) return undefined;
      return (await first(tx, sql<{ script: string }>`SELECT script FROM attempts WHERE id = ${attemptId}`))?.script;
    });
    if (script !== undefined) this.onAttempt({ phase: 'ended', attemptId, script, result: end.result });
  }

  openAttempts(orderId: string): Promise<AttemptRow[]> {
    return rows(this.store.db, sql<AttemptRow>`SELECT * FROM attempts WHERE order_id = ${orderId} AND ended_at IS NULL ORDER BY seq`);
  }

  /** Attempts of every order that were never ended (after a restart: the calls that were live). */
  allOpenAttempts(): Promise<AttemptRow[]> {
    return rows(this.store.db, sql<AttemptRow>`SELECT * FROM attempts WHERE ended_at IS NULL ORDER BY order_id, seq`);
  }

  /** True when an acceptance or confirmation was committed for this attempt. */
  async hasAcknowledgement(attemptId: string): Promise<boolean> {
    return (await first(this.store.db, sql`SELECT 1 AS one FROM acknowledgements WHERE attempt_id = ${attemptId}`)) !== undefined;
  }

  /** The highest attempt seq of unit `unitIndex` (0 = the lead) on the order, or its block's start - 1. */
  async maxSeq(orderId: string, unitIndex = 0): Promise<number> {
    const base = unitIndex * UNIT_SEQ_BLOCK;
    const row = await first(this.store.db, sql<{ m: number | null }>`SELECT max(seq) AS m FROM attempts WHERE order_id = ${orderId} AND seq > ${base} AND seq <= ${base + UNIT_SEQ_BLOCK}`);
    return row?.m ?? base;
  }

  /**
   * Commits an acceptance (dispatch) or confirmation (alarm, major) before the caller hears it.
   * The first dispatch acceptance while the order (or co-unit) is dispatching wins and sets it
   * accepted; any later one is kept and marked late. Idempotent per attempt.
   *
   * Two nodes may both read "dispatching" and both insert an acceptance that counts: the partial
   * unique index acknowledgements_one_acceptance (migration 50) refuses the second insert, and
   * so does attempt_id's UNIQUE for the same attempt twice. The loser's transaction is then run
   * once more, reading what the winner committed and committing its own acceptance as late, so
   * its caller hears "late" rather than an error. (Called inside an outer transaction, the retry
   * cannot help on PostgreSQL, whose failed statement aborts that transaction: nobody does.)
   */
  async commitAcceptance(input: AcceptanceInput): Promise<{ late: boolean }> {
    try {
      return await this.store.transaction((tx) => this.within(tx).acceptOnce(input, false));
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      return this.store.transaction((tx) => this.within(tx).acceptOnce(input, true));
    }
  }

  /** One try of commitAcceptance, inside its transaction; `lost`: another acceptance won the race. */
  private async acceptOnce(input: AcceptanceInput, lost: boolean): Promise<{ late: boolean }> {
    if (input.attemptId) {
      const prior = await first(this.store.db, sql<{ late: 0 | 1 }>`SELECT late FROM acknowledgements WHERE attempt_id = ${input.attemptId}`);
      if (prior) return { late: prior.late === 1 };
    }
    const order = await this.getOrder(input.orderId);
    if (!order) throw new Error(`order ${input.orderId} does not exist`);
    const unit = input.coUnit === undefined ? undefined : await this.coUnit(order.id, input.coUnit);
    if (input.coUnit !== undefined && !unit) throw new Error(`${input.coUnit} is not a co-unit of order ${order.id}`);
    // The lead's clock restarts when a settled dispute reassigned the order; a co-unit's runs from the order.
    const since = unit ? order.created_at : (order.dispatched_at ?? order.created_at);
    const departmentId = unit ? unit.department_id : order.department_id;
    const nowMs = this.now();
    const late = input.script === 'dispatch' && (lost || (unit ? unit.status : order.status) !== 'dispatching');
    const seconds = Math.max(0, (nowMs - Date.parse(since)) / 1000);
    const ack = await first(this.store.db, sql<{ id: number }>`INSERT INTO acknowledgements ${ACK_COLUMNS}
      VALUES (${order.id}, ${input.attemptId}, ${input.contactId}, ${input.script}, ${input.via}, ${iso(nowMs)}, ${seconds}, ${input.disputed ? 1 : 0}, ${late ? 1 : 0}, ${departmentId})
      RETURNING id`);
    const counts = input.script === 'dispatch' && !late;
    if (unit && counts) await this.advanceUnitStatus(order.id, unit.department_id, 'accepted');
    if (!unit && counts) await this.setStatus(order.id, 'accepted');
    // Key 3 on the lead: accepted (help first) and a jurisdiction dispute opened for the linkage
    // office to settle. A co-unit's key 3 stays on its acknowledgement only (the procedure is the lead's).
    if (!unit && counts && input.disputed) {
      await run(this.store.db, sql`INSERT INTO disputes (order_id, department_id, acknowledgement_id, opened_at, status)
        VALUES (${order.id}, ${order.department_id}, ${ack?.id ?? null}, ${iso(nowMs)}, 'open') ON CONFLICT DO NOTHING`);
    }
    const kind = input.script === 'dispatch' ? (late ? 'late_acceptance_committed' : 'acceptance_committed') : `${input.script}_confirmation_committed`;
    await this.appendEvent(order.id, input.contactId ?? input.via, kind, {
      attemptId: input.attemptId, ...(unit ? { departmentId: unit.department_id } : {}), disputed: input.disputed, secondsToAccept: Math.round(seconds * 10) / 10,
    });
    return { late };
  }

  /** Feedback of the lead unit (coUnit undefined) moves the order; a co-unit's moves that unit only. */
  async addFeedback(orderId: string, kind: FeedbackKind, note: string | null, via: 'api' | 'phone', actor: string, coUnit?: string): Promise<FeedbackRow> {
    return this.store.transaction(async (tx) => {
      const inTx = this.within(tx);
      const order = await inTx.getOrder(orderId);
      const departmentId = coUnit ?? order?.department_id ?? null;
      const stored = await first(tx, sql<FeedbackRow>`INSERT INTO feedback (order_id, kind, note, via, actor, at, department_id)
        VALUES (${orderId}, ${kind}, ${note}, ${via}, ${actor}, ${iso(this.now())}, ${departmentId}) RETURNING *`);
      // Feedback moves the case forward, never back: progress keeps the status.
      if (coUnit !== undefined) {
        if (kind !== 'progress') await inTx.advanceUnitStatus(orderId, coUnit, kind);
      } else if (order && kind !== 'progress') await inTx.advanceStatus(orderId, kind);
      await inTx.appendEvent(orderId, actor, `feedback_${kind}`, { via, note, ...(coUnit !== undefined ? { departmentId: coUnit } : {}) });
      return stored as FeedbackRow;
    });
  }

  attempts(orderId: string): Promise<AttemptRow[]> {
    return rows(this.store.db, sql<AttemptRow>`SELECT * FROM attempts WHERE order_id = ${orderId} ORDER BY seq`);
  }

  acknowledgements(orderId: string): Promise<AcknowledgementRow[]> {
    return rows(this.store.db, sql<AcknowledgementRow>`SELECT * FROM acknowledgements WHERE order_id = ${orderId} ORDER BY id`);
  }

  feedback(orderId: string): Promise<FeedbackRow[]> {
    return rows(this.store.db, sql<FeedbackRow>`SELECT * FROM feedback WHERE order_id = ${orderId} ORDER BY id`);
  }

  events(orderId: string): Promise<EventRow[]> {
    return rows(this.store.db, sql<EventRow>`SELECT * FROM order_events WHERE order_id = ${orderId} ORDER BY id`);
  }

  /** A six-digit code not used by any stored order (about one in a million clash per try). */
  private async freeCode(): Promise<string> {
    for (let i = 0; i < 50; i += 1) {
      const code = String(randomInt(100_000, 1_000_000));
      if (!(await first(this.store.db, sql`SELECT 1 AS one FROM orders WHERE code = ${code}`))) return code;
    }
    throw new Error('no free six-digit order code after 50 tries');
  }
}
