// Shared helpers for the machine tests: controllable promises, a flush of pending promise
// callbacks, and the list of state paths an actor passed through (microsteps included).
import type { AnyActorRef, InspectionEvent, StateValue } from 'xstate';

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
