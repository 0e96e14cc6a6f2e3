// Prometheus metrics (prom-client), served at /metrics (metrics.routes.ts). Counters and
// histograms are fed by the composition root's observers (attempts, call events, case events,
// HTTP answers); gauges are read when Prometheus scrapes (async collect callbacks), from the
// store and the live services, so they are true after a restart. Names and meaning: docs/metrics.md.
import { sql, type RawBuilder } from 'kysely';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { first, rows } from '../db/sql.js';
import type { Store } from '../db/store.js';
import type { PacerStats } from '../dispatch/pacing.js';
import type { Logger } from '../logging.js';
import type { CallEvent } from '../telephony/port.js';

export interface MetricsSources {
  readonly store: Store;
  readonly ariConnected: () => boolean;
  /** Asks Asterisk over AMI (a Ping) at scrape time: AMI connects only when used. */
  readonly amiAlive: () => Promise<boolean>;
  readonly pacer: () => PacerStats;
  readonly webhookDeliveries: () => Promise<Record<'pending' | 'delivered' | 'failed', number>>;
}

/** A case event as the repositories report it (see OrderRepository.onEvent). */
interface CaseEvent { readonly orderId: string; readonly kind: string; readonly detail: Record<string, unknown> }

/** Seconds; from a quick answer on a LAN to a long ring on the trunk. */
const ANSWER_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 45, 60];
/** Seconds; a commit is milliseconds unless the disk stalls. */
const COMMIT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Seconds from the order to its acceptance: the duty room's first ring to a whole escalation. */
const ACCEPT_BUCKETS = [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200, 1800];
const HTTP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly callsStarted: Counter<'script'>;
  private readonly callsEnded: Counter<'script' | 'result'>;
  private readonly originateToAnswer: Histogram<'script'>;
  private readonly keyToCommit: Histogram<'script'>;
  private readonly secondsToAccept: Histogram<'department'>;
  private readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  /** Per live channel: its script, when the originate went out, when the last key came. */
  /**
   * Live calls by channel (= attempt) id. The attempt's row is a queued write that may land after its
   * call is already originating: a call event creates the entry, the row's 'started' adds the script.
   */
  private readonly channels = new Map<string, { script?: string; originatedAt?: number; answeredAt?: number; lastKeyAt?: number }>();
  private readonly log: Logger;

  constructor(
    private readonly sources: MetricsSources,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'metrics' });
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.callsStarted = new Counter({ name: 'liandong_calls_started_total', help: 'Outbound call attempts started, by script (dispatch, alarm, major, survey)', labelNames: ['script'], registers });
    this.callsEnded = new Counter({ name: 'liandong_calls_ended_total', help: 'Outbound call attempts ended, by script and result (accepted, no_answer, busy, failed, hangup, no_input, interrupted, completed …)', labelNames: ['script', 'result'], registers });
    this.originateToAnswer = new Histogram({ name: 'liandong_originate_to_answer_seconds', help: 'From the originate request to the answered event, by script', labelNames: ['script'], buckets: ANSWER_BUCKETS, registers });
    this.keyToCommit = new Histogram({ name: 'liandong_key_to_acknowledgement_committed_seconds', help: 'From the accepting key press to the acknowledgement committed in the store, by script', labelNames: ['script'], buckets: COMMIT_BUCKETS, registers });
    this.secondsToAccept = new Histogram({ name: 'liandong_seconds_to_accept', help: 'From the order to its acceptance, by department', labelNames: ['department'], buckets: ACCEPT_BUCKETS, registers });
    this.httpDuration = new Histogram({ name: 'liandong_http_request_duration_seconds', help: 'HTTP answers by method, route pattern and status', labelNames: ['method', 'route', 'status_code'], buckets: HTTP_BUCKETS, registers });

    const fromDb = <L extends string>(name: string, help: string, label: L, query: RawBuilder<{ k: string; n: number }>) =>
      new Gauge({
        name, help, labelNames: [label], registers,
        async collect(this: Gauge<L>) {
          const found = await rows(sources.store.db, query);
          this.reset(); // after the read: a scrape never shows the gauge half filled
          for (const r of found) this.set({ [label]: r.k } as Record<L, string>, r.n);
        },
      });
    fromDb('liandong_orders', 'Orders by status, now', 'status', sql`SELECT status AS k, count(*) AS n FROM orders GROUP BY status`);
    fromDb('liandong_surveys', 'Callback surveys by status, now (dispositions: completed, partial, unreachable, opted_out)', 'status', sql`SELECT status AS k, count(*) AS n FROM surveys GROUP BY status`);
    new Gauge({ name: 'liandong_ari_connected', help: '1 while the ARI event websocket to Asterisk is up', registers, collect(this: Gauge) { this.set(sources.ariConnected() ? 1 : 0); } });
    new Gauge({
      name: 'liandong_ami_connected', help: '1 when Asterisk answered an AMI Ping at scrape time', registers,
      async collect(this: Gauge) { this.set((await sources.amiAlive()) ? 1 : 0); },
    });
    new Gauge({ name: 'liandong_trunk_lines_in_use', help: 'Trunk lines held now (calls placed or about to be)', registers, collect(this: Gauge) { this.set(sources.pacer().active); } });
    new Gauge({ name: 'liandong_trunk_queue_depth', help: 'Calls waiting for a trunk line now', registers, collect(this: Gauge) { this.set(sources.pacer().waiting); } });
    new Gauge({
      name: 'liandong_webhook_deliveries', help: 'Webhook deliveries by status, now (pending: waiting for a try or a retry)', labelNames: ['status'], registers,
      async collect(this: Gauge<'status'>) {
        for (const [status, n] of Object.entries(await sources.webhookDeliveries())) this.set({ status }, n);
      },
    });
    // Open reminders and overdue orders (the feedback-deadline loop) are added with `gauge(...)` in
    // the composition root, read from its tables at scrape time.
  }

  /** A gauge read at scrape time; for features that keep their state in the store. */
  gauge(name: string, help: string, read: () => number | Promise<number>): void {
    new Gauge({ name, help, registers: [this.registry], async collect(this: Gauge) { this.set(await read()); } });
  }

  /** From the repositories: an attempt started or ended. */
  attempt(e: { phase: 'started' | 'ended'; attemptId: string; script: string; result?: string }): void {
    if (e.phase === 'started') {
      this.callsStarted.inc({ script: e.script });
      const ch = { ...this.channels.get(e.attemptId), script: e.script };
      this.channels.set(e.attemptId, ch);
      // Answered before its row was written: observed now that the script is known.
      if (ch.originatedAt !== undefined && ch.answeredAt !== undefined) this.originateToAnswer.observe({ script: e.script }, (ch.answeredAt - ch.originatedAt) / 1000);
      return;
    }
    this.callsEnded.inc({ script: e.script, result: e.result ?? 'unknown' });
    this.channels.delete(e.attemptId);
  }

  /** From the paced telephony: a placed call's originate and events (the channel id is the attempt id). */
  callEvent(channelId: string, event: CallEvent | { readonly type: 'originating'; readonly at: Date }): void {
    let ch = this.channels.get(channelId);
    if (!ch) {
      if (event.type !== 'originating') return; // an ended call's late event
      ch = {};
      this.channels.set(channelId, ch);
    }
    const at = event.at.getTime();
    if (event.type === 'originating') ch.originatedAt = at;
    else if (event.type === 'answered' && ch.originatedAt !== undefined) {
      ch.answeredAt = at;
      if (ch.script !== undefined) this.originateToAnswer.observe({ script: ch.script }, (at - ch.originatedAt) / 1000);
    } else if (event.type === 'key') ch.lastKeyAt = at;
  }

  /**
   * From the repositories, inside the commit: an acceptance (dispatch) or confirmation (alarm,
   * major). `store` is that transaction's view: on SQLite the transaction holds the store's one
   * connection, so a read on the store itself would wait for the commit that waits for this.
   */
  async caseEvent(e: CaseEvent, store: Store = this.sources.store): Promise<void> {
    try {
      const committed = e.kind === 'acceptance_committed' || e.kind === 'alarm_confirmation_committed' || e.kind === 'major_confirmation_committed';
      if (!committed) return;
      const attemptId = typeof e.detail.attemptId === 'string' ? e.detail.attemptId : undefined;
      const ch = attemptId ? this.channels.get(attemptId) : undefined;
      if (ch?.lastKeyAt !== undefined && ch.script !== undefined) this.keyToCommit.observe({ script: ch.script }, Math.max(0, Date.now() - ch.lastKeyAt) / 1000);
      if (e.kind === 'acceptance_committed' && typeof e.detail.secondsToAccept === 'number') {
        const secondsToAccept = e.detail.secondsToAccept;
        const order = await first(store.db, sql<{ department_id: string }>`SELECT department_id FROM orders WHERE id = ${e.orderId}`);
        this.secondsToAccept.observe({ department: order?.department_id ?? 'unknown' }, secondsToAccept);
      }
    } catch (err) {
      // Metrics never fail the commit they observe.
      this.log.warn({ err }, 'metrics: case event not counted');
    }
  }

  /** From the HTTP server: one answer. `route` is the route pattern (never the raw URL: no ids in labels). */
  http(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status_code: String(status) }, seconds);
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  contentType(): string {
    return this.registry.contentType;
  }
}
