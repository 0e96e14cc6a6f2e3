// One phone call to one contact: dial (the shared dial machine: originate, ring, hangup cause →
// result), play the order and menu once answered, read one key, commit the acceptance, confirm
// it, hang up. Pure: every effect is a named actor or action provided by the composition root
// (src/) with `.provide()`; every timer is a named delay read from context. Time comes from the
// actor system's clock (see ./clock.ts).
import { assign, forwardTo, fromCallback, fromPromise, setup } from 'xstate';
import type { HangupCause, HangupKind } from '../src/telephony/port.js';
import { clockNow, reasonOf } from './clock.js';
import { dialInputOf, dialMachine, type DialOutput, type DialResult } from './dial.machine.js';

/**
 * Which menu is read: dispatch order (1 accept, 2 or * repeat, 3 accept + dispute), alarm, major
 * incident, feedback reminder (督查催办: 1 arrived/completed, 2 still on the way, 3 need help;
 * each is an answer that is committed before the confirmation, like an acceptance).
 */
export type CallScript = 'dispatch' | 'alarm' | 'major' | 'reminder';
export type PromptPart = 'message' | 'message_again' | 'invalid_then_message';
export type CallAttemptResult = 'accepted' | 'no_answer' | 'busy' | 'failed' | 'hangup' | 'no_input' | 'interrupted' | 'cancelled';

export const DEFAULT_MAX_REPLAYS = 2;
/** Seconds an answered call may last at most (menu phase; the confirmation gets the same again). */
export const DEFAULT_ANSWERED_CALL_LIMIT_SECONDS = 300;
/** Seconds we wait for the hangup event (its cause tells hangup from a lost Asterisk) after the prompt saw a hangup. */
export const DEFAULT_HANGUP_EVENT_GRACE_SECONDS = 2;

export interface CallAttemptInput {
  orderId: string;
  /** Also the channel id. */
  attemptId: string;
  /**
   * The co-unit whose chain places the call (its department id); absent for the lead unit and for
   * reminder calls. Passed on to the effects with orderId: they find the live state of the order's
   * unit (what is said, where an acceptance is committed) from these alone.
   */
  coUnit?: string;
  contactId: string;
  number: string;
  script: CallScript;
  /** Seconds the phone may ring. */
  ringTimeoutSeconds: number;
  /** Replays (after repeat, invalid key or no key) before giving up with `no_input`; default 2. */
  maxReplays?: number;
  ringGraceSeconds?: number;
  answeredCallLimitSeconds?: number;
  hangupEventGraceSeconds?: number;
}

/** A single prompt's outcome as `promptForKey` resolves it. */
export type PromptOutcome = { status: 'key'; key: string } | { status: 'timeout' } | { status: 'hangup' };

/** The typed meaning of a prompt's outcome for this script. */
export type KeypadResult =
  | { kind: 'accepted'; key: string; disputed: boolean }
  | { kind: 'repeat'; key: string }
  | { kind: 'invalid'; key: string }
  | { kind: 'timeout' }
  | { kind: 'hangup' };

export function classifyKey(script: CallScript, key: string): KeypadResult {
  if (script === 'reminder') return ['1', '2', '3'].includes(key) ? { kind: 'accepted', key, disputed: false } : { kind: 'invalid', key };
  if (key === '1') return { kind: 'accepted', key, disputed: false };
  if (key === '3' && script === 'dispatch') return { kind: 'accepted', key, disputed: true };
  if (key === '2' || key === '*') return { kind: 'repeat', key };
  return { kind: 'invalid', key };
}

export function classifyPromptOutcome(script: CallScript, outcome: PromptOutcome): KeypadResult {
  return outcome.status === 'key' ? classifyKey(script, outcome.key) : { kind: outcome.status };
}

export type CallAttemptEvent =
  | { type: 'CALL.ANSWERED'; at: number }
  | { type: 'CALL.HANGUP'; cause: HangupCause; at: number }
  /** From the parent: another contact accepted, or the order was withdrawn. */
  | { type: 'CANCEL' };

export interface CallAttemptOutput {
  result: CallAttemptResult;
  reason?: string;
  /** Every key pressed, in order. */
  digits: string;
  /** Epoch ms. */
  answeredAt?: number;
  /** Epoch ms: the hangup event's time, or when the machine ended the call. */
  endedAt: number;
  cause?: HangupCause;
  /** Set once an accepting key was pressed. */
  disputed?: boolean;
  /** From commitAcceptance: someone else had accepted first, or the order was no longer waiting. */
  late?: boolean;
  /**
   * The line cannot ring now (the dial machine's classification: unallocated or invalid number,
   * endpoint unavailable, originate refused by Asterisk, congestion): the order moves to the next
   * contact at once instead of waiting the retry delay. Busy and no answer are not dead lines.
   */
  lineDead?: boolean;
}

// Parameter types of the named effects, for the implementations in src/.
/** Which call an effect is for: the order (and co-unit) whose live state it uses, and the attempt. */
export interface CallRef { orderId: string; coUnit?: string; attemptId: string }
export interface CallEventsInput { attemptId: string }
export interface PromptForKeyInput extends CallRef { script: CallScript; part: PromptPart; replay: number }
export interface CommitAcceptanceInput extends CallRef { contactId: string; script: CallScript; disputed: boolean; key: string }
export interface CommitAcceptanceOutput { late: boolean }
export interface PlayConfirmationInput extends CallRef { script: CallScript; disputed: boolean; late: boolean }
export interface HangUpParams { attemptId: string }
export interface RecordAnsweredParams extends CallRef { at: number }
/** `replay` is 0 for the first reading, 1 for the first replay, … */
export interface RecordKeyParams extends CallRef { replay: number; keypad: KeypadResult }

/** The call's CallRef, from its input (coUnit only when set). */
export function callRefOf(input: CallAttemptInput): CallRef {
  return input.coUnit === undefined ? { orderId: input.orderId, attemptId: input.attemptId } : { orderId: input.orderId, coUnit: input.coUnit, attemptId: input.attemptId };
}

interface CallAttemptContext {
  input: CallAttemptInput;
  /** Replays played so far. */
  replay: number;
  part: PromptPart;
  lastKeypad: KeypadResult | null;
  digits: string;
  answeredAt: number | null;
  endedAt: number | null;
  cause: HangupCause | null;
  /** The line is down (hangup event seen, or we hung up): no more prompts. */
  lineDown: boolean;
  acceptKey: string | null;
  disputed: boolean | null;
  late: boolean | null;
  result: CallAttemptResult | null;
  reason: string | null;
  lineDead: boolean;
}

// Placeholders: the composition root provides the real effects; an unprovided one fails loudly.
const provide = (name: string) => (): never => {
  throw new Error(`provide ${name} with callAttemptMachine.provide()`);
};
const providePromise = (name: string) => (): Promise<never> => Promise.reject(new Error(`provide ${name} with callAttemptMachine.provide()`));

export const callAttemptMachine = setup({
  types: {
    input: {} as CallAttemptInput,
    context: {} as CallAttemptContext,
    events: {} as CallAttemptEvent,
    output: {} as CallAttemptOutput,
  },
  actors: {
    dial: dialMachine,
    callEvents: fromCallback<CallAttemptEvent, CallEventsInput>(provide('callEvents')),
    promptForKey: fromPromise<PromptOutcome, PromptForKeyInput>(providePromise('promptForKey')),
    commitAcceptance: fromPromise<CommitAcceptanceOutput, CommitAcceptanceInput>(providePromise('commitAcceptance')),
    playConfirmation: fromPromise<void, PlayConfirmationInput>(providePromise('playConfirmation')),
  },
  actions: {
    hangUp: (_, _params: HangUpParams) => provide('hangUp')(),
    recordAnswered: (_, _params: RecordAnsweredParams) => provide('recordAnswered')(),
    recordKey: (_, _params: RecordKeyParams) => provide('recordKey')(),
    noteHangup: assign(({ context, event }) =>
      event.type === 'CALL.HANGUP' ? { lineDown: true, cause: event.cause, endedAt: event.at } : context,
    ),
    noteLineClosedByUs: assign(({ system }) => ({ lineDown: true, endedAt: clockNow(system) })),
    noteReason: assign((_, params: { reason: string }) => ({ reason: params.reason })),
    noteDialEnd: assign((_, d: DialOutput) => ({
      endedAt: d.endedAt ?? null,
      cause: d.cause ?? null,
      reason: d.reason === undefined ? null : d.lineDead ? `line dead: ${d.reason}` : d.reason,
      lineDead: d.lineDead ?? false,
    })),
    settle: assign(({ context, system }, params: { result: CallAttemptResult }) => ({
      result: params.result,
      endedAt: context.endedAt ?? clockNow(system),
    })),
  },
  guards: {
    causeIs: ({ event }, params: { kinds: readonly HangupKind[] }) =>
      event.type === 'CALL.HANGUP' && params.kinds.includes(event.cause.kind),
    lineDown: ({ context }) => context.lineDown,
    keypadIs: ({ context }, params: { kind: KeypadResult['kind'] }) => context.lastKeypad?.kind === params.kind,
    replaysLeft: ({ context }) => context.replay < (context.input.maxReplays ?? DEFAULT_MAX_REPLAYS),
  },
  delays: {
    answeredCallLimit: ({ context }) => (context.input.answeredCallLimitSeconds ?? DEFAULT_ANSWERED_CALL_LIMIT_SECONDS) * 1000,
    hangupEventGrace: ({ context }) => (context.input.hangupEventGraceSeconds ?? DEFAULT_HANGUP_EVENT_GRACE_SECONDS) * 1000,
  },
}).createMachine({
  id: 'callAttempt',
  context: ({ input }) => ({
    input,
    replay: 0,
    part: 'message',
    lastKeypad: null,
    digits: '',
    answeredAt: null,
    endedAt: null,
    cause: null,
    lineDown: false,
    acceptKey: null,
    disputed: null,
    late: null,
    result: null,
    reason: null,
    lineDead: false,
  }),
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
              assign({ answeredAt: ({ event }) => event.output.answeredAt ?? null }),
              { type: 'recordAnswered', params: ({ context, event }) => ({ ...callRefOf(context.input), at: event.output.answeredAt ?? 0 }) },
            ],
          },
          // How the unanswered call ended (a dead line's reason says so): kept for the output.
          { guard: dialled('busy'), target: 'busy', actions: { type: 'noteDialEnd', params: ({ event }) => event.output } },
          { guard: dialled('no_answer'), target: 'noAnswer', actions: { type: 'noteDialEnd', params: ({ event }) => event.output } },
          { guard: dialled('interrupted'), target: 'interrupted', actions: { type: 'noteDialEnd', params: ({ event }) => event.output } },
          { guard: dialled('cancelled'), target: 'cancelled', actions: { type: 'noteDialEnd', params: ({ event }) => event.output } },
          { target: 'failed', actions: { type: 'noteDialEnd', params: ({ event }) => event.output } },
        ],
        onError: { target: 'failed', actions: { type: 'noteReason', params: ({ event }) => ({ reason: `dial failed: ${reasonOf(event.error)}` }) } },
      },
      on: {
        'CALL.ANSWERED': { actions: forwardTo('dial') },
        'CALL.HANGUP': { actions: forwardTo('dial') },
        CANCEL: { actions: forwardTo('dial') },
      },
    },
    answered: {
      initial: 'menu',
      states: {
        menu: {
          initial: 'prompting',
          after: {
            answeredCallLimit: {
              target: '#callAttempt.failed',
              actions: [hangUp(), { type: 'noteReason', params: { reason: 'answered call limit reached in the menu' } }],
            },
          },
          on: {
            'CALL.HANGUP': [
              { guard: { type: 'causeIs', params: { kinds: ['lost'] } }, target: '#callAttempt.interrupted', actions: 'noteHangup' },
              { target: '#callAttempt.hangup', actions: 'noteHangup' },
            ],
            CANCEL: { target: '#callAttempt.cancelled', actions: hangUp() },
          },
          states: {
            prompting: {
              invoke: {
                src: 'promptForKey',
                input: ({ context }) => ({
                  ...callRefOf(context.input),
                  script: context.input.script,
                  part: context.part,
                  replay: context.replay,
                }),
                onDone: {
                  target: 'deciding',
                  actions: [
                    assign(({ context, event }) => {
                      const keypad = classifyPromptOutcome(context.input.script, event.output);
                      return { lastKeypad: keypad, digits: 'key' in keypad ? context.digits + keypad.key : context.digits };
                    }),
                    {
                      type: 'recordKey',
                      params: ({ context }) => ({ ...callRefOf(context.input), replay: context.replay, keypad: context.lastKeypad! }),
                    },
                  ],
                },
                onError: {
                  target: '#callAttempt.failed',
                  actions: [hangUp(), { type: 'noteReason', params: ({ event }) => ({ reason: `prompt failed: ${reasonOf(event.error)}` }) }],
                },
              },
            },
            deciding: {
              always: [
                {
                  guard: { type: 'keypadIs', params: { kind: 'accepted' } },
                  target: '#callAttempt.answered.committing',
                  actions: assign(({ context }) => {
                    const k = context.lastKeypad;
                    return k?.kind === 'accepted' ? { acceptKey: k.key, disputed: k.disputed } : {};
                  }),
                },
                { guard: { type: 'keypadIs', params: { kind: 'hangup' } }, target: 'awaitingHangupEvent' },
                {
                  guard: 'replaysLeft',
                  target: 'prompting',
                  actions: assign(({ context }) => ({
                    replay: context.replay + 1,
                    part: context.lastKeypad?.kind === 'invalid' ? 'invalid_then_message' : 'message_again',
                  })),
                },
                { target: '#callAttempt.noInput', actions: hangUp() },
              ],
            },
            // The prompt saw the hangup; the event (with its cause) is normally already here or just behind.
            awaitingHangupEvent: {
              after: { hangupEventGrace: { target: '#callAttempt.hangup', actions: hangUp() } },
            },
          },
        },
        committing: {
          invoke: {
            src: 'commitAcceptance',
            input: ({ context }) => ({
              ...callRefOf(context.input),
              contactId: context.input.contactId,
              script: context.input.script,
              disputed: context.disputed ?? false,
              key: context.acceptKey ?? '',
            }),
            onDone: [
              { guard: 'lineDown', target: '#callAttempt.accepted', actions: assign({ late: ({ event }) => event.output.late }) },
              { target: 'confirming', actions: assign({ late: ({ event }) => event.output.late }) },
            ],
            onError: [
              {
                guard: 'lineDown',
                target: '#callAttempt.failed',
                actions: { type: 'noteReason', params: ({ event }) => ({ reason: `commit failed: ${reasonOf(event.error)}` }) },
              },
              {
                target: '#callAttempt.failed',
                actions: [hangUp(), { type: 'noteReason', params: ({ event }) => ({ reason: `commit failed: ${reasonOf(event.error)}` }) }],
              },
            ],
          },
          // The acceptance must not be lost: a hangup, CANCEL or the call limit never interrupts the commit.
          after: { answeredCallLimit: { guard: ({ context }) => !context.lineDown, actions: [hangUp(), 'noteLineClosedByUs'] } },
          on: { 'CALL.HANGUP': { actions: 'noteHangup' }, CANCEL: {} },
        },
        confirming: {
          invoke: {
            src: 'playConfirmation',
            input: ({ context }) => ({
              ...callRefOf(context.input),
              script: context.input.script,
              disputed: context.disputed ?? false,
              late: context.late ?? false,
            }),
            onDone: { target: '#callAttempt.accepted', actions: hangUp() },
            onError: {
              target: '#callAttempt.accepted',
              actions: [hangUp(), { type: 'noteReason', params: ({ event }) => ({ reason: `confirmation failed: ${reasonOf(event.error)}` }) }],
            },
          },
          after: { answeredCallLimit: { target: '#callAttempt.accepted', actions: hangUp() } },
          // Already accepted: the caller leaving, or a CANCEL, only shortens the confirmation.
          on: { 'CALL.HANGUP': { target: '#callAttempt.accepted', actions: 'noteHangup' }, CANCEL: {} },
        },
      },
    },
    accepted: { type: 'final', entry: settle('accepted') },
    noAnswer: { type: 'final', entry: settle('no_answer') },
    busy: { type: 'final', entry: settle('busy') },
    failed: { type: 'final', entry: settle('failed') },
    hangup: { type: 'final', entry: settle('hangup') },
    noInput: { type: 'final', entry: settle('no_input') },
    interrupted: { type: 'final', entry: settle('interrupted') },
    cancelled: { type: 'final', entry: settle('cancelled') },
  },
  output: ({ context }) => outputOf(context),
});

function hangUp() {
  return { type: 'hangUp', params: ({ context }: { context: CallAttemptContext }) => ({ attemptId: context.input.attemptId }) } as const;
}

/** A guard on the dial machine's result. */
function dialled(result: DialResult) {
  return ({ event }: { event: { output: DialOutput } }) => event.output.result === result;
}

function settle(result: CallAttemptResult) {
  return { type: 'settle', params: { result } } as const;
}

function outputOf(c: CallAttemptContext): CallAttemptOutput {
  const out: CallAttemptOutput = { result: c.result ?? 'failed', digits: c.digits, endedAt: c.endedAt ?? 0 };
  if (c.result === null) out.reason = 'ended without a result';
  if (c.reason !== null) out.reason = c.reason;
  if (c.answeredAt !== null) out.answeredAt = c.answeredAt;
  if (c.cause !== null) out.cause = c.cause;
  if (c.disputed !== null) out.disputed = c.disputed;
  if (c.late !== null) out.late = c.late;
  if (c.lineDead) out.lineDead = true;
  return out;
}
