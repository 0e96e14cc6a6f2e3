// Shared helpers for the machine tests: controllable promises, scripted fake effects, a fake
// call-event feed, a flush of pending promise callbacks, and the list of state paths an actor
// passed through (microsteps included).
import { fromPromise, type AnyActorRef, type EventObject, type InspectionEvent, type StateValue } from 'xstate';
import type { HangupCause, HangupKind } from '../src/telephony/port.js';

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every already-settled promise deliver its result to the actors. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Leaf state paths of a state value, e.g. { a: { b: 'c' } } → ['a.b.c']. */
export function leafPaths(value: StateValue, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix + value];
  return Object.entries(value).flatMap(([key, child]) => (child === undefined ? [prefix + key] : leafPaths(child, `${prefix}${key}.`)));
}

/**
 * Records the states one actor passes through, transient ones included, as joined leaf paths.
 * Pass `inspect` to createActor and `bind` the created root actor.
 */
export function stateRecorder(): { inspect: (event: InspectionEvent) => void; bind: (actor: AnyActorRef) => void; states: string[] } {
  const states: string[] = [];
  let root: AnyActorRef | undefined;
  const inspect = (event: InspectionEvent): void => {
    if (root === undefined || event.actorRef !== root) return;
    if (event.type !== '@xstate.microstep' && event.type !== '@xstate.snapshot') return;
    const snapshot = event.snapshot as { value?: StateValue };
    if (snapshot.value === undefined) return;
    const path = leafPaths(snapshot.value).join(' | ');
    if (states[states.length - 1] !== path) states.push(path);
  };
  return { inspect, bind: (actor) => (root = actor), states };
}

/** What a fake effect does when called: resolve with a value, reject, or wait for the test. */
export type Step<T> = { value: T } | Error | Deferred<T>;

export const ok = <T>(value: T): { value: T } => ({ value });

/** Plays the next scripted step; an effect the test did not script rejects, naming it. */
export function runStep<T>(steps: Array<Step<T>>, name: string): Promise<T> {
  const step = steps.shift();
  if (step === undefined) return Promise.reject(new Error(`test did not script ${name}`));
  if (step instanceof Error) return Promise.reject(step);
  if ('promise' in step) return step.promise;
  return Promise.resolve(step.value);
}

/** A fake effect actor: `note` records the call (log line, input), then the next step answers it. */
export function scripted<I, T>(steps: Array<Step<T>>, name: string, note: (input: I) => void) {
  return fromPromise<T, I>(({ input }) => {
    note(input);
    return runStep(steps, name);
  });
}

/** The `callEvents` actor of a call machine, fed by the test through `emit`; logs subscribe/unsubscribe. */
export function callEventFeed<E extends EventObject>(log: string[]) {
  let sendBack: ((event: E) => void) | undefined;
  /** Give it to fromCallback in the machine's provide(), which types it. */
  const subscribe = ({ sendBack: send }: { sendBack: (event: E) => void }): (() => void) => {
    log.push('callEvents.subscribe');
    sendBack = send;
    return () => void log.push('callEvents.unsubscribe');
  };
  const emit = (event: E): void => {
    if (!sendBack) throw new Error('callEvents not subscribed');
    sendBack(event);
  };
  return { subscribe, emit };
}

type LineEvent = { type: 'CALL.ANSWERED'; at: number } | { type: 'CALL.HANGUP'; cause: HangupCause; at: number };

/** answer() and hangup() of an outbound call, each followed by a flush. */
export function lineControls(emit: (event: LineEvent) => void, now: () => number) {
  return {
    answer: async (at = now()): Promise<void> => {
      emit({ type: 'CALL.ANSWERED', at });
      await flush();
    },
    hangup: async (kind: HangupKind, code = 16, text: string = kind): Promise<void> => {
      emit({ type: 'CALL.HANGUP', cause: { code, kind, text }, at: now() });
      await flush();
    },
  };
}
