// The order machine's test harness: the real call-attempt machine over scripted fake phones, on a
// simulated clock, with every effect recorded (shared by the order machine's test files).
import { SimulatedClock, createActor, fromCallback, fromPromise, type AnyActorRef } from 'xstate';
import type { HangupKind } from '../src/telephony/port.js';
import {
  callAttemptMachine,
  type CallAttemptEvent,
  type CallAttemptInput,
  type CommitAcceptanceInput,
  type CommitAcceptanceOutput,
  type PromptForKeyInput,
  type PromptOutcome,
} from './call-attempt.machine.js';
import { dialMachine, type OriginateInput } from './dial.machine.js';
import {
  orderMachine,
  type NotifyWebhookParams,
  type RecordAttemptResultParams,
  type RecordAttemptStartedParams,
  type RecordEventParams,
} from './order.machine.js';
import type { EscalationPolicy, OrderInput } from './order.policy.js';
import { flush, stateRecorder, type Deferred } from './test-support.js';

/** How a fake phone behaves on one call; times in ms from the originate. */
export type Phone =
  | { hangup: HangupKind; at: number }
  | { answerAt: number; key?: string; late?: boolean; commit?: Deferred<CommitAcceptanceOutput> }
  | { refuse: string; code?: string }
  | { ring: 'forever' }
  | { crashAt: number };

export const POLICY: EscalationPolicy = {
  attemptsPerContact: 2, retryDelaySeconds: 60, ringTimeoutSeconds: 30, chainLoops: 1, loopDelaySeconds: 300, maxReplays: 2,
};
export const DUTY = { id: 'duty', number: '1001' };
export const BACKUP = { id: 'backup', number: '1002' };
export const CHIEF = { id: 'chief', number: '1003' };
export const CENTRE = { id: 'cc110', number: '110' };
export const LEADER_A = { id: 'leader-a', number: '2001' };
export const LEADER_B = { id: 'leader-b', number: '2002' };

export const BASE: OrderInput = { orderId: 'o1', contacts: [DUTY, BACKUP, CHIEF], policy: POLICY, major: false, leaders: [], commandCentre: CENTRE };

export const noAnswer = { hangup: 'no_answer', at: 30_000 } as const;
export const busy = { hangup: 'busy', at: 5_000 } as const;
export const accept = { answerAt: 5_000, key: '1' } as const;

export type Placed = CallAttemptInput & { at: number };

/**
 * Runs an order with the real call-attempt machine whose telephony fakes follow `plan`:
 * `plan(call, n)` says how the n-th call (0-based) behaves. It is consulted when the call
 * subscribes to its events, its first step.
 */
export function start(input: Partial<OrderInput>, plan: (call: Placed, n: number) => Phone, clock = new SimulatedClock()) {
  const calls: Placed[] = [];
  const hungUp: Array<{ attemptId: string; at: number }> = [];
  const phones = new Map<string, Phone>();
  const phoneOf = (attemptId: string): Phone => phones.get(attemptId)!;
  const fakeCall = callAttemptMachine.provide({
    actors: {
      callEvents: fromCallback(({ self, sendBack }: { self: AnyActorRef; sendBack: (e: CallAttemptEvent) => void }) => {
        const call = (self._parent!.getSnapshot() as { context: { input: CallAttemptInput } }).context.input;
        const placed = { ...call, at: clock.now() };
        const phone = plan(placed, calls.length);
        phones.set(call.attemptId, phone);
        calls.push(placed);
        const timers: number[] = [];
        const later = (ms: number, e: () => CallAttemptEvent): void => void timers.push(clock.setTimeout(() => sendBack(e()), ms));
        if ('hangup' in phone) later(phone.at, () => ({ type: 'CALL.HANGUP', cause: { code: 0, kind: phone.hangup, text: phone.hangup }, at: clock.now() }));
        if ('answerAt' in phone || 'crashAt' in phone) later('answerAt' in phone ? phone.answerAt : phone.crashAt, () => ({ type: 'CALL.ANSWERED', at: clock.now() }));
        return () => timers.forEach((t) => clock.clearTimeout(t));
      }),
      dial: dialMachine.provide({
        actors: {
          originate: fromPromise(({ input: i }: { input: OriginateInput }) => {
            const phone = phoneOf(i.attemptId);
            return 'refuse' in phone ? Promise.reject(Object.assign(new Error(phone.refuse), phone.code ? { code: phone.code } : {})) : Promise.resolve();
          }),
        },
        actions: { hangUp: (_, p) => void hungUp.push({ attemptId: p.attemptId, at: clock.now() }) },
      }),
      promptForKey: fromPromise(({ input: i }: { input: PromptForKeyInput }) => {
        const phone = phoneOf(i.attemptId);
        return 'key' in phone && phone.key ? Promise.resolve<PromptOutcome>({ status: 'key', key: phone.key }) : new Promise<PromptOutcome>(() => undefined);
      }),
      commitAcceptance: fromPromise(({ input: i }: { input: CommitAcceptanceInput }) => {
        const phone = phoneOf(i.attemptId);
        if ('commit' in phone && phone.commit) return phone.commit.promise;
        return Promise.resolve({ late: 'late' in phone ? (phone.late ?? false) : false });
      }),
      playConfirmation: fromPromise(() => Promise.resolve()),
    },
    actions: {
      hangUp: (_, p) => void hungUp.push({ attemptId: p.attemptId, at: clock.now() }),
      recordAnswered: ({ context }) => {
        if ('crashAt' in phoneOf(context.input.attemptId)) throw new Error('recordAnswered exploded');
      },
      recordKey: () => undefined,
    },
  });
  const log = {
    started: [] as RecordAttemptStartedParams[],
    results: [] as RecordAttemptResultParams[],
    statuses: [] as string[],
    events: [] as RecordEventParams[],
    webhooks: [] as NotifyWebhookParams[],
  };
  const machine = orderMachine.provide({
    actors: { callAttempt: fakeCall },
    actions: {
      recordAttemptStarted: (_, p) => void log.started.push(p),
      recordAttemptResult: (_, p) => void log.results.push(p),
      recordStatus: (_, p) => void log.statuses.push(p.status),
      recordEvent: (_, p) => void log.events.push(p),
      notifyWebhook: (_, p) => void log.webhooks.push(p),
    },
  });
  const recorder = stateRecorder();
  const actor = createActor(machine, { input: { ...BASE, ...input }, clock, inspect: recorder.inspect });
  recorder.bind(actor);
  actor.start();
  /** Advance the simulated clock by `ms` in 1 s steps, letting promises settle in between. */
  const advance = async (ms: number): Promise<void> => {
    await flush();
    for (let t = 0; t < ms; t += 1000) {
      clock.increment(Math.min(1000, ms - t));
      await flush();
    }
  };
  const kinds = (): string[] => log.events.map((e) => e.kind);
  return { actor, clock, calls, hungUp, log, kinds, advance, states: recorder.states, output: () => actor.getSnapshot().output };
}
