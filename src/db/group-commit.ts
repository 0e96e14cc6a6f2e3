// Group commit: the writes the WriteQueue collected for a short window run one after another in
// ONE transaction of the store, each in its own savepoint, so a busy controller commits (and on
// SQLite fsyncs) once per window instead of once per event. The writes themselves are repository
// calls that open their own transactions: they join the group's transaction through an ambient
// context (AsyncLocalStorage) that the store's `db` and `transaction` look at (store.ts).
//
// The context is one object per write, open only while that write runs. Work a write starts in
// the background (a timer, a delivery) inherits it, but finds it closed once the write has ended
// and then uses the store as usual: it never touches a transaction that has committed, nor one
// that another write is using. Work that such a write starts and that runs while the write itself
// is still running would join it: writes that start background work are posted `alone` (see
// WriteQueue.post) and the webhook outbox wakes its worker outside any group (`outsideGroup`).
//
// A grouped write must not (post it `alone` if it does):
// - wait for work outside it that uses the same store: on SQLite that work waits for the one
//   connection the group holds, which waits for the write (a deadlock);
// - catch a failed statement and go on: on PostgreSQL the group's transaction stays aborted until
//   the write's savepoint is rolled back, so its next statement fails too.
import { AsyncLocalStorage } from 'node:async_hooks';
import { sql, type Kysely, type Transaction } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows are typed per query (store.ts)
type AnyTx = Transaction<any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
type AnyDb = Kysely<any>;

/** One posted write; a failure is returned by runGroup, not thrown. */
export type GroupStep = () => Promise<unknown>;
export type StepOutcome = { readonly ok: true } | { readonly ok: false; readonly error: unknown };

interface StepContext {
  /** The store's own Kysely instance: only that store joins (tests open several stores). */
  readonly owner: AnyDb;
  readonly tx: AnyTx;
  /** True while the step runs; background work it started finds it false afterwards. */
  open: boolean;
  /** Facts proven in the group by steps that committed (their savepoint released). */
  readonly proven: Set<string>;
  /** Facts proven by this step: kept if it commits, forgotten with its savepoint if not. */
  readonly mine: Set<string>;
}

const ambient = new AsyncLocalStorage<StepContext | undefined>();
/**
 * Groups running now, all stores together. AsyncLocalStorage costs every promise the process
 * creates while it is enabled (Node 20: a promise hook, ~85 ns per promise, which nearly doubled
 * a promise-heavy loop here), so it is enabled only while a group runs and disabled after.
 */
let groupsRunning = 0;

/** The group transaction that a query of `owner` joins now, if any. */
export function joinable(owner: AnyDb): AnyTx | undefined {
  const c = ambient.getStore();
  return c !== undefined && c.open && c.owner === owner ? c.tx : undefined;
}

/** True while a write of a group runs here: what it stores commits later, with the group. */
export function inGroup(): boolean {
  const c = ambient.getStore();
  return c !== undefined && c.open;
}

/** Runs fn outside any group: what it does commits on its own (awaited writes, background work). */
export function outsideGroup<T>(fn: () => T): T {
  return ambient.getStore() === undefined ? fn() : ambient.run(undefined, fn);
}

/** True when `fact` (e.g. "this lease holds") was proven inside tx and not rolled back since. */
export function isProven(tx: AnyTx, fact: string): boolean {
  const c = ambient.getStore();
  if (c !== undefined && c.open && c.tx === tx) return c.mine.has(fact) || c.proven.has(fact);
  return proofs.get(tx)?.has(fact) ?? false;
}

/** Records that `fact` holds for the rest of tx (in a group: unless this write is rolled back). */
export function prove(tx: AnyTx, fact: string): void {
  const c = ambient.getStore();
  if (c !== undefined && c.open && c.tx === tx) {
    c.mine.add(fact);
    return;
  }
  const set = proofs.get(tx) ?? new Set<string>();
  set.add(fact);
  proofs.set(tx, set);
}

/** Forgets `fact` in tx: what proved it was just changed inside it (a lease released). */
export function disprove(tx: AnyTx, fact: string): void {
  const c = ambient.getStore();
  if (c !== undefined && c.open && c.tx === tx) {
    c.mine.delete(fact);
    c.proven.delete(fact);
  }
  proofs.get(tx)?.delete(fact);
}

/** Facts of transactions outside groups (a fenced store's own transaction). */
const proofs = new WeakMap<AnyTx, Set<string>>();

const SAVEPOINT_NAME = 'liandong_write';
const SAVEPOINT = `SAVEPOINT ${SAVEPOINT_NAME}`;
const RELEASE = `RELEASE SAVEPOINT ${SAVEPOINT_NAME}`;
const ROLLBACK = `ROLLBACK TO SAVEPOINT ${SAVEPOINT_NAME}`;

/**
 * Runs steps in order inside one transaction of db, each in its own savepoint: a step that throws
 * is rolled back alone and its error returned in its place; the others commit together. Rejects
 * (nothing committed) only when the transaction itself fails (begin, a savepoint, the commit).
 * batched: the savepoint statements between two steps go as one query (PostgreSQL: one round
 * trip instead of two; SQLite prepares one statement at a time and has no round trips).
 */
export async function runGroup(db: AnyDb, steps: readonly GroupStep[], batched: boolean, via: AnyDb = db): Promise<StepOutcome[]> {
  groupsRunning += 1;
  try {
    // via: the store's Kysely, or one bound to a connection it holds (SQLite, see store.ts); the
    // steps' queries on `db` join the group either way.
    return await via.transaction().execute(async (tx) => {
      const control = async (...statements: string[]): Promise<void> => {
        if (batched) await sql.raw(statements.join('; ')).execute(tx);
        else for (const s of statements) await sql.raw(s).execute(tx);
      };
      const proven = new Set<string>();
      const outcomes: StepOutcome[] = [];
      await control(SAVEPOINT);
      for (const [i, step] of steps.entries()) {
        const context: StepContext = { owner: db, tx, open: true, proven, mine: new Set() };
        let outcome: StepOutcome;
        try {
          await ambient.run(context, step);
          for (const fact of context.mine) proven.add(fact);
          outcome = { ok: true };
        } catch (error) {
          outcome = { ok: false, error };
        }
        context.open = false;
        outcomes.push(outcome);
        // Its end and the next step's savepoint in one query. PostgreSQL: a failed statement
        // aborted the transaction until the rollback to the savepoint.
        const next = i + 1 < steps.length ? [SAVEPOINT] : [];
        await control(...(outcome.ok ? [] : [ROLLBACK]), RELEASE, ...next);
      }
      return outcomes;
    });
  } finally {
    groupsRunning -= 1;
    if (groupsRunning === 0) ambient.disable();
  }
}
