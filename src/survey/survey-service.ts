// Schedules and places the three-satisfactions callbacks. Due times live in the store (moved into
// the calling window when stored), a timer wakes for the next one and takes the due surveys (one
// conditional UPDATE: a survey is called once even with several nodes), and each call runs the
// pure survey-call machine with real effects. Retries, dispositions, flags and follow-ups are here.
// In a cluster each call is also a leased unit of work (survey-cluster.ts).
import { createActor, type Subscription } from 'xstate';
import { parseWindow, scheduleAt, type CallingWindow } from '../../machines/calling-window.js';
import type { SurveyCallOutput } from '../../machines/survey-call.machine.js';
import type { WorkOwnership } from '../cluster/ownership.js';
import type { Config } from '../config.js';
import type { WriteQueue } from '../db/write-queue.js';
import type { DepartmentStore } from '../departments/store.js';
import { HttpError } from '../http/errors.js';
import type { Logger } from '../logging.js';
import type { OrderRepository } from '../orders/order-repository.js';
import type { Prompts } from '../prompts/index.js';
import type { TelephonyPort } from '../telephony/port.js';
import { callbackRegister, PRIVACY_EVENT, registerCsv, type RegisterFilter } from './callback-register.js';
import { SurveyCalls } from './survey-effects.js';
import { inboundPort } from './inbound-survey.js';
import { SurveyUnits } from './survey-cluster.js';
import { answersOf, SurveyOutcomes } from './survey-outcome.js';
import type { SurveyKind, SurveyRepository, SurveyRow } from './survey-repository.js';

export interface SurveyServiceDeps {
  readonly config: Pick<Config, 'survey' | 'timezone' | 'language'>;
  readonly surveys: SurveyRepository;
  readonly orders: OrderRepository;
  readonly departments: DepartmentStore;
  readonly telephony: TelephonyPort;
  readonly prompts: Prompts;
  readonly logger: Logger;
  /** The service's shared queue: the call machine's actions post their writes here (survey-effects.ts). */
  readonly writes: WriteQueue;
  /**
   * Cluster mode (PostgreSQL, several nodes): each call is claimed as unit `survey:<id>`, written
   * through its fenced store and released at its end; calls of a node that stopped renewing are
   * taken over. Undefined (one node): a restart recovers every survey left `calling`.
   */
  readonly ownership?: WorkOwnership;
}

/** A call running on this node: its attempt (the channel id) and how to stop its machine without further writes. */
interface LiveCall {
  attemptId: string | undefined;
  abandon: (() => void) | undefined;
}

/** Surveys started per wake-up; the rest wait for the next one (a few seconds later). */
const MAX_CALLS_PER_WAKE = 10;
/** Longest sleep between checks, ms, so a clock change or a missed timer is caught up. */
const MAX_SLEEP_MS = 60_000;

export class SurveyService {
  private readonly window: CallingWindow;
  private readonly live = new Map<string, LiveCall>();
  private readonly units: SurveyUnits | undefined;
  private readonly outcomes: SurveyOutcomes;
  /** The survey-call machine with its effects, provided once, and the live state of each call. */
  private readonly calls: SurveyCalls;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly log: Logger;

  constructor(private readonly deps: SurveyServiceDeps) {
    const { window } = deps.config.survey;
    this.window = parseWindow(window.from, window.to, deps.config.timezone);
    this.log = deps.logger.child({ component: 'survey' });
    this.calls = new SurveyCalls({ telephony: deps.telephony, prompts: deps.prompts, writes: deps.writes, logger: this.log });
    this.outcomes = new SurveyOutcomes({
      config: deps.config, orders: deps.orders, window: this.window,
      scheduleFollowUp: (orderId, delaySeconds) => this.scheduleForOrder(orderId, 'follow_up', delaySeconds),
    });
    this.units = deps.ownership && new SurveyUnits(deps.ownership, deps.surveys, {
      recover: (repo, survey, hangUp) => this.outcomes.recover(repo, survey, hangUp, 'the node placing the call stopped during it'),
      abandon: (ids, reason) => this.abandon(ids, reason),
      hangUpLocal: (channelId) => this.hangUpLocal(channelId, 'could not hang up an orphaned survey call'),
      wake: () => this.wake(),
    }, deps.logger);
  }

  /** Schedules a callback (or follow-up) for the order, after `delaySeconds` and inside the window. */
  async scheduleForOrder(orderId: string, kind: SurveyKind, delaySeconds = this.deps.config.survey.delaySeconds) {
    const order = await this.deps.orders.getOrder(orderId);
    if (!order) throw new HttpError(404, 'order_not_found', `no order ${orderId}`);
    if (order.status === 'cancelled') throw new HttpError(409, 'order_cancelled', `order ${order.code} was cancelled`);
    if (order.callback === 0) throw new HttpError(409, 'callback_refused', `order ${order.code} is never called back (informants' privacy: callback false)`);
    const due = scheduleAt(this.window, Date.now() + delaySeconds * 1000);
    const { row, created } = await this.deps.surveys.schedule(orderId, kind, order.reporter_phone, due);
    if (created) this.wake();
    return { survey: await this.view(row), created };
  }

  /**
   * A case was completed: its callback is scheduled, or, for an order that is never called back
   * (informants' privacy), the register records it as `not_called (privacy)` (once).
   */
  async onOrderCompleted(orderId: string): Promise<void> {
    const order = await this.deps.orders.getOrder(orderId);
    if (!order) return;
    if (order.callback === 1) {
      await this.scheduleForOrder(orderId, 'callback');
      return;
    }
    if (!(await this.deps.orders.events(orderId)).some((e) => e.kind === PRIVACY_EVENT)) {
      await this.deps.surveys.event(orderId, PRIVACY_EVENT, { reason: 'callback false: the reporter is not called back' });
    }
  }

  /**
   * Starts the timer loop; surveys left `calling` by a stopped service are rescheduled first. In a
   * cluster those may be other nodes' live calls: only the ones whose lease ran out are taken over
   * (one at a time, by the ownership's poll), and orphans without a lease are found by its sweep.
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.units) {
      this.units.register();
      this.wake();
      return;
    }
    const leftovers: string[] = [];
    const later = (channelId: string) => {
      leftovers.push(channelId);
      return Promise.resolve();
    };
    for (const s of await this.deps.surveys.calling()) await this.outcomes.recover(this.deps.surveys, s, later, 'service restarted during the call');
    // Their channels may still be up in Asterisk (the citizen still hearing a question): hung up
    // once Asterisk answers, so no call is left behind; a channel already gone is no error.
    const hangUpLeftovers = () => {
      for (const id of leftovers) {
        this.deps.telephony.hangup(id).catch((err: unknown) => this.log.warn({ channelId: id, err: String(err) }, 'could not hang up a survey call left by a stopped service'));
      }
    };
    if (leftovers.length > 0 && this.deps.telephony.health().connected) hangUpLeftovers();
    else if (leftovers.length > 0) {
      const off = this.deps.telephony.onHealthChange((h) => {
        if (!h.connected) return;
        off();
        hangUpLeftovers();
      });
    }
    this.wake();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  register(filter: RegisterFilter) {
    return callbackRegister(this.deps.surveys.store.db, this.deps.departments.current(), this.deps.config.language, filter);
  }

  async registerCsv(filter: RegisterFilter): Promise<string> {
    return registerCsv(await this.register(filter), this.deps.config.language, this.deps.config.timezone);
  }

  async flags(limit: number, offset: number) {
    return {
      flags: (await this.deps.surveys.flags(limit, offset)).map((f) => ({
        id: f.id, orderId: f.order_id, surveyId: f.survey_id, reason: f.reason, createdAt: f.created_at, owner: f.owner, status: f.status, resolution: f.resolution,
      })),
    };
  }

  async forOrder(orderId: string) {
    return Promise.all((await this.deps.surveys.forOrder(orderId)).map((s) => this.view(s)));
  }

  /** Lost leases (cluster): the calls stop here without writing (the new owner reconciles them), their channels hung up. */
  private abandon(ids: readonly string[] | 'all', reason: string): void {
    for (const id of ids === 'all' ? [...this.live.keys()] : ids) {
      const call = this.live.get(id);
      if (!call) continue;
      this.live.delete(id);
      this.log.warn({ surveyId: id, attemptId: call.attemptId, reason }, 'survey call abandoned: its lease is lost');
      call.abandon?.();
      if (call.attemptId) void this.hangUpLocal(call.attemptId, 'could not hang up an abandoned survey call');
    }
  }

  /** Never rejects: a failure is logged (a channel already gone is no error worth more). */
  private async hangUpLocal(channelId: string, what: string): Promise<void> {
    try {
      await this.deps.telephony.hangup(channelId);
    } catch (err) {
      this.log.warn({ channelId, err: String(err) }, what);
    }
  }

  isLive(surveyId: string): boolean {
    return this.live.has(surveyId);
  }

  /** What this service holds for calls (0, 0 and 0 once every call has ended or been abandoned). */
  liveState(): { surveys: number; calls: number; traces: number } {
    return { surveys: this.live.size, ...this.calls.liveState() };
  }

  /** Re-arms the timer for the earliest due survey (now, if one is due). */
  wake(): void {
    if (!this.running) return;
    this.rearm().catch((err: unknown) => {
      // The store did not answer: try again after the longest sleep rather than never.
      this.log.error({ err }, 'could not read the next due survey');
      if (this.running) this.setTimer(MAX_SLEEP_MS);
    });
  }

  private async rearm(): Promise<void> {
    const next = await this.deps.surveys.nextDueAt();
    if (!this.running) return;
    this.setTimer(next === undefined ? MAX_SLEEP_MS : Math.min(Math.max(next - Date.now(), 0), MAX_SLEEP_MS));
  }

  /** One timer at a time: cleared right before it is set, after any await, so concurrent wakes leave one. */
  private setTimer(delay: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.tick().catch((err: unknown) => this.log.error({ err }, 'taking the due surveys failed')).finally(() => this.wake());
    }, delay);
  }

  private async tick(): Promise<void> {
    if (!this.running || !this.deps.telephony.health().connected) return;
    const units = this.units;
    if (units && !units.canOriginate()) return; // not renewing: another node calls them
    for (const survey of await this.deps.surveys.claimDue(Date.now(), MAX_CALLS_PER_WAKE)) {
      if (!units) {
        await this.call(survey, this.deps.surveys);
        continue;
      }
      let repo: SurveyRepository | undefined;
      try {
        repo = await units.claim(survey.id);
      } catch (err) {
        await units.putBack(survey, `claim failed: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      if (!repo) await units.putBack(survey, 'claim refused');
      else await this.call(survey, repo);
    }
  }

  /**
   * A citizen calling in (the feedback line, matched by caller id, or the survey line, by order
   * code) answers their open survey on this inbound channel: the same machine and questions,
   * recorded as an attempt `via: inbound`. False when there is no open survey (or it is being called now).
   */
  async answerInbound(channelId: string, by: { number: string } | { orderId: string }, answered: boolean, callerNumber: string): Promise<boolean> {
    const survey = await this.deps.surveys.openSurvey(by);
    if (!survey || this.live.has(survey.id)) return false;
    // Cluster: the node whose Asterisk has the citizen runs the survey, unless it is held elsewhere.
    const repo = this.units ? await this.units.claim(survey.id) : this.deps.surveys;
    if (!repo) return false;
    return this.call(survey, repo, { channelId, answered, callerNumber });
  }

  /**
   * Starts the survey's call (outbound: `survey` was just taken by claimDue; inbound: read as open).
   * False when it is not called: live here already, opted out, or taken by another call meanwhile.
   * `surveys`: the repository its writes go through (cluster: on the survey's fenced store).
   */
  private async call(survey: SurveyRow, surveys: SurveyRepository, inbound?: { channelId: string; answered: boolean; callerNumber: string }): Promise<boolean> {
    const { orders } = this.deps;
    // Live here already: that call holds the lease too (a claim by its holder is the same lease), so it is not released here.
    if (this.live.has(survey.id)) return false;
    // Held from here, so a second inbound call for the same survey on this node waits for nothing.
    const live: LiveCall = { attemptId: undefined, abandon: undefined };
    this.live.set(survey.id, live);
    let attemptId: string | undefined;
    try {
      const order = await orders.getOrder(survey.order_id);
      if (!order) {
        this.log.warn({ surveyId: survey.id, orderId: survey.order_id }, 'survey of an unknown order not called');
        return false;
      }
      if (await surveys.isOptedOut(survey.number)) {
        await this.outcomes.finish(surveys, survey, 'opted_out');
        return false;
      }
      if (this.units && !this.units.canOriginate()) {
        if (!inbound) await this.units.putBack(survey, 'this node stopped renewing its leases');
        return false;
      }
      attemptId = await surveys.startAttempt(survey, inbound ? 'inbound' : 'outbound', inbound?.callerNumber);
      if (attemptId === undefined) return false;
      // Its lease was lost while the attempt was being recorded: no call; the new owner ends the attempt.
      if (this.live.get(survey.id) !== live) return false;
      live.attemptId = attemptId;
      this.run(survey, surveys, live, order, attemptId, inbound);
      return true;
    } finally {
      if (attemptId === undefined) {
        if (this.live.get(survey.id) === live) this.live.delete(survey.id);
        if (this.units) await this.units.release(survey.id);
      }
    }
  }

  /** Runs the call machine of a started attempt; what follows its end is written in order after the machine's own writes. */
  private run(survey: SurveyRow, surveys: SurveyRepository, live: LiveCall, order: { id: string; created_at: string }, attemptId: string, inbound?: { channelId: string; answered: boolean }): void {
    const { config } = this.deps;
    const telephony = inbound ? inboundPort(this.deps.telephony, attemptId, inbound.channelId, inbound.answered) : this.deps.telephony;
    this.calls.add(attemptId, { surveyId: survey.id, orderId: order.id, incidentAt: new Date(order.created_at), surveys, telephony, via: inbound ? 'inbound' : 'outbound' });
    const actor = createActor(inbound ? this.calls.inbound : this.calls.outbound, {
      input: {
        surveyId: survey.id,
        attemptId,
        number: survey.number,
        ringTimeoutSeconds: config.survey.ringTimeoutSeconds,
        keyTimeoutSeconds: config.survey.keyTimeoutSeconds,
        answered: answersOf(survey),
      },
    });
    // Never rejects: a failure to record the end is logged. Released even then: the orphan sweep
    // finds the survey `calling` without a holder and reconciles it.
    const ended = async (end: AttemptEnd, output: SurveyCallOutput): Promise<void> => {
      try {
        await this.afterCall(surveys, survey, attemptId, end, output);
      } catch (err) {
        this.log.error({ err, surveyId: survey.id, attemptId }, 'recording the end of a survey call failed');
      } finally {
        await this.units?.release(survey.id);
        this.wake();
      }
    };
    const forget = () => {
      if (this.live.get(survey.id) === live) this.live.delete(survey.id);
    };
    const subscription: Subscription = actor.subscribe({
      complete: () => {
        const output = actor.getSnapshot().output;
        forget();
        if (output) this.calls.end(attemptId, output);
        else this.calls.drop(attemptId);
        if (output) void ended({ result: output.result, reason: output.reason, answeredAt: output.answeredAt, endedAt: output.endedAt, cause: output.cause }, output);
      },
      error: (err: unknown) => {
        forget();
        const reason = err instanceof Error ? err.message : String(err);
        this.log.error({ err, surveyId: survey.id }, 'survey call crashed');
        const endedAt = Date.now();
        const output: SurveyCallOutput = { result: 'failed', reason, answers: answersOf(survey), endedAt };
        this.calls.end(attemptId, output);
        void ended({ result: 'failed', reason: `survey call crashed: ${reason}`, endedAt }, output);
      },
    });
    // Lost lease: unsubscribed first, so stopping the machine records no end (the new owner does).
    live.abandon = () => {
      subscription.unsubscribe();
      actor.stop();
      this.calls.drop(attemptId);
    };
    actor.start();
  }

  /**
   * The attempt's end, after every write the call's actions posted (so the case reads in order),
   * then the survey's settlement.
   */
  private async afterCall(surveys: SurveyRepository, survey: SurveyRow, attemptId: string, end: AttemptEnd, output: SurveyCallOutput): Promise<void> {
    await this.deps.writes.run(() => surveys.endAttempt(attemptId, end));
    await this.outcomes.settle(surveys, (await surveys.get(survey.id)) ?? survey, output);
  }

  private async view(s: SurveyRow) {
    return {
      id: s.id,
      kind: s.kind,
      status: s.status,
      dueAt: s.due_at,
      attempts: (await this.deps.surveys.attempts(s.id)).map((a) => ({ id: a.id, seq: a.seq, via: a.via, startedAt: a.started_at, answeredAt: a.answered_at, endedAt: a.ended_at, result: a.result, reason: a.reason })),
      answers: { attitude: s.attitude, speed: s.speed, quality: s.quality },
      finishedAt: s.finished_at,
    };
  }
}

type AttemptEnd = Parameters<SurveyRepository['endAttempt']>[1];
