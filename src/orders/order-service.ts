// What the API and the inbound line do with orders: create and route them, start the dispatch,
// record feedback, cancel. Input has been schema-checked; meaning is checked here (unknown
// category or department → 400, nothing stored, no call placed).
import type { DepartmentStore } from '../departments/store.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import { HttpError } from '../http/errors.js';
import { caseRecord, orderSummary } from './case-record.js';
import type { FeedbackKind, FeedbackRow, NewOrder, OrderRepository, OrderRow, Urgency } from './order-repository.js';

export interface CreateOrderInput {
  readonly externalId: string;
  readonly category: string;
  readonly departmentId?: string | undefined;
  /** Several units on one order: the lead first, then the units dispatched beside it in parallel. */
  readonly departmentIds?: readonly string[] | undefined;
  readonly summary: string;
  readonly address: string;
  readonly reporterPhone: string;
  readonly urgency: Urgency;
  readonly major?: boolean | undefined;
  /** False: never call the reporter back (anonymous, asked not to be called); default: true, false for informant categories. */
  readonly callback?: boolean | undefined;
}

/** Text fields are spoken by TTS and shown in reports: no control characters. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

export class OrderService {
  // The hooks may answer now or later (the services behind them read the store); each is awaited.
  /** Set by the composition root: schedules the callback survey when a case is completed. */
  onCompleted: (orderId: string) => void | Promise<void> = () => undefined;
  /** Set by the composition root: the surveys shown in the case record. */
  surveysOf: (orderId: string) => unknown[] | Promise<unknown[]> = () => [];
  /** Set by the composition root: feedback recorded (the 督查催办 deadlines it answers are met). */
  onFeedback: (orderId: string, kind: FeedbackKind) => void | Promise<void> = () => undefined;
  /** Set by the composition root: feedback deadlines and reminder calls shown in the case record. */
  remindersOf: (orderId: string) => unknown = () => ({ deadlines: [], calls: [] });
  /** Set by the composition root: the jurisdiction disputes shown in the case record. */
  disputesOf: (orderId: string) => unknown[] | Promise<unknown[]> = () => [];

  constructor(
    private readonly repo: OrderRepository,
    private readonly departments: DepartmentStore,
    private readonly dispatcher: Dispatcher,
  ) {}

  async create(input: CreateOrderInput): Promise<{ order: OrderRow; created: boolean }> {
    const catalog = this.departments.current();
    const category = catalog.categoriesById.get(input.category);
    if (!category) throw new HttpError(400, 'unknown_category', `unknown category "${input.category}"; GET /api/v1/departments lists them`);
    const units = input.departmentIds ?? [input.departmentId ?? category.departmentId];
    const [departmentId] = units;
    if (departmentId === undefined) throw new HttpError(400, 'invalid_request', 'departmentIds names at least the lead unit');
    if (input.departmentId !== undefined && input.departmentId !== departmentId) {
      throw new HttpError(400, 'invalid_request', `departmentId "${input.departmentId}" must be the lead, the first of departmentIds ("${departmentId}")`);
    }
    if (new Set(units).size !== units.length) throw new HttpError(400, 'invalid_request', 'departmentIds names a unit twice');
    for (const unit of units) if (!catalog.departmentsById.has(unit)) throw new HttpError(400, 'unknown_department', `unknown department "${unit}"`);
    for (const field of ['summary', 'address'] as const) {
      if (CONTROL_RE.test(input[field]) || input[field].trim() === '') throw new HttpError(400, 'invalid_request', `${field} must be text without control characters`);
    }
    const order: NewOrder = {
      externalId: input.externalId,
      category: input.category,
      departmentId,
      summary: input.summary.trim(),
      address: input.address.trim(),
      reporterPhone: input.reporterPhone,
      urgency: input.urgency,
      major: input.major ?? category.major,
      // Informants (举报 categories) are not called back unless the desk says so.
      callback: input.callback ?? !category.informant,
      coUnits: units.slice(1),
    };
    const result = await this.repo.createOrder(order);
    if (!result.created && !(sameOrder(result.row, order) && sameUnits(await this.coUnitsOf(result.row.id), order.coUnits ?? []))) {
      throw new HttpError(409, 'external_id_conflict', `externalId "${input.externalId}" was already used for a different order (${result.row.id})`);
    }
    if (result.created) await this.dispatcher.begin(result.row);
    return { order: result.row, created: result.created };
  }

  async list(q: { status?: string | undefined; departmentId?: string | undefined; from?: string | undefined; to?: string | undefined; limit: number; offset: number }) {
    const { rows, total } = await this.repo.listOrders({
      ...q,
      from: q.from ? new Date(q.from).toISOString() : undefined,
      to: q.to ? new Date(q.to).toISOString() : undefined,
    });
    return { total, limit: q.limit, offset: q.offset, orders: rows.map(orderSummary) };
  }

  /** The unit an order was dispatched to (404 when there is no such order). */
  async departmentOf(id: string): Promise<string> {
    return (await this.mustGet(id)).department_id;
  }

  /** Every unit on the order, the lead first (404 when there is no such order). */
  async departmentsOf(id: string): Promise<string[]> {
    return [(await this.mustGet(id)).department_id, ...(await this.coUnitsOf(id))];
  }

  /** The units dispatched beside the lead, in order. */
  async coUnitsOf(id: string): Promise<string[]> {
    return (await this.repo.coUnits(id)).map((u) => u.department_id);
  }

  /**
   * Which unit acts (feedback, acknowledgement): the one named, else the lead. Undefined for the
   * lead, the department id for a co-unit; 409 for a unit not on the order.
   */
  private async coUnitActing(order: OrderRow, departmentId: string | undefined): Promise<string | undefined> {
    if (departmentId === undefined || departmentId === order.department_id) return undefined;
    const unit = await this.repo.coUnit(order.id, departmentId);
    if (!unit) throw new HttpError(409, 'not_on_order', `${departmentId} is not a unit of order ${order.code}`);
    if (unit.status === 'cancelled') throw new HttpError(409, 'order_cancelled', `order ${order.code} was cancelled for ${departmentId}`);
    return departmentId;
  }

  async caseRecord(id: string) {
    const record = await caseRecord(this.repo, await this.mustGet(id));
    const [surveys, reminders, disputes] = await Promise.all([this.surveysOf(id), this.remindersOf(id), this.disputesOf(id)]);
    return { ...record, surveys, reminders, disputes };
  }

  /**
   * Feedback from the department. "arrived" or "completed" while still dispatching means the
   * department took the order without pressing 1: that counts as its acceptance.
   */
  async feedback(orderId: string, kind: FeedbackKind, note: string | null, via: 'api' | 'phone', actor: string, departmentId?: string): Promise<FeedbackRow> {
    const order = await this.mustGet(orderId);
    if (order.status === 'cancelled') throw new HttpError(409, 'order_cancelled', `order ${order.code} was cancelled`);
    const coUnit = await this.coUnitActing(order, departmentId);
    if (coUnit !== undefined) {
      // A co-unit's feedback is its own: it may be its acceptance; it never completes the order
      // (the lead's `completed` does) nor answers the lead's reminder deadlines.
      if ((await this.repo.coUnit(orderId, coUnit))?.status === 'dispatching' && kind !== 'progress') {
        await this.repo.commitAcceptance({ orderId, attemptId: null, contactId: null, script: 'dispatch', disputed: false, via: 'feedback', coUnit });
        await this.dispatcher.acceptedElsewhere(orderId, via === 'api' ? 'http' : 'inbound', coUnit);
      }
      return this.repo.addFeedback(orderId, kind, note, via, actor, coUnit);
    }
    if (order.status === 'dispatching' && kind !== 'progress') {
      await this.repo.commitAcceptance({ orderId, attemptId: null, contactId: null, script: 'dispatch', disputed: false, via: 'feedback' });
      await this.dispatcher.acceptedElsewhere(orderId, via === 'api' ? 'http' : 'inbound');
    }
    const stored = await this.repo.addFeedback(orderId, kind, note, via, actor);
    await this.onFeedback(orderId, kind);
    if (kind === 'completed') await this.onCompleted(orderId);
    return stored;
  }

  /**
   * The department acknowledges (accepts) the order through the API, e.g. from its platform: no
   * (further) call is placed. Idempotent: an order already accepted by the department answers
   * with its state.
   */
  async acknowledge(orderId: string, actor: string, departmentId?: string) {
    const order = await this.mustGet(orderId);
    const coUnit = await this.coUnitActing(order, departmentId);
    if (coUnit !== undefined) {
      const status = (await this.repo.coUnit(orderId, coUnit))?.status;
      if (status === 'dispatching') {
        await this.repo.commitAcceptance({ orderId, attemptId: null, contactId: null, script: 'dispatch', disputed: false, via: 'feedback', coUnit });
        await this.repo.appendEvent(orderId, actor, 'acknowledged_via_api', { departmentId: coUnit });
        await this.dispatcher.acceptedElsewhere(orderId, 'http', coUnit);
      } else if (status === 'unacknowledged') {
        throw new HttpError(409, 'not_acknowledgeable', `order ${order.code} is unacknowledged for ${coUnit}`);
      }
      return orderSummary(await this.mustGet(orderId));
    }
    if (order.status === 'dispatching') {
      await this.repo.commitAcceptance({ orderId, attemptId: null, contactId: null, script: 'dispatch', disputed: false, via: 'feedback' });
      await this.repo.appendEvent(orderId, actor, 'acknowledged_via_api', {});
      await this.dispatcher.acceptedElsewhere(orderId, 'http');
    } else if (!['accepted', 'arrived', 'completed', 'surveyed'].includes(order.status)) {
      throw new HttpError(409, 'not_acknowledgeable', `order ${order.code} is ${order.status}`);
    }
    return orderSummary(await this.mustGet(orderId));
  }

  async cancel(orderId: string, reason: string, actor = 'desk') {
    const order = await this.mustGet(orderId);
    if (order.status !== 'dispatching' && order.status !== 'unacknowledged') {
      throw new HttpError(409, 'not_cancellable', `order ${order.code} is ${order.status}; only dispatching or unacknowledged orders can be cancelled`);
    }
    if (!(await this.dispatcher.cancel(orderId, reason))) {
      await this.repo.advanceStatus(orderId, 'cancelled');
      await this.repo.appendEvent(orderId, actor, 'cancelled', { reason });
    }
    return orderSummary(await this.mustGet(orderId));
  }

  private async mustGet(id: string): Promise<OrderRow> {
    const row = await this.repo.getOrder(id);
    if (!row) throw new HttpError(404, 'order_not_found', `no order ${id}`);
    return row;
  }
}

function sameUnits(stored: readonly string[], asked: readonly string[]): boolean {
  return stored.length === asked.length && stored.every((u, i) => u === asked[i]);
}

function sameOrder(row: OrderRow, o: NewOrder): boolean {
  return row.category === o.category && row.department_id === o.departmentId && row.summary === o.summary && row.address === o.address &&
    row.reporter_phone === o.reporterPhone && row.urgency === o.urgency && (row.major === 1) === o.major;
}
