// The webhook outbox. An event is stored first (webhook_events, one webhook_deliveries row per
// subscriber, in the caller's transaction when there is one), then delivered by a worker:
// signed (HMAC-SHA256 of the body), retried with exponential backoff until it is answered 2xx or
// the retry time is over, and picked up again after a restart. Receivers see every event at
// least once and deduplicate on its id.
import { createHmac, randomBytes } from 'node:crypto';
import type { Db } from '../db/database.js';
import type { Logger } from '../logging.js';
import { backoffMs, type RetryPolicy } from './backoff.js';
import { WEBHOOK_EVENTS, type WebhookEventName } from './events.js';
import { SubscriberStore } from './subscribers.js';

export { WEBHOOK_EVENTS, type WebhookEventName };

export interface OutboxOptions {
  /** Signs every body; without it nothing is delivered (deliveries wait, the log says why). */
  readonly secret: string | undefined;
  /** LIANDONG_WEBHOOK_URL: the global subscriber, every event of every department. */
  readonly globalUrl: string | undefined;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  /** Requests in flight at once, over all subscribers. */
  readonly concurrency?: number;
  readonly now?: () => number;
}

export interface EnqueuedEvent {
  readonly id: string;
  readonly deliveries: number;
}

export interface DeliveryView {
  id: string;
  eventId: string;
  event: string;
  departmentId: string | null;
  subscriberId: string;
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  createdAt: string;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  lastDurationMs: number | null;
  deliveredAt: string | null;
}

interface DueRow {
  id: string;
  url: string;
  attempts: number;
  created_at: string;
  event_id: string;
  event: string;
  department_id: string | null;
  occurred_at: string;
  payload: string;
}

/** Longest error text kept per delivery (a receiver's answer is never stored, only its status). */
const ERROR_TEXT_MAX = 200;
/** The worker wakes at least this often even when nothing is due (ms): a clock jump is caught up. */
const IDLE_WAKE_MS = 30_000;

export class WebhookOutbox {
  readonly subscribers: SubscriberStore;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly concurrency: number;
  private readonly inFlight = new Map<string, AbortController>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private warnedNoSecret = false;

  constructor(
    private readonly db: Db,
    private readonly options: OutboxOptions,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'webhooks' });
    this.now = options.now ?? Date.now;
    this.concurrency = options.concurrency ?? 8;
    this.subscribers = new SubscriberStore(db, this.now);
  }

  /**
   * Stores one event and a delivery for each subscriber it concerns (global ones, and those of
   * `departmentId`). Synchronous, so a caller inside a SQLite transaction commits the event with
   * its own change or not at all. The worker sends it once the caller's tick is over.
   */
  enqueue(event: WebhookEventName, payload: Record<string, unknown>, departmentId?: string | null): EnqueuedEvent {
    const nowMs = this.now();
    const at = new Date(nowMs).toISOString();
    const id = `ev_${randomBytes(12).toString('hex')}`;
    const targets = this.subscribers.targetsFor(event, departmentId ?? null, this.options.globalUrl);
    this.db.transaction(() => {
      const info = this.db
        .prepare('INSERT INTO webhook_events (id, event, department_id, occurred_at, payload) VALUES (?, ?, ?, ?, ?)')
        .run(id, event, departmentId ?? null, at, JSON.stringify(payload));
      for (const t of targets) {
        this.db
          .prepare(`INSERT INTO webhook_deliveries (id, event_seq, subscriber_id, url, status, next_at, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)`)
          .run(`dl_${randomBytes(12).toString('hex')}`, info.lastInsertRowid, t.subscriberId, t.url, nowMs, at);
      }
    })();
    if (targets.length > 0) this.wakeSoon(0);
    return { id, deliveries: targets.length };
  }

  /** Starts the delivery worker: pending deliveries left by an earlier run go out first. */
  start(): void {
    this.running = true;
    this.wakeSoon(0);
  }

  /** Stops the worker and aborts requests in flight; those stay pending and go again after a restart. */
  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const c of this.inFlight.values()) c.abort(new Error('service stopping'));
  }

  /** Deliveries, newest first, for GET /api/v1/webhooks/deliveries. */
  list(q: { status?: string | undefined; event?: string | undefined; eventId?: string | undefined; limit: number; offset: number }): { total: number; deliveries: DeliveryView[] } {
    const filters: Array<[string, string | undefined]> = [['d.status = ?', q.status], ['e.event = ?', q.event], ['e.id = ?', q.eventId]];
    const used = filters.filter((f): f is [string, string] => f[1] !== undefined && f[1] !== '');
    const where = used.map((f) => f[0]);
    const args: unknown[] = used.map((f) => f[1]);
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const from = 'FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event_seq';
    const total = this.db.prepare(`SELECT count(*) ${from} ${filter}`).pluck().get(...args) as number;
    const rows = this.db
      .prepare(`SELECT d.*, e.id AS event_id, e.event, e.department_id ${from} ${filter} ORDER BY d.event_seq DESC, d.id LIMIT ? OFFSET ?`)
      .all(...args, q.limit, q.offset) as Array<Record<string, unknown>>;
    return {
      total,
      deliveries: rows.map((r) => ({
        id: r.id as string,
        eventId: r.event_id as string,
        event: r.event as string,
        departmentId: r.department_id as string | null,
        subscriberId: r.subscriber_id as string,
        url: r.url as string,
        status: r.status as DeliveryView['status'],
        attempts: r.attempts as number,
        createdAt: r.created_at as string,
        nextAttemptAt: r.status === 'pending' ? new Date(r.next_at as number).toISOString() : null,
        lastAttemptAt: r.last_attempt_at as string | null,
        lastStatus: r.last_status as number | null,
        lastError: r.last_error as string | null,
        lastDurationMs: r.last_duration_ms as number | null,
        deliveredAt: r.delivered_at as string | null,
      })),
    };
  }

  /** Deliveries waiting by status (for metrics and the health of the outbox). */
  counts(): Record<'pending' | 'delivered' | 'failed', number> {
    const out = { pending: 0, delivered: 0, failed: 0 };
    for (const r of this.db.prepare('SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY status').all() as Array<{ status: keyof typeof out; n: number }>) out[r.status] = r.n;
    return out;
  }

  /** A delivery that was given up is tried again now, with a fresh retry time. */
  retry(deliveryId: string): 'retried' | 'not_failed' | 'not_found' {
    const nowMs = this.now();
    const info = this.db
      .prepare(`UPDATE webhook_deliveries SET status = 'pending', next_at = ?, attempts = 0, created_at = ? WHERE id = ? AND status = 'failed'`)
      .run(nowMs, new Date(nowMs).toISOString(), deliveryId);
    if (info.changes > 0) {
      this.wakeSoon(0);
      return 'retried';
    }
    return this.db.prepare('SELECT 1 FROM webhook_deliveries WHERE id = ?').get(deliveryId) === undefined ? 'not_found' : 'not_failed';
  }

  private wakeSoon(ms: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.pump(), Math.max(0, Math.min(ms, IDLE_WAKE_MS)));
  }

  /** Sends what is due (up to the concurrency), then sleeps until the next delivery is due. */
  private pump(): void {
    this.timer = undefined;
    if (!this.running) return;
    const secret = this.options.secret;
    if (!secret) {
      if (!this.warnedNoSecret) this.log.warn('webhook deliveries wait: LIANDONG_WEBHOOK_SECRET is not set, nothing is sent unsigned');
      this.warnedNoSecret = true;
      return;
    }
    const nowMs = this.now();
    const free = this.concurrency - this.inFlight.size;
    if (free > 0) {
      const busy = [...this.inFlight.keys()];
      const due = this.db
        .prepare(
          `SELECT d.id, d.url, d.attempts, d.created_at, e.id AS event_id, e.event, e.department_id, e.occurred_at, e.payload
           FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event_seq
           WHERE d.status = 'pending' AND d.next_at <= ? ORDER BY d.next_at, d.event_seq LIMIT ?`,
        )
        .all(nowMs, free + busy.length) as DueRow[];
      for (const row of due.filter((r) => !this.inFlight.has(r.id)).slice(0, free)) void this.send(row, secret);
    }
    const next = this.db
      .prepare(`SELECT min(next_at) FROM webhook_deliveries WHERE status = 'pending' AND id NOT IN (SELECT value FROM json_each(?))`)
      .pluck()
      .get(JSON.stringify([...this.inFlight.keys()])) as number | null;
    if (next !== null) this.wakeSoon(next - nowMs);
    else this.wakeSoon(IDLE_WAKE_MS);
  }

  private async send(row: DueRow, secret: string): Promise<void> {
    const controller = new AbortController();
    this.inFlight.set(row.id, controller);
    const attempt = row.attempts + 1;
    const startedMs = this.now();
    const sentAt = Math.floor(startedMs / 1000);
    const body = JSON.stringify({
      id: row.event_id,
      event: row.event,
      occurredAt: row.occurred_at,
      departmentId: row.department_id,
      data: JSON.parse(row.payload) as unknown,
      deliveryId: row.id,
      attempt,
      sentAt,
    });
    let outcome: { ok: boolean; status: number | null; error: string | null };
    try {
      const res = await fetch(row.url, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'liandong-webhooks/1',
          'x-liandong-event': row.event,
          'x-liandong-event-id': row.event_id,
          'x-liandong-delivery': row.id,
          'x-liandong-timestamp': String(sentAt),
          'x-liandong-signature': signature(secret, body),
        },
        body,
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(this.options.timeoutMs)]),
      });
      // The answer's body is not used; reading it frees the connection.
      await res.arrayBuffer().catch((err: unknown) => this.log.debug({ err, deliveryId: row.id }, 'receiver answer body unreadable'));
      const ok = res.status >= 200 && res.status < 300;
      outcome = { ok, status: res.status, error: ok ? null : `HTTP ${res.status}` };
    } catch (err) {
      outcome = { ok: false, status: null, error: describeFailure(err, this.options.timeoutMs) };
    }
    this.inFlight.delete(row.id);
    if (controller.signal.aborted) return; // stopping: the delivery stays pending as it was
    this.record(row, attempt, startedMs, outcome);
    this.wakeSoon(0);
  }

  private record(row: DueRow, attempt: number, startedMs: number, outcome: { ok: boolean; status: number | null; error: string | null }): void {
    const endMs = this.now();
    const common = [attempt, new Date(startedMs).toISOString(), outcome.status, outcome.error?.slice(0, ERROR_TEXT_MAX) ?? null, endMs - startedMs];
    if (outcome.ok) {
      this.db
        .prepare(`UPDATE webhook_deliveries SET status = 'delivered', attempts = ?, last_attempt_at = ?, last_status = ?, last_error = ?, last_duration_ms = ?, delivered_at = ? WHERE id = ?`)
        .run(...common, new Date(endMs).toISOString(), row.id);
      this.log.info({ deliveryId: row.id, eventId: row.event_id, event: row.event, attempt, ms: endMs - startedMs }, 'webhook delivered');
      return;
    }
    const next = endMs + backoffMs(this.options.retry, attempt);
    const giveUp = next - Date.parse(row.created_at) > this.options.retry.forMs;
    this.db
      .prepare(`UPDATE webhook_deliveries SET status = ?, attempts = ?, last_attempt_at = ?, last_status = ?, last_error = ?, last_duration_ms = ?, next_at = ? WHERE id = ?`)
      .run(giveUp ? 'failed' : 'pending', ...common, next, row.id);
    const detail = { deliveryId: row.id, eventId: row.event_id, event: row.event, attempt, reason: outcome.error };
    if (giveUp) this.log.error(detail, 'webhook delivery given up: retry time is over');
    else this.log.warn({ ...detail, retryInMs: next - endMs }, 'webhook delivery failed; will retry');
  }
}

/** `sha256=<hex HMAC-SHA256 of the body>` with the shared secret. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function describeFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || (err as { cause?: { name?: string } }).cause?.name === 'TimeoutError')) return `no answer within ${timeoutMs} ms`;
  const cause = err instanceof Error ? (err as { cause?: { code?: string; message?: string } }).cause : undefined;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
