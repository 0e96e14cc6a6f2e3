// Global setup of both test projects: a PostgreSQL server of the test run's own (temp data dir,
// unix socket only), with a template database already migrated so each test's database is a
// quick copy. Stopped when the run ends. Tests reach it through openTestStore (engines.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { openStore } from '../../src/db/store.js';
import { startLocalPostgres } from '../../src/db/local-postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** postgres://… URL of the test run's server, with DBNAME where the database name goes. */
    postgresUrlPattern: string;
  }
}

export const TEMPLATE_DB = 'liandong_template';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-pg-'));
  const server = await startLocalPostgres(dir);
  await server.createDatabase(TEMPLATE_DB);
  const template = await openStore({ engine: 'postgres', url: server.url(TEMPLATE_DB) });
  await template.close();
  project.provide('postgresUrlPattern', server.url('DBNAME'));
  process.stdout.write(`[postgres] ready in ${((Date.now() - started) / 1000).toFixed(1)} s in ${dir}\n`);
  return async () => {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
