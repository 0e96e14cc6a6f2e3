// Time-compressed dry run of a department's escalation policy: the real order machine and the
// real call-attempt machine (machines/), with fake phones and a virtual clock that jumps from one
// timer to the next, so hours of retries and loops take milliseconds. Nothing is dialled and
// nothing is stored; the result is the timeline the duty officers would live through.
import { createActor, fromCallback, fromPromise } from 'xstate';
import {
  callAttemptMachine,
  type CallAttemptEvent,
  type CallEventsInput,
  type CommitAcceptanceInput,
  type CommitAcceptanceOutput,
  type PlayConfirmationInput,
  type PromptForKeyInput,
  type PromptOutcome,
} from '../../machines/call-attempt.machine.js';
import { dialMachine } from '../../machines/dial.machine.js';
import { orderMachine } from '../../machines/order.machine.js';
import type { Contact, OrderInput } from '../../machines/order.policy.js';
import type { DispatchPolicy } from '../dispatch/policy.js';
import { classifyHangup } from '../telephony/hangup-causes.js';
import type { TimelineEntry } from './policy-timeline.js';

/** How a simulated phone behaves; `live` dry runs dial the sim-phones number that behaves the same. */
export const BEHAVIOURS = ['accept', 'dispute', 'repeat_then_accept', 'no_input', 'hangup', 'no_answer', 'busy', 'congestion', 'unreachable'] as const;
export type Behaviour = (typeof BEHAVIOURS)[number];

/** Seconds, for the simulation. Sim-phones differ a little (they answer at once), see SIM_NUMBERS. */
export const SIMULATED_TIMING = {
  /** A person picks up after ringing this long. */
  answerAfterSeconds: 5,
  /** … and presses a key this long into the order message (keys interrupt the prompt). */
  keyAfterSeconds: 5,
  /** Order message + menu as spoken (about 140 characters of Mandarin). */
  promptSeconds: 25,
  /** The confirmation with the order code read back. */
  confirmationSeconds: 12,
  /** `hangup` phones hang up this long after answering. */
  hangupAfterSeconds: 5,
  /** Busy, congestion and unreachable come back this fast. */
  rejectAfterSeconds: 1,
} as const;

/** Q.850 causes the network gives for the unanswered behaviours. */
const CAUSES: Partial<Record<Behaviour, number>> = { no_answer: 19, busy: 17, congestion: 34, unreachable: 3 };

export interface SimulationInput {
  readonly orderId: string;
  readonly contacts: readonly Contact[];
  readonly policy: DispatchPolicy;
  readonly major: boolean;
  readonly leaders: readonly Contact[];
  readonly commandCentre: Contact | null;
  /** Party id (contact, leader, command centre) → behaviour. */
  readonly phones: ReadonlyMap<string, Behaviour>;
}

export interface SimulationResult {
  readonly status: string;
  readonly entries: readonly TimelineEntry[];
  /** Simulated seconds from the order to the end of the last call. */
  readonly seconds: number;
  readonly calls: number;
}

/** A clock for xstate that runs timers only when told, jumping straight to the next one. */
export class VirtualClock {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }
  setTimeout(fn: (...args: unknown[]) => void, ms: number): number {
    this.seq += 1;
    this.timers.set(this.seq, { at: this.t + Math.max(0, ms), fn: () => fn() });
    return this.seq;
  }
  clearTimeout(id: number): void {
    this.timers.delete(id);
  }
  /** Runs the earliest timer (ties: the first set); false when none is pending. */
  runNext(): boolean {
    let next: [number, { at: number; fn: () => void }] | undefined;
    for (const entry of this.timers) if (!next || entry[1].at < next[1].at) next = entry;
    if (!next) return false;
    this.timers.delete(next[0]);
    this.t = next[1].at;
    next[1].fn();
    return true;
  }
}

/** Upper bound of timers run: the largest policy (10 × 11 passes) stays far below it. */
const MAX_STEPS = 100_000;

export async function simulatePolicy(input: SimulationInput): Promise<SimulationResult> {
  const clock = new VirtualClock();
  const entries: TimelineEntry[] = [];
  const add = (kind: string, detail: Record<string, unknown>): void => void entries.push({ seconds: clock.now() / 1000, kind, detail });
  const partyOf = new Map<string, string>(); // attemptId → party id
  const behaviourOf = (attemptId: string): Behaviour => input.phones.get(partyOf.get(attemptId) ?? '') ?? 'no_answer';
  const later = <T>(seconds: number, value: T): Promise<T> => new Promise((resolve) => clock.setTimeout(() => resolve(value), seconds * 1000));
  const T = SIMULATED_TIMING;

  const fakeCall = callAttemptMachine.provide({
    actors: {
      dial: dialMachine.provide({ actors: { originate: fromPromise(() => Promise.resolve()) }, actions: { hangUp: () => undefined } }),
      callEvents: fromCallback<CallAttemptEvent, CallEventsInput>(({ input: { attemptId }, sendBack }) => {
        const timers: number[] = [];
        const at = (seconds: number, e: () => CallAttemptEvent): void => void timers.push(clock.setTimeout(() => sendBack(e()), seconds * 1000));
        // Decided on the next timer turn: the calls started with the order are spawned before
        // recordAttemptStarted has said whose they are (see the ordering note in order.machine.ts).
        timers.push(clock.setTimeout(() => {
          const b = behaviourOf(attemptId);
          const cause = CAUSES[b];
          if (cause !== undefined) {
            // No answer: the ring timeout ends the call (Asterisk reports 19); the others are quick.
            at(b === 'no_answer' ? input.policy.ringTimeoutSeconds : T.rejectAfterSeconds, () => ({ type: 'CALL.HANGUP', cause: classifyHangup(cause, ''), at: clock.now() }));
          } else {
            at(T.answerAfterSeconds, () => ({ type: 'CALL.ANSWERED', at: clock.now() }));
            if (b === 'hangup') at(T.answerAfterSeconds + T.hangupAfterSeconds, () => ({ type: 'CALL.HANGUP', cause: classifyHangup(16, 'Normal Clearing'), at: clock.now() }));
          }
        }, 0));
        return () => timers.forEach((t) => clock.clearTimeout(t));
      }),
      promptForKey: fromPromise<PromptOutcome, PromptForKeyInput>(({ input: p }) => {
        const b = behaviourOf(p.attemptId);
        const key = b === 'accept' ? '1' : b === 'dispute' ? '3' : b === 'repeat_then_accept' ? (p.replay === 0 ? '2' : '1') : undefined;
        if (key !== undefined) return later(T.keyAfterSeconds, { status: 'key', key });
        if (b === 'hangup') return new Promise<PromptOutcome>(() => undefined); // the hangup event ends the call
        return later(T.promptSeconds + input.policy.keyTimeoutSeconds, { status: 'timeout' });
      }),
      commitAcceptance: fromPromise<CommitAcceptanceOutput, CommitAcceptanceInput>(() => Promise.resolve({ late: false })),
      playConfirmation: fromPromise<void, PlayConfirmationInput>(() => later<void>(T.confirmationSeconds, undefined)),
    },
    actions: {
      hangUp: () => undefined,
      recordAnswered: (_, p) => add('answered', { attemptId: p.attemptId }),
      recordKey: (_, p) => add('keypad', { attemptId: p.attemptId, replay: p.replay, result: p.keypad.kind, key: 'key' in p.keypad ? p.keypad.key : null }),
    },
  });
  const machine = orderMachine.provide({
    actors: { callAttempt: fakeCall },
    actions: {
      recordAttemptStarted: (_, p) => {
        partyOf.set(p.attemptId, p.contactId);
        add('attempt_started', { attemptId: p.attemptId, seq: p.seq, script: p.script, contactId: p.contactId, number: p.number, attemptOnContact: p.attemptOnContact, loop: p.cursor?.loop ?? null });
      },
      recordAttemptResult: (_, p) => add('attempt_result', { attemptId: p.attemptId, contactId: p.contactId, result: p.output.result, causeCode: p.output.cause?.code ?? null, reason: p.output.reason ?? null }),
      recordStatus: (_, p) => add('status', { status: p.status }),
      recordEvent: (_, p) => {
        if (p.kind !== 'attempt_started' && p.kind !== 'attempt_ended') add(p.kind, p.detail);
      },
      notifyWebhook: (_, p) => add('webhook', { status: p.status, attempts: p.attempts }),
    },
  });
  const orderInput: OrderInput = {
    orderId: input.orderId,
    contacts: [...input.contacts],
    policy: input.policy,
    major: input.major,
    leaders: [...input.leaders],
    commandCentre: input.commandCentre,
  };
  const actor = createActor(machine, { input: orderInput, clock });
  let crashed: unknown;
  actor.subscribe({ error: (err) => (crashed = err) });
  actor.start();
  await settle();
  for (let steps = 0; actor.getSnapshot().status === 'active'; steps++) {
    if (crashed !== undefined) break;
    if (steps >= MAX_STEPS || !clock.runNext()) throw new Error(`the simulation stalled after ${steps} timers at ${clock.now() / 1000} s`);
    await settle();
  }
  if (crashed !== undefined) throw new Error(`the order machine failed in the simulation: ${crashed instanceof Error ? crashed.message : JSON.stringify(crashed)}`);
  const output = actor.getSnapshot().output;
  return { status: output?.status ?? 'unknown', entries, seconds: clock.now() / 1000, calls: output?.attempts ?? 0 };
}

/** Lets every settled promise reach the actors (a few event-loop turns). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
