// One "three satisfactions" callback (三满意回访) to a citizen: dial (the shared dial machine:
// originate, ring, hangup cause → result), greet once answered (naming the case), then ask the
// questions not yet answered, in order attitude, speed,
// quality: 1 satisfied, 2 not satisfied, * hear the question again, 9 (at any point) no more survey calls. Each answer is
// committed before the next question is asked; a hang-up part way keeps what was committed.
// Pure: every effect is a named actor or action provided by the composition root (src/) with
// `.provide()`; every timer is a named delay read from context. Time comes from the actor
// system's clock (see ./clock.ts).
import { and, assign, forwardTo, fromCallback, fromPromise, or, setup, stateIn } from 'xstate';
import type { HangupCause } from '../src/telephony/port.js';
import { clockNow, reasonOf } from './clock.js';
import { dialInputOf, dialMachine, type DialOutput, type DialResult } from './dial.machine.js';

export type SurveyQuestion = 'attitude' | 'speed' | 'quality';
/** The order the questions are asked in. */
export const SURVEY_QUESTIONS: readonly SurveyQuestion[] = ['attitude', 'speed', 'quality'];
/** `no_answer`: asked twice without a valid key (wrong key or none). */
export type SurveyAnswer = 'satisfied' | 'unsatisfied' | 'no_answer';
export type SurveyAnswers = { [Q in SurveyQuestion]?: SurveyAnswer };
/** What `askQuestion` says: the question; "invalid key" then the question; the question again after no key; the question again on `*`. */
export type QuestionPart = 'question' | 'invalid_then_question' | 'again' | 'repeat';
export type ClosingKind = 'thanks' | 'opted_out';
export type SurveyCallResult = 'completed' | 'partial' | 'opted_out' | 'hangup' | 'no_answer' | 'busy' | 'failed' | 'interrupted';

export const OPT_OUT_KEY = '9';
/** Repeats the current question; not a miss, so it does not use up the second reading. */
export const REPEAT_KEY = '*';
/** Seconds an answered survey call may last at most. */
export const DEFAULT_ANSWERED_CALL_LIMIT_SECONDS = 300;
/** Seconds we wait for the hangup event (its cause tells hangup from a lost Asterisk) after a prompt saw a hangup. */
export const DEFAULT_HANGUP_EVENT_GRACE_SECONDS = 2;
/** Seconds `askQuestion` waits for a key after the question was read. */
export const DEFAULT_KEY_TIMEOUT_SECONDS = 6;

export interface SurveyCallInput {
  surveyId: string;
  /** Also the channel id. */
  attemptId: string;
  number: string;
  /** Seconds the phone may ring. */
  ringTimeoutSeconds: number;
  /** Answers committed by an earlier, partial attempt: those questions are not asked again. */
  answered: SurveyAnswers;
  /** Passed to `askQuestion`; default 6. */
  keyTimeoutSeconds?: number;
  ringGraceSeconds?: number;
  answeredCallLimitSeconds?: number;
  hangupEventGraceSeconds?: number;
}

/** `playGreeting` plays with barge-in: it ends, a key stops it, or the line goes down. */
export type GreetingOutcome = { status: 'finished' } | { status: 'key'; key: string } | { status: 'hangup' };
/** `askQuestion` plays the question with barge-in and waits for one key. */
export type QuestionOutcome = { status: 'key'; key: string } | { status: 'timeout' } | { status: 'hangup' };

/** What a key means in the survey. */
export type KeyMeaning = 'satisfied' | 'unsatisfied' | 'opt_out' | 'repeat' | 'invalid';

export function classifySurveyKey(key: string): KeyMeaning {
  if (key === '1') return 'satisfied';
  if (key === '2') return 'unsatisfied';
  if (key === OPT_OUT_KEY) return 'opt_out';
  if (key === REPEAT_KEY) return 'repeat';
  return 'invalid';
}

/** What the machine does next with the current question. */
export type SurveyStep =
  | { kind: 'answer'; answer: SurveyAnswer }
  | { kind: 'opt_out' }
  | { kind: 'ask'; part: QuestionPart }
  | { kind: 'hangup' };

/**
 * The next step after a reading of a question. `missed` is how many readings of this question
 * already ended with a wrong key or no key (0 or 1): a question is asked at most twice.
 */
export function decideQuestion(outcome: QuestionOutcome, missed: number): SurveyStep {
  if (outcome.status === 'hangup') return { kind: 'hangup' };
  const meaning = outcome.status === 'key' ? classifySurveyKey(outcome.key) : null;
  if (meaning === 'satisfied' || meaning === 'unsatisfied') return { kind: 'answer', answer: meaning };
  if (meaning === 'opt_out') return { kind: 'opt_out' };
  if (meaning === 'repeat') return { kind: 'ask', part: 'repeat' };
  if (missed >= 1) return { kind: 'answer', answer: 'no_answer' };
  return { kind: 'ask', part: meaning === 'invalid' ? 'invalid_then_question' : 'again' };
}

/** A key during the greeting counts as the first reading of the first open question (9: opt-out). */
export function decideGreeting(outcome: GreetingOutcome): SurveyStep {
  if (outcome.status === 'finished') return { kind: 'ask', part: 'question' };
  return decideQuestion(outcome, 0);
}

/** The questions not answered yet, in the order they are asked. */
export function openQuestions(answers: SurveyAnswers): SurveyQuestion[] {
  return SURVEY_QUESTIONS.filter((q) => answers[q] === undefined);
}

export type SurveyCallEvent = { type: 'CALL.ANSWERED'; at: number } | { type: 'CALL.HANGUP'; cause: HangupCause; at: number };

export interface SurveyCallOutput {
  result: SurveyCallResult;
  reason?: string;
  /** All answers known after this attempt: the input's and those committed in it. */
  answers: SurveyAnswers;
  /** Epoch ms. */
  answeredAt?: number;
  /** Epoch ms: the hangup event's time, or when the machine ended the call. */
  endedAt: number;
  cause?: HangupCause;
}

// Parameter types of the named effects, for the implementations in src/.
export interface CallEventsInput { attemptId: string }
export interface PlayGreetingInput { attemptId: string }
export interface AskQuestionInput { attemptId: string; question: SurveyQuestion; part: QuestionPart; keyTimeoutSeconds: number }
/** Resolves once the answer is durable; the next question is asked only then. */
export interface CommitAnswerInput { surveyId: string; attemptId: string; question: SurveyQuestion; answer: SurveyAnswer }
export interface CommitOptOutInput { surveyId: string; attemptId: string }
export interface PlayClosingInput { attemptId: string; kind: ClosingKind }
export interface HangUpParams { attemptId: string }
export interface RecordAnsweredParams { attemptId: string; at: number }
/** `question` is the question the key answers, or null for 9 during the greeting. */
export interface RecordSurveyKeyParams { attemptId: string; question: SurveyQuestion | null; key: string; meaning: KeyMeaning }

interface SurveyCallContext {
  input: SurveyCallInput;
  /** Committed answers, the input's included. */
  answers: SurveyAnswers;
  /** The question being asked (or the first open one, during the greeting). */
  current: SurveyQuestion | null;
  part: QuestionPart;
  /** Readings of the current question that ended with a wrong key or no key. */
  missed: number;
  step: SurveyStep | null;
  /** The answer being committed. */
  pending: SurveyAnswer | null;
  closing: ClosingKind | null;
  optedOut: boolean;
  answeredAt: number | null;
  endedAt: number | null;
  cause: HangupCause | null;
  /** The line is down (hangup event seen, or we hung up): no more prompts. */
  lineDown: boolean;
  result: SurveyCallResult | null;
  reason: string | null;
}

// Placeholders: the composition root provides the real effects; an unprovided one fails loudly.
const provide = (name: string) => (): never => {
  throw new Error(`provide ${name} with surveyCallMachine.provide()`);
};
const providePromise = (name: string) => (): Promise<never> => Promise.reject(new Error(`provide ${name} with surveyCallMachine.provide()`));

function currentOf(context: SurveyCallContext): SurveyQuestion {
  if (context.current === null) throw new Error('survey call: no open question');
  return context.current;
}

const ANSWERED = '#surveyCall.call.answered';

export const surveyCallMachine = setup({
  types: {
    input: {} as SurveyCallInput,
    context: {} as SurveyCallContext,
    events: {} as SurveyCallEvent,
    output: {} as SurveyCallOutput,
  },
  actors: {
    dial: dialMachine,
    callEvents: fromCallback<SurveyCallEvent, CallEventsInput>(provide('callEvents')),
    playGreeting: fromPromise<GreetingOutcome, PlayGreetingInput>(providePromise('playGreeting')),
    askQuestion: fromPromise<QuestionOutcome, AskQuestionInput>(providePromise('askQuestion')),
    commitAnswer: fromPromise<void, CommitAnswerInput>(providePromise('commitAnswer')),
    commitOptOut: fromPromise<void, CommitOptOutInput>(providePromise('commitOptOut')),
    playClosing: fromPromise<void, PlayClosingInput>(providePromise('playClosing')),
  },
  actions: {
    hangUp: (_, _params: HangUpParams) => provide('hangUp')(),
    recordAnswered: (_, _params: RecordAnsweredParams) => provide('recordAnswered')(),
    recordKey: (_, _params: RecordSurveyKeyParams) => provide('recordKey')(),
    noteHangup: assign(({ context, event }) =>
      event.type === 'CALL.HANGUP' ? { lineDown: true, cause: event.cause, endedAt: event.at } : context,
    ),
    noteLineClosedByUs: assign(({ context, system }) => (context.lineDown ? {} : { lineDown: true, endedAt: clockNow(system) })),
    noteReason: assign((_, params: { reason: string }) => ({ reason: params.reason })),
    noteDialEnd: assign((_, d: DialOutput) => ({ endedAt: d.endedAt ?? null, cause: d.cause ?? null, reason: d.reason ?? null })),
    settle: assign(({ context, system }, params: { result: SurveyCallResult }) => ({
      result: params.result,
      endedAt: context.endedAt ?? clockNow(system),
    })),
  },
  guards: {
    lostLine: ({ context }) => context.cause?.kind === 'lost',
    lineDown: ({ context }) => context.lineDown,
    lineUp: ({ context }) => !context.lineDown,
    nothingToAsk: ({ context }) => openQuestions(context.answers).length === 0,
    anyAnswered: ({ context }) => openQuestions(context.answers).length < SURVEY_QUESTIONS.length,
    optedOut: ({ context }) => context.optedOut,
    stepIs: ({ context }, params: { kind: SurveyStep['kind'] }) => context.step?.kind === params.kind,
    commitInFlight: or([stateIn(`${ANSWERED}.committing`), stateIn(`${ANSWERED}.optingOut`)]),
    leaving: or([stateIn(`${ANSWERED}.closing`), stateIn(`${ANSWERED}.awaitingHangupEvent`)]),
  },
  delays: {
    answeredCallLimit: ({ context }) => (context.input.answeredCallLimitSeconds ?? DEFAULT_ANSWERED_CALL_LIMIT_SECONDS) * 1000,
    hangupEventGrace: ({ context }) => (context.input.hangupEventGraceSeconds ?? DEFAULT_HANGUP_EVENT_GRACE_SECONDS) * 1000,
  },
}).createMachine({
  id: 'surveyCall',
  context: ({ input }) => ({
    input,
    answers: { ...input.answered },
    current: null,
    part: 'question',
    missed: 0,
    step: null,
    pending: null,
    closing: null,
    optedOut: false,
    answeredAt: null,
    endedAt: null,
    cause: null,
    lineDown: false,
    result: null,
    reason: null,
  }),
  initial: 'starting',
  states: {
    // Nothing left to ask (all three answered before): the citizen is not called at all.
    starting: {
      always: [
        { guard: 'nothingToAsk', target: 'completed', actions: { type: 'noteReason', params: { reason: 'all questions already answered: no call placed' } } },
        { target: 'call' },
      ],
    },
    call: {
      // Subscribed before the originate and for the whole attempt, so no event of the channel is missed.
      invoke: { id: 'callEvents', src: 'callEvents', input: ({ context }) => ({ attemptId: context.input.attemptId }) },
      initial: 'unanswered',
      states: {
        // The shared dial machine places the call and rings; the channel's events go to it until it ends.
        unanswered: {
          invoke: {
            id: 'dial',
            src: 'dial',
            input: ({ context }) => dialInputOf(context.input),
            onDone: [
              {
                guard: dialled('answered'),
                target: 'answered',
                actions: [
                  assign(({ context, event }) => ({ answeredAt: event.output.answeredAt ?? null, current: openQuestions(context.answers)[0] ?? null })),
                  { type: 'recordAnswered', params: ({ context, event }) => ({ attemptId: context.input.attemptId, at: event.output.answeredAt ?? 0 }) },
                ],
              },
              // How the unanswered call ended, kept for the output (a survey has no use for lineDead).
              { guard: dialled('busy'), target: '#surveyCall.busy', actions: { type: 'noteDialEnd', params: ({ event }) => event.output } },
              { guard: dialled('no_answer'), target: '#surveyCall.noAnswer', actions: { type: 'noteDialEnd', params: ({ event }) => event.output } },
              { guard: dialled('interrupted'), target: '#surveyCall.interrupted', actions: { type: 'noteDialEnd', params: ({ event }) => event.output } },
              { target: '#surveyCall.failed', actions: { type: 'noteDialEnd', params: ({ event }) => event.output } },
            ],
            onError: { target: '#surveyCall.failed', actions: { type: 'noteReason', params: ({ event }) => ({ reason: `dial failed: ${reasonOf(event.error)}` }) } },
          },
          on: {
            'CALL.ANSWERED': { actions: forwardTo('dial') },
            'CALL.HANGUP': { actions: forwardTo('dial') },
          },
        },
        answered: {
          initial: 'greeting',
          after: {
            answeredCallLimit: [
              // An answer or the opt-out being committed is never cut short: hang up, let the commit finish.
              {
                guard: and(['commitInFlight', 'lineUp']),
                actions: [hangUp(), 'noteLineClosedByUs', { type: 'noteReason', params: { reason: 'answered call limit reached' } }],
              },
              { guard: 'commitInFlight' },
              // Nothing left to ask: end with what was committed.
              { guard: 'leaving', target: '#surveyCall.concluding', actions: hangUp() },
              { target: '#surveyCall.failed', actions: [hangUp(), { type: 'noteReason', params: { reason: 'answered call limit reached' } }] },
            ],
          },
          on: {
            'CALL.HANGUP': { target: '#surveyCall.concluding', actions: 'noteHangup' },
          },
          states: {
            greeting: {
              invoke: {
                src: 'playGreeting',
                input: ({ context }) => ({ attemptId: context.input.attemptId }),
                onDone: [
                  {
                    guard: ({ event }) => event.output.status === 'key',
                    target: 'deciding',
                    actions: [
                      assign({ step: ({ event }) => decideGreeting(event.output) }),
                      {
                        type: 'recordKey',
                        params: ({ context, event }) => {
                          const key = event.output.status === 'key' ? event.output.key : '';
                          const meaning = classifySurveyKey(key);
                          return { attemptId: context.input.attemptId, question: meaning === 'opt_out' ? null : currentOf(context), key, meaning };
                        },
                      },
                    ],
                  },
                  { target: 'deciding', actions: assign({ step: ({ event }) => decideGreeting(event.output) }) },
                ],
                onError: {
                  target: '#surveyCall.failed',
                  actions: [hangUp(), { type: 'noteReason', params: ({ event }) => ({ reason: `greeting failed: ${reasonOf(event.error)}` }) }],
                },
              },
            },
            asking: {
              invoke: {
                src: 'askQuestion',
                input: ({ context }) => ({
                  attemptId: context.input.attemptId,
                  question: currentOf(context),
                  part: context.part,
                  keyTimeoutSeconds: context.input.keyTimeoutSeconds ?? DEFAULT_KEY_TIMEOUT_SECONDS,
                }),
                onDone: [
                  {
                    guard: ({ event }) => event.output.status === 'key',
                    target: 'deciding',
                    actions: [
                      assign({ step: ({ context, event }) => decideQuestion(event.output, context.missed) }),
                      {
                        type: 'recordKey',
                        params: ({ context, event }) => {
                          const key = event.output.status === 'key' ? event.output.key : '';
                          return { attemptId: context.input.attemptId, question: currentOf(context), key, meaning: classifySurveyKey(key) };
                        },
                      },
                    ],
                  },
                  { target: 'deciding', actions: assign({ step: ({ context, event }) => decideQuestion(event.output, context.missed) }) },
                ],
                onError: {
                  target: '#surveyCall.failed',
                  actions: [hangUp(), { type: 'noteReason', params: ({ event }) => ({ reason: `question failed: ${reasonOf(event.error)}` }) }],
                },
              },
            },
            deciding: {
              always: [
                {
                  guard: { type: 'stepIs', params: { kind: 'answer' } },
                  target: 'committing',
                  actions: assign(({ context }) => ({ pending: context.step?.kind === 'answer' ? context.step.answer : null })),
                },
                { guard: { type: 'stepIs', params: { kind: 'opt_out' } }, target: 'optingOut' },
                {
                  guard: { type: 'stepIs', params: { kind: 'ask' } },
                  target: 'asking',
                  actions: assign(({ context }) => {
                    const part = context.step?.kind === 'ask' ? context.step.part : 'question';
                    return { part, missed: part === 'question' ? 0 : part === 'repeat' ? context.missed : context.missed + 1 };
                  }),
                },
                { target: 'awaitingHangupEvent' },
              ],
            },
            committing: {
              invoke: {
                src: 'commitAnswer',
                input: ({ context }) => ({
                  surveyId: context.input.surveyId,
                  attemptId: context.input.attemptId,
                  question: currentOf(context),
                  answer: context.pending ?? 'no_answer',
                }),
                onDone: {
                  target: 'committed',
                  actions: assign(({ context }) => {
                    const answers: SurveyAnswers = { ...context.answers, [currentOf(context)]: context.pending ?? 'no_answer' };
                    return { answers, pending: null, current: openQuestions(answers)[0] ?? null, part: 'question' as const, missed: 0 };
                  }),
                },
                onError: [
                  { guard: 'lineDown', target: '#surveyCall.failed', actions: { type: 'noteReason', params: ({ event }) => ({ reason: `commit failed: ${reasonOf(event.error)}` }) } },
                  {
                    target: '#surveyCall.failed',
                    actions: [hangUp(), { type: 'noteReason', params: ({ event }) => ({ reason: `commit failed: ${reasonOf(event.error)}` }) }],
                  },
                ],
              },
              // The answer must not be lost: a hangup never interrupts the commit.
              on: { 'CALL.HANGUP': { actions: 'noteHangup' } },
            },
            committed: {
              always: [
                { guard: 'lineDown', target: '#surveyCall.concluding' },
                { guard: 'nothingToAsk', target: 'closing', actions: assign({ closing: 'thanks' }) },
                { target: 'asking' },
              ],
            },
            optingOut: {
              invoke: {
                src: 'commitOptOut',
                input: ({ context }) => ({ surveyId: context.input.surveyId, attemptId: context.input.attemptId }),
                onDone: [
                  { guard: 'lineDown', target: '#surveyCall.concluding', actions: assign({ optedOut: true }) },
                  { target: 'closing', actions: assign({ optedOut: true, closing: 'opted_out' }) },
                ],
                onError: [
                  { guard: 'lineDown', target: '#surveyCall.failed', actions: { type: 'noteReason', params: ({ event }) => ({ reason: `opt-out commit failed: ${reasonOf(event.error)}` }) } },
                  {
                    target: '#surveyCall.failed',
                    actions: [hangUp(), { type: 'noteReason', params: ({ event }) => ({ reason: `opt-out commit failed: ${reasonOf(event.error)}` }) }],
                  },
                ],
              },
              on: { 'CALL.HANGUP': { actions: 'noteHangup' } },
            },
            closing: {
              invoke: {
                src: 'playClosing',
                input: ({ context }) => ({ attemptId: context.input.attemptId, kind: context.closing ?? 'thanks' }),
                onDone: { target: '#surveyCall.concluding', actions: hangUp() },
                onError: {
                  target: '#surveyCall.concluding',
                  actions: [hangUp(), { type: 'noteReason', params: ({ event }) => ({ reason: `closing failed: ${reasonOf(event.error)}` }) }],
                },
              },
            },
            // A prompt saw the hangup; the event (with its cause) is normally already here or just behind.
            awaitingHangupEvent: {
              after: { hangupEventGrace: { target: '#surveyCall.concluding', actions: hangUp() } },
            },
          },
        },
      },
    },
    // The call is over after the answer: the result follows from what was committed.
    concluding: {
      always: [
        { guard: 'optedOut', target: 'optedOut' },
        { guard: 'nothingToAsk', target: 'completed' },
        { guard: 'lostLine', target: 'interrupted' },
        { guard: 'anyAnswered', target: 'partial' },
        { target: 'hangup' },
      ],
    },
    completed: { type: 'final', entry: settle('completed') },
    partial: { type: 'final', entry: settle('partial') },
    optedOut: { type: 'final', entry: settle('opted_out') },
    hangup: { type: 'final', entry: settle('hangup') },
    noAnswer: { type: 'final', entry: settle('no_answer') },
    busy: { type: 'final', entry: settle('busy') },
    failed: { type: 'final', entry: settle('failed') },
    interrupted: { type: 'final', entry: settle('interrupted') },
  },
  output: ({ context }) => outputOf(context),
});

function hangUp() {
  return { type: 'hangUp', params: ({ context }: { context: SurveyCallContext }) => ({ attemptId: context.input.attemptId }) } as const;
}

/** A guard on the dial machine's result. */
function dialled(result: DialResult) {
  return ({ event }: { event: { output: DialOutput } }) => event.output.result === result;
}

function settle(result: SurveyCallResult) {
  return { type: 'settle', params: { result } } as const;
}

function outputOf(c: SurveyCallContext): SurveyCallOutput {
  const out: SurveyCallOutput = { result: c.result ?? 'failed', answers: { ...c.answers }, endedAt: c.endedAt ?? 0 };
  if (c.result === null) out.reason = 'ended without a result';
  if (c.reason !== null) out.reason = c.reason;
  if (c.answeredAt !== null) out.answeredAt = c.answeredAt;
  if (c.cause !== null) out.cause = c.cause;
  return out;
}
