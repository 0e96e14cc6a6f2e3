// Three shapes of answer the repositories need from one query, on either engine.
import type { RawBuilder } from 'kysely';
import type { Executor } from './store.js';

/** Every row the query returns. */
export async function rows<T>(db: Executor, query: RawBuilder<T>): Promise<T[]> {
  return (await query.execute(db)).rows;
}

/** The first row, or undefined when there is none. */
export async function first<T>(db: Executor, query: RawBuilder<T>): Promise<T | undefined> {
  return (await query.execute(db)).rows[0];
}

/** Runs an INSERT, UPDATE or DELETE; returns how many rows it changed. */
export async function run(db: Executor, query: RawBuilder<unknown>): Promise<number> {
  return Number((await query.execute(db)).numAffectedRows ?? 0);
}
