// The 110 centre's own alerting: when an order ends unacknowledged, when a unit asks for help on a
// reminder call, or when an order is flagged overdue, an `order.<status>` event is stored in the
// webhook outbox (src/webhooks/), which signs, delivers and retries it. A failure to store it is
// reported back as an outcome with its reason, never thrown away.
import type { OrderRow } from '../orders/order-repository.js';
import { orderPayload, type WebhookEnqueue } from '../webhooks/events.js';

export interface WebhookPayload {
  readonly orderId: string;
  readonly code: string;
  readonly departmentId: string;
  /** Stored as event `order.<status>`. */
  readonly status: 'unacknowledged' | 'help_requested' | 'overdue';
  readonly attempts: number;
  /** For help_requested and overdue: which feedback is missing. */
  readonly deadline?: 'arrival' | 'completion';
}
export type WebhookOutcome = { readonly ok: true; readonly eventId: string; readonly deliveries: number } | { readonly ok: false; readonly reason: string };

export interface Webhook {
  notify(payload: WebhookPayload): Promise<WebhookOutcome>;
}

export function createWebhook(
  enqueue: (...args: Parameters<WebhookEnqueue>) => Promise<{ id: string; deliveries: number }>,
  getOrder: (id: string) => Promise<OrderRow | undefined>,
): Webhook {
  return {
    async notify(payload) {
      try {
        const order = await getOrder(payload.orderId);
        const base = order ? orderPayload(order) : { orderId: payload.orderId, code: payload.code, departmentId: payload.departmentId };
        const { orderId: _orderId, code: _code, departmentId: _departmentId, ...rest } = payload;
        const stored = await enqueue(`order.${payload.status}`, { ...base, ...rest }, payload.departmentId);
        return { ok: true, eventId: stored.id, deliveries: stored.deliveries };
      } catch (err) {
        return { ok: false, reason: err instanceof Error ? err.message : String(err) };
      }
    },
  };
}
