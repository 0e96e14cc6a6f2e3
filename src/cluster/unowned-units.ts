// Which units of a kind nobody holds, read from the lease table (the orphan sweeps of survey calls
// and reminder rounds; cluster/call-units.ts). One query for every kind, so the lease key format
// (`<kind>:<id>`) and what "unowned" means (no row, or a released one: owner NULL) live in one place.
import { sql } from 'kysely';
import { rows } from '../db/sql.js';
import type { Executor } from '../db/store.js';

export interface UnownedUnit {
  id: string;
  /** 1 when a released lease row exists (its epoch must go on: claim it, don't offer it), 0 when there is none. */
  leased: number;
}

/**
 * Rows of `table` in `status` since before `beforeMs` (by updated_at) whose unit `<kind>:<id>`
 * nobody holds, by id. `table`, `status` and `kind` are fixed names of ours, never input (the key prefix is inlined as a literal, as the query read before).
 */
export function unownedUnits(db: Executor, table: string, status: string, kind: string, beforeMs: number): Promise<UnownedUnit[]> {
  return rows(db, sql<UnownedUnit>`
    SELECT t.id, CASE WHEN l.unit_key IS NULL THEN 0 ELSE 1 END AS leased
    FROM ${sql.table(table)} t LEFT JOIN cluster_leases l ON l.unit_key = ${sql.lit(`${kind}:`)} || t.id
    WHERE t.status = ${status} AND t.updated_at < ${new Date(beforeMs).toISOString()} AND l.owner IS NULL
    ORDER BY t.id`);
}
