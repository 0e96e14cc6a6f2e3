// The department's own platform (Li County: 一般事项通过网格化平台下达): a normal order is posted
// there first and phoned only if not acknowledged in time. Behind this small interface so the
// durable webhook outbox (another issue) can replace the direct POST of webhook.ts.
import type { OrderRow } from '../orders/order-repository.js';
import { createWebhook, type WebhookOutcome } from './webhook.js';

export interface PlatformChannel {
  /** Posts the order to the platform at `url`; the outcome says whether it was taken. */
  deliver(url: string, order: OrderRow, ackSeconds: number): Promise<WebhookOutcome>;
}

export const webhookPlatform: PlatformChannel = {
  deliver(url, order, ackSeconds) {
    return createWebhook(url).notify({
      orderId: order.id, code: order.code, departmentId: order.department_id, status: 'dispatched', attempts: 0,
      order: { category: order.category, summary: order.summary, address: order.address, urgency: order.urgency, createdAt: order.created_at, ackSeconds },
    });
  },
};
