// Schedules and places the three-satisfactions callbacks. Due times live in the store (moved into
// the calling window when stored), a timer wakes for the next one and takes the due surveys (one
// conditional UPDATE: a survey is called once even with several nodes), and each call runs the
// pure survey-call machine with real effects. Retries, dispositions, flags and follow-ups are here.
import { createActor } from 'xstate';
import { parseWindow, scheduleAt, type CallingWindow } from '../../machines/calling-window.js';
import type { SurveyAnswers, SurveyCallOutput } from '../../machines/survey-call.machine.js';
import type { Config } from '../config.js';
import type { WriteQueue } from '../db/write-queue.js';
import type { DepartmentStore } from '../departments/store.js';
import { HttpError } from '../http/errors.js';
import type { Logger } from '../logging.js';
import type { OrderRepository } from '../orders/order-repository.js';
import type { Prompts } from '../prompts/index.js';
import type { TelephonyPort } from '../telephony/port.js';
import { callbackRegister, PRIVACY_EVENT, registerCsv, type RegisterFilter } from './callback-register.js';
import { provideSurveyCall } from './survey-effects.js';
import { inboundPort } from './inbound-survey.js';
import { QUESTIONS, type Disposition, type SurveyKind, type SurveyRepository, type SurveyRow } from './survey-repository.js';

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
}

/** Surveys started per wake-up; the rest wait for the next one (a few seconds later). */
const MAX_CALLS_PER_WAKE = 10;
/** Longest sleep between checks, ms, so a clock change or a missed timer is caught up. */
const MAX_SLEEP_MS = 60_000;

export class SurveyService {
  private readonly window: CallingWindow;
  private readonly live = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly log: Logger;

  constructor(private readonly deps: SurveyServiceDeps) {
    const { window } = deps.config.survey;
    this.window = parseWindow(window.from, window.to, deps.config.timezone);
    this.log = deps.logger.child({ component: 'survey' });
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

  /** Starts the timer loop; surveys left `calling` by a stopped service are rescheduled first. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const leftovers: string[] = [];
    for (const s of await this.deps.surveys.calling()) {
      for (const a of await this.deps.surveys.openAttempts(s.id)) {
        await this.deps.surveys.endAttempt(a.id, { result: 'interrupted', reason: 'service restarted during the call', endedAt: Date.now() });
        leftovers.push(a.id);
      }
      await this.settle(s, { result: 'interrupted', answers: answersOf(s), endedAt: Date.now() });
    }
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

  isLive(surveyId: string): boolean {
    return this.live.has(surveyId);
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
    for (const survey of await this.deps.surveys.claimDue(Date.now(), MAX_CALLS_PER_WAKE)) await this.call(survey);
  }

  /**
   * A citizen calling in (the feedback line, matched by caller id, or the survey line, by order
   * code) answers their open survey on this inbound channel: the same machine and questions,
   * recorded as an attempt `via: inbound`. False when there is no open survey (or it is being called now).
   */
  async answerInbound(channelId: string, by: { number: string } | { orderId: string }, answered: boolean, callerNumber: string): Promise<boolean> {
    const survey = await this.deps.surveys.openSurvey(by);
    if (!survey) return false;
    return this.call(survey, { channelId, answered, callerNumber });
  }

  /**
   * Starts the survey's call (outbound: `survey` was just taken by claimDue; inbound: read as open).
   * False when it is not called: live here already, opted out, or taken by another call meanwhile.
   */
  private async call(survey: SurveyRow, inbound?: { channelId: string; answered: boolean; callerNumber: string }): Promise<boolean> {
    const { surveys, orders } = this.deps;
    if (this.live.has(survey.id)) return false;
    // Held from here, so a second inbound call for the same survey on this node waits for nothing.
    this.live.add(survey.id);
    let attemptId: string | undefined;
    try {
      const order = await orders.getOrder(survey.order_id);
      if (!order) {
        this.log.warn({ surveyId: survey.id, orderId: survey.order_id }, 'survey of an unknown order not called');
        return false;
      }
      if (await surveys.isOptedOut(survey.number)) {
        await this.finish(survey, 'opted_out');
        return false;
      }
      attemptId = await surveys.startAttempt(survey, inbound ? 'inbound' : 'outbound', inbound?.callerNumber);
      if (attemptId === undefined) return false;
      this.run(survey, order, attemptId, inbound);
      return true;
    } finally {
      if (attemptId === undefined) this.live.delete(survey.id);
    }
  }

  /** Runs the call machine of a started attempt; what follows its end is written in order after the machine's own writes. */
  private run(survey: SurveyRow, order: { id: string; created_at: string }, attemptId: string, inbound?: { channelId: string; answered: boolean }): void {
    const { config } = this.deps;
    const effects = inbound ? { ...this.deps, telephony: inboundPort(this.deps.telephony, attemptId, inbound.channelId, inbound.answered) } : this.deps;
    const machine = provideSurveyCall(effects, {
      orderId: order.id,
      incidentAt: new Date(order.created_at),
    });
    const actor = createActor(machine, {
      input: {
        surveyId: survey.id,
        attemptId,
        number: survey.number,
        ringTimeoutSeconds: config.survey.ringTimeoutSeconds,
        keyTimeoutSeconds: config.survey.keyTimeoutSeconds,
        answered: answersOf(survey),
      },
    });
    const ended = (end: AttemptEnd, output: SurveyCallOutput) => {
      this.afterCall(survey, attemptId, end, output)
        .catch((err: unknown) => this.log.error({ err, surveyId: survey.id, attemptId }, 'recording the end of a survey call failed'))
        .finally(() => this.wake());
    };
    actor.subscribe({
      complete: () => {
        const output = actor.getSnapshot().output;
        this.live.delete(survey.id);
        if (output) ended({ result: output.result, reason: output.reason, answeredAt: output.answeredAt, endedAt: output.endedAt, cause: output.cause }, output);
      },
      error: (err: unknown) => {
        this.live.delete(survey.id);
        const reason = err instanceof Error ? err.message : String(err);
        this.log.error({ err, surveyId: survey.id }, 'survey call crashed');
        const endedAt = Date.now();
        ended({ result: 'failed', reason: `survey call crashed: ${reason}`, endedAt }, { result: 'failed', reason, answers: answersOf(survey), endedAt });
      },
    });
    actor.start();
  }

  /**
   * The attempt's end, after every write the call's actions posted (so the case reads in order),
   * then the survey's settlement.
   */
  private async afterCall(survey: SurveyRow, attemptId: string, end: AttemptEnd, output: SurveyCallOutput): Promise<void> {
    const { surveys, writes } = this.deps;
    await writes.run(() => surveys.endAttempt(attemptId, end));
    await this.settle((await surveys.get(survey.id)) ?? survey, output);
  }

  /** After an attempt: finished, or another try inside the window, or out of tries. */
  private async settle(survey: SurveyRow, output: SurveyCallOutput): Promise<void> {
    const answers = output.answers;
    const answeredAll = QUESTIONS.every((q) => answers[q] !== undefined);
    if (output.result === 'opted_out') return this.finish(survey, 'opted_out');
    if (output.result === 'completed' || answeredAll) return this.finish(survey, 'completed');
    if (survey.attempts < this.deps.config.survey.attempts) {
      const due = scheduleAt(this.window, Date.now() + this.deps.config.survey.retrySeconds * 1000);
      await this.deps.surveys.reschedule(survey.id, due);
      await this.deps.surveys.event(survey.order_id, 'survey_retry_scheduled', { surveyId: survey.id, result: output.result, dueAt: new Date(due).toISOString() });
      return;
    }
    await this.finish(survey, QUESTIONS.some((q) => answers[q] !== undefined) ? 'partial' : 'unreachable');
  }

  private async finish(survey: SurveyRow, disposition: Disposition): Promise<void> {
    const { surveys, orders, config } = this.deps;
    await surveys.finish(survey.id, disposition);
    await surveys.event(survey.order_id, 'survey_finished', { surveyId: survey.id, kind: survey.kind, disposition });
    await orders.advanceStatus(survey.order_id, 'surveyed');
    const row = await surveys.get(survey.id);
    if (!row) return;
    const unsatisfied = QUESTIONS.filter((q) => row[q] === 'unsatisfied');
    if (unsatisfied.length === 0) return;
    await surveys.flag(row.order_id, row.id, `not satisfied: ${unsatisfied.join(', ')}`);
    const rule = config.survey.followUpRule;
    const wantsFollowUp = row.kind === 'callback' && (rule === 'any_unsatisfied' || (rule === 'quality_unsatisfied' && row.quality === 'unsatisfied'));
    if (wantsFollowUp) await this.scheduleForOrder(row.order_id, 'follow_up', config.survey.followUpDelaySeconds);
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

function answersOf(s: SurveyRow): SurveyAnswers {
  const out: SurveyAnswers = {};
  for (const q of QUESTIONS) {
    const a = s[q];
    if (a) out[q] = a;
  }
  return out;
}
