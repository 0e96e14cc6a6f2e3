// The department's own platform (Li County: 一般事项通过网格化平台下达): a normal order is posted
// there first and phoned only if not acknowledged in time. The post is direct, not through the
// webhook outbox: a platform that refuses the order (or cannot be reached) must get it phoned at
// once, not retried for hours. Signed like outbox deliveries when LIANDONG_WEBHOOK_SECRET is set.
import { randomBytes } from 'node:crypto';
import type { OrderRow } from '../orders/order-repository.js';
import { signature } from '../webhooks/send.js';

export type PlatformOutcome = { readonly ok: true; readonly status: number } | { readonly ok: false; readonly reason: string };

export interface PlatformChannel {
  /** Posts the order to the platform at `url`; the outcome says whether it was taken. */
  deliver(url: string, order: OrderRow, ackSeconds: number): Promise<PlatformOutcome>;
}

/** How long the platform may take to answer, ms. */
const PLATFORM_TIMEOUT_MS = 5000;

export function createPlatformChannel(secret: string | undefined): PlatformChannel {
  return {
    async deliver(url, order, ackSeconds) {
      const sentAt = Math.floor(Date.now() / 1000);
      const id = `ev_${randomBytes(12).toString('hex')}`;
      const body = JSON.stringify({
        id, event: 'order.dispatched', sentAt, orderId: order.id, code: order.code, departmentId: order.department_id, status: 'dispatched', attempts: 0,
        order: { category: order.category, summary: order.summary, address: order.address, urgency: order.urgency, createdAt: order.created_at, ackSeconds },
      });
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-liandong-event': 'order.dispatched', 'x-liandong-event-id': id, 'x-liandong-timestamp': String(sentAt) };
      if (secret) headers['x-liandong-signature'] = signature(secret, body);
      try {
        const res = await fetch(url, { method: 'POST', redirect: 'manual', headers, body, signal: AbortSignal.timeout(PLATFORM_TIMEOUT_MS) });
        await res.arrayBuffer();
        return res.status >= 200 && res.status < 300 ? { ok: true, status: res.status } : { ok: false, reason: `HTTP ${res.status}` };
      } catch (err) {
        return { ok: false, reason: err instanceof Error ? err.message : String(err) };
      }
    },
  };
}

/** Unsigned posts (no secret configured). */
export const webhookPlatform: PlatformChannel = createPlatformChannel(undefined);
