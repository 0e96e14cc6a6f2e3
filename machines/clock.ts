// Time for machines, read from the actor system's clock rather than from the wall clock, so a
// test's SimulatedClock (which has `now()`) gives exact, repeatable timestamps.
// xstate's default clock only has setTimeout/clearTimeout; then we fall back to Date.now().

/** Milliseconds since the epoch (or since the SimulatedClock started, in tests). */
export function clockNow(system: { readonly _clock: object }): number {
  const clock = system._clock as { now?: () => number };
  return typeof clock.now === 'function' ? clock.now() : Date.now();
}

/** The reason carried by a rejected promise, as text for a failure state. */
export function reasonOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);
}
