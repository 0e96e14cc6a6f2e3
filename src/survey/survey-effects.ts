// Real effects of one survey call, given to the pure survey-call machine with .provide().
import { fromPromise } from 'xstate';
import {
  surveyCallMachine,
  type SurveyCallEvent,
  type AskQuestionInput,
  type CommitAnswerInput,
  type CommitOptOutInput,
  type GreetingOutcome,
  type PlayClosingInput,
  type PlayGreetingInput,
  type QuestionOutcome,
} from '../../machines/survey-call.machine.js';
import { pacedCall } from '../dispatch/pacing.js';
import type { Logger } from '../logging.js';
import type { Prompts } from '../prompts/index.js';
import { callEventsActor, originateActor } from '../telephony/call-actors.js';
import type { TelephonyPort } from '../telephony/port.js';
import type { SurveyRepository } from './survey-repository.js';

export interface SurveyEffectDeps {
  readonly telephony: TelephonyPort;
  readonly prompts: Prompts;
  readonly surveys: SurveyRepository;
  readonly logger: Logger;
}

export interface SurveyCallContext {
  readonly orderId: string;
  /** Spoken category of the case and the day it was reported, for the greeting. */
  readonly categoryName: string;
  readonly incidentAt: Date;
}

/** Milliseconds between keys; the questions take one key. */
const INTER_DIGIT_TIMEOUT_MS = 3000;

export function provideSurveyCall(deps: SurveyEffectDeps, call: SurveyCallContext) {
  const { telephony, prompts, surveys } = deps;
  const log = (attemptId: string) => deps.logger.child({ orderId: call.orderId, attemptId, channelId: attemptId });

  async function playGreeting(input: PlayGreetingInput): Promise<GreetingOutcome> {
    const media = await prompts.media('survey-greeting', { category: call.categoryName, date: call.incidentAt });
    const played = await telephony.play(input.attemptId, media, { bargeIn: true });
    if (played.status === 'failed') throw new Error(`greeting failed: ${played.reason}`);
    if (played.status === 'hangup') return { status: 'hangup' };
    // A key that interrupted the greeting answers the first open question.
    if (played.status === 'interrupted') {
      const key = await telephony.collect(input.attemptId, { maxDigits: 1, firstDigitTimeoutMs: 100, interDigitTimeoutMs: 100 });
      return key.status === 'hangup' && !key.digits ? { status: 'hangup' } : { status: 'key', key: key.digits.slice(0, 1) || played.key };
    }
    return { status: 'finished' };
  }

  async function askQuestion(input: AskQuestionInput): Promise<QuestionOutcome> {
    const invalid = input.part === 'invalid_then_question' ? await prompts.media('survey-invalid') : [];
    const question = await prompts.media(`survey-${input.question}`);
    const result = await telephony.prompt(input.attemptId, [...invalid, ...question], {
      maxDigits: 1,
      firstDigitTimeoutMs: input.keyTimeoutSeconds * 1000,
      interDigitTimeoutMs: INTER_DIGIT_TIMEOUT_MS,
    });
    if (result.status === 'complete') return { status: 'key', key: result.digits.slice(0, 1) };
    if (result.status === 'timeout') return { status: 'timeout' };
    if (result.status === 'hangup') return { status: 'hangup' };
    throw new Error(`question failed: ${result.reason}`);
  }

  // Waits for a line of the trunk before the call (and its ring timer) starts.
  return pacedCall(telephony, surveyCallMachine.provide({
    actors: {
      originate: originateActor(telephony),
      callEvents: callEventsActor<SurveyCallEvent>(telephony),
      playGreeting: fromPromise<GreetingOutcome, PlayGreetingInput>(({ input }) => playGreeting(input)),
      askQuestion: fromPromise<QuestionOutcome, AskQuestionInput>(({ input }) => askQuestion(input)),
      // Synchronous SQLite commits: durable before the next question is asked.
      commitAnswer: fromPromise<void, CommitAnswerInput>(({ input }) => Promise.resolve(surveys.commitAnswer(input.surveyId, input.attemptId, input.question, input.answer))),
      commitOptOut: fromPromise<void, CommitOptOutInput>(({ input }) => Promise.resolve(surveys.commitOptOut(input.surveyId, input.attemptId))),
      playClosing: fromPromise<void, PlayClosingInput>(async ({ input }) => {
        const media = [...(await prompts.media(input.kind === 'thanks' ? 'survey-thanks' : 'survey-opted-out')), ...(await prompts.media('goodbye'))];
        const played = await telephony.play(input.attemptId, media, { bargeIn: false });
        if (played.status === 'failed') throw new Error(`closing failed: ${played.reason}`);
      }),
    },
    actions: {
      hangUp: (_, p) => {
        telephony.hangup(p.attemptId).catch((err: unknown) => log(p.attemptId).warn({ err: String(err) }, 'hangup request failed; the call limit will end the attempt'));
      },
      recordAnswered: (_, p) => {
        surveys.markAnswered(p.attemptId, p.at);
        log(p.attemptId).info('survey call answered');
      },
      recordKey: (_, p) => {
        surveys.event(call.orderId, 'survey_key', { attemptId: p.attemptId, question: p.question, key: p.key, meaning: p.meaning });
      },
    },
  }), (input, endedAt) => ({ result: 'failed' as const, reason: 'stopped while waiting for a free line; no call was placed', answers: input.answered, endedAt }));
}
