// Cluster mode on PostgreSQL: two cells (controller + its own Asterisk: 127.0.0.1 and 127.0.0.2) on
// one database of the test run's own PostgreSQL server. Cell 1's controller is killed (SIGKILL)
// while it owns three orders:
//   O1  the duty officer has answered and not pressed yet (70911: presses 1 after 9 s);
//   O2  the officer pressed 1, the acceptance is committed, the confirmation is playing;
//   O3  waiting for a trunk line (cell 1 has two).
// Cell 2 owns all three within the lease time + 2 s, hangs up what cell 1 left through cell 1's
// Asterisk (still running), calls O1 and O3 again through its own Asterisk, and leaves O2 alone.
// Then a zombie: cell 2 is frozen (SIGSTOP) past the lease time while it owns an order; cell 1
// (restarted) takes it over; thawed, cell 2 writes nothing and places no call. Finally a whole
// cell dies (controller and Asterisk): the other finishes its order. Channel ids are counted on
// both Asterisks: none is ever created twice.
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCellAsterisk, type CellAsterisk } from '../../src/asterisk/cell.js';
import { configFromProcess } from '../../src/config.js';
import { rows } from '../../src/db/sql.js';
import { openStore, type Store } from '../../src/db/store.js';
import { watchChannels, type ChannelWatch } from '../../harness/ari-watch.js';
import { ARTIFACTS, spawnService, TOKENS, waitUntil, type ServiceProcess } from '../../harness/service-process.js';
import { newPostgresDatabase } from '../support/engines.js';

const SLOW = '70911'; // answers, presses 1 after 9 s
const QUICK = '70111'; // answers, presses 1 after 1 s
const LEASE_SECONDS = 6;
const POLICY = { attemptsPerContact: 3, retryDelaySeconds: 1, ringTimeoutSeconds: 10, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 1, keyTimeoutSeconds: 12 };

let url = '';
let db: Store;
let cell2: CellAsterisk;
let a: ServiceProcess;
let b: ServiceProcess;
const watches: ChannelWatch[] = [];
const ids = { o1: '', o2: '', o3: '', o4: '', o5: '' };
const figures: Record<string, number> = {};

interface AttemptRow { id: string; order_id: string; result: string | null; reason: string | null; answered_at: string | null; ended_at: string | null }
const attempts = (orderId: string) => rows(db.db, sql<AttemptRow>`SELECT id, order_id, result, reason, answered_at, ended_at FROM attempts WHERE order_id = ${orderId} ORDER BY seq`);
const acceptances = (orderId: string) => rows(db.db, sql<{ attempt_id: string | null; late: number }>`SELECT attempt_id, late FROM acknowledgements WHERE order_id = ${orderId} AND script = 'dispatch' ORDER BY id`);
const owner = async (orderId: string) => (await rows(db.db, sql<{ owner: string | null }>`SELECT owner FROM cluster_leases WHERE unit_key = ${`order:${orderId}`}`))[0]?.owner ?? null;
const status = async (orderId: string) => (await rows(db.db, sql<{ status: string }>`SELECT status FROM orders WHERE id = ${orderId}`))[0]?.status;

function clusterEnv(nodeId: string, cell: Record<string, string> = {}): Record<string, string> {
  return {
    LIANDONG_DATABASE_URL: url,
    LIANDONG_NODE_ID: nodeId,
    LIANDONG_LEASE_SECONDS: String(LEASE_SECONDS),
    LIANDONG_TRUNK_CHANNELS: '2',
    LIANDONG_SURVEY_DELAY_SECONDS: '3600',
    LIANDONG_FOLLOWUP_RULE: 'off',
    ...cell,
  };
}

async function configure(svc: ServiceProcess, departmentId: string, number: string): Promise<void> {
  const list = await svc.api<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>('GET', '/api/v1/departments', TOKENS.desk);
  const d = list.body.departments.find((x) => x.id === departmentId);
  if (!d) throw new Error(`no department ${departmentId}`);
  const res = await svc.api('PUT', `/api/v1/departments/${departmentId}`, TOKENS.admin, { name: d.name, categories: d.categories, contacts: [{ id: 'c1', name: 'duty', number, priority: 1 }], policy: POLICY });
  if (res.status !== 200) throw new Error(`PUT department ${departmentId}: ${res.status} ${JSON.stringify(res.body)}`);
}

async function order(svc: ServiceProcess, externalId: string, departmentId: string): Promise<string> {
  const res = await svc.api<{ id: string }>('POST', '/api/v1/orders', TOKENS.desk, {
    externalId, category: 'water-main-burst', departmentId, summary: '水管爆裂', address: '城关镇', reporterPhone: '13912345678', urgency: 'urgent',
  });
  if (res.status !== 201) throw new Error(`POST order: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

/** Times each channel id was created, summed over both Asterisks. */
function createdCounts(): Map<string, number> {
  const total = new Map<string, number>();
  for (const w of watches) for (const [id, n] of w.created) total.set(id, (total.get(id) ?? 0) + n);
  return total;
}

beforeAll(async () => {
  url = await newPostgresDatabase();
  db = await openStore({ engine: 'postgres', url });
  cell2 = await startCellAsterisk(2);
  watches.push(await watchChannels(configFromProcess('dev'), `watch-cell1-${process.pid}`), await watchChannels(cell2.config, `watch-cell2-${process.pid}`));
  a = await spawnService('cluster-a', clusterEnv('cell-1'));
  await configure(a, 'tourism', SLOW);
  await configure(a, 'education', QUICK);
  await configure(a, 'civil-affairs', QUICK);
  b = await spawnService('cluster-b', clusterEnv('cell-2', cell2.env));
}, 180_000);

afterAll(async () => {
  for (const w of watches) w.close();
  await a?.stop();
  await b?.stop();
  await db?.close();
  fs.writeFileSync(path.join(ARTIFACTS, 'cluster-failover.timings.json'), `${JSON.stringify(figures, null, 2)}\n`);
});

describe('two cells on one PostgreSQL: SIGKILL of a controller that owns three orders', () => {
  it('the healthy cluster: both nodes live, each on its own store engine and lease', async () => {
    const health = await a.api<{ database: { engine: string }; cluster: { liveNodes: string[]; leases: string } }>('GET', '/healthz', TOKENS.viewer);
    expect(health.status).toBe(200);
    expect(health.body.database.engine).toBe('postgres');
    expect([...health.body.cluster.liveNodes].sort()).toEqual(['cell-1', 'cell-2']);
  });

  it('kills cell 1 with O1 answered, O2 accepted mid-confirmation, O3 queued; cell 2 owns all three within TTL + 2 s', async () => {
    ids.o1 = await order(a, 'cl-o1', 'tourism');
    ids.o2 = await order(a, 'cl-o2', 'education');
    ids.o3 = await order(a, 'cl-o3', 'civil-affairs');
    await waitUntil(
      'the three orders in the right phase',
      async () => ({ o1: await attempts(ids.o1), o2: await attempts(ids.o2), o2acks: await acceptances(ids.o2), o3: await attempts(ids.o3) }),
      // O3's attempt is started and waits for a line: not yet created in Asterisk.
      (v) => v.o1[0]?.answered_at != null && v.o2acks.length === 1 && v.o2[0]?.ended_at == null && v.o3.length === 1 && !(watches[0]?.created.has(v.o3[0]?.id ?? '') ?? true),
      30_000,
      50,
    );
    for (const id of [ids.o1, ids.o2, ids.o3]) expect(await owner(id)).toBe('cell-1');
    const killedAt = Date.now();
    await a.kill();
    await waitUntil('cell 2 owns the three orders', async () => Promise.all([ids.o1, ids.o2, ids.o3].map(owner)), (o) => o.every((x) => x === 'cell-2'), (LEASE_SECONDS + 10) * 1000, 50);
    figures.killToAllOwnedMs = Date.now() - killedAt;
    expect(figures.killToAllOwnedMs).toBeLessThanOrEqual((LEASE_SECONDS + 2) * 1000);
    // The first new originate of O1 and O3 on cell 2's Asterisk.
    await waitUntil('O1 and O3 called again by cell 2', () => [...(watches[1]?.createdAt ?? [])], (c) => [ids.o1, ids.o3].every((o) => c.some((e) => e.id.startsWith(`${o}-a`))), 20_000, 50);
    for (const [name, id] of [['O1', ids.o1], ['O3', ids.o3]] as const) {
      const first = watches[1]?.createdAt.find((e) => e.id.startsWith(`${id}-a`));
      figures[`killTo${name}OriginateMs`] = (first?.at ?? 0) - killedAt;
    }
  });

  it('O1: hung up through cell 1\'s Asterisk, interrupted, called again by cell 2 and accepted once', async () => {
    await waitUntil('O1 accepted', () => status(ids.o1), (s) => s === 'accepted', 60_000);
    await waitUntil('O1 calls ended', () => attempts(ids.o1), (x) => x.every((r) => r.ended_at !== null), 30_000);
    expect((await attempts(ids.o1)).map((r) => [r.id, r.result])).toEqual([[`${ids.o1}-a1`, 'interrupted'], [`${ids.o1}-a2`, 'accepted']]);
    expect(await acceptances(ids.o1)).toEqual([{ attempt_id: `${ids.o1}-a2`, late: 0 }]);
    const events = await rows(db.db, sql<{ kind: string; detail: string }>`SELECT kind, detail FROM order_events WHERE order_id = ${ids.o1} ORDER BY id`);
    expect(events.find((e) => e.kind === 'attempt_interrupted')?.detail).toContain('"channelStillUp":true');
    expect(events.map((e) => e.kind)).toContain('order_taken_over');
  });

  it('O2: its committed acceptance stands, the attempt stays accepted, nobody is called again', async () => {
    await waitUntil('O2 attempt ended', () => attempts(ids.o2), (x) => x.every((r) => r.ended_at !== null), 30_000);
    expect((await attempts(ids.o2)).map((r) => [r.id, r.result, r.reason])).toEqual([[`${ids.o2}-a1`, 'accepted', 'confirmation interrupted']]);
    expect(await acceptances(ids.o2)).toEqual([{ attempt_id: `${ids.o2}-a1`, late: 0 }]);
    expect(await status(ids.o2)).toBe('accepted');
  });

  it('O3: placed by cell 2 from the trunk queue and accepted', async () => {
    await waitUntil('O3 accepted', () => status(ids.o3), (s) => s === 'accepted', 60_000);
    const o3 = await waitUntil('O3 calls ended', () => attempts(ids.o3), (x) => x.every((r) => r.ended_at !== null), 30_000);
    // Its first attempt was waiting for a line on cell 1: it never rang, and is closed as interrupted.
    expect(o3.map((r) => [r.id, r.result])).toEqual([[`${ids.o3}-a1`, 'interrupted'], [`${ids.o3}-a2`, 'accepted']]);
    expect(watches[0]?.created.has(`${ids.o3}-a1`)).toBe(false);
    expect(watches[1]?.created.get(`${ids.o3}-a2`)).toBe(1);
    expect(await acceptances(ids.o3)).toHaveLength(1);
  });
});

describe('a zombie: a controller frozen past its lease writes nothing and calls nobody when it thaws', () => {
  it('cell 1 (restarted) takes over cell 2\'s order while cell 2 is stopped; cell 2, thawed, places no call and its writes are refused', async () => {
    await a.restart();
    ids.o4 = await order(b, 'cl-o4', 'tourism');
    await waitUntil('O4 answered on cell 2', () => attempts(ids.o4), (x) => x[0]?.answered_at != null, 30_000, 50);
    expect(await owner(ids.o4)).toBe('cell-2');
    b.child.kill('SIGSTOP');
    await waitUntil('cell 1 owns O4', () => owner(ids.o4), (o) => o === 'cell-1', (LEASE_SECONDS + 10) * 1000, 100);
    await waitUntil('O4 called again by cell 1', () => [...(watches[0]?.createdAt ?? [])], (c) => c.some((e) => e.id === `${ids.o4}-a2`), 20_000, 50);
    const cell2Before = watches[1]?.createdAt.length ?? 0;
    const thawedAt = new Date().toISOString();
    b.child.kill('SIGCONT');
    await waitUntil('O4 accepted', () => status(ids.o4), (s) => s === 'accepted', 60_000);
    await new Promise((r) => setTimeout(r, 3000)); // what the thawed node would do, it has done by now
    expect((watches[1]?.createdAt ?? []).slice(cell2Before).filter((e) => e.id.startsWith(ids.o4))).toEqual([]);
    const late = await rows(db.db, sql<{ id: string }>`SELECT id FROM attempts WHERE order_id = ${ids.o4} AND started_at > ${thawedAt}`);
    expect(late).toEqual([]);
    expect((await acceptances(ids.o4)).filter((k) => k.late === 0)).toHaveLength(1);
    const log = fs.readFileSync(b.logFile, 'utf8');
    expect(log).toContain('orders abandoned: this node lost their leases');
  });
});

describe('a whole cell dies (controller and its Asterisk): the other cell finishes the order', () => {
  it('cell 2 and its Asterisk are killed while cell 2 owns an answered order; cell 1 calls it again and it is accepted', async () => {
    // Cell 2 was a zombie: its restart is a new process with the same node id.
    await b.kill();
    await b.restart();
    ids.o5 = await order(b, 'cl-o5', 'tourism');
    await waitUntil('O5 answered on cell 2', () => attempts(ids.o5), (x) => x[0]?.answered_at != null, 30_000, 50);
    const killedAt = Date.now();
    await b.kill();
    await cell2.down();
    await waitUntil('O5 accepted through cell 1', () => status(ids.o5), (s) => s === 'accepted', 60_000, 100);
    figures.cellDeathToAcceptedMs = Date.now() - killedAt;
    const o5 = await waitUntil('O5 calls ended', () => attempts(ids.o5), (x) => x.every((r) => r.ended_at !== null), 30_000);
    expect(o5[0]).toMatchObject({ id: `${ids.o5}-a1`, result: 'interrupted' });
    expect(o5.at(-1)?.result).toBe('accepted');
    expect(await acceptances(ids.o5)).toHaveLength(1);
  });

  it('never created one channel id twice on either Asterisk', () => {
    const counts = createdCounts();
    const ours = [...counts].filter(([id]) => Object.values(ids).some((o) => o !== '' && id.startsWith(`${o}-a`)));
    expect(ours.length).toBeGreaterThanOrEqual(8);
    expect(ours.filter(([, n]) => n > 1)).toEqual([]);
  });
});
