// Runs one order machine per order being dispatched, with real effects, and persists where
// each one is (the resume point) so a restart continues it without calling anyone twice. The
// machines are provided once, here: orders differ only by their input, and what the effects
// need of an order lives in LiveUnits while its machine runs. At most maxLiveOrders machines run
// at once; the units beyond wait for admission (admission.ts) and start as machines end.
import { createActor } from 'xstate';
import { resumePointOf } from '../../machines/order.context.js';
import { FIRST_CURSOR, firstSeqOfUnit, type OrderResume } from '../../machines/order.policy.js';
import { DEFAULT_MAX_LIVE_ORDERS, type Language } from '../config.js';
import type { WriteQueue } from '../db/write-queue.js';
import { contactsOnDuty, type Endpoint } from '../departments/catalog.js';
import type { DepartmentStore } from '../departments/store.js';
import type { Logger } from '../logging.js';
import type { CoUnitRow, OrderRepository, OrderRow } from '../orders/order-repository.js';
import type { Prompts } from '../prompts/index.js';
import type { TelephonyPort } from '../telephony/port.js';
import type { WorkOwnership } from '../cluster/ownership.js';
import type { Takeover } from '../cluster/leases.js';
import { reconcileOpenAttempts } from './reconcile.js';
import { ownAcks, pastDispatching, resumable, settledPoint } from './resume.js';
import { dispatchCalls } from './call-effects.js';
import { LiveUnits, orderOfKey, unitKey, type LiveUnit } from './live-units.js';
import { provideOrderMachine } from './order-effects.js';
import { CallTraces } from '../telephony/call-trace.js';
import type { Webhook } from './webhook.js';
import { webhookPlatform, type PlatformChannel } from './platform.js';
import { DEFAULT_PLATFORM_ACK_SECONDS } from './policy.js';
import { Admission, admissionStep, rankOf, type Admittee } from './admission.js';

export interface DispatcherDeps {
  readonly repo: OrderRepository;
  /** The machines' writes (actions cannot await), in order; async code awaits its own writes. */
  readonly writes: WriteQueue;
  readonly departments: DepartmentStore;
  readonly telephony: TelephonyPort;
  readonly prompts: Prompts;
  readonly webhook: Webhook;
  readonly logger: Logger;
  readonly language: Language;
  readonly timezone: string;
  /** Where normal orders go first (the department platform); webhook.ts by default. */
  readonly platform?: PlatformChannel;
  /**
   * Cluster mode (PostgreSQL): each order is run by the node holding its lease, its writes fenced
   * by that lease. Unset: this node is alone (SQLite) and runs every order.
   */
  readonly ownership?: WorkOwnership;
  /** Most order machines (units) live at once; beyond, units wait for admission (admission.ts). LIANDONG_MAX_LIVE_ORDERS. */
  readonly maxLiveOrders?: number;
}

/** A unit dispatched beside the order's lead: its own order machine, chain and resume point. */
export interface CoUnit {
  readonly departmentId: string;
  /** 1, 2, …: numbers its attempts from firstSeqOfUnit(index). */
  readonly index: number;
}

const coUnitOf = (row: CoUnitRow): CoUnit => ({ departmentId: row.department_id, index: row.unit_index });

/** A unit waiting for a machine: what its start needs besides its rows, which are read again when it is admitted. */
interface WaitingUnit extends Admittee {
  readonly unit: CoUnit | undefined;
  readonly resume: OrderResume | undefined;
}

export class Dispatcher {
  /** Every unit whose machine runs here, with what its effects need. */
  private readonly live: LiveUnits;
  /** Machines that ended and whose last posted writes are not yet committed (see isLive). */
  private readonly settling = new Set<string>();
  /** Each open call's logger and step times, for its summary line. */
  private readonly traces: CallTraces;
  /** The order machine with its effects (and the call-attempt machine inside it), provided once. */
  private readonly machine: ReturnType<typeof provideOrderMachine>;
  private readonly renderAhead: (unit: LiveUnit) => void;
  /** Normal orders waiting for their platform acknowledgement: the timer that phones them. */
  private readonly platformTimers = new Map<string, NodeJS.Timeout>();
  private readonly log: Logger;
  /** Units waiting for a machine while maxLiveOrders run. */
  private readonly admission: Admission<WaitingUnit>;
  /** Set by the composition root: an order reached `accepted` (its feedback deadlines start); run after the status is written. */
  onAccepted: (orderId: string) => void | Promise<void> = () => undefined;

  constructor(private readonly deps: DispatcherDeps) {
    this.log = deps.logger.child({ component: 'dispatcher' });
    this.traces = new CallTraces(this.log);
    this.live = new LiveUnits(this.traces);
    const calls = dispatchCalls({ ...deps, traces: this.traces, unitOf: (orderId, coUnit) => this.live.of(orderId, coUnit) });
    this.renderAhead = calls.renderAhead;
    this.machine = provideOrderMachine({
      writes: deps.writes, webhook: deps.webhook, units: this.live, traces: this.traces, callAttempt: calls.machine,
      onAccepted: (orderId) => this.onAccepted(orderId),
    });
    this.admission = new Admission<WaitingUnit>({
      maxLive: deps.maxLiveOrders ?? DEFAULT_MAX_LIVE_ORDERS, live: () => this.live.size, log: this.log,
      admit: (w) => this.admit(w), ended: (w) => this.releaseIfDone(w.orderId),
    });
  }

  /**
   * True while the order's lead machine runs or waits for admission, and until the writes it
   * posted before it ended are committed (they commit in groups): once false, the order's record
   * is final (the dispute service, the policy dry run, the demo and tests read it then).
   */
  isLive(orderId: string): boolean {
    return this.holds(orderId) || this.settling.has(orderId);
  }

  /** Units run here: live, settling, or waiting for admission (in a cluster, all owned by this node). */
  liveCount(): number {
    return this.live.size + this.settling.size + this.admission.held;
  }

  /** Units waiting for a machine now (metric liandong_orders_awaiting_admission). */
  awaitingAdmission(): number {
    return this.admission.held;
  }

  /** The unit's machine runs here, or it waits for one. */
  private holds(key: string): boolean {
    return this.live.has(key) || this.admission.holds(key);
  }

  /** A machine ended: it counts as live until its last writes are committed (committed() ends the group now). */
  private settle(key: string): void {
    this.settling.add(key);
    this.deps.writes.committed().then(
      () => this.settling.delete(key),
      (err: unknown) => {
        this.settling.delete(key);
        this.log.error({ key, reason: err instanceof Error ? err.message : String(err) }, 'the last writes of an ended dispatch could not be confirmed');
      },
    );
  }

  /** What this dispatcher holds for live work (0 and 0 once every order here has ended, been stopped or abandoned). */
  liveState(): { units: number; calls: number } {
    return { units: this.live.size, calls: this.traces.size };
  }

  /**
   * A new order: urgent and major ones are phoned at once; a normal one goes to its department's
   * platform first and is phoned only if not acknowledged within platformAckSeconds (no
   * platform, 0 seconds, or a platform that refuses it: phoned at once).
   */
  async begin(order: OrderRow): Promise<void> {
    // Cluster: the receiving node runs the order if it may; otherwise another node takes it over.
    if (this.deps.ownership && !(await this.deps.ownership.claim('order', order.id))) {
      await this.deps.ownership.offer('order', order.id);
      this.log.warn({ orderId: order.id }, 'order not claimed on this node; offered to the cluster');
      return;
    }
    // Co-units are phoned at once, in parallel with the lead (the platform wait is the lead's).
    for (const unit of await this.deps.repo.coUnits(order.id)) await this.start(order, { nextAttemptSeq: firstSeqOfUnit(unit.unit_index), cursor: FIRST_CURSOR }, coUnitOf(unit));
    const platform = this.deps.departments.platformOf(order.department_id);
    const ackSeconds = this.deps.departments.policyOf(order.department_id).platformAckSeconds ?? DEFAULT_PLATFORM_ACK_SECONDS;
    if (order.urgency !== 'normal' || order.major === 1 || !platform || ackSeconds <= 0) {
      await this.start(order);
      return;
    }
    const repo = this.repoFor(order.id);
    const dueMs = Date.now() + ackSeconds * 1000;
    await repo.setPlatformDue(order.id, dueMs);
    await repo.appendEvent(order.id, 'liandong', 'sent_to_platform', { dueAt: new Date(dueMs).toISOString(), ackSeconds });
    this.armPlatformTimer(order.id, dueMs);
    // The order's creation answers now; the platform's answer is recorded when it comes.
    this.background(`platform delivery of ${order.id}`, async () => {
      const outcome = await (this.deps.platform ?? webhookPlatform).deliver(platform.url, order, ackSeconds);
      await repo.appendEvent(order.id, 'liandong', outcome.ok ? 'platform_delivered' : 'platform_failed', outcome.ok ? { status: outcome.status } : { reason: outcome.reason });
      if (!outcome.ok) await this.platformDeadline(order.id, 'the platform did not take the order');
    });
  }

  /** Runs work nobody awaits (a timer, a delivery); its failure is logged with what it was. */
  private background(what: string, work: () => Promise<void>): void {
    work().then(undefined, (err: unknown) => this.log.error({ err, what }, 'dispatcher background work failed'));
  }

  private armPlatformTimer(orderId: string, dueMs: number): void {
    clearTimeout(this.platformTimers.get(orderId));
    const deadline = () => this.background(`platform deadline of ${orderId}`, () => this.platformDeadline(orderId, 'not acknowledged on the platform in time'));
    this.platformTimers.set(orderId, setTimeout(deadline, Math.max(0, dueMs - Date.now())));
  }

  /** Phones a normal order still waiting on its platform (deadline passed, or the platform failed). */
  private async platformDeadline(orderId: string, reason: string): Promise<void> {
    clearTimeout(this.platformTimers.get(orderId));
    this.platformTimers.delete(orderId);
    const repo = this.repoFor(orderId);
    const order = await repo.getOrder(orderId);
    if (!order || order.status !== 'dispatching' || !order.platform_due_at || this.holds(orderId)) return;
    await repo.setPlatformDue(orderId, null);
    await repo.appendEvent(orderId, 'liandong', 'platform_unacknowledged', { reason });
    await this.start({ ...order, platform_due_at: null });
  }

  /** Resolves when every write the machines posted so far is done (a caller reads the order next). */
  private written(): Promise<void> {
    return this.deps.writes.run(() => Promise.resolve());
  }

  /**
   * Starts dispatching a stored order to its lead unit, or to `unit` (a co-unit), or continues it
   * from its resume point. Resolves once the machine runs (its writes are then posted as they
   * happen), or once it waits for admission (maxLiveOrders machines run): it starts when its turn comes.
   */
  async start(order: OrderRow, resume?: OrderResume, unit?: CoUnit): Promise<void> {
    const key = unitKey(order.id, unit?.departmentId);
    if (this.holds(key)) return;
    if (this.admission.hasRoom()) return this.run(order, resume, unit);
    const pastDispatching = (resume?.status ?? 'dispatching') !== 'dispatching';
    this.admission.wait({ key, orderId: order.id, rank: rankOf(order), unit, resume, pastDispatching, withdrawn: false, acceptedVia: undefined, decided: false });
  }

  /** A unit's turn came: its rows are read again (admissionStep). Accepted while it waited: recorded as its machine would; a major incident's leaders are still told. */
  private async admit(w: WaitingUnit): Promise<void> {
    const repo = this.repoFor(w.orderId);
    const order = await repo.getOrder(w.orderId);
    const status = w.unit ? (await repo.coUnit(w.orderId, w.unit.departmentId))?.status : order?.status;
    w.decided = true;
    const step = order ? admissionStep(w, status) : 'skip';
    if (!order || step === 'skip') return;
    if (step === 'start') return this.run(order, w.resume, w.unit);
    // Another node's acceptance reads as http, as followStore tells a live machine.
    await repo.appendEvent(order.id, 'liandong', 'accepted', { via: w.acceptedVia ?? 'http', attemptId: null, ...(w.unit ? { departmentId: w.unit.departmentId } : {}) });
    if (w.unit) return;
    await this.onAccepted(order.id);
    if (order.major === 1 && !w.withdrawn) await this.run(order, { nextAttemptSeq: 1, cursor: FIRST_CURSOR, ...w.resume, status: 'accepted' });
  }

  /** Runs the unit's machine now (the admission said there is room). */
  private async run(order: OrderRow, resume?: OrderResume, unit?: CoUnit): Promise<void> {
    const key = unitKey(order.id, unit?.departmentId);
    if (this.live.has(key)) return;
    const { departments, language, writes } = this.deps;
    const repo = this.repoFor(order.id);
    const catalog = departments.current();
    const departmentId = unit?.departmentId ?? order.department_id;
    const department = catalog.departmentsById.get(departmentId);
    if (!department) {
      await repo.appendEvent(order.id, 'liandong', 'dispatch_failed', { reason: `department ${departmentId} no longer exists`, departmentId });
      if (unit) await repo.advanceUnitStatus(order.id, unit.departmentId, 'unacknowledged');
      else await repo.setStatus(order.id, 'unacknowledged');
      return;
    }
    const policy = departments.policyOf(department.id);
    const category = catalog.categoriesById.get(order.category);
    const contacts = contactsOnDuty(department, new Date(), this.deps.timezone).map((c) => ({ id: c.id, number: c.number }));
    const endpoint = (e: Endpoint) => ({ id: e.id, number: e.number });
    const orderLog = this.log.child({ orderId: order.id, departmentId });
    const live: LiveUnit = {
      key, order, departmentId, coUnit: unit?.departmentId, repo, log: orderLog,
      categoryName: category?.name[language] ?? order.category,
      departmentName: department.name[language],
      keyTimeoutSeconds: policy.keyTimeoutSeconds,
      media: new Map(), attempts: new Set(), actor: undefined,
    };
    this.live.add(live);
    this.renderAhead(live);
    const actor = createActor(this.machine, {
      input: {
        orderId: order.id,
        contacts,
        policy,
        major: order.major === 1,
        // The county leaders are notified once, by the lead unit's machine.
        leaders: unit ? [] : catalog.leaders.map(endpoint),
        commandCentre: endpoint(catalog.commandCentre),
        ...(resume ? { resume } : {}),
        ...(unit ? { coUnit: unit.departmentId } : {}),
      },
    });
    live.actor = actor;
    const saveResume = (point: OrderResume | null) => writes.post('resume point', () => (unit ? repo.saveUnitResume(order.id, unit.departmentId, point) : repo.saveResume(order.id, point)));
    let saved = '';
    actor.subscribe({
      // Saved in every status the machine is resumed in (its leader and alarm calls go on past the
      // chain); a withdrawn order is never resumed, its last point stays until the machine ends.
      next: (snapshot) => {
        if (snapshot.status !== 'active' || snapshot.context.status === 'cancelled') return;
        const point = JSON.stringify(resumePointOf(snapshot.context));
        if (point !== saved) {
          saved = point;
          saveResume(JSON.parse(point) as OrderResume);
        }
      },
      // Also called when the machine is stopped (stopAll, abandon): then it did not finish, and its
      // resume point stays for the restart (or the node that takes the order over).
      complete: () => {
        this.live.remove(key);
        this.settle(key);
        const { status, output } = actor.getSnapshot();
        if (status === 'done') {
          saveResume(null);
          orderLog.info({ output }, 'dispatch finished');
        } else orderLog.debug('dispatch stopped here; its resume point is kept');
        this.releaseIfDone(order.id);
        this.admission.pump();
      },
      error: (err: unknown) => {
        this.live.remove(key);
        this.settle(key);
        writes.post('dispatch_crashed event', () => repo.appendEvent(order.id, 'liandong', 'dispatch_crashed', { reason: err instanceof Error ? err.message : String(err), departmentId }));
        orderLog.error({ err }, 'order machine crashed');
        this.releaseIfDone(order.id);
        this.admission.pump();
      },
    });
    actor.start();
  }

  /**
   * After a restart: every order still dispatching continues from its saved resume point, and so
   * does one accepted or unacknowledged whose machine was still calling (leaders, the alarm). Its
   * attempts that were live are ended as `interrupted` (their channels hung up if Asterisk still
   * has them) and never placed again: new attempts get new ids, so nobody is called twice for
   * one attempt. Returns how many orders were resumed.
   */
  async resumeAll(): Promise<number> {
    const { repo, telephony } = this.deps;
    // What this process posted (a machine that just ended clears its resume point) is read back committed.
    await this.written();
    const orders = (await repo.resumableOrders()).filter((o) => !this.holds(o.id));
    const coUnits = (await repo.resumableCoUnits()).filter((u) => !this.holds(unitKey(u.order_id, u.department_id)));
    // Every call left open, also of orders no longer dispatching (an acceptance committed while
    // its confirmation played, a leader's call after the order was accepted): ended, hung up.
    const liveOrders = new Set(this.live.keys().map(orderOfKey));
    const open = (await repo.allOpenAttempts()).filter((a) => !liveOrders.has(a.order_id));
    if (orders.length === 0 && coUnits.length === 0 && open.length === 0) return 0;
    const present = new Set(await telephony.listChannelIds());
    await reconcileOpenAttempts(repo, open, async (id) => {
      if (!present.has(id)) return false;
      await telephony.hangup(id);
      return true;
    }, 'service restarted during the call');
    await this.resumeOrders(orders, coUnits);
    this.log.info({ resumed: orders.length, coUnits: coUnits.length }, 'resumed dispatching orders after restart');
    return orders.length + coUnits.length;
  }

  /**
   * Cluster: this node took the order over from a node that stopped renewing its lease. The calls
   * that node left open are hung up where they live (hangUpLeft: its Asterisk if it still answers)
   * and ended like a restart ends them; the order goes on from its resume point with new attempt ids.
   */
  async takeOver(orderId: string, takeover: Takeover, hangUpLeft: (channelId: string) => Promise<boolean>): Promise<void> {
    if (this.live.holdsOrder(orderId) || this.admission.holdsOrder(orderId)) return;
    const repo = this.repoFor(orderId);
    const order = await repo.getOrder(orderId);
    if (!order) return;
    const open = await repo.openAttempts(orderId);
    await reconcileOpenAttempts(repo, open, hangUpLeft, `node ${takeover.previousOwner} stopped during the call`);
    const lead = resumable(order) ? [order] : [];
    const coUnits = (await repo.coUnits(orderId)).filter(resumable);
    await repo.appendEvent(orderId, 'liandong', 'order_taken_over', { from: takeover.previousOwner, epoch: takeover.lease.epoch, openAttempts: open.length });
    await this.resumeOrders(lead, coUnits);
    this.releaseIfDone(orderId);
  }

  /**
   * Cluster: this node lost these orders' leases (or all of them): their machines stop, their calls
   * on this node's Asterisk are hung up; the node that takes them over writes what happened.
   */
  async abandon(orderIds: readonly string[] | 'all'): Promise<void> {
    const lost = (id: string) => orderIds === 'all' || orderIds.includes(id);
    // Waiting ones first: a stopped machine admits the next, which must not be a lost one.
    this.admission.withdraw((w) => lost(w.orderId));
    for (const unit of this.live.values()) {
      if (!lost(orderOfKey(unit.key))) continue;
      unit.actor?.stop();
      this.live.remove(unit.key);
    }
    for (const [id, timer] of [...this.platformTimers]) {
      if (!lost(id)) continue;
      clearTimeout(timer);
      this.platformTimers.delete(id);
    }
    const mine = (await this.deps.telephony.listChannelIds()).filter((c) => lost(c.replace(/-(u\d+-)?a\d+$/, '')));
    for (const channel of mine) await this.deps.telephony.hangup(channel);
    this.log.warn({ orders: orderIds === 'all' ? 'all' : orderIds.length, hungUp: mine.length }, 'orders abandoned: this node lost their leases');
  }

  /**
   * Cluster: a request taken by another node may have cancelled an order running here, or accepted
   * it through feedback: its machines here are told (within one poll period, TTL/3).
   */
  async followStore(): Promise<void> {
    const waiting = this.admission.entries();
    const ids = [...new Set([...this.live.keys(), ...waiting.map((w) => w.key)].map(orderOfKey))];
    const { cancelled, acceptedElsewhere } = await this.deps.repo.settledElsewhere(ids);
    // Told once: the rows stay as they are on every later poll, and a machine that goes on (a major
    // order's leaders) would record each repeat as a late acceptance or an ignored cancel.
    for (const { key, actor } of this.live.values()) {
      const status = actor?.getSnapshot().context.status;
      if (cancelled.has(key)) {
        if (status === 'dispatching' || status === 'unacknowledged') actor?.send({ type: 'CANCEL', reason: 'cancelled through another node' });
      } else if (acceptedElsewhere.has(key) && status === 'dispatching') actor?.send({ type: 'ACCEPTED_ELSEWHERE', source: 'http' });
    }
    // Waiting ones are never started: a cancelled one leaves the queue, an accepted one is recorded so now.
    for (const w of waiting) {
      if (this.admission.get(w.key)?.decided !== false) continue; // admitted meanwhile: its own read, or the next poll, sees it
      if (cancelled.has(w.key) && this.admission.withdraw((x) => x.key === w.key).length > 0) this.releaseIfDone(w.orderId);
      else if (acceptedElsewhere.has(w.key)) await this.acceptedElsewhere(w.orderId, 'http', w.unit?.departmentId);
    }
  }

  /** Runs the order's machines here from their resume points (after a restart or a takeover). */
  private async resumeOrders(orders: readonly OrderRow[], coUnits: readonly CoUnitRow[]): Promise<void> {
    for (const order of orders) {
      const repo = this.repoFor(order.id);
      // Still waiting on its platform: the wait goes on (or ends now if it passed while stopped).
      if (order.platform_due_at && !order.resume) {
        this.armPlatformTimer(order.id, Date.parse(order.platform_due_at));
        continue;
      }
      const saved = order.resume ? (JSON.parse(order.resume) as OrderResume) : undefined;
      const nextAttemptSeq = Math.max(saved?.nextAttemptSeq ?? 1, (await this.deps.repo.maxSeq(order.id)) + 1);
      const point = settledPoint({ ...(saved ?? { cursor: FIRST_CURSOR }), nextAttemptSeq }, order.status, await ownAcks(repo, order.id, order.department_id, order.department_id));
      await repo.appendEvent(order.id, 'liandong', 'dispatch_resumed', { nextAttemptSeq, ...pastDispatching(point) });
      await this.start(order, point);
    }
    // Each co-unit still dispatching continues its own chain from its own resume point.
    for (const row of coUnits) {
      const repo = this.repoFor(row.order_id);
      const order = await repo.getOrder(row.order_id);
      if (!order) continue;
      const saved = row.resume ? (JSON.parse(row.resume) as OrderResume) : undefined;
      const nextAttemptSeq = Math.max(saved?.nextAttemptSeq ?? firstSeqOfUnit(row.unit_index), (await repo.maxSeq(order.id, row.unit_index)) + 1);
      const point = settledPoint({ ...(saved ?? { cursor: FIRST_CURSOR }), nextAttemptSeq }, row.status, await ownAcks(repo, order.id, row.department_id, order.department_id));
      await repo.appendEvent(order.id, 'liandong', 'dispatch_resumed', { nextAttemptSeq, ...pastDispatching(point), departmentId: row.department_id });
      await this.start(order, point, coUnitOf(row));
    }
  }

  /** The order's repository: over its lease's fenced store in cluster mode, else the plain one. */
  private repoFor(orderId: string): OrderRepository {
    return this.deps.ownership ? this.deps.repo.over(this.deps.ownership.fenced('order', orderId)) : this.deps.repo;
  }

  /** Cluster: nothing of the order runs here any more → its lease is released after its last writes. */
  private releaseIfDone(orderId: string): void {
    const ownership = this.deps.ownership;
    if (!ownership) return;
    if (this.live.holdsOrder(orderId) || this.admission.holdsOrder(orderId) || this.platformTimers.has(orderId)) return;
    this.deps.writes.post(`release order ${orderId}`, () => ownership.release('order', orderId));
  }

  /**
   * Tells a live order (its lead unit, or co-unit `coUnit`) it was accepted through another way
   * (feedback, inbound line). It does not wait for the writes its machine posts in answer: the
   * feedback line and reminder calls record feedback inside a queued write (writes.run), which
   * those writes queue behind. The acceptance itself is committed by the caller before this.
   */
  async acceptedElsewhere(orderId: string, source: 'http' | 'inbound', coUnit?: string): Promise<void> {
    const key = unitKey(orderId, coUnit);
    // Waiting for a machine: admitted at once, it records the acceptance and places no dispatch call.
    const waiting = this.admission.get(key);
    if (waiting && !waiting.decided) {
      waiting.acceptedVia = source;
      await this.admission.admitNow(key);
      return;
    }
    const actor = this.live.get(key)?.actor;
    if (actor) {
      actor.send({ type: 'ACCEPTED_ELSEWHERE', source });
      return;
    }
    if (coUnit !== undefined) return;
    // Not being phoned (a normal order waiting on its platform): no call will be placed.
    const timer = this.platformTimers.get(orderId);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.platformTimers.delete(orderId);
      const repo = this.repoFor(orderId);
      await repo.setPlatformDue(orderId, null);
      await repo.appendEvent(orderId, 'liandong', 'accepted', { via: source, attemptId: null });
      await this.onAccepted(orderId);
      this.releaseIfDone(orderId);
    }
  }

  /** True while a normal order waits for its platform acknowledgement. */
  isAwaitingPlatform(orderId: string): boolean {
    return this.platformTimers.has(orderId);
  }

  /**
   * Withdraws the order: every unit still being phoned is asked to stop. True if the lead's
   * machine was live. Resolves when what the machines wrote in answer is stored, so the caller
   * (the cancel route) reads the cancelled order; never call it inside a queued write (it would
   * wait for itself).
   */
  async cancel(orderId: string, reason: string): Promise<boolean> {
    clearTimeout(this.platformTimers.get(orderId));
    this.platformTimers.delete(orderId);
    // Units waiting for a machine never start: the lead's cancellation is written by the caller, a co-unit's below.
    this.admission.withdraw((w) => w.orderId === orderId);
    for (const unit of await this.deps.repo.coUnits(orderId)) {
      const coActor = this.live.get(unitKey(orderId, unit.department_id))?.actor;
      if (coActor) coActor.send({ type: 'CANCEL', reason });
      else if (unit.status === 'dispatching') await this.deps.repo.advanceUnitStatus(orderId, unit.department_id, 'cancelled');
    }
    const actor = this.live.get(orderId)?.actor;
    actor?.send({ type: 'CANCEL', reason });
    await this.written();
    this.releaseIfDone(orderId);
    return actor !== undefined;
  }

  /** Stops every live machine (their calls are left to the restart reconciliation). */
  stopAll(): void {
    // Waiting ones first (a stopped machine would admit the next); they stay dispatching in the store.
    const waiting = this.admission.clear();
    if (waiting > 0) this.log.info({ waiting }, 'orders waiting for admission at shutdown; the restart resumes them');
    for (const unit of this.live.values()) {
      unit.actor?.stop();
      this.live.remove(unit.key);
    }
    for (const timer of this.platformTimers.values()) clearTimeout(timer);
    this.platformTimers.clear();
  }
}
