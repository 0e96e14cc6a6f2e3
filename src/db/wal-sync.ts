// Durable SQLite commits without blocking the event loop. better-sqlite3 runs on the main thread:
// with synchronous=FULL every commit waited there for its fsync. A quiet disk here syncs in
// ~0.2 ms, but under the benchmark's load kysely's commitTransaction (the fsync) took 2.1–3.5 s of
// a 200-order run's profile, 18–28 % of it, stalling every call's events behind it. So the
// connection runs at synchronous=NORMAL (in WAL mode a commit is written to the WAL file without
// an fsync: a killed process loses nothing), and a commit that must survive a power cut is followed
// by an fsync of the WAL file in libuv's thread pool, which the caller awaits before it answers.
// fsync(2) flushes the file's data whichever descriptor asks, so it also covers every commit
// written before it. A checkpoint in between has synced the database file itself.
import fs from 'node:fs/promises';

export interface WalSync {
  /** Resolves once everything committed so far is on disk. */
  sync(): Promise<void>;
  /** fsyncs done (several waiting callers share one): for tests and measurements. */
  count(): number;
}

/**
 * Syncs `<database>-wal`. Callers arriving while an fsync runs share the next one (theirs may
 * have been written after the running one started); at most one runs and one waits.
 */
export function walSync(databaseFile: string): WalSync {
  const wal = `${databaseFile}-wal`;
  let running: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  let done = 0;

  const once = async (): Promise<void> => {
    // Opened each time: the handle then always names the WAL file that exists now.
    const handle = await fs.open(wal, 'r');
    try {
      await handle.sync();
      done += 1;
    } finally {
      await handle.close();
    }
  };
  const start = (): Promise<void> => {
    const p = once();
    running = p;
    const clear = () => {
      if (running === p) running = undefined;
    };
    p.then(clear, clear);
    return p;
  };

  return {
    sync() {
      if (running === undefined) return start();
      next ??= running.then(
        () => undefined,
        () => undefined, // the running sync's failure is its own callers'; this one tries again
      ).then(() => {
        next = undefined;
        return start();
      });
      return next;
    },
    count: () => done,
  };
}
