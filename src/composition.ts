// The composition root: the one place where real implementations (the store on SQLite or
// PostgreSQL, ARI, AMI, TTS, HTTP) are created and wired together. Machines receive them through `.provide()`, once, in the
// services created here (Dispatcher, SurveyService, ReminderService, the feedback line).
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Config } from './config.js';
import { openStore, type Store } from './db/store.js';
import { WriteQueue } from './db/write-queue.js';
import { loadCatalog, type Catalog } from './departments/catalog.js';
import { DepartmentStore } from './departments/store.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import { PacedTelephony } from './dispatch/pacing.js';
import { createPlatformChannel } from './dispatch/platform.js';
import { createWebhook } from './dispatch/webhook.js';
import { departmentRoutes } from './http/departments.routes.js';
import { orderRoutes } from './http/orders.routes.js';
import { unitPinRoutes } from './http/unit-pins.routes.js';
import { flagRoutes } from './http/flags.routes.js';
import { OrderRepository } from './orders/order-repository.js';
import { OrderService } from './orders/order-service.js';
import { surveyRoutes } from './http/survey.routes.js';
import { SurveyRepository } from './survey/survey-repository.js';
import { SurveyService } from './survey/survey-service.js';
import { inboundSurveyRouter } from './survey/inbound-survey.js';
import { ReminderRepository } from './reminders/reminder-repository.js';
import { ReminderService } from './reminders/reminder-service.js';
import { DisputeService } from './disputes/dispute-service.js';
import { disputeRoutes } from './http/disputes.routes.js';
import { startFeedbackLine, type FeedbackLineOptions } from './feedback/inbound-line.js';
import { UnitPins } from './feedback/unit-pins.js';
import { buildApp } from './http/app.js';
import { createLogger, type Logger } from './logging.js';
import { asteriskMediaCache, mediaRoute, openPrompts, startMediaRetention, type Prompts } from './prompts/index.js';
import { AmiClient } from './telephony/ami.js';
import { AriTelephony } from './telephony/ari/ari-telephony.js';
import { ServiceMetrics } from './metrics/metrics.js';
import { caseEventTap } from './webhooks/events.js';
import { WebhookOutbox } from './webhooks/outbox.js';
import { openClusterRuntime } from './cluster/cluster-runtime.js';

/** What every feature's routes may use; passed to each feature plugin below. */
export type CoreServices = Omit<Services, 'app' | 'start' | 'close'>;
/** A feature's HTTP routes (reports, console, admin …), registered with the core services. */
export type FeaturePlugin = FastifyPluginAsync<{ core: CoreServices }>;

export interface Services {
  readonly config: Config;
  readonly logger: Logger;
  /** The store (SQLite or PostgreSQL, src/db/store.ts). */
  readonly store: Store;
  /** Ordered writes that XState actions start and nobody awaits (src/db/write-queue.ts). */
  readonly writes: WriteQueue;
  readonly telephony: AriTelephony;
  readonly ami: AmiClient;
  readonly prompts: Prompts;
  readonly repo: OrderRepository;
  readonly departments: DepartmentStore;
  readonly dispatcher: Dispatcher;
  readonly orders: OrderService;
  readonly surveys: SurveyService;
  /** The webhook outbox: `webhooks.enqueue(event, payload, departmentId)` stores and later delivers an event (docs/webhooks.md). */
  readonly webhooks: WebhookOutbox;
  /** Prometheus metrics (GET /metrics; docs/metrics.md); `metrics.gauge(...)` adds one read at scrape time. */
  readonly metrics: ServiceMetrics;
  readonly reminders: ReminderService;
  readonly app: FastifyInstance;
  /** Connects to Asterisk and renders the static prompts; call after `app.listen`. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface ServiceOptions {
  readonly logger?: Logger;
  /** The shipped department catalog (config/); tests and the demo may pass their own. */
  readonly catalog?: Catalog;
  /** Options of the inbound feedback line (timeouts, tries; tests observe call outcomes). */
  readonly feedbackLine?: FeedbackLineOptions;
}

/**
 * Feature route plugins, in registration order. Each lives in its own module and receives the
 * core services; adding a feature is one line here.
 */
const FEATURES: ReadonlyArray<() => Promise<FeaturePlugin>> = [
  () => import('./http/report.routes.js').then((m) => m.reportRoutes),
  () => import('./console/console.plugin.js').then((m) => m.consoleRoutes),
  () => import('./http/admin.routes.js').then((m) => m.adminRoutes),
  () => import('./http/webhooks.routes.js').then((m) => m.webhookRoutes),
  () => import('./metrics/metrics.routes.js').then((m) => m.metricsRoutes),
];

export async function createServices(config: Config, options: ServiceOptions = {}): Promise<Services> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const store = await openStore(config.database, (detail) => logger.warn({ engine: config.database.engine }, detail));
  // A posted write that fails is logged with its label; the call it belongs to goes on. Posted
  // writes commit in groups (LIANDONG_GROUP_COMMIT_MS); awaited ones (acceptances, answers) alone.
  const writes = new WriteQueue((label, reason) => logger.error({ write: label, reason }, 'a queued write failed'), { store, windowMs: config.groupCommitMs });
  const prompts = openPrompts(config);
  await prompts.renderer.check();
  const telephony = new AriTelephony({ ari: config.ari, dialTemplate: config.dialTemplate, callerId: config.callerId, logger });
  const ami = new AmiClient({ ...config.ami, logger });
  const repo = new OrderRepository(store);
  const departments = await DepartmentStore.open(store, options.catalog ?? loadCatalog());
  const { webhook: wh } = config;
  const webhooks = new WebhookOutbox(store, {
    secret: wh.secret,
    globalUrl: config.webhookUrl,
    timeoutMs: wh.timeoutSeconds * 1000,
    retry: { firstMs: wh.retryFirstSeconds * 1000, maxMs: wh.retryMaxSeconds * 1000, forMs: wh.retryForSeconds * 1000 },
  }, logger);
  // Outbound calls take a line of the trunk first: calls per second and channels at once (pacing.ts).
  const lines = new PacedTelephony(telephony, config.pacing, logger);
  // An attempt's row (posted as it starts) is committed before its phone rings.
  lines.durable = () => writes.committed();
  // Cluster mode (PostgreSQL, docs/cluster.md): leases decide which node runs what; the trunk's
  // calls per second hold for all nodes together. On SQLite this node is alone.
  const cluster = store.engine === 'postgres' ? await openClusterRuntime(config, store, telephony, logger) : undefined;
  if (cluster) {
    lines.clusterGate = cluster.gate;
    lines.clusterRelease = cluster.releaseLine;
  }
  // The 110 centre's alerts (unacknowledged, help requested, overdue) go through the outbox.
  const webhook = createWebhook((...a) => webhooks.enqueue(...a), (id) => repo.getOrder(id));
  const dispatcher = new Dispatcher({
    repo, writes, departments, telephony: lines, prompts, logger, webhook, platform: createPlatformChannel(wh.secret), language: config.language, timezone: config.timezone,
    maxLiveOrders: config.maxLiveOrders,
    ...(cluster ? { ownership: cluster.ownership } : {}),
  });
  const orders = new OrderService(repo, departments, dispatcher);
  // The feedback line's PIN per unit (issue 13): set by the admin, asked of callers who are not contacts.
  const pins = new UnitPins(store);
  const surveyRepo = new SurveyRepository(store);
  const metrics = new ServiceMetrics({
    store,
    ariConnected: () => telephony.health().connected,
    amiAlive: () => ami.ping(),
    pacer: () => lines.pacer.stats(),
    webhookDeliveries: () => webhooks.counts(),
  }, logger);
  // Case events that concern subscribers become webhook events in the same commit; metrics count them.
  // Both read and write through the transaction's view (`inTx`): on SQLite a read through the
  // outer store inside a transaction would wait for the one connection that transaction holds.
  const webhookTap = caseEventTap((id, inTx) => new OrderRepository(inTx).getOrder(id), (...a) => webhooks.enqueue(...a));
  repo.onEvent = surveyRepo.onEvent = async (e, inTx) => {
    await webhookTap(e, inTx);
    await metrics.caseEvent(e, inTx);
  };
  repo.onAttempt = surveyRepo.onAttempt = (e) => metrics.attempt(e);
  lines.onCallEvent = (channelId, e) => metrics.callEvent(channelId, e);
  const ownership = cluster ? { ownership: cluster.ownership } : {};
  const surveys = new SurveyService({ config, surveys: surveyRepo, orders: repo, departments, telephony: lines, prompts, logger, writes, ...ownership });
  orders.onCompleted = (orderId) => surveys.onOrderCompleted(orderId);
  orders.surveysOf = (orderId) => surveys.forOrder(orderId);
  const reminderRepo = new ReminderRepository(store);
  metrics.gauge('liandong_order_machines_live', 'Order machines (one per unit of an order being dispatched) running now; at most LIANDONG_MAX_LIVE_ORDERS', () => dispatcher.liveState().units);
  metrics.gauge('liandong_orders_awaiting_admission', 'Order units (a lead or co-unit) waiting for a free order machine (LIANDONG_MAX_LIVE_ORDERS), now', () => dispatcher.awaitingAdmission());
  metrics.gauge('liandong_reminders_open', 'Feedback deadlines passed without the feedback and still chased by reminder calls, now', async () => (await reminderRepo.openCounts()).chasing);
  metrics.gauge('liandong_orders_overdue', 'Orders escalated as overdue (leader called, linkage office flagged) whose feedback has not come, now', async () => (await reminderRepo.openCounts()).overdueOrders);
  // 督查催办: deadlines start at the acceptance, are met by feedback; a key on a reminder call is feedback.
  const reminders = new ReminderService({
    config, reminders: reminderRepo, orders: repo, departments, telephony: lines, prompts, webhook, logger, writes, ...ownership,
    recordFeedback: (orderId, kind, note, actor) => orders.feedback(orderId, kind, note, 'phone', actor),
  });
  dispatcher.onAccepted = (orderId) => reminders.onAccepted(orderId);
  orders.onFeedback = (orderId, kind) => reminders.onFeedback(orderId, kind);
  orders.remindersOf = (orderId) => reminders.forOrder(orderId);
  // Key-3 disputes, settled by the linkage office; upheld with reassignTo dispatches to that unit.
  const disputes = new DisputeService({ store, repo, departments, dispatcher, onReassigned: (orderId) => reminders.onReassigned(orderId) });
  orders.disputesOf = (orderId) => disputes.forOrder(orderId);
  let stopFeedbackLine: () => void = () => undefined;
  let clusterTimer: NodeJS.Timeout | undefined;
  let stopMediaRetention: () => void = () => undefined;
  const core: CoreServices = { config, logger, store, writes, telephony, ami, prompts, repo, departments, dispatcher, orders, surveys, webhooks, metrics, reminders };

  const app = await buildApp({
    config,
    logger,
    health: {
      database: async () => ({ ...(await store.health()), engine: store.engine }),
      ari: () => {
        const h = telephony.health();
        return h.connected ? { ok: true } : { ok: false, detail: h.lastError ?? 'not connected' };
      },
      ami: async () => ((await ami.ping()) ? { ok: true } : { ok: false, detail: 'no answer to Ping' }),
      cluster: () => cluster?.health() ?? Promise.resolve({ ok: true, nodeId: config.cluster.nodeId, leases: 'holding' as const, owned: dispatcher.liveCount(), liveNodes: [config.cluster.nodeId] }),
    },
    mediaRoutes: async (instance) => instance.register(mediaRoute, { dir: config.media.dir }),
    onAnswered: (method, route, status, seconds) => metrics.http(method, route, status, seconds),
    apiRoutes: async (instance) => {
      await instance.register(departmentRoutes, { departments });
      await instance.register(unitPinRoutes, { departments, pins, store });
      await instance.register(flagRoutes, { store });
      await instance.register(orderRoutes, { orders });
      await instance.register(surveyRoutes, { surveys });
      await instance.register(disputeRoutes, { disputes });
      for (const load of FEATURES) await instance.register(await load(), { core });
    },
  });

  return {
    config,
    logger,
    store,
    writes,
    telephony,
    ami,
    prompts,
    repo,
    departments,
    dispatcher,
    orders,
    surveys,
    webhooks,
    metrics,
    reminders,
    app,
    async start() {
      const { recordingProblems, ...warmed } = await prompts.warm();
      logger.info(warmed, 'prompts ready (static prompts, fixed parts, digit clips)');
      // A refused recording does not stop the service: that prompt is spoken by TTS until it is fixed.
      for (const problem of recordingProblems ?? []) logger.error(problem, 'recorded prompt refused; TTS is used instead (`liandong prompts check`)');
      if (cluster) {
        await cluster.start();
        const { ownership } = cluster;
        const leaseMs = config.cluster.leaseSeconds * 1000;
        // An order whose node died, or that a node could not claim: taken over and resumed here.
        ownership.handle(
          'order',
          (orderId, takeover) => dispatcher.takeOver(orderId, takeover, async (channelId) => (await ownership.hangUpLeft(channelId, takeover)).status === 'hung_up'),
          () => repo.unownedDispatchingOrders(new Date(Date.now() - 2 * leaseMs).toISOString()),
        );
        ownership.onLost('order', (ids) => {
          dispatcher.abandon(ids).catch((err: unknown) => logger.error({ err }, 'hanging up the calls of lost orders failed'));
        });
        // What other nodes did (a cancel, feedback, a department changed) reaches this node's machines and catalog.
        clusterTimer = setInterval(() => {
          dispatcher.followStore().catch((err: unknown) => logger.error({ err }, 'following other nodes\' changes to live orders failed'));
          departments.refresh().catch((err: unknown) => logger.error({ err }, 'reading other nodes\' department changes failed'));
        }, cluster.leases.renewEveryMs);
      }
      // Orders interrupted by a restart (or, in a cluster, left by a node that died) resume once
      // Asterisk answers (not before: their next attempts would fail for want of a connection).
      // Cluster: takeovers begin once Asterisk answers and every kind's handler is registered (below).
      let asteriskAnswered = false;
      let handlersReady = false;
      const beginTakeovers = () => {
        if (cluster && asteriskAnswered && handlersReady) cluster.beginTakeovers();
      };
      const off = telephony.onHealthChange((h) => {
        if (!h.connected) return;
        off();
        asteriskAnswered = true;
        if (cluster) beginTakeovers();
        else dispatcher.resumeAll().catch((err: unknown) => logger.error({ err }, 'resuming orders after restart failed'));
      });
      // The feedback line answers inbound calls before the first one can arrive.
      // Citizens calling back about a missed survey are taken first (inbound-survey.ts).
      const takeCall = inboundSurveyRouter({ telephony, prompts, surveys, orders: repo, logger, numbers: new Set(config.survey.lineNumbers) });
      stopFeedbackLine = startFeedbackLine({ telephony, prompts, orders, repo, logger, departments, pins, store, writes }, { takeCall, ...options.feedbackLine });
      telephony.start();
      // Surveys and reminder rounds left mid-call by a restart are put back before new ones are taken.
      await surveys.start();
      webhooks.start();
      await reminders.start();
      handlersReady = true;
      beginTakeovers();
      const { media } = config;
      stopMediaRetention = startMediaRetention({
        dir: media.dir,
        baseUrl: media.baseUrl,
        retentionMs: media.retentionDays * 86_400_000,
        asteriskKeepMs: media.asteriskCacheHours * 3_600_000,
        intervalMs: media.sweepMinutes * 60_000,
      }, asteriskMediaCache(ami), logger);
    },
    async close() {
      clearInterval(clusterTimer);
      dispatcher.stopAll();
      surveys.stop();
      reminders.stop();
      stopFeedbackLine();
      stopMediaRetention();
      prompts.renderer.close();
      await app.close();
      // Deliveries in flight give their claims back; queued writes of the calls just stopped land.
      await webhooks.stop();
      await writes.drain();
      // Handing over: this node's leases expire now, another node resumes its work at once.
      await cluster?.close();
      await telephony.close();
      ami.close();
      await store.close();
    },
  };
}
