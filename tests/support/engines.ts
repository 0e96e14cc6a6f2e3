// Every repository test runs on both engines: `describe.each(ENGINES)` and openTestStore(engine).
// SQLite: a fresh in-memory database. PostgreSQL: a fresh database on the test run's own server
// (tests/support/postgres-setup.ts), copied from the migrated template.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createDatabase } from '../../src/db/local-postgres.js';
import { openStore, type Engine, type Store } from '../../src/db/store.js';

export const ENGINES: readonly Engine[] = ['sqlite', 'postgres'];

/** A URL of a new, migrated PostgreSQL database on the test run's server. */
export async function newPostgresDatabase(): Promise<string> {
  const pattern = inject('postgresUrlPattern');
  const name = `t_${randomBytes(6).toString('hex')}`;
  await createDatabase(pattern.replace('DBNAME', 'postgres'), name, 'liandong_template');
  return pattern.replace('DBNAME', name);
}

/** A fresh, migrated store of that engine; close it when done. */
export async function openTestStore(engine: Engine): Promise<Store> {
  if (engine === 'sqlite') return openStore({ engine: 'sqlite', path: ':memory:' });
  return openStore({ engine: 'postgres', url: await newPostgresDatabase() });
}
