// The unanswered part of one outbound call, shared by every call machine (call attempt — dispatch,
// alarm, major, reminder — and survey call): originate with our own channel id, ring, and end
// with a typed result: answered (with the answer time), or the hangup/failure before the answer
// with its cause and whether the line is dead. The caller invokes it and goes on after
// `answered`. Pure: originate and hangUp are provided by the composition root with `.provide()`;
// the ring timeout is a named delay. The channel's events are subscribed by the calling machine
// (before the originate, for the whole call) and forwarded here while the call is unanswered.
import { assign, fromPromise, setup } from 'xstate';
import type { HangupCause, HangupKind } from '../src/telephony/port.js';
import { clockNow, reasonOf } from './clock.js';

/** Seconds the ring-timeout safety net waits beyond the ring timeout for Asterisk's own hangup event. */
export const DEFAULT_RING_GRACE_SECONDS = 5;

export type DialResult = 'answered' | 'busy' | 'no_answer' | 'failed' | 'interrupted' | 'cancelled';

export interface DialInput {
  /** Also the channel id. */
  attemptId: string;
  number: string;
  /** Seconds the phone may ring. */
  ringTimeoutSeconds: number;
  ringGraceSeconds?: number;
}

/** The dial machine's input taken from a calling machine's own input (which has these fields and more). */
export function dialInputOf(input: DialInput): DialInput {
  const { attemptId, number, ringTimeoutSeconds, ringGraceSeconds } = input;
  return { attemptId, number, ringTimeoutSeconds, ringGraceSeconds };
}

export type DialEvent =
  | { type: 'CALL.ANSWERED'; at: number }
  | { type: 'CALL.HANGUP'; cause: HangupCause; at: number }
  /** From the calling machine: stop the call (a machine that never cancels never sends it). */
  | { type: 'CANCEL' };

export interface DialOutput {
  result: DialResult;
  /** Epoch ms of the answer; set only when `answered`. */
  answeredAt?: number;
  /** Epoch ms: the hangup event's time, or when this machine gave up; not set when `answered`. */
  endedAt?: number;
  cause?: HangupCause;
  /** The cause text or the originate's error, as it came (callers add their own wording). */
  reason?: string;
  /**
   * The line cannot ring now (unallocated or invalid number, endpoint unavailable, originate
   * refused by Asterisk, congestion). Busy and no answer are not dead lines.
   */
  lineDead?: boolean;
}

/** Hangup kinds before an answer that mean the line cannot ring now (see lineDead). */
export const DEAD_LINE_KINDS: readonly HangupKind[] = ['unreachable', 'congestion'];
/**
 * Error codes of a refused originate (the telephony port's TelephonyError.code) that mean the
 * number or endpoint is dead; `not_connected` (Asterisk itself is down) is not one of them.
 */
export const DEAD_LINE_ORIGINATE_CODES: readonly string[] = ['asterisk_error', 'invalid_number'];

export function isDeadLineOriginateError(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  return typeof code === 'string' && DEAD_LINE_ORIGINATE_CODES.includes(code);
}

// Parameter types of the named effects, for the implementations in src/.
export interface OriginateInput { attemptId: string; number: string; ringTimeoutSeconds: number }
export interface HangUpParams { attemptId: string }

interface DialContext {
  input: DialInput;
  /** CANCEL came while the originate was still in flight; hang up once it settles. */
  cancelRequested: boolean;
  result: DialResult | null;
  answeredAt: number | null;
  endedAt: number | null;
  cause: HangupCause | null;
  reason: string | null;
  lineDead: boolean;
}

// Placeholders: the composition root provides the real effects; an unprovided one fails loudly.
const provide = (name: string) => (): never => {
  throw new Error(`provide ${name} with dialMachine.provide()`);
};
const providePromise = (name: string) => (): Promise<never> => Promise.reject(new Error(`provide ${name} with dialMachine.provide()`));

export const dialMachine = setup({
  types: {
    input: {} as DialInput,
    context: {} as DialContext,
    events: {} as DialEvent,
    output: {} as DialOutput,
  },
  actors: {
    originate: fromPromise<void, OriginateInput>(providePromise('originate')),
  },
  actions: {
    hangUp: (_, _params: HangUpParams) => provide('hangUp')(),
    noteHangup: assign(({ context, event }) => (event.type === 'CALL.HANGUP' ? { cause: event.cause, endedAt: event.at } : context)),
    noteReason: assign((_, params: { reason: string }) => ({ reason: params.reason })),
    settle: assign(({ context, system }, params: { result: DialResult }) => ({
      result: params.result,
      endedAt: params.result === 'answered' ? null : (context.endedAt ?? clockNow(system)),
    })),
  },
  guards: {
    causeIs: ({ event }, params: { kinds: readonly HangupKind[] }) =>
      event.type === 'CALL.HANGUP' && params.kinds.includes(event.cause.kind),
    cancelRequested: ({ context }) => context.cancelRequested,
  },
  delays: {
    ringTimeout: ({ context }) => (context.input.ringTimeoutSeconds + (context.input.ringGraceSeconds ?? DEFAULT_RING_GRACE_SECONDS)) * 1000,
  },
}).createMachine({
  id: 'dial',
  context: ({ input }) => ({
    input,
    cancelRequested: false,
    result: null,
    answeredAt: null,
    endedAt: null,
    cause: null,
    reason: null,
    lineDead: false,
  }),
  initial: 'calling',
  states: {
    calling: {
      initial: 'dialling',
      // Safety net: Asterisk should end the ringing itself after ringTimeoutSeconds.
      after: {
        ringTimeout: [
          { guard: 'cancelRequested', target: 'cancelled', actions: hangUp() },
          {
            target: 'noAnswer',
            actions: [hangUp(), { type: 'noteReason', params: { reason: 'no hangup event within the ring timeout and grace' } }],
          },
        ],
      },
      on: {
        'CALL.ANSWERED': { target: 'answered', actions: assign({ answeredAt: ({ event }) => event.at }) },
        'CALL.HANGUP': [
          { guard: { type: 'causeIs', params: { kinds: ['busy'] } }, target: 'busy', actions: 'noteHangup' },
          { guard: { type: 'causeIs', params: { kinds: ['no_answer', 'normal'] } }, target: 'noAnswer', actions: 'noteHangup' },
          { guard: { type: 'causeIs', params: { kinds: ['lost'] } }, target: 'interrupted', actions: 'noteHangup' },
          {
            guard: { type: 'causeIs', params: { kinds: DEAD_LINE_KINDS } },
            target: 'failed',
            actions: ['noteHangup', assign({ lineDead: true }), { type: 'noteReason', params: ({ event }) => ({ reason: causeText(event.cause) }) }],
          },
          { target: 'failed', actions: ['noteHangup', { type: 'noteReason', params: ({ event }) => ({ reason: causeText(event.cause) }) }] },
        ],
        CANCEL: { target: 'cancelled', actions: hangUp() },
      },
      states: {
        dialling: {
          invoke: {
            src: 'originate',
            input: ({ context }) => ({
              attemptId: context.input.attemptId,
              number: context.input.number,
              ringTimeoutSeconds: context.input.ringTimeoutSeconds,
            }),
            onDone: [{ guard: 'cancelRequested', target: '#dial.cancelled', actions: hangUp() }, { target: 'ringing' }],
            onError: [
              { guard: 'cancelRequested', target: '#dial.cancelled' },
              {
                guard: ({ event }) => isDeadLineOriginateError(event.error),
                target: '#dial.failed',
                actions: [assign({ lineDead: true }), { type: 'noteReason', params: ({ event }) => ({ reason: reasonOf(event.error) }) }],
              },
              { target: '#dial.failed', actions: { type: 'noteReason', params: ({ event }) => ({ reason: reasonOf(event.error) }) } },
            ],
          },
          // Hanging up a channel Asterisk has not created yet would leave it ringing: wait for the originate.
          on: {
            CANCEL: { actions: assign({ cancelRequested: true }) },
            'CALL.ANSWERED': { guard: 'cancelRequested', target: '#dial.cancelled', actions: hangUp() },
          },
        },
        ringing: {},
      },
    },
    answered: { type: 'final', entry: settle('answered') },
    noAnswer: { type: 'final', entry: settle('no_answer') },
    busy: { type: 'final', entry: settle('busy') },
    failed: { type: 'final', entry: settle('failed') },
    interrupted: { type: 'final', entry: settle('interrupted') },
    cancelled: { type: 'final', entry: settle('cancelled') },
  },
  output: ({ context }) => outputOf(context),
});

function causeText(cause: HangupCause): string {
  return cause.text || `hangup cause ${cause.code}`;
}

function hangUp() {
  return { type: 'hangUp', params: ({ context }: { context: DialContext }) => ({ attemptId: context.input.attemptId }) } as const;
}

function settle(result: DialResult) {
  return { type: 'settle', params: { result } } as const;
}

function outputOf(c: DialContext): DialOutput {
  const out: DialOutput = { result: c.result ?? 'failed' };
  if (c.result === null) out.reason = 'ended without a result';
  if (c.reason !== null) out.reason = c.reason;
  if (c.answeredAt !== null) out.answeredAt = c.answeredAt;
  if (c.endedAt !== null) out.endedAt = c.endedAt;
  if (c.cause !== null) out.cause = c.cause;
  if (c.lineDead) out.lineDead = true;
  return out;
}
