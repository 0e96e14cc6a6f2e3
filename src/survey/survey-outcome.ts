// What follows a survey call: the survey finished (disposition, flag, follow-up), or another try
// inside the window, or out of tries; and the same for a call cut short (a restart, or in a
// cluster a takeover of a node that stopped). Every write goes through the repository given, so a
// cluster node writes a survey's outcome through that survey's fenced store.
import { scheduleAt, type CallingWindow } from '../../machines/calling-window.js';
import type { SurveyAnswers, SurveyCallOutput } from '../../machines/survey-call.machine.js';
import type { Config } from '../config.js';
import type { OrderRepository } from '../orders/order-repository.js';
import { QUESTIONS, type Disposition, type SurveyRepository, type SurveyRow } from './survey-repository.js';

export interface SurveyOutcomeDeps {
  readonly config: Pick<Config, 'survey'>;
  readonly orders: OrderRepository;
  readonly window: CallingWindow;
  /** Schedules the follow-up survey: a survey (and unit) of its own, so through the service's own repository. */
  readonly scheduleFollowUp: (orderId: string, delaySeconds: number) => Promise<unknown>;
}

export class SurveyOutcomes {
  constructor(private readonly deps: SurveyOutcomeDeps) {}

  /** After an attempt: finished, or another try inside the window, or out of tries. */
  async settle(surveys: SurveyRepository, survey: SurveyRow, output: SurveyCallOutput): Promise<void> {
    const answers = output.answers;
    const answeredAll = QUESTIONS.every((q) => answers[q] !== undefined);
    if (output.result === 'opted_out') return this.finish(surveys, survey, 'opted_out');
    if (output.result === 'completed' || answeredAll) return this.finish(surveys, survey, 'completed');
    const { survey: config } = this.deps.config;
    if (survey.attempts < config.attempts) {
      const due = scheduleAt(this.deps.window, Date.now() + config.retrySeconds * 1000);
      await surveys.reschedule(survey.id, due);
      await surveys.event(survey.order_id, 'survey_retry_scheduled', { surveyId: survey.id, result: output.result, dueAt: new Date(due).toISOString() });
      return;
    }
    await this.finish(surveys, survey, QUESTIONS.some((q) => answers[q] !== undefined) ? 'partial' : 'unreachable');
  }

  async finish(surveys: SurveyRepository, survey: SurveyRow, disposition: Disposition): Promise<void> {
    const { orders, config } = this.deps;
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
    if (wantsFollowUp) await this.deps.scheduleFollowUp(row.order_id, config.survey.followUpDelaySeconds);
  }

  /**
   * A survey left `calling` by a call that was cut short: each open attempt hung up (hangUp: at
   * once, or later once Asterisk answers) and ended as interrupted, then the survey settled as an
   * interrupted call: answers already committed stay, the rest is asked on a retry if any is left.
   */
  async recover(surveys: SurveyRepository, survey: SurveyRow, hangUp: (channelId: string) => Promise<void>, reason: string): Promise<void> {
    for (const a of await surveys.openAttempts(survey.id)) {
      await hangUp(a.id);
      await surveys.endAttempt(a.id, { result: 'interrupted', reason, endedAt: Date.now() });
    }
    const now = (await surveys.get(survey.id)) ?? survey;
    await this.settle(surveys, now, { result: 'interrupted', answers: answersOf(now), endedAt: Date.now() });
  }
}

export function answersOf(s: SurveyRow): SurveyAnswers {
  const out: SurveyAnswers = {};
  for (const q of QUESTIONS) {
    const a = s[q];
    if (a) out[q] = a;
  }
  return out;
}
