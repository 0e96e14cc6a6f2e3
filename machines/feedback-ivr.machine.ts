// One call on the inbound feedback line (反馈): a department duty officer keys the six-digit
// order code, hears it read back with the menu, and presses 1 arrived on scene, 2 in progress,
// 3 completed. The feedback is committed before "recorded" is played; then we hang up.
// Who may give feedback: a caller whose number is a contact of the order's unit goes straight to
// the menu; any other caller must key the unit's PIN (three wrong entries end the call); when the
// unit has no PIN, or the order's PIN is locked after too many wrong entries, the caller is
// refused. The effects decide the check (`findOrder`) and record every refusal as a case event.
// Pure: every effect is a named actor or action provided by src/feedback/inbound-line.ts with
// `.provide()`; the one timer (the call limit) is a named delay read from context.
import { assign, fromCallback, fromPromise, setup } from 'xstate';
import type { FeedbackKind } from '../src/orders/order-repository.js';
import { reasonOf } from './clock.js';

export type FeedbackIvrResult = 'recorded' | 'unknown_order' | 'no_input' | 'refused' | 'hangup' | 'failed';

/** Wrong PIN entries in one call before it is ended. */
export const MAX_WRONG_PINS = 3;

/** Prompts (for the code, or for the menu) per phase before giving up; an invalid key counts as one. */
export const DEFAULT_MAX_TRIES = 3;
/** Seconds a call may last at most before we hang up (then again for the closing prompt). */
export const DEFAULT_CALL_LIMIT_SECONDS = 300;

export interface FeedbackIvrInput {
  /** The inbound channel. */
  channelId: string;
  /** Caller id digits, or '' when withheld. */
  callerNumber: string;
  /** Prompts for the order code, and then for the menu key, before giving up; default 3. */
  maxTries?: number;
  /** Default 300. */
  callLimitSeconds?: number;
}

/** What is said before collecting the code: the welcome, the welcome again (no code came), or "unknown order" then the welcome. */
export type CodePromptPart = 'welcome' | 'welcome_again' | 'unknown_then_welcome';
/** The menu with the code read back: first time, again after no key, or after "invalid key". */
export type KindPromptPart = 'menu' | 'menu_again' | 'invalid_then_menu';

/** `promptForCode` resolves the keyed digits (without the terminating #), a timeout or a hangup. */
export type CodePromptOutcome = { status: 'digits'; digits: string } | { status: 'timeout' } | { status: 'hangup' };
export type KindPromptOutcome = { status: 'key'; key: string } | { status: 'timeout' } | { status: 'hangup' };
/**
 * `caller`: `contact` — the caller id is a contact of the order's unit; `pin` — the unit's PIN is
 * asked for; `refused` — neither is possible (no PIN set, or locked); `refusal` says why.
 */
export type FindOrderOutput =
  | { found: true; orderId: string; code: string; caller: 'contact' | 'pin' }
  | { found: true; orderId: string; code: string; caller: 'refused'; refusal: string }
  | { found: false };
/** What is said before collecting the PIN: the request, the request again (nothing keyed), or "wrong PIN" then the request. */
export type PinPromptPart = 'pin' | 'pin_again' | 'wrong_then_pin';

/** Menu keys. */
export const FEEDBACK_KEYS: Readonly<Record<string, FeedbackKind>> = { '1': 'arrived', '2': 'progress', '3': 'completed' };

export type KindKeypad =
  | { kind: 'feedback'; key: string; feedback: FeedbackKind }
  | { kind: 'invalid'; key: string }
  | { kind: 'timeout' }
  | { kind: 'hangup' };

export function classifyFeedbackKey(key: string): KindKeypad {
  const feedback = Object.hasOwn(FEEDBACK_KEYS, key) ? FEEDBACK_KEYS[key] : undefined;
  return feedback ? { kind: 'feedback', key, feedback } : { kind: 'invalid', key };
}

export function classifyKindOutcome(outcome: KindPromptOutcome): KindKeypad {
  return outcome.status === 'key' ? classifyFeedbackKey(outcome.key) : { kind: outcome.status };
}

export type FeedbackIvrEvent = { type: 'CALL.HANGUP' };

export interface FeedbackIvrOutput {
  result: FeedbackIvrResult;
  /** Set once a keyed code matched an order (kept when the caller hangs up later). */
  orderId?: string;
  code?: string;
  /** Set once a valid menu key was pressed. */
  kind?: FeedbackKind;
  reason?: string;
}

// Parameter types of the named effects, for the implementations in src/.
export interface CallEventsInput { channelId: string }
export interface AnswerInput { channelId: string }
/** `attempt` is 1 for the first prompt of the phase. */
export interface PromptForCodeInput { channelId: string; part: CodePromptPart; attempt: number }
export interface FindOrderInput { channelId: string; digits: string; callerNumber: string }
export interface PromptForPinInput { channelId: string; orderId: string; part: PinPromptPart; attempt: number }
/** `wrongSoFar`: wrong entries before this one in the call. */
export interface VerifyPinInput { channelId: string; orderId: string; digits: string; callerNumber: string; wrongSoFar: number }
export interface RecordRefusalParams { channelId: string; orderId: string; callerNumber: string; reason: string }
export interface PromptForKindInput { channelId: string; orderId: string; code: string; part: KindPromptPart; attempt: number }
export interface CommitFeedbackInput { channelId: string; orderId: string; kind: FeedbackKind; callerNumber: string }
export interface PlayRecordedInput { channelId: string; orderId: string; code: string; kind: FeedbackKind }
/** Said before hanging up when the caller gets no further: "unknown order" and goodbye, or goodbye only. */
export interface PlayGoodbyeInput { channelId: string; after: Closing }
type Closing = 'unknown_order' | 'no_input' | 'refused';
export interface HangUpParams { channelId: string }

interface FeedbackIvrContext {
  input: FeedbackIvrInput;
  /** Prompts played in the current phase (code, then menu). */
  tries: number;
  codePart: CodePromptPart;
  kindPart: KindPromptPart;
  lastCode: CodePromptOutcome | null;
  lastKey: KindKeypad | null;
  pinPart: PinPromptPart;
  lastPin: CodePromptOutcome | null;
  wrongPins: number;
  /** The last keyed code that matched no order. */
  unknownCode: string | null;
  orderId: string | null;
  code: string | null;
  kind: FeedbackKind | null;
  /** The line is down (hangup seen, or we hung up): no more prompts. */
  lineDown: boolean;
  /** What the call ends with after the goodbye. */
  closing: Closing | null;
  result: FeedbackIvrResult | null;
  reason: string | null;
}

// Placeholders: the composition root provides the real effects; an unprovided one fails loudly.
const provide = (name: string) => (): never => {
  throw new Error(`provide ${name} with feedbackIvrMachine.provide()`);
};
const providePromise = (name: string) => (): Promise<never> => Promise.reject(new Error(`provide ${name} with feedbackIvrMachine.provide()`));

export const feedbackIvrMachine = setup({
  types: {
    input: {} as FeedbackIvrInput,
    context: {} as FeedbackIvrContext,
    events: {} as FeedbackIvrEvent,
    output: {} as FeedbackIvrOutput,
  },
  actors: {
    callEvents: fromCallback<FeedbackIvrEvent, CallEventsInput>(provide('callEvents')),
    answer: fromPromise<void, AnswerInput>(providePromise('answer')),
    promptForCode: fromPromise<CodePromptOutcome, PromptForCodeInput>(providePromise('promptForCode')),
    findOrder: fromPromise<FindOrderOutput, FindOrderInput>(providePromise('findOrder')),
    promptForPin: fromPromise<CodePromptOutcome, PromptForPinInput>(providePromise('promptForPin')),
    verifyPin: fromPromise<{ ok: boolean }, VerifyPinInput>(providePromise('verifyPin')),
    promptForKind: fromPromise<KindPromptOutcome, PromptForKindInput>(providePromise('promptForKind')),
    commitFeedback: fromPromise<void, CommitFeedbackInput>(providePromise('commitFeedback')),
    playRecorded: fromPromise<void, PlayRecordedInput>(providePromise('playRecorded')),
    playGoodbye: fromPromise<void, PlayGoodbyeInput>(providePromise('playGoodbye')),
  },
  actions: {
    hangUp: (_, _params: HangUpParams) => provide('hangUp')(),
    recordRefusal: (_, _params: RecordRefusalParams) => provide('recordRefusal')(),
    noteLineDown: assign({ lineDown: true }),
    noteReason: assign((_, params: { reason: string }) => ({ reason: params.reason })),
    noteRefusal: assign((_, params: { reason: string }) => ({ closing: 'refused' as const, reason: params.reason })),
    noteUnknownCode: assign(({ context }) => ({ unknownCode: context.lastCode?.status === 'digits' ? context.lastCode.digits : null })),
    settle: assign((_, params: { result: FeedbackIvrResult }) => ({ result: params.result })),
  },
  guards: {
    lineDown: ({ context }) => context.lineDown,
    triesLeft: ({ context }) => context.tries < maxTriesOf(context),
    codeIs: ({ context }, params: { status: CodePromptOutcome['status'] }) => context.lastCode?.status === params.status,
    codeKeyed: ({ context }) => context.lastCode?.status === 'digits' && context.lastCode.digits !== '',
    pinKeyed: ({ context }) => context.lastPin?.status === 'digits' && context.lastPin.digits !== '',
    pinIs: ({ context }, params: { status: CodePromptOutcome['status'] }) => context.lastPin?.status === params.status,
    keypadIs: ({ context }, params: { kind: KindKeypad['kind'] }) => context.lastKey?.kind === params.kind,
    closingIs: ({ context }, params: { closing: Closing }) => context.closing === params.closing,
  },
  delays: {
    callLimit: ({ context }) => (context.input.callLimitSeconds ?? DEFAULT_CALL_LIMIT_SECONDS) * 1000,
  },
}).createMachine({
  id: 'feedbackIvr',
  context: ({ input }) => ({
    input,
    tries: 0,
    codePart: 'welcome',
    kindPart: 'menu',
    lastCode: null,
    lastKey: null,
    pinPart: 'pin',
    lastPin: null,
    wrongPins: 0,
    unknownCode: null,
    orderId: null,
    code: null,
    kind: null,
    lineDown: false,
    closing: null,
    result: null,
    reason: null,
  }),
  // For the whole call: a hangup ends any prompt at once, and is noted during the commit.
  invoke: { id: 'callEvents', src: 'callEvents', input: ({ context }) => ({ channelId: context.input.channelId }) },
  initial: 'session',
  states: {
    session: {
      initial: 'answering',
      after: {
        callLimit: { target: 'failed', actions: [hangUp(), { type: 'noteReason', params: { reason: 'call limit reached before feedback was given' } }] },
      },
      on: { 'CALL.HANGUP': { target: 'hangup', actions: 'noteLineDown' } },
      states: {
        answering: {
          invoke: {
            src: 'answer',
            input: ({ context }) => ({ channelId: context.input.channelId }),
            onDone: { target: 'code' },
            onError: { target: '#feedbackIvr.failed', actions: [hangUp(), failReason('answer failed')] },
          },
        },
        code: {
          initial: 'prompting',
          states: {
            prompting: {
              invoke: {
                src: 'promptForCode',
                input: ({ context }) => ({ channelId: context.input.channelId, part: context.codePart, attempt: context.tries + 1 }),
                onDone: { target: 'deciding', actions: assign(({ context, event }) => ({ lastCode: event.output, tries: context.tries + 1 })) },
                onError: { target: '#feedbackIvr.failed', actions: [hangUp(), failReason('prompt failed')] },
              },
            },
            deciding: {
              always: [
                { guard: 'codeKeyed', target: 'looking' },
                // The prompt saw the hangup: the line is already down.
                { guard: { type: 'codeIs', params: { status: 'hangup' } }, target: '#feedbackIvr.hangup', actions: 'noteLineDown' },
                { guard: 'triesLeft', target: 'prompting', actions: assign({ codePart: 'welcome_again' }) },
                { target: '#feedbackIvr.closing', actions: assign(({ context }) => closeWithoutOrder(context)) },
              ],
            },
            looking: {
              invoke: {
                src: 'findOrder',
                input: ({ context }) => ({
                  channelId: context.input.channelId,
                  digits: context.lastCode?.status === 'digits' ? context.lastCode.digits : '',
                  callerNumber: context.input.callerNumber,
                }),
                onDone: [
                  {
                    guard: ({ event }) => event.output.found && event.output.caller === 'contact',
                    target: '#feedbackIvr.session.kind',
                    actions: assign(({ event }) => (event.output.found ? { orderId: event.output.orderId, code: event.output.code, tries: 0 } : {})),
                  },
                  {
                    guard: ({ event }) => event.output.found && event.output.caller === 'pin',
                    target: '#feedbackIvr.session.pin',
                    actions: assign(({ event }) => (event.output.found ? { orderId: event.output.orderId, code: event.output.code, tries: 0 } : {})),
                  },
                  {
                    // Refused at once; the effect has recorded the refusal.
                    guard: ({ event }) => event.output.found,
                    target: '#feedbackIvr.closing',
                    actions: assign(({ event }) =>
                      event.output.found ? { orderId: event.output.orderId, code: event.output.code, closing: 'refused' as const, reason: event.output.caller === 'refused' ? event.output.refusal : 'refused' } : {}),
                  },
                  { guard: 'triesLeft', target: 'prompting', actions: ['noteUnknownCode', assign({ codePart: 'unknown_then_welcome' })] },
                  { target: '#feedbackIvr.closing', actions: ['noteUnknownCode', assign(({ context }) => closeWithoutOrder(context))] },
                ],
                onError: { target: '#feedbackIvr.failed', actions: [hangUp(), failReason('order lookup failed')] },
              },
            },
          },
        },
        // The caller is not a contact of the unit: the unit's PIN first.
        pin: {
          initial: 'prompting',
          states: {
            prompting: {
              invoke: {
                src: 'promptForPin',
                input: ({ context }) => ({ channelId: context.input.channelId, orderId: context.orderId ?? '', part: context.pinPart, attempt: context.tries + 1 }),
                onDone: { target: 'deciding', actions: assign(({ context, event }) => ({ lastPin: event.output, tries: context.tries + 1 })) },
                onError: { target: '#feedbackIvr.failed', actions: [hangUp(), failReason('prompt failed')] },
              },
            },
            deciding: {
              always: [
                { guard: 'pinKeyed', target: 'verifying' },
                { guard: { type: 'pinIs', params: { status: 'hangup' } }, target: '#feedbackIvr.hangup', actions: 'noteLineDown' },
                { guard: 'triesLeft', target: 'prompting', actions: assign({ pinPart: 'pin_again' }) },
                { target: '#feedbackIvr.closing', actions: [...refuse((context) => `no PIN keyed after ${context.tries} prompts`)] },
              ],
            },
            verifying: {
              invoke: {
                src: 'verifyPin',
                input: ({ context }) => ({
                  channelId: context.input.channelId,
                  orderId: context.orderId ?? '',
                  digits: context.lastPin?.status === 'digits' ? context.lastPin.digits : '',
                  callerNumber: context.input.callerNumber,
                  wrongSoFar: context.wrongPins,
                }),
                onDone: [
                  { guard: ({ event }) => event.output.ok, target: '#feedbackIvr.session.kind', actions: assign({ tries: 0 }) },
                  {
                    guard: ({ context }) => context.wrongPins + 1 >= MAX_WRONG_PINS,
                    target: '#feedbackIvr.closing',
                    actions: [assign(({ context }) => ({ wrongPins: context.wrongPins + 1 })), ...refuse(() => `wrong PIN ${MAX_WRONG_PINS} times`)],
                  },
                  { target: 'prompting', actions: assign(({ context }) => ({ wrongPins: context.wrongPins + 1, pinPart: 'wrong_then_pin' as const, tries: 0 })) },
                ],
                onError: { target: '#feedbackIvr.failed', actions: [hangUp(), failReason('PIN check failed')] },
              },
            },
          },
        },
        kind: {
          initial: 'prompting',
          states: {
            prompting: {
              invoke: {
                src: 'promptForKind',
                input: ({ context }) => ({
                  channelId: context.input.channelId,
                  orderId: context.orderId ?? '',
                  code: context.code ?? '',
                  part: context.kindPart,
                  attempt: context.tries + 1,
                }),
                onDone: {
                  target: 'deciding',
                  actions: assign(({ context, event }) => ({ lastKey: classifyKindOutcome(event.output), tries: context.tries + 1 })),
                },
                onError: { target: '#feedbackIvr.failed', actions: [hangUp(), failReason('prompt failed')] },
              },
            },
            deciding: {
              always: [
                {
                  guard: { type: 'keypadIs', params: { kind: 'feedback' } },
                  target: '#feedbackIvr.committing',
                  actions: assign(({ context }) => (context.lastKey?.kind === 'feedback' ? { kind: context.lastKey.feedback } : {})),
                },
                { guard: { type: 'keypadIs', params: { kind: 'hangup' } }, target: '#feedbackIvr.hangup', actions: 'noteLineDown' },
                {
                  guard: 'triesLeft',
                  target: 'prompting',
                  actions: assign(({ context }) => ({ kindPart: context.lastKey?.kind === 'invalid' ? 'invalid_then_menu' : 'menu_again' })),
                },
                {
                  target: '#feedbackIvr.closing',
                  actions: assign(({ context }) => ({ closing: 'no_input' as const, reason: `no valid key after ${context.tries} menu prompts` })),
                },
              ],
            },
          },
        },
      },
    },
    // The feedback must not be lost: a hangup or the call limit never interrupts the commit.
    committing: {
      invoke: {
        src: 'commitFeedback',
        input: ({ context }) => ({ channelId: context.input.channelId, orderId: context.orderId ?? '', kind: context.kind ?? 'progress', callerNumber: context.input.callerNumber }),
        onDone: [{ guard: 'lineDown', target: 'recorded' }, { target: 'confirming' }],
        onError: [
          { guard: 'lineDown', target: 'failed', actions: failReason('commit failed') },
          { target: 'failed', actions: [hangUp(), failReason('commit failed')] },
        ],
      },
      after: { callLimit: { guard: ({ context }) => !context.lineDown, actions: [hangUp(), 'noteLineDown'] } },
      on: { 'CALL.HANGUP': { actions: 'noteLineDown' } },
    },
    // Already recorded: the caller leaving only shortens the confirmation.
    confirming: {
      invoke: {
        src: 'playRecorded',
        input: ({ context }) => ({ channelId: context.input.channelId, orderId: context.orderId ?? '', code: context.code ?? '', kind: context.kind ?? 'progress' }),
        onDone: { target: 'recorded', actions: hangUp() },
        onError: { target: 'recorded', actions: [hangUp(), failReason('confirmation failed')] },
      },
      after: { callLimit: { target: 'recorded', actions: hangUp() } },
      on: { 'CALL.HANGUP': { target: 'recorded', actions: 'noteLineDown' } },
    },
    // The result is decided (unknown order or no input); a goodbye, then we hang up.
    closing: {
      invoke: {
        src: 'playGoodbye',
        input: ({ context }) => ({ channelId: context.input.channelId, after: context.closing ?? 'no_input' }),
        onDone: closeTransitions(true),
        onError: closeTransitions(true),
      },
      after: { callLimit: closeTransitions(true) },
      on: { 'CALL.HANGUP': closeTransitions(false) },
    },
    recorded: { type: 'final', entry: settle('recorded') },
    unknownOrder: { type: 'final', entry: settle('unknown_order') },
    refused: { type: 'final', entry: settle('refused') },
    noInput: { type: 'final', entry: settle('no_input') },
    hangup: { type: 'final', entry: settle('hangup') },
    failed: { type: 'final', entry: settle('failed') },
  },
  output: ({ context }) => outputOf(context),
});

function maxTriesOf(context: FeedbackIvrContext): number {
  return context.input.maxTries ?? DEFAULT_MAX_TRIES;
}

function hangUp() {
  return { type: 'hangUp', params: ({ context }: { context: FeedbackIvrContext }) => ({ channelId: context.input.channelId }) } as const;
}

function settle(result: FeedbackIvrResult) {
  return { type: 'settle', params: { result } } as const;
}

function failReason(what: string) {
  return { type: 'noteReason', params: ({ event }: { event: unknown }) => ({ reason: `${what}: ${reasonOf((event as { error?: unknown }).error)}` }) } as const;
}

/** Out of tries in the code phase: an unknown code keyed at any point makes it `unknown_order`. */
function closeWithoutOrder(context: FeedbackIvrContext): Partial<FeedbackIvrContext> {
  const tries = maxTriesOf(context);
  return context.unknownCode !== null
    ? { closing: 'unknown_order', reason: `no order with code ${context.unknownCode} (${tries} prompts)` }
    : { closing: 'no_input', reason: `no order code keyed after ${tries} prompts` };
}

/** Ends the PIN phase refused: the reason is kept for the output and recorded as a case event. */
function refuse(reason: (context: FeedbackIvrContext) => string) {
  return [
    { type: 'noteRefusal', params: ({ context }: { context: FeedbackIvrContext }) => ({ reason: reason(context) }) },
    {
      type: 'recordRefusal',
      params: ({ context }: { context: FeedbackIvrContext }) => ({ channelId: context.input.channelId, orderId: context.orderId ?? '', callerNumber: context.input.callerNumber, reason: reason(context) }),
    },
  ] as const;
}

function closeTransitions(hangUpFirst: boolean) {
  const extra = hangUpFirst ? [hangUp()] : ['noteLineDown' as const];
  return [
    { guard: { type: 'closingIs', params: { closing: 'unknown_order' } }, target: '#feedbackIvr.unknownOrder', actions: extra },
    { guard: { type: 'closingIs', params: { closing: 'refused' } }, target: '#feedbackIvr.refused', actions: extra },
    { target: '#feedbackIvr.noInput', actions: extra },
  ] as const;
}

function outputOf(c: FeedbackIvrContext): FeedbackIvrOutput {
  const out: FeedbackIvrOutput = { result: c.result ?? 'failed' };
  if (c.orderId !== null) out.orderId = c.orderId;
  if (c.code !== null) out.code = c.code;
  if (c.kind !== null) out.kind = c.kind;
  if (c.result === null) out.reason = 'ended without a result';
  if (c.reason !== null) out.reason = c.reason;
  return out;
}
