// The events liandong sends to webhook subscribers, and how case events recorded in the store
// become webhook events in the same transaction (the repositories' event tap).
import type { Store } from '../db/store.js';
import type { OrderRow } from '../orders/order-repository.js';

/**
 * Every webhook event name. `order.overdue` and `order.help_requested` (key 3 on a reminder call)
 * are raised by the feedback-deadline loop (src/reminders/) through the dispatcher's Webhook; a
 * new event is one more name here. The department platform's copy of a normal order is posted
 * directly (src/dispatch/platform.ts): its refusal must phone the order at once.
 */
export const WEBHOOK_EVENTS = ['order.accepted', 'order.unacknowledged', 'order.overdue', 'order.help_requested', 'order.completed', 'survey.flagged', 'dispute.opened'] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

/** A case event as the repositories append it to order_events. */
export interface CaseEvent {
  readonly orderId: string;
  readonly actor: string;
  readonly kind: string;
  readonly detail: Record<string, unknown>;
}

/** Stores an event for delivery; `store`: the view of the caller's transaction, so it commits with it. */
export interface WebhookEnqueue {
  (event: WebhookEventName, payload: Record<string, unknown>, departmentId?: string | null, store?: Store): Promise<unknown>;
}

/** The order fields every order event carries (no reporter number: receivers do not need it). */
export function orderPayload(order: OrderRow): Record<string, unknown> {
  return { orderId: order.id, code: order.code, externalId: order.external_id, category: order.category, departmentId: order.department_id, status: order.status, urgency: order.urgency, major: order.major === 1 };
}

/**
 * Returns the tap the order and survey repositories await inside the transaction that records a
 * case event, with that transaction's store view (read and write through it: on SQLite the
 * transaction holds the one connection): an acceptance → `order.accepted` (and `dispute.opened`
 * when the officer pressed 3), completion feedback → `order.completed`, a "not satisfied" flag →
 * `survey.flagged`. `order.unacknowledged` is raised by the dispatcher (webhook.ts).
 */
export function caseEventTap(
  getOrder: (id: string, store: Store) => Promise<OrderRow | undefined>,
  enqueue: WebhookEnqueue,
): (e: CaseEvent, store: Store) => Promise<void> {
  return async (e, store) => {
    const wanted = e.kind === 'acceptance_committed' || e.kind === 'feedback_completed' || e.kind === 'flagged_unsatisfied';
    if (!wanted) return;
    const order = await getOrder(e.orderId, store);
    if (!order) return;
    // Several units on one order: a co-unit's acceptance or feedback names that unit (its event
    // goes to its subscribers); its `completed` does not complete the order, and its key 3 opens
    // no dispute (docs/co-dispatch.md).
    const coUnit = typeof e.detail.departmentId === 'string' && e.detail.departmentId !== order.department_id ? e.detail.departmentId : null;
    const base = coUnit === null ? orderPayload(order) : { ...orderPayload(order), departmentId: coUnit, leadDepartmentId: order.department_id };
    const dept = coUnit ?? order.department_id;
    if (coUnit !== null && e.kind !== 'acceptance_committed') return;
    if (coUnit !== null) {
      await enqueue('order.accepted', { ...base, attemptId: e.detail.attemptId ?? null, acceptedBy: e.actor, disputed: e.detail.disputed === true, secondsToAccept: e.detail.secondsToAccept ?? null }, dept, store);
      return;
    }
    if (e.kind === 'acceptance_committed') {
      const accepted = { ...base, attemptId: e.detail.attemptId ?? null, acceptedBy: e.actor, disputed: e.detail.disputed === true, secondsToAccept: e.detail.secondsToAccept ?? null };
      await enqueue('order.accepted', accepted, dept, store);
      if (e.detail.disputed === true) await enqueue('dispute.opened', { ...base, attemptId: e.detail.attemptId ?? null, openedBy: e.actor, reason: 'jurisdiction disputed on acceptance (key 3)' }, dept, store);
    } else if (e.kind === 'feedback_completed') {
      await enqueue('order.completed', { ...base, via: e.detail.via ?? null, note: e.detail.note ?? null, completedBy: e.actor }, dept, store);
    } else {
      await enqueue('survey.flagged', { ...base, surveyId: e.detail.surveyId ?? null, reason: e.detail.reason ?? null }, dept, store);
    }
  };
}
