// Ordered writes for code that cannot wait for them: XState actions record "answered", a key, an
// event, and go on. Each write runs after the one posted before it (a case reads in the order it
// happened); a caller that must know its write is durable (an acceptance before its confirmation)
// awaits `run`, which also waits for every write posted before it.
export type WriteFailure = (label: string, reason: string) => void;

export class WriteQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private failures = 0;

  constructor(private readonly onFailure: WriteFailure) {}

  /** Queues a write whose caller does not wait; a failure is reported with its label, never dropped silently. */
  post(label: string, write: () => Promise<unknown>): void {
    this.pending += 1;
    this.tail = this.tail.then(write).then(
      () => { this.pending -= 1; },
      (err: unknown) => {
        this.pending -= 1;
        this.failures += 1;
        this.onFailure(label, err instanceof Error ? err.message : String(err));
      },
    );
  }

  /** Runs a write after everything posted before it; resolves with its result or rejects with its error. */
  run<T>(write: () => Promise<T>): Promise<T> {
    this.pending += 1;
    const result = this.tail.then(write);
    this.tail = result.then(
      () => { this.pending -= 1; },
      () => { this.pending -= 1; }, // the caller of run gets this error from `result`
    );
    return result;
  }

  /** Resolves when every write posted so far has ended (shutdown, tests). */
  async drain(): Promise<void> {
    let seen: Promise<unknown>;
    do {
      seen = this.tail;
      await seen;
    } while (seen !== this.tail);
  }

  stats(): { pending: number; failures: number } {
    return { pending: this.pending, failures: this.failures };
  }
}
