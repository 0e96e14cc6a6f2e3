// The inbound feedback line (反馈): every call that enters our Stasis app through the dialplan
// (context liandong-stasis) runs the pure feedback-ivr machine with the real effects given here,
// once for every call: the telephony port for the call, prompts for what is said, the order
// service for what is kept. A call's own state (its logger, the unit its caller was checked for)
// is found by its channel id while it runs. One 'feedback call ended' line at info per call.
// The caller check and the commits are caller-effects.ts: a contact of the order's unit goes to
// the menu; anyone else keys the unit's PIN (unit-pins.ts); every refusal is a `feedback_refused`
// case event.
import { createActor, fromCallback, fromPromise, type ActorRefFrom } from 'xstate';
import {
  DEFAULT_MAX_TRIES,
  feedbackIvrMachine,
  type AnswerInput,
  type CallEventsInput,
  type CodePromptOutcome,
  type CommitFeedbackInput,
  type FeedbackIvrEvent,
  type FeedbackIvrOutput,
  type FindOrderInput,
  type FindOrderOutput,
  type KindPromptOutcome,
  type PlayGoodbyeInput,
  type PlayRecordedInput,
  type PromptForCodeInput,
  type PromptForKindInput,
  type PromptForPinInput,
  type VerifyPinInput,
} from '../../machines/feedback-ivr.machine.js';
import { callerEffects, ORDER_CODE_DIGITS, type CallerEffects, type CallerEffectsDeps } from './caller-effects.js';
import type { Logger } from '../logging.js';
import { maskPhone } from '../logging.js';
import type { Prompts } from '../prompts/index.js';
import type { CollectOptions, CollectResult, InboundCall, MediaUri, TelephonyPort, Unsubscribe } from '../telephony/port.js';

/** A unit's PIN is at most eight digits (unit-pins.ts); `#` ends a shorter one. */
export const PIN_MAX_DIGITS = 8;

export interface FeedbackLineTimeouts {
  /** Milliseconds to wait for the first key of the code after the welcome has been played. */
  readonly firstDigitTimeoutMs: number;
  /** Milliseconds to wait between the keys of the code; when it runs out, what was keyed is the code. */
  readonly interDigitTimeoutMs: number;
  /** Milliseconds to wait for the menu key after the menu has been played. */
  readonly menuKeyTimeoutMs: number;
}

export const DEFAULT_FEEDBACK_TIMEOUTS: FeedbackLineTimeouts = { firstDigitTimeoutMs: 8_000, interDigitTimeoutMs: 3_000, menuKeyTimeoutMs: 8_000 };

/** What the caller check needs (orders, repo, departments, pins, store, writes), and the call's own. */
export interface FeedbackLineDeps extends CallerEffectsDeps {
  readonly telephony: TelephonyPort;
  readonly prompts: Prompts;
  readonly logger: Logger;
}

export interface FeedbackLineOptions {
  /** Prompts for the code, and then for the menu key, before giving up; default 3. */
  readonly maxTries?: number;
  readonly timeouts?: Partial<FeedbackLineTimeouts>;
  /** Seconds a call may last at most; default: the machine's (300). */
  readonly callLimitSeconds?: number;
  /**
   * Only calls to these dialled numbers (the extension in liandong-stasis) are feedback calls;
   * default: every inbound call. Set it once another inbound service shares the Stasis app.
   */
  readonly numbers?: readonly string[];
  /** Looks at each inbound call first; returning true takes it away from the feedback line (citizens calling back about a survey). */
  readonly takeCall?: (call: InboundCall) => boolean | Promise<boolean>;
  /** Told when a call's machine has finished (logging is done here already). */
  readonly onCallEnded?: (call: InboundCall, output: FeedbackIvrOutput) => void;
}

type FeedbackIvrActor = ActorRefFrom<typeof feedbackIvrMachine>;

/**
 * Answers inbound calls with the feedback machine. The returned function stops taking calls and
 * ends the calls still in progress (their machines stopped, their channels hung up).
 */
export function startFeedbackLine(deps: FeedbackLineDeps, options: FeedbackLineOptions = {}): Unsubscribe {
  const log = deps.logger.child({ component: 'feedback-line' });
  const timeouts: FeedbackLineTimeouts = { ...DEFAULT_FEEDBACK_TIMEOUTS, ...options.timeouts };
  const numbers = options.numbers ? new Set(options.numbers) : undefined;
  const live = new Map<string, { actor: FeedbackIvrActor; log: Logger }>();
  const logOf = (channelId: string): Logger => live.get(channelId)?.log ?? log.child({ channelId });
  const effects = callerEffects(deps, logOf);
  const machine = provideFeedbackIvr(deps, effects, logOf, timeouts);
  const forget = (channelId: string): void => {
    live.delete(channelId);
    effects.forget(channelId);
  };

  const off = deps.telephony.onInboundCall((call) => {
    const taken = options.takeCall?.(call) ?? false;
    if (typeof taken === 'boolean') {
      if (!taken) answerFeedbackCall(call);
      return;
    }
    // The survey line looks the caller up in the store first: the feedback line answers if it did not take the call.
    taken.then(
      (took) => { if (!took) answerFeedbackCall(call); },
      (err: unknown) => {
        log.error({ channelId: call.channelId, reason: err instanceof Error ? err.message : String(err) }, 'the survey line failed on an inbound call; the feedback line answers it');
        answerFeedbackCall(call);
      },
    );
  });

  function answerFeedbackCall(call: InboundCall): void {
    if (numbers && !numbers.has(call.dialled)) return;
    const callLog = log.child({ channelId: call.channelId });
    if (live.has(call.channelId)) {
      callLog.warn('inbound call already handled; ignored');
      return;
    }
    const from = call.callerNumber ? maskPhone(call.callerNumber) : 'unknown';
    callLog.debug({ from, dialled: call.dialled }, 'feedback call');
    const actor = createActor(machine, {
      input: {
        channelId: call.channelId,
        callerNumber: call.callerNumber,
        maxTries: options.maxTries ?? DEFAULT_MAX_TRIES,
        ...(options.callLimitSeconds === undefined ? {} : { callLimitSeconds: options.callLimitSeconds }),
      },
    });
    live.set(call.channelId, { actor, log: callLog });
    actor.subscribe({
      complete: () => {
        forget(call.channelId);
        const output = actor.getSnapshot().output;
        if (!output) return;
        const summary = { from, dialled: call.dialled, result: output.result, orderId: output.orderId, code: output.code, kind: output.kind, reason: output.reason, totalMs: Date.now() - call.at.getTime() };
        if (output.result === 'failed') callLog.warn(summary, 'feedback call ended');
        else callLog.info(summary, 'feedback call ended');
        try {
          options.onCallEnded?.(call, output);
        } catch (err) {
          callLog.warn({ err: String(err) }, 'onCallEnded listener threw');
        }
      },
      error: (err: unknown) => {
        forget(call.channelId);
        callLog.error({ err }, 'feedback machine crashed; hanging up');
        hangUpQuietly(deps.telephony, call.channelId, callLog);
      },
    });
    actor.start();
  }

  return () => {
    off();
    for (const [channelId, { actor }] of [...live]) {
      actor.stop();
      forget(channelId);
      hangUpQuietly(deps.telephony, channelId, log.child({ channelId }));
    }
  };
}

/** The feedback machine of every inbound call, with its real effects; `logOf` gives a call's child logger (with its channelId). */
export function provideFeedbackIvr(deps: FeedbackLineDeps, effects: CallerEffects, logOf: (channelId: string) => Logger, timeouts: FeedbackLineTimeouts = DEFAULT_FEEDBACK_TIMEOUTS) {
  const { telephony, prompts } = deps;
  const { findOrder, verifyPin, commitFeedback, postRefusal } = effects;

  const codeOptions = { firstDigitTimeoutMs: timeouts.firstDigitTimeoutMs, interDigitTimeoutMs: timeouts.interDigitTimeoutMs };
  const menuOptions: CollectOptions = { maxDigits: 1, firstDigitTimeoutMs: timeouts.menuKeyTimeoutMs, interDigitTimeoutMs: timeouts.interDigitTimeoutMs };

  async function promptForCode(input: PromptForCodeInput): Promise<CodePromptOutcome> {
    const unknown = input.part === 'unknown_then_welcome' ? await prompts.media('feedback-unknown-order') : [];
    const media = [...unknown, ...(await prompts.media('feedback-welcome'))];
    const outcome = await readCode(telephony, input.channelId, media, codeOptions);
    logOf(input.channelId).debug({ attempt: input.attempt, part: input.part, outcome: outcome.status, digits: outcome.status === 'digits' ? outcome.digits.length : 0 }, 'order code prompt');
    return outcome;
  }

  async function promptForPin(input: PromptForPinInput): Promise<CodePromptOutcome> {
    const wrong = input.part === 'wrong_then_pin' ? await prompts.media('feedback-pin-wrong') : [];
    const media = [...wrong, ...(await prompts.media('feedback-pin'))];
    const outcome = await readCode(telephony, input.channelId, media, codeOptions, PIN_MAX_DIGITS);
    // The digits themselves are never logged.
    logOf(input.channelId).debug({ orderId: input.orderId, attempt: input.attempt, part: input.part, outcome: outcome.status, digits: outcome.status === 'digits' ? outcome.digits.length : 0 }, 'PIN prompt');
    return outcome;
  }

  async function promptForKind(input: PromptForKindInput): Promise<KindPromptOutcome> {
    const invalid = input.part === 'invalid_then_menu' ? await prompts.media('dispatch-invalid') : [];
    const menu = [...invalid, ...(await prompts.media('feedback-menu', { code: input.code }))];
    const outcome = await readMenuKey(telephony, input.channelId, menu, menuOptions, input.part === 'menu');
    logOf(input.channelId).debug({ orderId: input.orderId, attempt: input.attempt, part: input.part, outcome: outcome.status, key: outcome.status === 'key' ? outcome.key : null }, 'feedback menu');
    return outcome;
  }

  /** Without barge-in; a hangup only ends it early. */
  async function play(channelId: string, media: MediaUri[]): Promise<void> {
    const played = await telephony.play(channelId, media, { bargeIn: false });
    if (played.status === 'failed') throw new Error(played.reason);
  }

  return feedbackIvrMachine.provide({
    actors: {
      callEvents: fromCallback<FeedbackIvrEvent, CallEventsInput>(({ sendBack, input }) =>
        telephony.subscribe(input.channelId, (e) => {
          if (e.type === 'hangup') {
            logOf(input.channelId).debug({ cause: e.cause.code, kind: e.cause.kind }, 'caller hung up');
            sendBack({ type: 'CALL.HANGUP' });
          }
        }),
      ),
      answer: fromPromise<void, AnswerInput>(({ input }) => telephony.answer(input.channelId)),
      promptForCode: fromPromise<CodePromptOutcome, PromptForCodeInput>(({ input }) => promptForCode(input)),
      findOrder: fromPromise<FindOrderOutput, FindOrderInput>(({ input }) => findOrder(input)),
      promptForPin: fromPromise<CodePromptOutcome, PromptForPinInput>(({ input }) => promptForPin(input)),
      verifyPin: fromPromise<{ ok: boolean }, VerifyPinInput>(({ input }) => verifyPin(input)),
      promptForKind: fromPromise<KindPromptOutcome, PromptForKindInput>(({ input }) => promptForKind(input)),
      // Committed before "recorded" is played; a failure is the machine's error path.
      commitFeedback: fromPromise<void, CommitFeedbackInput>(({ input }) => commitFeedback(input)),
      playRecorded: fromPromise<void, PlayRecordedInput>(async ({ input }) =>
        play(input.channelId, [...(await prompts.media('feedback-recorded')), ...(await prompts.media('goodbye'))]),
      ),
      playGoodbye: fromPromise<void, PlayGoodbyeInput>(async ({ input }) => {
        const before = input.after === 'unknown_order' ? await prompts.media('feedback-unknown-order')
          : input.after === 'refused' ? await prompts.media('feedback-refused') : [];
        await play(input.channelId, [...before, ...(await prompts.media('goodbye'))]);
      }),
    },
    actions: {
      hangUp: (_, p) => hangUpQuietly(telephony, p.channelId, logOf(p.channelId)),
      recordRefusal: (_, p) => postRefusal(p),
    },
  });
}

/**
 * The order code, one key at a time: the prompt (with barge-in) takes the first key, then each
 * key gets the inter-digit timeout. `#` ends the entry, `*` clears it, other keys are ignored;
 * it is complete at ORDER_CODE_DIGITS digits. When the keys stop, what was keyed is the code.
 */
export async function readCode(
  telephony: Pick<TelephonyPort, 'prompt' | 'collect'>,
  channelId: string,
  media: readonly MediaUri[],
  timeouts: { readonly firstDigitTimeoutMs: number; readonly interDigitTimeoutMs: number },
  /** Complete at this many digits (the order code's six; a PIN's eight). */
  maxDigits = ORDER_CODE_DIGITS,
): Promise<CodePromptOutcome> {
  const oneKey = (first: boolean): CollectOptions => ({
    maxDigits: 1,
    firstDigitTimeoutMs: first ? timeouts.firstDigitTimeoutMs : timeouts.interDigitTimeoutMs,
    interDigitTimeoutMs: timeouts.interDigitTimeoutMs,
  });
  let digits = '';
  let result = await telephony.prompt(channelId, media, oneKey(true));
  for (;;) {
    if (result.status === 'hangup') return { status: 'hangup' };
    if (result.status === 'failed') throw new Error(result.reason);
    if (result.status === 'timeout' || result.digits === '') return digits ? { status: 'digits', digits } : { status: 'timeout' };
    const key = result.digits;
    if (key === '#') return { status: 'digits', digits };
    if (key === '*') digits = '';
    else if (/^[0-9]$/.test(key)) digits += key;
    if (digits.length >= maxDigits) return { status: 'digits', digits };
    result = await telephony.collect(channelId, oneKey(digits === ''));
  }
}

/**
 * One menu key. The first reading keeps keys typed ahead after the code (an officer who knows the
 * menu may press it at once), except a `#` ending the code: that one is skipped, and if it cut
 * the menu short the menu is read again. Later readings (`prompt`) drop keys pressed before them.
 */
export async function readMenuKey(
  telephony: Pick<TelephonyPort, 'prompt' | 'play' | 'collect'>,
  channelId: string,
  media: readonly MediaUri[],
  options: CollectOptions,
  keepTypedAhead: boolean,
): Promise<KindPromptOutcome> {
  if (!keepTypedAhead) return menuOutcome(await telephony.prompt(channelId, media, options));
  let skipHash = true;
  for (;;) {
    const played = await telephony.play(channelId, media, { bargeIn: true });
    if (played.status === 'hangup') return { status: 'hangup' };
    if (played.status === 'failed') throw new Error(played.reason);
    let result = await telephony.collect(channelId, options);
    if (skipHash && result.status === 'complete' && result.digits === '#') {
      skipHash = false;
      if (played.status === 'interrupted' && played.key === '#') continue;
      result = await telephony.collect(channelId, options);
    }
    return menuOutcome(result);
  }
}

function menuOutcome(result: CollectResult): KindPromptOutcome {
  switch (result.status) {
    case 'complete':
      return result.digits ? { status: 'key', key: result.digits.slice(0, 1) } : { status: 'timeout' };
    case 'timeout':
      return { status: 'timeout' };
    case 'hangup':
      return { status: 'hangup' };
    case 'failed':
      throw new Error(result.reason);
  }
}

function hangUpQuietly(telephony: TelephonyPort, channelId: string, log: Logger): void {
  telephony.hangup(channelId).catch((err: unknown) => log.warn({ err: String(err) }, 'hangup request failed'));
}
