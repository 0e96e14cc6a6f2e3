// Real effects of the survey calls, given once (per survey service) to the pure survey-call
// machine. Each effect finds the live state of its call (its order, repository, port, prompts)
// by the attempt id in its input: the service adds a call before its machine starts and ends it
// when the machine ends, is stopped or abandoned (then nothing of the call is kept). A call's end
// is logged as one summary line at info; its per-step lines are at debug.
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
  type SurveyCallOutput,
  type SurveyQuestion,
} from '../../machines/survey-call.machine.js';
import type { WriteQueue } from '../db/write-queue.js';
import { pacedCall } from '../dispatch/pacing.js';
import type { Logger } from '../logging.js';
import type { Prompts } from '../prompts/index.js';
import { callEventsActor, dialActor, hangUpRequest } from '../telephony/call-actors.js';
import { CallTraces } from '../telephony/call-trace.js';
import type { MediaUri, TelephonyPort } from '../telephony/port.js';
import type { SurveyRepository } from './survey-repository.js';

export interface SurveyEffectDeps {
  /** The port outbound calls are placed on (paced in production). */
  readonly telephony: TelephonyPort;
  readonly prompts: Prompts;
  /** The service's logger; each call gets a child. */
  readonly logger: Logger;
  /** Writes the machine's actions cannot wait for (answered, keys) go here, in order; answers are awaited through it. */
  readonly writes: WriteQueue;
}

/** What one survey call needs while its machine runs. */
export interface SurveyCallContext {
  readonly surveyId: string;
  readonly orderId: string;
  /** The day the case was reported, for the greeting (which names nothing else about the case). */
  readonly incidentAt: Date;
  /** The survey's repository (over its lease's fenced store in a cluster). */
  readonly surveys: SurveyRepository;
  /** The call's port: the service's, or an inbound channel's (inbound-survey.ts). */
  readonly telephony: TelephonyPort;
  readonly via: 'outbound' | 'inbound';
}

interface SurveyMedia {
  readonly greeting: MediaUri[];
  readonly questions: Readonly<Record<SurveyQuestion, MediaUri[]>>;
  readonly invalid: MediaUri[];
  readonly thanks: MediaUri[];
  readonly optedOut: MediaUri[];
  readonly goodbye: MediaUri[];
}

interface LiveCall extends SurveyCallContext {
  /** Everything the call may play, rendered once per call (while it waits for its line). */
  media: Promise<SurveyMedia> | undefined;
}

/** Milliseconds between keys; the questions take one key. */
const INTER_DIGIT_TIMEOUT_MS = 3000;

export class SurveyCalls {
  /** An outbound call: waits for a line of the trunk before it (and its ring timer) starts. */
  readonly outbound: typeof surveyCallMachine;
  /** A citizen's inbound call: on its channel, no line to wait for. */
  readonly inbound: typeof surveyCallMachine;
  private readonly live = new Map<string, LiveCall>();
  private readonly traces: CallTraces;

  constructor(private readonly deps: SurveyEffectDeps) {
    this.traces = new CallTraces(deps.logger);
    const portOf = (attemptId: string): TelephonyPort => this.live.get(attemptId)?.telephony ?? deps.telephony;
    const hangUp = hangUpRequest(portOf, (attemptId) => this.traces.log(attemptId));
    const { writes } = deps;
    this.inbound = surveyCallMachine.provide({
      actors: {
        dial: dialActor(portOf, hangUp, (attemptId) => this.traces.originating(attemptId)),
        callEvents: callEventsActor<SurveyCallEvent>(portOf),
        playGreeting: fromPromise<GreetingOutcome, PlayGreetingInput>(({ input }) => this.playGreeting(input)),
        askQuestion: fromPromise<QuestionOutcome, AskQuestionInput>(({ input }) => this.askQuestion(input)),
        // Committed (after the keys posted before them) before the next question is asked: the
        // machine goes on only when this promise resolves.
        commitAnswer: fromPromise<void, CommitAnswerInput>(async ({ input }) => {
          const { surveys } = this.callOf(input.attemptId);
          await writes.run(() => surveys.commitAnswer(input.surveyId, input.attemptId, input.question, input.answer));
        }),
        commitOptOut: fromPromise<void, CommitOptOutInput>(async ({ input }) => {
          const { surveys } = this.callOf(input.attemptId);
          await writes.run(() => surveys.commitOptOut(input.surveyId, input.attemptId));
        }),
        playClosing: fromPromise<void, PlayClosingInput>(({ input }) => this.playClosing(input)),
      },
      actions: {
        hangUp: (_, p) => hangUp(p.attemptId),
        recordAnswered: (_, p) => {
          const { surveys } = this.callOf(p.attemptId);
          this.traces.answered(p.attemptId, p.at);
          writes.post('survey call answered', () => surveys.markAnswered(p.attemptId, p.at));
          this.traces.log(p.attemptId).debug('survey call answered');
        },
        recordKey: (_, p) => {
          const call = this.callOf(p.attemptId);
          this.traces.keyed(p.attemptId);
          writes.post('survey key', () => call.surveys.event(call.orderId, 'survey_key', { attemptId: p.attemptId, question: p.question, key: p.key, meaning: p.meaning }));
          this.traces.log(p.attemptId).debug({ question: p.question, meaning: p.meaning }, 'survey key');
        },
      },
    });
    this.outbound = pacedCall(deps.telephony, this.inbound, (input, endedAt) => ({ result: 'failed' as const, reason: 'stopped while waiting for a free line; no call was placed', answers: input.answered, endedAt }), {
      prepare: async (input) => {
        await this.mediaOf(this.callOf(input.attemptId));
      },
      whenFailed: (input, endedAt, reason) => ({ result: 'failed' as const, reason: `prompts could not be rendered: ${reason}; no call was placed`, answers: input.answered, endedAt }),
    });
  }

  /** The call (attempt id) starts: added before its machine starts. */
  add(attemptId: string, call: SurveyCallContext): void {
    this.live.set(attemptId, { ...call, media: undefined });
    this.traces.begin(attemptId, this.deps.logger.child({ orderId: call.orderId, surveyId: call.surveyId, attemptId, channelId: attemptId }));
  }

  /** The call ended: its one summary line at info (no number: the survey and attempt name the citizen), and it is forgotten. */
  end(attemptId: string, output: SurveyCallOutput): void {
    const call = this.live.get(attemptId);
    const log = this.traces.log(attemptId);
    const timings = this.traces.end(attemptId, output.endedAt);
    this.live.delete(attemptId);
    if (!call) return;
    log.info({ via: call.via, result: output.result, reason: output.reason, cause: output.cause, answers: output.answers, ...timings }, 'survey call ended');
  }

  /** The call stops here without an end (lost lease, or it never started): forgotten. */
  drop(attemptId: string): void {
    this.live.delete(attemptId);
    this.traces.drop(attemptId);
  }

  /** Calls held now (for tests and health: 0 and 0 once every call has ended or been dropped). */
  liveState(): { calls: number; traces: number } {
    return { calls: this.live.size, traces: this.traces.size };
  }

  private callOf(attemptId: string): LiveCall {
    const call = this.live.get(attemptId);
    if (!call) throw new Error(`no live survey call ${attemptId}: its machine has ended`);
    return call;
  }

  private mediaOf(call: LiveCall): Promise<SurveyMedia> {
    call.media ??= this.renderSurvey(call.incidentAt);
    return call.media;
  }

  private async renderSurvey(incidentAt: Date): Promise<SurveyMedia> {
    const { prompts } = this.deps;
    const [greeting, attitude, speed, quality, invalid, thanks, optedOut, goodbye] = await Promise.all([
      prompts.media('survey-greeting', { date: incidentAt }),
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

  private async playGreeting(input: PlayGreetingInput): Promise<GreetingOutcome> {
    const call = this.callOf(input.attemptId);
    const media = (await this.mediaOf(call)).greeting;
    const msAfterAnswer = this.traces.prompted(input.attemptId);
    if (msAfterAnswer !== undefined) this.traces.log(input.attemptId).debug({ msAfterAnswer }, 'greeting requested');
    const played = await call.telephony.play(input.attemptId, media, { bargeIn: true });
    if (played.status === 'failed') throw new Error(`greeting failed: ${played.reason}`);
    if (played.status === 'hangup') return { status: 'hangup' };
    // A key that interrupted the greeting answers the first open question.
    if (played.status === 'interrupted') {
      const key = await call.telephony.collect(input.attemptId, { maxDigits: 1, firstDigitTimeoutMs: 100, interDigitTimeoutMs: 100 });
      return key.status === 'hangup' && !key.digits ? { status: 'hangup' } : { status: 'key', key: key.digits.slice(0, 1) || played.key };
    }
    return { status: 'finished' };
  }

  private async askQuestion(input: AskQuestionInput): Promise<QuestionOutcome> {
    const call = this.callOf(input.attemptId);
    const all = await this.mediaOf(call);
    const invalid = input.part === 'invalid_then_question' ? all.invalid : [];
    const question = all.questions[input.question];
    const result = await call.telephony.prompt(input.attemptId, [...invalid, ...question], {
      maxDigits: 1,
      firstDigitTimeoutMs: input.keyTimeoutSeconds * 1000,
      interDigitTimeoutMs: INTER_DIGIT_TIMEOUT_MS,
    });
    if (result.status === 'complete') return { status: 'key', key: result.digits.slice(0, 1) };
    if (result.status === 'timeout') return { status: 'timeout' };
    if (result.status === 'hangup') return { status: 'hangup' };
    throw new Error(`question failed: ${result.reason}`);
  }

  private async playClosing(input: PlayClosingInput): Promise<void> {
    const call = this.callOf(input.attemptId);
    const all = await this.mediaOf(call);
    const media = [...(input.kind === 'thanks' ? all.thanks : all.optedOut), ...all.goodbye];
    const played = await call.telephony.play(input.attemptId, media, { bargeIn: false });
    if (played.status === 'failed') throw new Error(`closing failed: ${played.reason}`);
  }
}
