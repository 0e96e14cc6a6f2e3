// Fenced writes: a Store view whose every transaction first proves, inside that same transaction,
// that this node still holds the unit's lease at the epoch it was given. A node that paused past
// its lease (GC, partition, suspended VM) and wakes up as a zombie cannot write about a unit that
// another node has taken over: its transaction throws LeaseLostError and commits nothing.
// Repositories need not know: they all write through store.transaction (docs/cluster.md).
import { sql } from 'kysely';
import { isProven, prove } from '../db/group-commit.js';
import { first } from '../db/sql.js';
import type { Store, Tx } from '../db/store.js';
import { dbNowMs, rowLock } from './db-clock.js';

/** One node's hold on one unit of work. epoch is the fencing number (it only grows). */
export interface Lease {
  readonly unitKey: string;
  readonly owner: string;
  readonly epoch: number;
}

/** Why a lease no longer holds: another node has it, it ran out, it was released, or there was none. */
export type LeaseLostReason = 'taken' | 'expired' | 'released' | 'missing';

export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor(
    readonly lease: Lease,
    readonly reason: LeaseLostReason,
    /** The lease row as the database holds it now (undefined when there is none). */
    readonly current?: { readonly owner: string | null; readonly epoch: number },
  ) {
    super(`lease on ${lease.unitKey} lost (${reason}): held by ${lease.owner} at epoch ${lease.epoch}` +
      (current ? `, now ${current.owner ?? 'nobody'} at epoch ${current.epoch}` : ''));
  }
}

interface LeaseCheckRow {
  owner: string | null;
  epoch: number;
  expires_at: number;
  now_ms: number;
}

/**
 * Inside tx: throws LeaseLostError unless the lease row still names this owner and epoch and has
 * not expired on the database clock. On PostgreSQL the row stays share-locked until tx ends, so a
 * takeover (which locks it FOR UPDATE SKIP LOCKED) cannot slip in between the check and the commit.
 */
export async function assertLease(store: Store, tx: Tx, lease: Lease): Promise<void> {
  const row = await first(tx, sql<LeaseCheckRow>`
    SELECT owner, epoch, expires_at, ${dbNowMs(store.engine)} AS now_ms
    FROM cluster_leases WHERE unit_key = ${lease.unitKey}${rowLock(store.engine, 'share')}`);
  if (row === undefined) throw new LeaseLostError(lease, 'missing');
  const current = { owner: row.owner, epoch: row.epoch };
  if (row.owner === null && row.epoch === lease.epoch) throw new LeaseLostError(lease, 'released', current);
  if (row.owner !== lease.owner || row.epoch !== lease.epoch) throw new LeaseLostError(lease, 'taken', current);
  if (row.expires_at <= row.now_ms) throw new LeaseLostError(lease, 'expired', current);
}

/** What a fenced store proves once per transaction: this lease held when it was checked there. */
export const leaseFact = (lease: Lease): string => `lease ${lease.unitKey} ${lease.owner} ${lease.epoch}`;

/**
 * The store as seen by the holder of lease: reads pass through; transaction(fn) checks the lease
 * first (see assertLease) and runs fn only if it holds. The check is made once per transaction
 * and lease: nested transactions, within(tx), and the other writes of a group commit (one
 * transaction for many writes, src/db/group-commit.ts) that hold this lease join the checked
 * transaction without checking again. On PostgreSQL the row lock taken by the check lasts until
 * the commit; a write rolled back to its savepoint drops it, and its check is forgotten with it.
 */
export function fencedStore(store: Store, lease: Lease): Store {
  const fact = leaseFact(lease);
  const checkIn = async (tx: Tx): Promise<void> => {
    if (isProven(tx, fact)) return;
    await assertLease(store, tx, lease);
    prove(tx, fact);
  };
  const inside = (tx: Tx): Store => {
    const view: Store = {
      ...store.within(tx),
      transaction: async (fn) => {
        await checkIn(tx);
        return fn(tx);
      },
      within: (inner) => (inner === tx ? view : inside(inner)),
    };
    return view;
  };
  return {
    ...store,
    // A getter, not a copy: inside a write of a group, reads go through the group's transaction.
    get db() {
      return store.db;
    },
    transaction: (fn) =>
      store.transaction(async (tx) => {
        await checkIn(tx);
        return fn(tx);
      }),
    within: inside,
  };
}
