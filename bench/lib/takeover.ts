// The bench's cluster figures: PostgreSQL for the measured service (a server of the bench's own in
// a temp dir, a fresh database per service), and the takeover run — two cells on one database,
// orders owned by cell 1 with their calls up, cell 1 killed with SIGKILL, and for each order the
// time from the kill to its first new originate on cell 2's Asterisk. Lost orders and duplicate
// acknowledgements are counted from the store.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { startCellAsterisk } from '../../src/asterisk/cell.js';
import { startLocalPostgres, type LocalPostgres } from '../../src/db/local-postgres.js';
import { rows } from '../../src/db/sql.js';
import { openStore } from '../../src/db/store.js';
import { watchChannels } from '../../harness/ari-watch.js';
import { spawnService, TOKENS, type ServiceProcess } from '../../harness/service-process.js';
import { round } from './stats.js';

export interface BenchPostgres {
  /** A URL of a new database on the bench's server. */
  newDatabase(): Promise<string>;
  stop(): Promise<void>;
}

export async function benchPostgres(): Promise<BenchPostgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-bench-pg-'));
  const server: LocalPostgres = await startLocalPostgres(dir);
  let n = 0;
  return {
    newDatabase: async () => {
      n += 1;
      const name = `bench_${process.pid}_${n}`;
      await server.createDatabase(name);
      return server.url(name);
    },
    stop: async () => {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TakeoverResult {
  readonly orders: number;
  readonly leaseSeconds: number;
  /** From the SIGKILL to cell 2 owning every order, ms. */
  readonly killToAllOwnedMs: number;
  /** From the SIGKILL to each order's first new originate on cell 2, ms. */
  readonly killToOriginateMs: { readonly min: number; readonly p50: number; readonly max: number };
  readonly lost: number;
  readonly duplicateAcknowledgements: number;
  readonly channelsCreatedTwice: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `orders` orders to a phone that answers and waits 9 s before its key (70911), all posted to
 * cell 1; once every one is answered, cell 1 is killed.
 */
export async function takeoverRun(pg: BenchPostgres, orders: number, leaseSeconds: number, out: (l: string) => void): Promise<TakeoverResult> {
  const url = await pg.newDatabase();
  const cell2 = await startCellAsterisk(2, (l) => out(`  [asterisk 2] ${l}`));
  const watch = await watchChannels(cell2.config, `bench-takeover-${process.pid}`);
  const env = (nodeId: string, extra: Record<string, string> = {}) => ({
    LIANDONG_DATABASE_URL: url, LIANDONG_NODE_ID: nodeId, LIANDONG_LEASE_SECONDS: String(leaseSeconds), LOG_LEVEL: 'warn',
    LIANDONG_TRUNK_CALLS_PER_SECOND: '1000', LIANDONG_TRUNK_CHANNELS: '1000', LIANDONG_API_RATE_LIMIT: '1000000', LIANDONG_SURVEY_DELAY_SECONDS: '3600', ...extra,
  });
  const a: ServiceProcess = await spawnService('bench-cell-1', env('cell-1'));
  let b: ServiceProcess | undefined;
  const store = await openStore({ engine: 'postgres', url });
  try {
    const list = await a.api<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>('GET', '/api/v1/departments', TOKENS.desk);
    const d = list.body.departments.find((x) => x.id === 'tourism');
    if (!d) throw new Error('no tourism department');
    const policy = { attemptsPerContact: 3, retryDelaySeconds: 1, ringTimeoutSeconds: 10, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 1, keyTimeoutSeconds: 12 };
    await a.api('PUT', '/api/v1/departments/tourism', TOKENS.admin, { name: d.name, categories: d.categories, contacts: [{ id: 'duty', name: '值班室', number: '70911', priority: 1 }], policy });
    b = await spawnService('bench-cell-2', env('cell-2', cell2.env));
    const ids: string[] = [];
    for (let i = 0; i < orders; i += 1) {
      const res = await a.api<{ id: string }>('POST', '/api/v1/orders', TOKENS.desk, {
        externalId: `takeover-${Date.now()}-${i}`, category: 'water-main-burst', departmentId: 'tourism', summary: '水管爆裂', address: '城关镇', reporterPhone: '13800138000', urgency: 'urgent',
      });
      if (res.status !== 201) throw new Error(`POST order: ${res.status}`);
      ids.push(res.body.id);
    }
    const list2 = sql.join(ids);
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(50)) {
      const answered = await rows(store.db, sql<{ n: number }>`SELECT count(DISTINCT order_id) AS n FROM attempts WHERE order_id IN (${list2}) AND answered_at IS NOT NULL`);
      if ((answered[0]?.n ?? 0) === orders) break;
    }
    const killedAt = Date.now();
    await a.kill();
    let allOwnedAt = 0;
    for (const deadline = Date.now() + (leaseSeconds + 30) * 1000; Date.now() < deadline; await sleep(25)) {
      const owned = await rows(store.db, sql<{ n: number }>`SELECT count(*) AS n FROM cluster_leases WHERE unit_key IN (${sql.join(ids.map((id) => `order:${id}`))}) AND owner = 'cell-2'`);
      if (!allOwnedAt && (owned[0]?.n ?? 0) === orders) allOwnedAt = Date.now();
      const originated = ids.filter((id) => watch.createdAt.some((e) => e.id.startsWith(`${id}-a`)));
      if (allOwnedAt && originated.length === orders) break;
    }
    const firsts = ids.map((id) => (watch.createdAt.find((e) => e.id.startsWith(`${id}-a`))?.at ?? Number.NaN) - killedAt).sort((x, y) => x - y);
    // Let the new calls finish (key after 9 s), then count.
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(500)) {
      const open = await rows(store.db, sql<{ n: number }>`SELECT count(*) AS n FROM orders WHERE id IN (${list2}) AND status = 'dispatching'`);
      if ((open[0]?.n ?? 1) === 0) break;
    }
    const notAccepted = await rows(store.db, sql<{ n: number }>`SELECT count(*) AS n FROM orders WHERE id IN (${list2}) AND status <> 'accepted'`);
    const dup = await rows(store.db, sql<{ n: number }>`SELECT count(*) AS n FROM (SELECT order_id FROM acknowledgements WHERE order_id IN (${list2}) AND late = 0 AND script = 'dispatch' GROUP BY order_id HAVING count(*) > 1) d`);
    return {
      orders,
      leaseSeconds,
      killToAllOwnedMs: allOwnedAt ? allOwnedAt - killedAt : Number.NaN,
      killToOriginateMs: { min: round(firsts[0] ?? Number.NaN), p50: round(firsts[Math.floor(firsts.length / 2)] ?? Number.NaN), max: round(firsts.at(-1) ?? Number.NaN) },
      lost: notAccepted[0]?.n ?? orders,
      duplicateAcknowledgements: dup[0]?.n ?? 0,
      channelsCreatedTwice: [...watch.created.values()].filter((n) => n > 1).length,
    };
  } finally {
    watch.close();
    await store.close();
    await b?.stop();
    await a.stop();
    await cell2.down();
  }
}
