// POST to an optional webhook URL when an order ends unacknowledged, when a unit asks for help on
// a reminder call, or when an order is flagged overdue (the 110 centre's own alerting). A failure
// is reported back as an outcome with its reason, never thrown away.
export interface WebhookPayload {
  readonly orderId: string;
  readonly code: string;
  readonly departmentId: string;
  /** Sent as `event: "order.<status>"`. */
  readonly status: 'unacknowledged' | 'help_requested' | 'overdue' | 'dispatched';
  readonly attempts: number;
  /** For help_requested and overdue: which feedback is missing. */
  readonly deadline?: 'arrival' | 'completion';
  /** For dispatched (a normal order sent to the department platform): what to do, and how long it has to acknowledge, s. */
  readonly order?: { readonly category: string; readonly summary: string; readonly address: string; readonly urgency: string; readonly createdAt: string; readonly ackSeconds: number };
}
export type WebhookOutcome = { readonly ok: true; readonly status: number } | { readonly ok: false; readonly reason: string };

export interface Webhook {
  notify(payload: WebhookPayload): Promise<WebhookOutcome>;
}

/** How long the receiver may take, ms. */
const WEBHOOK_TIMEOUT_MS = 5000;

export function createWebhook(url: string | undefined): Webhook {
  return {
    async notify(payload) {
      if (!url) return { ok: false, reason: 'no webhook URL configured (LIANDONG_WEBHOOK_URL)' };
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ event: `order.${payload.status}`, ...payload }),
          signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
        });
        return res.ok ? { ok: true, status: res.status } : { ok: false, reason: `HTTP ${res.status}` };
      } catch (err) {
        return { ok: false, reason: err instanceof Error ? err.message : String(err) };
      }
    },
  };
}
