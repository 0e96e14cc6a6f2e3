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
  type SurveyQuestion,
} from '../../machines/survey-call.machine.js';
import type { WriteQueue } from '../db/write-queue.js';
import { pacedCall } from '../dispatch/pacing.js';
import type { Logger } from '../logging.js';
import type { Prompts } from '../prompts/index.js';
import { callEventsActor, dialActor, hangUpRequest } from '../telephony/call-actors.js';
import type { MediaUri, TelephonyPort } from '../telephony/port.js';
import type { SurveyRepository } from './survey-repository.js';

export interface SurveyEffectDeps {
  readonly telephony: TelephonyPort;
  readonly prompts: Prompts;
  readonly surveys: SurveyRepository;
  readonly logger: Logger;
  /** Writes the machine's actions cannot wait for (answered, keys) go here, in order; answers are awaited through it. */
  readonly writes: WriteQueue;
}

export interface SurveyCallContext {
  readonly orderId: string;
  /** The day the case was reported, for the greeting (which names nothing else about the case). */
  readonly incidentAt: Date;
}

interface SurveyMedia {
  readonly greeting: MediaUri[];
  readonly questions: Readonly<Record<SurveyQuestion, MediaUri[]>>;
  readonly invalid: MediaUri[];
  readonly thanks: MediaUri[];
  readonly optedOut: MediaUri[];
  readonly goodbye: MediaUri[];
}

/** Milliseconds between keys; the questions take one key. */
const INTER_DIGIT_TIMEOUT_MS = 3000;

export function provideSurveyCall(deps: SurveyEffectDeps, call: SurveyCallContext) {
  const { telephony, prompts, surveys, writes } = deps;
  const log = (attemptId: string) => deps.logger.child({ orderId: call.orderId, attemptId, channelId: attemptId });

  // Everything the call may play, rendered (or taken from the cache) while it waits for its line,
  // so the citizen hears the greeting as soon as they answer. Rendered once per survey call.
  let rendering: Promise<SurveyMedia> | undefined;
  const mediaOf = (): Promise<SurveyMedia> => {
    rendering ??= renderSurvey();
    return rendering;
  };
  async function renderSurvey(): Promise<SurveyMedia> {
    const [greeting, attitude, speed, quality, invalid, thanks, optedOut, goodbye] = await Promise.all([
      prompts.media('survey-greeting', { date: call.incidentAt }),
      prompts.media('survey-attitude'),
      prompts.media('survey-speed'),
      prompts.media('survey-quality'),
      prompts.media('survey-invalid'),
      prompts.media('survey-thanks'),
      prompts.media('survey-opted-out'),
      prompts.media('goodbye'),
    ]);
    return { greeting, questions: { attitude, speed, quality }, invalid, thanks, optedOut, goodbye };
  }

  async function playGreeting(input: PlayGreetingInput): Promise<GreetingOutcome> {
    const media = (await mediaOf()).greeting;
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
    const all = await mediaOf();
    const invalid = input.part === 'invalid_then_question' ? all.invalid : [];
    const question = all.questions[input.question];
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

  const hangUp = hangUpRequest(() => telephony, log);

  // Waits for a line of the trunk before the call (and its ring timer) starts.
  return pacedCall(telephony, surveyCallMachine.provide({
    actors: {
      dial: dialActor(() => telephony, hangUp),
      callEvents: callEventsActor<SurveyCallEvent>(() => telephony),
      playGreeting: fromPromise<GreetingOutcome, PlayGreetingInput>(({ input }) => playGreeting(input)),
      askQuestion: fromPromise<QuestionOutcome, AskQuestionInput>(({ input }) => askQuestion(input)),
      // Committed (after the keys posted before them) before the next question is asked: the
      // machine goes on only when this promise resolves.
      commitAnswer: fromPromise<void, CommitAnswerInput>(({ input }) => writes.run(() => surveys.commitAnswer(input.surveyId, input.attemptId, input.question, input.answer))),
      commitOptOut: fromPromise<void, CommitOptOutInput>(({ input }) => writes.run(() => surveys.commitOptOut(input.surveyId, input.attemptId))),
      playClosing: fromPromise<void, PlayClosingInput>(async ({ input }) => {
        const all = await mediaOf();
        const media = [...(input.kind === 'thanks' ? all.thanks : all.optedOut), ...all.goodbye];
        const played = await telephony.play(input.attemptId, media, { bargeIn: false });
        if (played.status === 'failed') throw new Error(`closing failed: ${played.reason}`);
      }),
    },
    actions: {
      hangUp: (_, p) => hangUp(p.attemptId),
      recordAnswered: (_, p) => {
        writes.post('survey call answered', () => surveys.markAnswered(p.attemptId, p.at));
        log(p.attemptId).info('survey call answered');
      },
      recordKey: (_, p) => {
        writes.post('survey key', () => surveys.event(call.orderId, 'survey_key', { attemptId: p.attemptId, question: p.question, key: p.key, meaning: p.meaning }));
      },
    },
  }), (input, endedAt) => ({ result: 'failed' as const, reason: 'stopped while waiting for a free line; no call was placed', answers: input.answered, endedAt }), {
    prepare: () => mediaOf().then(() => undefined),
    whenFailed: (input, endedAt, reason) => ({ result: 'failed' as const, reason: `prompts could not be rendered: ${reason}; no call was placed`, answers: input.answered, endedAt }),
  });
}
