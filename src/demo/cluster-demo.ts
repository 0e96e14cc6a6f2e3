// `npm run demo:cluster`: two cells on one PostgreSQL, and a controller killed mid-call. Sets up
// what it needs like `npm run demo`: a PostgreSQL data directory under the Asterisk cache (a fresh
// database per run), the project's Asterisk on 127.0.0.1 and a second one on 127.0.0.2 (its root
// copied from the first), two production controllers as child processes. It places three orders
// on cell 1, kills cell 1 with SIGKILL while the calls are up, and narrates cell 2 finishing them.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { startCellAsterisk } from '../asterisk/cell.js';
import { asteriskUp } from '../asterisk/index.js';
import { DEV_DEFAULTS, type Config } from '../config.js';
import { startLocalPostgres } from '../db/local-postgres.js';
import { rows } from '../db/sql.js';
import { freePort } from '../net/free-port.js';
import { openStore, type Store } from '../db/store.js';

type Out = (line: string) => void;

const ROOT = path.resolve(import.meta.dirname, '../..');
/** The dev profile's tokens (DEV_DEFAULTS), as the desk and the admin send them. */
const devToken = (role: string) => `Bearer ${(DEV_DEFAULTS.LIANDONG_API_TOKENS ?? '').split(',').find((t) => t.startsWith(`${role}:`))?.slice(role.length + 1) ?? ''}`;
const DESK = devToken('desk');
const ADMIN = devToken('admin');
const LEASE_SECONDS = 6;
const POLICY = { attemptsPerContact: 3, retryDelaySeconds: 1, ringTimeoutSeconds: 10, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 1, keyTimeoutSeconds: 12 };

interface Cell {
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
}

/** A production controller (src/main.ts) as a child process, healthy before it is returned. */
async function startController(name: string, env: Record<string, string>, logDir: string): Promise<Cell> {
  const port = await freePort();
  const log = fs.openSync(path.join(logDir, `${name}.log`), 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: { ...env, LIANDONG_HTTP_PORT: String(port) }, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}; see ${path.join(logDir, `${name}.log`)}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.status === 200, () => false);
    if (ok) return { name, url, child };
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`${name} not healthy within 60 s`);
}

async function api<T>(cell: Cell, method: string, route: string, token: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${cell.url}${route}`, { method, headers: { authorization: token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

async function waitFor<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ;) {
    const v = await read();
    if (done(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runClusterDemo(config: Config, out: Out): Promise<number> {
  if (!config.asterisk.simPhones) {
    out('The cluster demo dials simulated phones; run it with the dev profile.');
    return 2;
  }
  out('== liandong cluster demo: two cells (controller + Asterisk) on one PostgreSQL ==');
  await asteriskUp(config, (line) => out(`  [asterisk 1] ${line}`));
  const cell2Asterisk = await startCellAsterisk(2, (line) => out(`  [asterisk 2] ${line}`));
  const pgDir = path.join(config.asterisk.cacheDir, 'postgres');
  const pg = await startLocalPostgres(pgDir);
  const dbName = `demo_${Date.now().toString(36)}`;
  await pg.createDatabase(dbName);
  const url = pg.url(dbName);
  out(`PostgreSQL ready (data in ${pgDir}), database ${dbName}`);
  const logDir = path.join(config.asterisk.cacheDir, 'cluster-demo');
  fs.mkdirSync(logDir, { recursive: true });
  const base: Record<string, string> = {
    ...DEV_DEFAULTS,
    LIANDONG_SIM_PHONES: 'false', // production profile: the simulated phones are already in both Asterisks
    LIANDONG_DATABASE_URL: url,
    LIANDONG_LEASE_SECONDS: String(LEASE_SECONDS),
    LIANDONG_MEDIA_DIR: path.join(logDir, 'media'),
    LIANDONG_SURVEY_DELAY_SECONDS: '3600',
    LOG_LEVEL: 'info',
  };
  let store: Store | undefined;
  const cells: Cell[] = [];
  try {
    const one = await startController('cell-1', { ...base, LIANDONG_NODE_ID: 'cell-1', ARI_APP: 'liandong-cell-1', ARI_URL: config.ari.url, AMI_HOST: config.ami.host }, logDir);
    cells.push(one);
    for (const [dept, number] of [['tourism', '70911'], ['education', '70111'], ['civil-affairs', '70111']] as const) {
      const list = await api<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>(one, 'GET', '/api/v1/departments', DESK);
      const d = list.body.departments.find((x) => x.id === dept);
      if (d) await api(one, 'PUT', `/api/v1/departments/${dept}`, ADMIN, { name: d.name, categories: d.categories, contacts: [{ id: 'c1', name: 'duty', number, priority: 1 }], policy: POLICY });
    }
    const two = await startController('cell-2', { ...base, ...cell2Asterisk.env, LIANDONG_NODE_ID: 'cell-2', ARI_APP: 'liandong-cell-2' }, logDir);
    cells.push(two);
    out(`cell-1 on ${one.url} (Asterisk ${config.ari.url}), cell-2 on ${two.url} (Asterisk ${cell2Asterisk.config.ari.url}); leases of ${LEASE_SECONDS} s`);
    store = await openStore({ engine: 'postgres', url });
    const db = store.db;
    const orders: Array<{ id: string; code: string; phone: string }> = [];
    for (const [i, dept, phone] of [[1, 'tourism', '70911 presses 1 after 9 s'], [2, 'education', '70111 presses 1 after 1 s'], [3, 'civil-affairs', '70111']] as const) {
      const res = await api<{ id: string; code: string }>(one, 'POST', '/api/v1/orders', DESK, { externalId: `cluster-demo-${dbName}-${i}`, category: 'water-main-burst', departmentId: dept, summary: '水管爆裂', address: '城关镇', reporterPhone: '13912345678', urgency: 'urgent' });
      orders.push({ id: res.body.id, code: res.body.code, phone });
      out(`order ${res.body.code} → ${dept} (${phone}), posted to cell-1`);
    }
    const o1 = orders[0]?.id ?? '';
    const o2 = orders[1]?.id ?? '';
    // The moment to kill: the first order's officer has answered and not pressed yet; the second's
    // acceptance is committed and its confirmation is playing.
    await waitFor(
      async () => ({
        o1: await rows(db, sql<{ answered_at: string | null }>`SELECT answered_at FROM attempts WHERE order_id = ${o1}`),
        o2: await rows(db, sql<{ ended_at: string | null }>`SELECT ended_at FROM attempts WHERE order_id = ${o2}`),
        o2acks: await rows(db, sql<{ id: number }>`SELECT id FROM acknowledgements WHERE order_id = ${o2}`),
      }),
      (v) => v.o1[0]?.answered_at != null && v.o2acks.length === 1 && v.o2[0]?.ended_at == null,
      30_000,
    );
    const killedAt = Date.now();
    one.child.kill('SIGKILL');
    out(`[  0.00 s] SIGKILL cell-1 while its calls are up (order ${orders[0]?.code} answered, no key yet; ${orders[1]?.code} accepted, confirmation playing)`);
    const at = () => `[${((Date.now() - killedAt) / 1000).toFixed(2).padStart(6)} s]`;
    const owners = await waitFor(
      () => rows(db, sql<{ unit_key: string; owner: string | null }>`SELECT unit_key, owner FROM cluster_leases WHERE unit_key IN (${sql.join(orders.map((o) => `order:${o.id}`))})`),
      (r) => r.length === orders.length && r.every((x) => x.owner === 'cell-2'),
      (LEASE_SECONDS + 20) * 1000,
    );
    const takeoverMs = Date.now() - killedAt;
    out(`${at()} cell-2 owns ${owners.filter((x) => x.owner === 'cell-2').length} of ${orders.length} orders (takeover ${(takeoverMs / 1000).toFixed(2)} s; lease ${LEASE_SECONDS} s)`);
    const final = await waitFor(
      () => rows(db, sql<{ id: string; code: string; status: string }>`SELECT id, code, status FROM orders WHERE id IN (${sql.join(orders.map((o) => o.id))})`),
      (r) => r.every((x) => x.status === 'accepted'),
      90_000,
    );
    out(`${at()} every order: ${final.map((o) => `${o.code} ${o.status}`).join(', ')}`);
    await waitFor(() => rows(db, sql<{ n: number }>`SELECT count(*) AS n FROM attempts WHERE order_id IN (${sql.join(orders.map((o) => o.id))}) AND ended_at IS NULL`), (r) => r[0]?.n === 0, 30_000);
    for (const o of orders) {
      const attempts = await rows(db, sql<{ id: string; result: string | null; reason: string | null }>`SELECT id, result, reason FROM attempts WHERE order_id = ${o.id} ORDER BY seq`);
      const acks = await rows(db, sql<{ n: number }>`SELECT count(*) AS n FROM acknowledgements WHERE order_id = ${o.id} AND script = 'dispatch' AND late = 0`);
      out(`  ${o.code}: ${attempts.map((a) => `${a.id.slice(-3)} ${a.result ?? 'open'}${a.reason ? ` (${a.reason})` : ''}`).join(' → ')}; acceptances that count: ${acks[0]?.n ?? 0}`);
    }
    out(`Takeover: ${(takeoverMs / 1000).toFixed(2)} s from SIGKILL to cell-2 owning every order (goal ≤ ${LEASE_SECONDS + 2} s). Logs: ${logDir}`);
    return final.every((x) => x.status === 'accepted') && takeoverMs <= (LEASE_SECONDS + 2) * 1000 ? 0 : 1;
  } finally {
    for (const c of cells) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
    await store?.close();
    await pg.stop();
    await cell2Asterisk.down();
    out('PostgreSQL and the second Asterisk stopped; the first Asterisk keeps running (npm run asterisk:down).');
  }
}
