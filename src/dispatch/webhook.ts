// The dispatcher's webhook: when an order ends unacknowledged, an `order.unacknowledged` event
// is stored in the webhook outbox (src/webhooks/), which signs, delivers and retries it.
// A failure to store it is reported back as an outcome with its reason, never thrown away.
import type { OrderRow } from '../orders/order-repository.js';
import { orderPayload, type WebhookEnqueue } from '../webhooks/events.js';

export interface WebhookPayload {
  readonly orderId: string;
  readonly code: string;
  readonly departmentId: string;
  readonly status: 'unacknowledged';
  readonly attempts: number;
}
export type WebhookOutcome = { readonly ok: true; readonly eventId: string; readonly deliveries: number } | { readonly ok: false; readonly reason: string };

export interface Webhook {
  notify(payload: WebhookPayload): Promise<WebhookOutcome>;
}

export function createWebhook(enqueue: (...args: Parameters<WebhookEnqueue>) => { id: string; deliveries: number }, getOrder: (id: string) => OrderRow | undefined): Webhook {
  return {
    notify(payload) {
      try {
        const order = getOrder(payload.orderId);
        const base = order ? orderPayload(order) : { orderId: payload.orderId, code: payload.code, departmentId: payload.departmentId };
        const stored = enqueue('order.unacknowledged', { ...base, status: payload.status, attempts: payload.attempts }, payload.departmentId);
        return Promise.resolve({ ok: true, eventId: stored.id, deliveries: stored.deliveries });
      } catch (err) {
        return Promise.resolve({ ok: false, reason: err instanceof Error ? err.message : String(err) });
      }
    },
  };
}
