// Schedules and places the three-satisfactions callbacks. Due times live in SQLite (moved into
// the calling window when stored), a timer wakes for the next one, and each call runs the pure
// survey-call machine with real effects. Retries, dispositions, flags and follow-ups are here.
import { createActor } from 'xstate';
import { parseWindow, scheduleAt, type CallingWindow } from '../../machines/calling-window.js';
import type { SurveyAnswers, SurveyCallOutput } from '../../machines/survey-call.machine.js';
import type { Config } from '../config.js';
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
  scheduleForOrder(orderId: string, kind: SurveyKind, delaySeconds = this.deps.config.survey.delaySeconds) {
    const order = this.deps.orders.getOrder(orderId);
    if (!order) throw new HttpError(404, 'order_not_found', `no order ${orderId}`);
    if (order.status === 'cancelled') throw new HttpError(409, 'order_cancelled', `order ${order.code} was cancelled`);
    if (order.callback === 0) throw new HttpError(409, 'callback_refused', `order ${order.code} is never called back (informants' privacy: callback false)`);
    const due = scheduleAt(this.window, Date.now() + delaySeconds * 1000);
    const { row, created } = this.deps.surveys.schedule(orderId, kind, order.reporter_phone, due);
    if (created) this.wake();
    return { survey: this.view(row), created };
  }

  /**
   * A case was completed: its callback is scheduled, or, for an order that is never called back
   * (informants' privacy), the register records it as `not_called (privacy)` (once).
   */
  onOrderCompleted(orderId: string): void {
    const order = this.deps.orders.getOrder(orderId);
    if (!order) return;
    if (order.callback === 1) {
      this.scheduleForOrder(orderId, 'callback');
      return;
    }
    if (!this.deps.orders.events(orderId).some((e) => e.kind === PRIVACY_EVENT)) {
      this.deps.surveys.event(orderId, PRIVACY_EVENT, { reason: 'callback false: the reporter is not called back' });
    }
  }

  /** Starts the timer loop; surveys left `calling` by a stopped service are rescheduled first. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const leftovers: string[] = [];
    for (const s of this.deps.surveys.calling()) {
      for (const a of this.deps.surveys.openAttempts(s.id)) {
        this.deps.surveys.endAttempt(a.id, { result: 'interrupted', reason: 'service restarted during the call', endedAt: Date.now() });
        leftovers.push(a.id);
      }
      this.settle(s, { result: 'interrupted', answers: answersOf(s), endedAt: Date.now() });
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
    return callbackRegister(this.deps.surveys.db, this.deps.departments.current(), this.deps.config.language, filter);
  }

  registerCsv(filter: RegisterFilter): string {
    return registerCsv(this.register(filter), this.deps.config.language, this.deps.config.timezone);
  }

  flags(limit: number, offset: number) {
    return {
      flags: this.deps.surveys.flags(limit, offset).map((f) => ({
        id: f.id, orderId: f.order_id, surveyId: f.survey_id, reason: f.reason, createdAt: f.created_at, owner: f.owner, status: f.status, resolution: f.resolution,
      })),
    };
  }

  forOrder(orderId: string) {
    return this.deps.surveys.forOrder(orderId).map((s) => this.view(s));
  }

  isLive(surveyId: string): boolean {
    return this.live.has(surveyId);
  }

  /** Re-arms the timer for the earliest due survey (now, if one is due). */
  wake(): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    const next = this.deps.surveys.nextDueAt();
    const delay = next === undefined ? MAX_SLEEP_MS : Math.min(Math.max(next - Date.now(), 0), MAX_SLEEP_MS);
    this.timer = setTimeout(() => this.tick(), delay);
  }

  private tick(): void {
    if (this.deps.telephony.health().connected) {
      for (const survey of this.deps.surveys.due(Date.now(), MAX_CALLS_PER_WAKE)) this.call(survey);
    }
    this.wake();
  }

  /**
   * A citizen calling in (the feedback line, matched by caller id, or the survey line, by order
   * code) answers their open survey on this inbound channel: the same machine and questions,
   * recorded as an attempt `via: inbound`. False when there is no open survey (or it is being called now).
   */
  answerInbound(channelId: string, by: { number: string } | { orderId: string }, answered: boolean, callerNumber: string): boolean {
    const survey = this.deps.surveys.openSurvey(by);
    if (!survey || this.live.has(survey.id)) return false;
    this.call(survey, { channelId, answered, callerNumber });
    return true;
  }

  private call(survey: SurveyRow, inbound?: { channelId: string; answered: boolean; callerNumber: string }): void {
    const { surveys, orders, config } = this.deps;
    const order = orders.getOrder(survey.order_id);
    if (!order) return;
    if (surveys.isOptedOut(survey.number)) {
      this.finish(survey, 'opted_out');
      return;
    }
    const attemptId = surveys.startAttempt(survey, inbound ? 'inbound' : 'outbound', inbound?.callerNumber);
    this.live.add(survey.id);
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
    actor.subscribe({
      complete: () => {
        const output = actor.getSnapshot().output;
        this.live.delete(survey.id);
        if (!output) return;
        surveys.endAttempt(attemptId, { result: output.result, reason: output.reason, answeredAt: output.answeredAt, endedAt: output.endedAt, cause: output.cause });
        this.settle(surveys.get(survey.id) ?? survey, output);
        this.wake();
      },
      error: (err: unknown) => {
        this.live.delete(survey.id);
        const reason = err instanceof Error ? err.message : String(err);
        surveys.endAttempt(attemptId, { result: 'failed', reason: `survey call crashed: ${reason}`, endedAt: Date.now() });
        this.settle(surveys.get(survey.id) ?? survey, { result: 'failed', reason, answers: answersOf(survey), endedAt: Date.now() });
        this.log.error({ err, surveyId: survey.id }, 'survey call crashed');
      },
    });
    actor.start();
  }

  /** After an attempt: finished, or another try inside the window, or out of tries. */
  private settle(survey: SurveyRow, output: SurveyCallOutput): void {
    const answers = output.answers;
    const answeredAll = QUESTIONS.every((q) => answers[q] !== undefined);
    if (output.result === 'opted_out') return this.finish(survey, 'opted_out');
    if (output.result === 'completed' || answeredAll) return this.finish(survey, 'completed');
    if (survey.attempts < this.deps.config.survey.attempts) {
      const due = scheduleAt(this.window, Date.now() + this.deps.config.survey.retrySeconds * 1000);
      this.deps.surveys.reschedule(survey.id, due);
      this.deps.surveys.event(survey.order_id, 'survey_retry_scheduled', { surveyId: survey.id, result: output.result, dueAt: new Date(due).toISOString() });
      return;
    }
    this.finish(survey, QUESTIONS.some((q) => answers[q] !== undefined) ? 'partial' : 'unreachable');
  }

  private finish(survey: SurveyRow, disposition: Disposition): void {
    const { surveys, orders, config } = this.deps;
    surveys.finish(survey.id, disposition);
    surveys.event(survey.order_id, 'survey_finished', { surveyId: survey.id, kind: survey.kind, disposition });
    orders.advanceStatus(survey.order_id, 'surveyed');
    const row = surveys.get(survey.id);
    if (!row) return;
    const unsatisfied = QUESTIONS.filter((q) => row[q] === 'unsatisfied');
    if (unsatisfied.length === 0) return;
    surveys.flag(row.order_id, row.id, `not satisfied: ${unsatisfied.join(', ')}`);
    const rule = config.survey.followUpRule;
    const wantsFollowUp = row.kind === 'callback' && (rule === 'any_unsatisfied' || (rule === 'quality_unsatisfied' && row.quality === 'unsatisfied'));
    if (wantsFollowUp) this.scheduleForOrder(row.order_id, 'follow_up', config.survey.followUpDelaySeconds);
  }

  private view(s: SurveyRow) {
    return {
      id: s.id,
      kind: s.kind,
      status: s.status,
      dueAt: s.due_at,
      attempts: this.deps.surveys.attempts(s.id).map((a) => ({ id: a.id, seq: a.seq, via: a.via, startedAt: a.started_at, answeredAt: a.answered_at, endedAt: a.ended_at, result: a.result, reason: a.reason })),
      answers: { attitude: s.attitude, speed: s.speed, quality: s.quality },
      finishedAt: s.finished_at,
    };
  }
}

function answersOf(s: SurveyRow): SurveyAnswers {
  const out: SurveyAnswers = {};
  for (const q of QUESTIONS) {
    const a = s[q];
    if (a) out[q] = a;
  }
  return out;
}
