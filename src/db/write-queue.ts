// Ordered writes for code that cannot wait for them: XState actions record "answered", a key, an
// event, and go on. Each write runs after the one posted before it (a case reads in the order it
// happened); a caller that must know its write is durable (an acceptance before its confirmation)
// awaits `run`, which also waits for every write posted before it.
//
// Group commit (given a store and a window): posted writes are collected and committed together,
// in ONE transaction of the store, each in its own savepoint (src/db/group-commit.ts): once per
// window instead of once per event. A collected group is committed when its window ends (first
// post + windowMs), when it reaches MAX_GROUP_WRITES, before a `run` write or a write posted
// `alone`, and on `drain` (clean shutdown). What a crash (SIGKILL, power cut) can lose is the
// group not yet committed: at most one window of posted writes, never a `run` write nor anything
// posted before one (docs/operations.md, "What a kill loses").
import { outsideGroup, type GroupStep, type StepOutcome } from './group-commit.js';
import type { Store } from './store.js';

export type WriteFailure = (label: string, reason: string) => void;

export interface GroupCommit {
  /** The store the writes go to (the base store: fenced views of it join its groups). */
  readonly store: Store;
  /** How long posted writes are collected before they commit, ms; 0: every write commits alone. */
  readonly windowMs: number;
}

export interface PostOptions {
  /**
   * Runs outside any group, in its own transactions, after the writes posted before it have
   * committed: for a write that starts background work which reads or writes the store (a
   * webhook worker woken, reminder deadlines armed). Such work could otherwise run while the
   * write is still running and join its group's transaction.
   */
  readonly alone?: boolean;
}

/**
 * Most writes in one group. Each write's savepoint that changes a row is a subtransaction on
 * PostgreSQL, and a transaction with more than 64 of them overflows the server's per-backend
 * cache (PGPROC_MAX_CACHED_SUBXIDS): every other session's snapshot then has to look them up in
 * pg_subtrans while it runs. It also bounds how long the group holds the SQLite connection and,
 * on PostgreSQL, the lease rows it checked (a renewal waits for them).
 */
export const MAX_GROUP_WRITES = 64;

interface Posted {
  readonly label: string;
  readonly write: GroupStep;
}

export interface WriteQueueStats {
  /** Writes posted or run and not yet ended. */
  readonly pending: number;
  /** Posted writes waiting for their group's window to end. */
  readonly collecting: number;
  /** Posted writes that failed (each reported to onFailure). */
  readonly failures: number;
  /** Groups committed, and the posted writes they committed (failed ones not counted). */
  readonly groups: number;
  readonly grouped: number;
}

export class WriteQueue {
  private tail: Promise<unknown> = Promise.resolve();
  /** Posted writes of the group being collected (its window still open). */
  private collecting: Posted[] = [];
  private window: NodeJS.Timeout | undefined;
  private pending = 0;
  private failures = 0;
  private groups = 0;
  private grouped = 0;

  constructor(
    private readonly onFailure: WriteFailure,
    private readonly groupCommit?: GroupCommit,
  ) {}

  /** Queues a write whose caller does not wait; a failure is reported with its label, never dropped silently. */
  post(label: string, write: () => Promise<unknown>, options: PostOptions = {}): void {
    this.pending += 1;
    const windowMs = this.groupCommit?.windowMs ?? 0;
    if (windowMs > 0 && options.alone !== true) {
      this.collecting.push({ label, write });
      if (this.collecting.length >= MAX_GROUP_WRITES) this.flush();
      else this.window ??= setTimeout(() => this.flush(), windowMs);
      return;
    }
    this.flush();
    this.tail = this.tail.then(() => outsideGroup(write)).then(
      () => { this.pending -= 1; },
      (err: unknown) => this.failed(label, err),
    );
  }

  /**
   * Runs a write after everything posted before it has committed, in its own transactions (never
   * in a group); resolves with its result or rejects with its error.
   */
  run<T>(write: () => Promise<T>): Promise<T> {
    this.flush();
    this.pending += 1;
    const result = this.tail.then(() => outsideGroup(write));
    this.tail = result.then(
      () => { this.pending -= 1; },
      () => { this.pending -= 1; }, // the caller of run gets this error from `result`
    );
    return result;
  }

  /** Resolves when every write posted so far is committed (e.g. an attempt's row before its call is placed). */
  committed(): Promise<void> {
    return this.run(() => Promise.resolve());
  }

  /** Ends the window of the group being collected: it commits after the writes queued before it. */
  flush(): void {
    clearTimeout(this.window);
    this.window = undefined;
    if (this.collecting.length === 0) return;
    const group = this.collecting;
    this.collecting = [];
    this.tail = this.tail.then(() => this.commit(group));
  }

  /** Resolves when every write posted so far has ended (shutdown, tests); collected ones commit now. */
  async drain(): Promise<void> {
    let seen: Promise<unknown>;
    do {
      this.flush();
      seen = this.tail;
      await seen;
    } while (seen !== this.tail || this.collecting.length > 0);
  }

  stats(): WriteQueueStats {
    return { pending: this.pending, collecting: this.collecting.length, failures: this.failures, groups: this.groups, grouped: this.grouped };
  }

  /** One group; never rejects (each failure is reported), so the writes queued after it still run. */
  private async commit(group: readonly Posted[]): Promise<void> {
    const store = this.groupCommit?.store;
    if (store === undefined) return; // unreachable: only a queue with a store collects
    let outcomes: readonly StepOutcome[];
    try {
      outcomes = await store.group(group.map((p) => p.write));
      this.groups += 1;
    } catch (err) {
      // The transaction itself failed (the database is gone, the commit refused): none of them is stored.
      outcomes = group.map(() => ({ ok: false, error: err }));
    }
    group.forEach((p, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined || !outcome.ok) this.failed(p.label, outcome?.error);
      else {
        this.pending -= 1;
        this.grouped += 1;
      }
    });
  }

  private failed(label: string, err: unknown): void {
    this.pending -= 1;
    this.failures += 1;
    this.onFailure(label, err instanceof Error ? err.message : String(err));
  }
}
