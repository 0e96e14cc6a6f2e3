// The only engine-specific SQL of the cluster code: the database clock and row locks.
// All lease arithmetic reads time here, from the database server, never from a node's Date.now():
// two nodes whose clocks disagree still agree on when a lease expires.
import { sql, type RawBuilder } from 'kysely';
import type { Engine } from '../db/store.js';

/**
 * Now on the database clock, in ms since the epoch (an integer on both engines).
 * PostgreSQL: clock_timestamp(), the time this expression is evaluated (now() would be the start of
 * the transaction, stale after a lock wait). SQLite: unixepoch('subsec') (SQLite ≥ 3.42), the host's
 * clock — one node only, so there is nobody to disagree with.
 */
export function dbNowMs(engine: Engine): RawBuilder<number> {
  return engine === 'postgres'
    ? sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`
    : sql<number>`CAST(unixepoch('subsec') * 1000 AS INTEGER)`;
}

export type RowLock = 'update' | 'share' | 'update-skip-locked' | 'no-key-update-skip-locked';

/**
 * The locking clause to append to a SELECT. PostgreSQL: row locks held until commit.
 * SQLite: nothing — the store runs one transaction at a time on its single connection, which is a
 * stronger lock than any of these.
 */
export function rowLock(engine: Engine, lock: RowLock): RawBuilder<unknown> {
  if (engine !== 'postgres') return sql``;
  switch (lock) {
    case 'update':
      return sql` FOR UPDATE`;
    case 'share':
      return sql` FOR SHARE`;
    case 'update-skip-locked':
      return sql` FOR UPDATE SKIP LOCKED`;
    // What an UPDATE of non-key columns takes: it does not wait for FOR KEY SHARE (foreign keys).
    case 'no-key-update-skip-locked':
      return sql` FOR NO KEY UPDATE SKIP LOCKED`;
  }
}
