// Group commit, measured: N posted writes (one case event each, in its own transaction as the
// repositories write them) through the WriteQueue with a window of 0 (every write commits alone)
// and of 20 ms, on SQLite (a file: WAL, synchronous=FULL, as in production) and on PostgreSQL (a
// server of its own in a temp dir, fsync and synchronous_commit on, unlike the test run's).
// Two patterns: a burst (all posted at once: groups are cut at MAX_GROUP_WRITES) and a steady
// stream (one write per ms, as calls' events arrive). Prints commits, wall ms and this process's
// CPU ms (user + system; PostgreSQL's own CPU is not in it).
//   npx tsx bench/group-commit.ts [writes=2000]
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createDatabase, postgresBin } from '../src/db/local-postgres.js';
import { openStore, type Store, type StoreTarget } from '../src/db/store.js';
import { WriteQueue } from '../src/db/write-queue.js';
import { OrderRepository } from '../src/orders/order-repository.js';

const exec = promisify(execFile);
const WRITES = Number(process.argv[2] ?? 2000);
const STREAM_EVERY_MS = 1;

interface Row { engine: string; pattern: string; windowMs: number; commits: number; wallMs: number; cpuMs: number; failures: number }

async function measure(target: StoreTarget, pattern: 'burst' | 'stream', windowMs: number): Promise<Row> {
  const store: Store = await openStore(target);
  try {
    const repo = new OrderRepository(store);
    const { row } = await repo.createOrder({ externalId: `bench-${pattern}-${windowMs}`, category: 'water-main-burst', departmentId: 'water-supply', summary: 's', address: 'a', reporterPhone: '13800138000', urgency: 'urgent', major: false });
    let failures = 0;
    const writes = new WriteQueue(() => { failures += 1; }, { store, windowMs });
    const commits = store.commits();
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < WRITES; i++) {
      writes.post('event', () => repo.appendEvent(row.id, 'bench', 'keypad', { i }));
      if (pattern === 'stream') await new Promise((resolve) => setTimeout(resolve, STREAM_EVERY_MS));
    }
    await writes.drain();
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    return { engine: target.engine, pattern, windowMs, commits: store.commits() - commits, wallMs: Math.round(wallMs), cpuMs: Math.round((used.user + used.system) / 1000), failures };
  } finally {
    await store.close();
  }
}

/** A PostgreSQL server with production durability (fsync, synchronous_commit), unix socket only. */
async function durablePostgres(dir: string): Promise<{ url: (db: string) => string; stop: () => Promise<void> }> {
  const asRoot = process.getuid?.() === 0;
  const tool = (name: string, args: string[]) => (asRoot ? exec('runuser', ['-u', 'postgres', '--', postgresBin(name), ...args]) : exec(postgresBin(name), args));
  if (asRoot) await exec('chown', ['postgres:postgres', dir]);
  fs.chmodSync(dir, 0o700);
  const data = path.join(dir, 'data');
  await tool('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  await tool('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-o', `-k ${dir} -c listen_addresses='' -c fsync=on -c synchronous_commit=on`, '-w', '-t', '30', 'start']);
  return {
    url: (db) => `postgres://postgres@localhost/${db}?host=${encodeURIComponent(dir)}`,
    stop: async () => { await tool('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']); },
  };
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-group-commit-'));
const pgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-group-commit-pg-'));
const server = await durablePostgres(pgDir);
const rows: Row[] = [];
try {
  let n = 0;
  for (const pattern of ['burst', 'stream'] as const) {
    for (const windowMs of [0, 20]) {
      n += 1;
      rows.push(await measure({ engine: 'sqlite', path: path.join(scratch, `s${n}.db`) }, pattern, windowMs));
      await createDatabase(server.url('postgres'), `b${n}`);
      rows.push(await measure({ engine: 'postgres', url: server.url(`b${n}`) }, pattern, windowMs));
    }
  }
} finally {
  await server.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.rmSync(pgDir, { recursive: true, force: true });
}
process.stdout.write(`${WRITES} posted writes (stream: one per ${STREAM_EVERY_MS} ms)\n`);
process.stdout.write('engine    pattern  window  commits  wall ms  cpu ms  failures\n');
for (const r of rows) process.stdout.write(`${r.engine.padEnd(9)} ${r.pattern.padEnd(8)} ${String(r.windowMs).padStart(6)} ${String(r.commits).padStart(8)} ${String(r.wallMs).padStart(8)} ${String(r.cpuMs).padStart(7)} ${String(r.failures).padStart(9)}\n`);
