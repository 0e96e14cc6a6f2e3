// What a kill (SIGKILL) of a process with group commit loses: a child process posts events, awaits
// an acknowledgement (`run`), posts more and kills itself before their group's window ends. The
// reopened file has everything up to and including the acknowledgement and nothing posted after:
// the loss is bounded by the group that was still collecting (docs/operations.md).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, expect, it } from 'vitest';
import { first } from '../../src/db/sql.js';
import { openStore } from '../../src/db/store.js';
import { OrderRepository } from '../../src/orders/order-repository.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** The child's PATH: fixed, not the caller's (tests build their own environment). */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-kill-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

it('a killed process keeps every write up to its last awaited one and loses only the group still collecting', async () => {
  const file = path.join(scratch, 'killed.db');
  const child = spawnSync(process.execPath, ['--import', 'tsx', 'tests/unit/fixtures/write-queue-kill.ts', file], { cwd: ROOT, env: { PATH: SYSTEM_PATH }, encoding: 'utf8', timeout: 60_000 });
  expect({ signal: child.signal, stderr: child.stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });

  const store = await openStore({ engine: 'sqlite', path: file });
  try {
    const order = await first(store.db, sql<{ id: string }>`SELECT id FROM orders WHERE external_id = 'kill-1'`);
    expect(order).toBeDefined();
    const kinds = (await new OrderRepository(store).events(order?.id ?? '')).map((e) => e.kind);
    expect(kinds).toEqual(['order_created', 'posted before', 'posted before, too', 'acknowledged']);
  } finally {
    await store.close();
  }
});
