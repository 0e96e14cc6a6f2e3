// Jurisdiction disputes (先实施救助…事后再作反馈处理): a unit that pressed 3 accepted the order and
// helps first; the linkage office settles the dispute afterwards. Upheld with `reassignTo`, the
// order is dispatched to that unit (the first unit stays on record as having helped first).
import { FIRST_CURSOR } from '../../machines/order.policy.js';
import { sql } from 'kysely';
import { first, rows, run } from '../db/sql.js';
import type { Store } from '../db/store.js';
import type { DepartmentStore } from '../departments/store.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import { HttpError } from '../http/errors.js';
import type { OrderRepository } from '../orders/order-repository.js';

export type DisputeStatus = 'open' | 'upheld' | 'rejected';

export interface DisputeRow {
  id: number;
  order_id: string;
  department_id: string;
  acknowledgement_id: number | null;
  opened_at: string;
  status: DisputeStatus;
  reassigned_to: string | null;
  note: string | null;
  decided_by: string | null;
  decided_at: string | null;
}

export interface Settlement {
  readonly decision: 'upheld' | 'rejected';
  readonly reassignTo?: string | undefined;
  readonly note: string;
}

export interface DisputeView {
  orderId: string;
  orderCode: string;
  departmentId: string;
  openedAt: string;
  status: DisputeStatus;
  reassignedTo: string | null;
  note: string | null;
  decidedBy: string | null;
  decidedAt: string | null;
}

export interface DisputeDeps {
  readonly store: Store;
  readonly repo: OrderRepository;
  readonly departments: DepartmentStore;
  readonly dispatcher: Dispatcher;
  /** The order left the first unit: its feedback deadlines end (the new unit's start at its acceptance). */
  readonly onReassigned: (orderId: string) => void | Promise<void>;
}

export class DisputeService {
  constructor(private readonly deps: DisputeDeps) {}

  async list(filter: { status?: DisputeStatus | undefined; limit: number; offset: number }): Promise<{ total: number; disputes: DisputeView[] }> {
    const { db } = this.deps.store;
    const where = filter.status ? sql`WHERE d.status = ${filter.status}` : sql``;
    const total = (await first(db, sql<{ n: number }>`SELECT count(*) AS n FROM disputes d ${where}`))?.n ?? 0;
    const page = await rows(db, sql<DisputeRow & { code: string }>`SELECT d.*, o.code FROM disputes d JOIN orders o ON o.id = d.order_id ${where}
      ORDER BY d.opened_at DESC, d.id DESC LIMIT ${filter.limit} OFFSET ${filter.offset}`);
    return { total, disputes: page.map((r) => view(r, r.code)) };
  }

  async forOrder(orderId: string): Promise<DisputeView[]> {
    const code = (await this.deps.repo.getOrder(orderId))?.code ?? '';
    return (await rows(this.deps.store.db, sql<DisputeRow>`SELECT * FROM disputes WHERE order_id = ${orderId} ORDER BY id`)).map((r) => view(r, code));
  }

  /** Settles the open dispute of `departmentId` on the order; every check runs before anything is written. */
  async settle(orderId: string, departmentId: string, s: Settlement, actor: string): Promise<DisputeView> {
    const { store, repo, departments, dispatcher } = this.deps;
    const order = await repo.getOrder(orderId);
    if (!order) throw new HttpError(404, 'order_not_found', `no order ${orderId}`);
    const dispute = await first(store.db, sql<DisputeRow>`SELECT * FROM disputes WHERE order_id = ${orderId} AND department_id = ${departmentId}`);
    if (!dispute) throw new HttpError(404, 'dispute_not_found', `department ${departmentId} has no dispute on order ${order.code}`);
    if (dispute.status !== 'open') throw new HttpError(409, 'dispute_settled', `the dispute was already settled (${dispute.status}) at ${dispute.decided_at ?? ''}`);
    const reassignTo = s.reassignTo;
    if (reassignTo !== undefined) {
      if (s.decision !== 'upheld') throw new HttpError(400, 'invalid_request', 'reassignTo goes only with decision "upheld"');
      if (!departments.current().departmentsById.has(reassignTo)) throw new HttpError(400, 'unknown_department', `unknown department "${reassignTo}"`);
      if (reassignTo === departmentId) throw new HttpError(400, 'invalid_request', 'reassignTo must be another department than the disputing one');
      if (order.department_id !== departmentId) throw new HttpError(409, 'not_current_unit', `order ${order.code} is now with ${order.department_id}; it can only be reassigned from there`);
      // Several units on one order: a unit already dispatched beside the lead cannot become the lead.
      if (await repo.coUnit(orderId, reassignTo)) throw new HttpError(409, 'already_on_order', `${reassignTo} is already a unit of order ${order.code}`);
      if (!['accepted', 'arrived'].includes(order.status) || dispatcher.isLive(orderId)) {
        throw new HttpError(409, 'not_reassignable', `order ${order.code} is ${order.status}; only an accepted order not yet completed can be reassigned`);
      }
    }
    const at = new Date().toISOString();
    const settled = await store.transaction(async (tx) => {
      // `status = 'open'` again here: two admins settling at once, only the first one's decision is written.
      const changed = await run(tx, sql`UPDATE disputes SET status = ${s.decision}, reassigned_to = ${reassignTo ?? null}, note = ${s.note}, decided_by = ${actor}, decided_at = ${at}
        WHERE id = ${dispute.id} AND status = 'open'`);
      if (changed === 0) return false;
      const inTx = repo.within(tx);
      await inTx.appendEvent(orderId, actor, `dispute_${s.decision}`, { departmentId, reassignTo: reassignTo ?? null, note: s.note });
      if (reassignTo !== undefined) {
        await inTx.reassign(orderId, reassignTo);
        await inTx.appendEvent(orderId, actor, 'reassigned', { from: departmentId, to: reassignTo });
      }
      return true;
    });
    if (!settled) throw new HttpError(409, 'dispute_settled', 'the dispute was settled by someone else a moment ago');
    if (reassignTo !== undefined) {
      await this.deps.onReassigned(orderId);
      const moved = await repo.getOrder(orderId);
      // The county leaders of a major incident were told in the first dispatch: not called again.
      const leaders = departments.current().leaders.map((l) => ({ id: l.id, attempts: 0, phase: 'cancelled' as const }));
      if (moved) await dispatcher.start(moved, { nextAttemptSeq: (await repo.maxSeq(orderId)) + 1, cursor: FIRST_CURSOR, leaders });
    }
    const row = await first(store.db, sql<DisputeRow>`SELECT * FROM disputes WHERE id = ${dispute.id}`);
    return view(row as DisputeRow, order.code);
  }
}

function view(r: DisputeRow, code: string): DisputeView {
  return {
    orderId: r.order_id, orderCode: code, departmentId: r.department_id, openedAt: r.opened_at, status: r.status,
    reassignedTo: r.reassigned_to, note: r.note, decidedBy: r.decided_by, decidedAt: r.decided_at,
  };
}
