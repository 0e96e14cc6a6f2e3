// The webhook outbox. An event is stored first (webhook_events, one webhook_deliveries row per
// subscriber, in the caller's transaction when there is one), then delivered by a worker:
// signed (HMAC-SHA256 of the body), retried with exponential backoff until it is answered 2xx or
// the retry time is over, and picked up again after a restart. Receivers see every event at
// least once and deduplicate on its id. Several nodes on one PostgreSQL store may run the worker:
// each delivery is claimed by one of them before it is sent (see claim()).
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { inGroup, outsideGroup } from '../db/group-commit.js';
import { first, rows, run } from '../db/sql.js';
import type { Store } from '../db/store.js';
import type { Logger } from '../logging.js';
import { backoffMs, type RetryPolicy } from './backoff.js';
import { WEBHOOK_EVENTS, type WebhookEventName } from './events.js';
import { postSigned, type Outcome } from './send.js';
import { SubscriberStore } from './subscribers.js';

export { WEBHOOK_EVENTS, type WebhookEventName };
export { signature } from './send.js';

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
  next_at: number;
  created_at: string;
  event_id: string;
  event: string;
  department_id: string | null;
  occurred_at: string;
  payload: string;
}

/** Longest error text kept per delivery (a receiver's answer is never stored, only its status). */
const ERROR_TEXT_MAX = 200;
/** The worker wakes at least this often even when nothing is due (ms): a clock jump, or another node's events, are caught up. */
const IDLE_WAKE_MS = 30_000;
/**
 * A claimed delivery stays ours this long past the request timeout (ms): room for recording the
 * outcome and for clock differences between nodes (NTP keeps them far closer). A node that dies
 * during a request leaves the delivery to any node (itself after a restart) once the claim runs
 * out: the killed try then waits about as long as the default first retry (10 s).
 */
const CLAIM_GRACE_MS = 10_000;
/**
 * An event enqueued inside a caller's transaction is not visible to the worker until that
 * transaction commits, which the outbox cannot observe: for this long after such an enqueue the
 * worker looks again every COMMIT_POLL_MS (ms) instead of sleeping until the next due time.
 */
const COMMIT_WATCH_MS = 5_000;
const COMMIT_POLL_MS = 50;
/** Wait before the worker tries again after the store failed it (ms). */
const STORE_RETRY_MS = 5_000;

export class WebhookOutbox {
  readonly subscribers: SubscriberStore;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly concurrency: number;
  private readonly inFlight = new Map<string, AbortController>();
  /** Sends under way (each ends by recording its outcome or releasing its claim). */
  private readonly sends = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private pumping: Promise<void> | undefined;
  private pumpAgain = false;
  private watchCommitsUntil = 0;
  private warnedNoSecret = false;

  constructor(
    private readonly store: Store,
    private readonly options: OutboxOptions,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'webhooks' });
    this.now = options.now ?? Date.now;
    this.concurrency = options.concurrency ?? 8;
    this.subscribers = new SubscriberStore(store, this.now);
  }

  /**
   * Stores one event and a delivery for each subscriber it concerns (global ones, and those of
   * `departmentId`), through `store`: the view of the caller's transaction, so the event commits
   * with the caller's change or not at all (default: the outbox's own store, one transaction).
   */
  async enqueue(event: WebhookEventName, payload: Record<string, unknown>, departmentId?: string | null, store: Store = this.store): Promise<EnqueuedEvent> {
    const nowMs = this.now();
    const at = new Date(nowMs).toISOString();
    const id = `ev_${randomBytes(12).toString('hex')}`;
    const targets = await store.transaction(async (tx) => {
      // Read through the transaction too: on SQLite it holds the store's one connection.
      const targets = await new SubscriberStore(store.within(tx), this.now).targetsFor(event, departmentId ?? null, this.options.globalUrl);
      const stored = await first(tx, sql<{ seq: number }>`
        INSERT INTO webhook_events (id, event, department_id, occurred_at, payload) VALUES (${id}, ${event}, ${departmentId ?? null}, ${at}, ${JSON.stringify(payload)})
        RETURNING seq`);
      if (!stored) throw new Error(`webhook event ${id} not stored`);
      for (const t of targets) {
        await run(tx, sql`
          INSERT INTO webhook_deliveries (id, event_seq, subscriber_id, url, status, next_at, created_at)
          VALUES (${`dl_${randomBytes(12).toString('hex')}`}, ${stored.seq}, ${t.subscriberId}, ${t.url}, 'pending', ${nowMs}, ${at})`);
      }
      return targets;
    });
    if (targets.length > 0) {
      // Inside a caller's transaction, or a write of a group commit: visible once that commits.
      if (store !== this.store || inGroup()) this.watchCommitsUntil = nowMs + COMMIT_WATCH_MS;
      this.wakeSoon(0);
    }
    return { id, deliveries: targets.length };
  }

  /** Starts the delivery worker: pending deliveries left by an earlier run go out first. */
  start(): void {
    this.running = true;
    this.wakeSoon(0);
  }

  /**
   * Stops the worker and aborts requests in flight; resolves once their claims are released, so
   * they stay pending as they were and go again after a restart (or from another node) at once.
   */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const c of this.inFlight.values()) c.abort(new Error('service stopping'));
    await this.pumping;
    await Promise.all([...this.sends]);
  }

  /** Deliveries, newest first, for GET /api/v1/webhooks/deliveries. */
  async list(q: { status?: string | undefined; event?: string | undefined; eventId?: string | undefined; limit: number; offset: number }): Promise<{ total: number; deliveries: DeliveryView[] }> {
    const conditions = [];
    if (q.status) conditions.push(sql`d.status = ${q.status}`);
    if (q.event) conditions.push(sql`e.event = ${q.event}`);
    if (q.eventId) conditions.push(sql`e.id = ${q.eventId}`);
    const filter = conditions.length > 0 ? sql`WHERE ${sql.join(conditions, sql` AND `)}` : sql``;
    const from = sql`FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event_seq`;
    const total = (await first(this.store.db, sql<{ n: number }>`SELECT count(*) AS n ${from} ${filter}`))?.n ?? 0;
    const found = await rows(this.store.db, sql<Record<string, unknown>>`
      SELECT d.*, e.id AS event_id, e.event, e.department_id ${from} ${filter} ORDER BY d.event_seq DESC, d.id LIMIT ${q.limit} OFFSET ${q.offset}`);
    return {
      total,
      deliveries: found.map((r) => ({
        id: r.id as string,
        eventId: r.event_id as string,
        event: r.event as string,
        departmentId: r.department_id as string | null,
        subscriberId: r.subscriber_id as string,
        url: r.url as string,
        status: r.status as DeliveryView['status'],
        attempts: r.attempts as number,
        createdAt: r.created_at as string,
        // While a try is under way this is when its claim runs out (the latest the next try starts).
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
  async counts(): Promise<Record<'pending' | 'delivered' | 'failed', number>> {
    const out = { pending: 0, delivered: 0, failed: 0 };
    for (const r of await rows(this.store.db, sql<{ status: keyof typeof out; n: number }>`SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY status`)) out[r.status] = r.n;
    return out;
  }

  /** A delivery that was given up is tried again now, with a fresh retry time. */
  async retry(deliveryId: string): Promise<'retried' | 'not_failed' | 'not_found'> {
    const nowMs = this.now();
    const result = await this.store.transaction(async (tx) => {
      const changed = await run(tx, sql`
        UPDATE webhook_deliveries SET status = 'pending', next_at = ${nowMs}, attempts = 0, created_at = ${new Date(nowMs).toISOString()} WHERE id = ${deliveryId} AND status = 'failed'`);
      if (changed > 0) return 'retried' as const;
      return (await first(tx, sql`SELECT 1 AS found FROM webhook_deliveries WHERE id = ${deliveryId}`)) === undefined ? ('not_found' as const) : ('not_failed' as const);
    });
    if (result === 'retried') this.wakeSoon(0);
    return result;
  }

  private wakeSoon(ms: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    // Outside any group commit: the worker never joins the transaction of the write that woke it.
    this.timer = outsideGroup(() => setTimeout(() => this.runPump(), Math.max(0, Math.min(ms, IDLE_WAKE_MS))));
  }

  /** One pump at a time; a wake during one makes it run again at once. */
  private runPump(): void {
    this.timer = undefined;
    if (!this.running) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = this.pump().then(
      (waitMs) => {
        this.pumping = undefined;
        if (waitMs === undefined) return;
        this.wakeSoon(this.pumpAgain ? 0 : waitMs);
        this.pumpAgain = false;
      },
      (err: unknown) => {
        this.pumping = undefined;
        this.log.error({ err }, 'webhook worker: the store failed; trying again shortly');
        this.wakeSoon(STORE_RETRY_MS);
      },
    );
  }

  /** Claims and sends what is due (up to the concurrency); returns how long to sleep (undefined: until woken). */
  private async pump(): Promise<number | undefined> {
    const secret = this.options.secret;
    if (!secret) {
      if (!this.warnedNoSecret) this.log.warn('webhook deliveries wait: LIANDONG_WEBHOOK_SECRET is not set, nothing is sent unsigned');
      this.warnedNoSecret = true;
      return undefined;
    }
    const nowMs = this.now();
    const free = this.concurrency - this.inFlight.size;
    if (free > 0) {
      const due = await rows(this.store.db, sql<DueRow>`
        SELECT d.id, d.url, d.attempts, d.next_at, d.created_at, e.id AS event_id, e.event, e.department_id, e.occurred_at, e.payload
        FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event_seq
        WHERE d.status = 'pending' AND d.next_at <= ${nowMs} ORDER BY d.next_at, d.event_seq LIMIT ${free}`);
      for (const row of due) {
        if (!this.running || this.inFlight.size >= this.concurrency) break;
        if (this.inFlight.has(row.id)) continue;
        const until = await this.claim(row, nowMs);
        if (until !== undefined) this.startSend(row, until, secret);
      }
    }
    const next = await first(this.store.db, sql<{ next_at: number | null }>`SELECT min(next_at) AS next_at FROM webhook_deliveries WHERE status = 'pending'`);
    const waitMs = next?.next_at == null ? IDLE_WAKE_MS : next.next_at - this.now();
    return this.now() < this.watchCommitsUntil ? Math.min(waitMs, COMMIT_POLL_MS) : waitMs;
  }

  /**
   * Makes a due delivery this node's to send, or returns undefined when another node (or an admin
   * retry) changed it first. A compare-and-set on what was read: the UPDATE moves next_at to the
   * claim's end only if next_at and attempts are still the values seen, and the changed-row count
   * says who won (SQLite: one writer at a time; PostgreSQL: a second UPDATE of the row waits for
   * the first to commit, re-checks its WHERE on the new row and changes nothing). While claimed the
   * delivery is not due for anyone; if this node dies the claim runs out and any node sends it.
   */
  private async claim(row: DueRow, nowMs: number): Promise<number | undefined> {
    const until = nowMs + this.options.timeoutMs + CLAIM_GRACE_MS;
    const won = await this.store.transaction((tx) =>
      run(tx, sql`UPDATE webhook_deliveries SET next_at = ${until} WHERE id = ${row.id} AND status = 'pending' AND next_at = ${row.next_at} AND attempts = ${row.attempts}`),
    );
    return won === 1 ? until : undefined;
  }

  private startSend(row: DueRow, until: number, secret: string): void {
    const controller = new AbortController();
    this.inFlight.set(row.id, controller);
    const sending: Promise<void> = this.send(row, until, secret, controller)
      .catch((err: unknown) => this.log.error({ err, deliveryId: row.id }, 'webhook try not recorded; it goes again when its claim runs out'))
      .finally(() => {
        this.inFlight.delete(row.id);
        this.sends.delete(sending);
        this.wakeSoon(0);
      });
    this.sends.add(sending);
  }

  private async send(row: DueRow, until: number, secret: string, controller: AbortController): Promise<void> {
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
    const outcome = await postSigned(row.url, body, secret, {
      'x-liandong-event': row.event,
      'x-liandong-event-id': row.event_id,
      'x-liandong-delivery': row.id,
      'x-liandong-timestamp': String(sentAt),
    }, AbortSignal.any([controller.signal, AbortSignal.timeout(this.options.timeoutMs)]), this.options.timeoutMs, (err) =>
      this.log.debug({ err, deliveryId: row.id }, 'receiver answer body unreadable'));
    if (controller.signal.aborted) {
      // Stopping: the delivery goes back to pending as it was, due when it was due.
      await this.store.transaction((tx) => run(tx, sql`UPDATE webhook_deliveries SET next_at = ${row.next_at} WHERE id = ${row.id} AND status = 'pending' AND next_at = ${until}`));
      return;
    }
    await this.record(row, until, attempt, startedMs, outcome);
  }

  /**
   * A success is recorded whoever holds the delivery now (it was delivered). A failure only under
   * this node's claim: if the claim ran out and another node took the delivery over, that node's
   * try decides the schedule.
   */
  private async record(row: DueRow, until: number, attempt: number, startedMs: number, outcome: Outcome): Promise<void> {
    const endMs = this.now();
    const lastAttemptAt = new Date(startedMs).toISOString();
    const error = outcome.error?.slice(0, ERROR_TEXT_MAX) ?? null;
    if (outcome.ok) {
      await this.store.transaction((tx) => run(tx, sql`
        UPDATE webhook_deliveries SET status = 'delivered', attempts = ${attempt}, last_attempt_at = ${lastAttemptAt}, last_status = ${outcome.status}, last_error = ${error},
          last_duration_ms = ${endMs - startedMs}, delivered_at = ${new Date(endMs).toISOString()}
        WHERE id = ${row.id} AND status = 'pending'`));
      this.log.info({ deliveryId: row.id, eventId: row.event_id, event: row.event, attempt, ms: endMs - startedMs }, 'webhook delivered');
      return;
    }
    const next = endMs + backoffMs(this.options.retry, attempt);
    const giveUp = next - Date.parse(row.created_at) > this.options.retry.forMs;
    const changed = await this.store.transaction((tx) => run(tx, sql`
      UPDATE webhook_deliveries SET status = ${giveUp ? 'failed' : 'pending'}, attempts = ${attempt}, last_attempt_at = ${lastAttemptAt}, last_status = ${outcome.status},
        last_error = ${error}, last_duration_ms = ${endMs - startedMs}, next_at = ${next}
      WHERE id = ${row.id} AND status = 'pending' AND next_at = ${until}`));
    const detail = { deliveryId: row.id, eventId: row.event_id, event: row.event, attempt, reason: outcome.error };
    if (changed === 0) this.log.warn(detail, 'webhook try failed after its claim ran out; the node that took it over decides');
    else if (giveUp) this.log.error(detail, 'webhook delivery given up: retry time is over');
    else this.log.warn({ ...detail, retryInMs: next - endMs }, 'webhook delivery failed; will retry');
  }
}
