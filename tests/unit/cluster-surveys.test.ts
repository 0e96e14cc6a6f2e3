// Survey calls under cluster ownership: two nodes (two stores on one PostgreSQL database, real
// LeaseManager + ClusterOwnership each, TTL 900 ms) with their survey services running and
// scripted telephones. Each due survey is called exactly once across the cluster; a node killed
// mid-call has its surveys taken over after TTL, their channels hung up through its Asterisk, and
// each survey ends answered exactly once; surveys left calling without a holder are swept up.
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { first, rows, run } from '../../src/db/sql.js';
import type { Store } from '../../src/db/store.js';
import type { WriteQueue } from '../../src/db/write-queue.js';
import { createLogger } from '../../src/logging.js';
import { SurveyRepository } from '../../src/survey/survey-repository.js';
import { SurveyService, type SurveyServiceDeps } from '../../src/survey/survey-service.js';
import { sleep, testCluster, type TestCluster } from './cluster-fixtures.js';
import { nodeWrites, SERVICE_TTL_MS, settleNode, testNode, type TestNode } from './cluster-service-fixtures.js';
import { beepPrompts, heldPrompts, KEYED_1, scriptedTelephone } from './fake-telephony.js';
import { Fixture } from './reports-fixtures.js';

const SURVEYS = 20;

/**
 * A node's telephone: every citizen answers at once and keys 1 to each question; with
 * `holdAtQuestion`, the prompt of that question waits until `releaseHeld` (the node dies meanwhile).
 */
function nodePhone(holdAtQuestion?: number) {
  const asked = new Map<string, number>();
  const gate = heldPrompts();
  const phone = scriptedTelephone((channelId) => {
    const n = (asked.get(channelId) ?? 0) + 1;
    asked.set(channelId, n);
    return n === holdAtQuestion ? gate.hold(channelId) : Promise.resolve(KEYED_1);
  });
  return { ...phone, held: gate.held, releaseHeld: gate.release };
}

const prompts = beepPrompts;
const config = loadConfig({
  LIANDONG_SURVEY_WINDOW: '00:00-00:00', LIANDONG_SURVEY_DELAY_SECONDS: '0', LIANDONG_SURVEY_RETRY_SECONDS: '1', LIANDONG_FOLLOWUP_RULE: 'off',
}, 'dev');

interface RunningNode {
  readonly node: TestNode;
  readonly service: SurveyService;
  readonly phone: ReturnType<typeof nodePhone>;
  readonly writes: WriteQueue;
  readonly failures: string[];
}

let cluster: TestCluster | undefined;
const running: RunningNode[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const r of running.splice(0)) {
    r.service.stop();
    r.node.ownership.stop();
    await settleNode(r);
  }
  await cluster?.close();
  cluster = undefined;
});

async function startNode(c: TestCluster, nodeId: string, phone: ReturnType<typeof nodePhone>): Promise<RunningNode> {
  const node = await testNode(c, nodeId);
  const store = node.leases.store;
  const { writes, failures } = nodeWrites(store);
  const orders = {
    getOrder: (id: string) => first(store.db, sql`SELECT * FROM orders WHERE id = ${id}`),
    events: () => Promise.resolve([]),
    advanceStatus: () => Promise.resolve(),
  } as unknown as SurveyServiceDeps['orders'];
  const service = new SurveyService({
    config, orders, telephony: phone.port, prompts, writes, logger: createLogger('silent'), surveys: new SurveyRepository(store),
    departments: { current: () => { throw new Error('not read here'); } } as unknown as SurveyServiceDeps['departments'],
    ownership: node.ownership,
  });
  const r = { node, service, phone, writes, failures };
  running.push(r);
  return r;
}

async function go(...nodes: RunningNode[]): Promise<void> {
  for (const r of nodes) {
    await r.service.start();
    r.node.ownership.start();
  }
}

/** Orders o01…o20, completed, each with its callback survey due now. */
async function dueSurveys(store: Store, count = SURVEYS): Promise<string[]> {
  const f = Fixture.over(store);
  const ids = Array.from({ length: count }, (_, i) => `o${String(i + 1).padStart(2, '0')}`);
  for (const id of ids) f.order(id, 'tourism', '2026-11-20T01:00:00.000Z', 'completed');
  await f.flush();
  const repo = new SurveyRepository(store);
  const surveys: string[] = [];
  for (const id of ids) surveys.push((await repo.schedule(id, 'callback', `1380013${id.slice(1)}00`, Date.now() - 1000)).row.id);
  return surveys;
}

async function statuses(store: Store): Promise<Map<string, string>> {
  return new Map((await rows(store.db, sql<{ id: string; status: string }>`SELECT id, status FROM surveys`)).map((r) => [r.id, r.status]));
}

/** survey id → how many survey_answer events each of its questions got. */
async function answerCounts(store: Store): Promise<Map<string, Record<string, number>>> {
  const out = new Map<string, Record<string, number>>();
  for (const { detail } of await rows(store.db, sql<{ detail: string }>`SELECT detail FROM order_events WHERE kind = 'survey_answer'`)) {
    const d = JSON.parse(detail) as { surveyId: string; question: string };
    const counts = out.get(d.surveyId) ?? {};
    counts[d.question] = (counts[d.question] ?? 0) + 1;
    out.set(d.surveyId, counts);
  }
  return out;
}

const surveyOf = (channelId: string) => channelId.replace(/-c\d+$/, '');

async function expectAnsweredOnce(store: Store, surveys: string[]): Promise<void> {
  const counts = await answerCounts(store);
  for (const id of surveys) expect(counts.get(id), id).toEqual({ attitude: 1, speed: 1, quality: 1 });
  const answers = await rows(store.db, sql<{ attitude: string; speed: string; quality: string }>`SELECT attitude, speed, quality FROM surveys`);
  expect(answers.every((a) => a.attitude === 'satisfied' && a.speed === 'satisfied' && a.quality === 'satisfied')).toBe(true);
}

async function heldLeases(store: Store): Promise<number> {
  return (await first(store.db, sql<{ n: number }>`SELECT count(*) AS n FROM cluster_leases WHERE owner IS NOT NULL`))?.n ?? -1;
}

describe('survey calls, two nodes on one PostgreSQL database', () => {
  it('calls each of 20 due surveys exactly once across the cluster and releases every lease', async () => {
    cluster = await testCluster('postgres');
    const store = await cluster.store();
    const surveys = await dueSurveys(store);
    const a = await startNode(cluster, 'a', nodePhone());
    const b = await startNode(cluster, 'b', nodePhone());
    await go(a, b);
    await expect.poll(async () => [...(await statuses(store)).values()].filter((s) => s === 'completed').length, { timeout: 20_000, interval: 50 }).toBe(SURVEYS);
    await a.writes.drain();
    await b.writes.drain();
    const calls = [...a.phone.originated, ...b.phone.originated];
    expect(calls.map(surveyOf).sort()).toEqual([...surveys].sort()); // each survey once, no other call
    expect(calls.every((c) => c.endsWith('-c1'))).toBe(true);
    await expectAnsweredOnce(store, surveys);
    await expect.poll(() => heldLeases(store), { timeout: 2000, interval: 20 }).toBe(0);
    expect((await first(store.db, sql<{ n: number }>`SELECT count(*) AS n FROM cluster_leases WHERE unit_key LIKE 'survey:%'`))?.n).toBe(SURVEYS);
    expect([...a.failures, ...b.failures]).toEqual([]);
    console.info(`surveys: node a called ${a.phone.originated.length}, node b ${b.phone.originated.length}`);
  }, 30_000);

  it('a node killed mid-call: its surveys are taken over after TTL, hung up through its Asterisk, and each ends answered exactly once', async () => {
    cluster = await testCluster('postgres');
    const store = await cluster.store();
    const surveys = await dueSurveys(store);
    const a = await startNode(cluster, 'a', nodePhone(2)); // its citizens answer the first question, then the node dies
    const b = await startNode(cluster, 'b', nodePhone());
    await go(a, b);
    await expect.poll(async () => [...(await statuses(store)).values()].filter((s) => s === 'completed').length + a.phone.held.length, { timeout: 20_000, interval: 20 }).toBe(SURVEYS);
    const leftByA = a.phone.held.map((h) => h.channelId).sort();
    expect(leftByA.length).toBeGreaterThan(0);
    expect(leftByA.every((c) => c.endsWith('-c1'))).toBe(true);
    await expect.poll(async () => (await answerCounts(store)).size, { timeout: 2000, interval: 20 }).toBe(SURVEYS); // A's first answers are in

    const killedAt = performance.now();
    a.service.stop(); // its timer only: the calls stay up, as SIGKILL leaves them in Asterisk
    await a.node.kill();
    await expect.poll(async () => [...(await statuses(store)).values()].filter((s) => s === 'completed').length, { timeout: 20_000, interval: 20 }).toBe(SURVEYS);
    await b.writes.drain();

    // B hung up every channel A left, through A's Asterisk, once, and only after A's leases ran out.
    expect(a.node.ari.deleted.map((d) => d.channelId).sort()).toEqual(leftByA);
    const delays = a.node.ari.deleted.map((d) => d.at - killedAt);
    expect(Math.min(...delays)).toBeGreaterThan(SERVICE_TTL_MS - SERVICE_TTL_MS / 3 - 50);
    expect(Math.max(...delays)).toBeLessThan(SERVICE_TTL_MS + 2000);
    console.info(`survey takeover: ${leftByA.length} calls hung up ${Math.round(Math.min(...delays))}-${Math.round(Math.max(...delays))} ms after the kill (TTL ${SERVICE_TTL_MS} ms)`);

    // A's surveys: the interrupted attempt and B's resumed one, which asked only what was left.
    for (const channelId of leftByA) {
      const attempts = await rows(store.db, sql<{ seq: number; result: string }>`SELECT seq, result FROM survey_attempts WHERE survey_id = ${surveyOf(channelId)} ORDER BY seq`);
      expect(attempts).toEqual([{ seq: 1, result: 'interrupted' }, { seq: 2, result: 'completed' }]);
      expect(b.phone.originated).toContain(`${surveyOf(channelId)}-c2`);
    }
    const calls = [...a.phone.originated, ...b.phone.originated];
    expect(new Set(calls).size).toBe(calls.length); // no attempt placed twice
    expect(calls.length).toBe(SURVEYS + leftByA.length);
    await expectAnsweredOnce(store, surveys);
    expect(b.failures).toEqual([]);

    // The dead node's machines wake up (a zombie): its fenced writes are refused, nothing changes.
    a.phone.releaseHeld();
    await sleep(300);
    await a.writes.drain();
    expect(a.failures.length).toBeGreaterThan(0);
    expect(a.failures.every((f) => /lease on survey:\S+ lost/.test(f))).toBe(true);
    await expectAnsweredOnce(store, surveys);
    expect([...(await statuses(store)).values()].every((s) => s === 'completed')).toBe(true);
  }, 30_000);

  it('a node that cannot renew stops its calls and hangs them up itself at TTL/2, before another node takes them over at TTL', async () => {
    cluster = await testCluster('postgres');
    const store = await cluster.store();
    const surveys = await dueSurveys(store, 4);
    const a = await startNode(cluster, 'a', nodePhone(2));
    await go(a);
    await expect.poll(() => a.phone.held.length, { timeout: 10_000, interval: 10 }).toBe(4);
    const b = await startNode(cluster, 'b', nodePhone());
    await go(b);

    // A's database connection for renewals is cut: every renewal fails from now on.
    const cutAt = performance.now();
    vi.spyOn(a.node.leases, 'renew').mockResolvedValue({ ok: false, reason: 'connection refused (test)' });
    await expect.poll(() => a.phone.hungUp.length, { timeout: 5000, interval: 10 }).toBe(4);
    const stoppedAfter = Math.max(...a.phone.hungUp.map((h) => h.at - cutAt));
    expect(a.phone.hungUp.map((h) => h.channelId).sort()).toEqual(a.phone.held.map((h) => h.channelId).sort());
    expect(a.node.leases.canOriginate()).toBe(false);
    expect(a.node.ari.deleted).toEqual([]); // nobody has taken them over yet

    await expect.poll(async () => [...(await statuses(store)).values()].filter((s) => s === 'completed').length, { timeout: 20_000, interval: 20 }).toBe(4);
    const takenAfter = Math.min(...a.node.ari.deleted.map((d) => d.at - cutAt));
    expect(stoppedAfter).toBeLessThan(takenAfter);
    console.info(`survey lost: calls hung up by their node ${Math.round(stoppedAfter)} ms after its renewals stopped, taken over ${Math.round(takenAfter)} ms after`);
    await b.writes.drain();
    await a.writes.drain();
    await expectAnsweredOnce(store, surveys);
    expect(a.failures).toEqual([]); // the stopped calls wrote nothing more
    expect(b.failures).toEqual([]);
  }, 30_000);

  it('sweeps up surveys left calling without a holder (no lease row, or a released one) and calls them once', async () => {
    cluster = await testCluster('postgres');
    const store = await cluster.store();
    const [never, released] = await dueSurveys(store, 2);
    const old = new Date(Date.now() - 60_000).toISOString();
    // Taken by claimDue on a node that died before its claim: the first call, and a retry (its lease row released).
    await run(store.db, sql`UPDATE surveys SET status = 'calling', updated_at = ${old}`);
    await run(store.db, sql`INSERT INTO cluster_leases (unit_key, owner, epoch, acquired_at, expires_at) VALUES (${`survey:${released}`}, NULL, 3, 0, 0)`);
    const b = await startNode(cluster, 'b', nodePhone());
    await go(b);
    await expect.poll(async () => [...(await statuses(store)).values()], { timeout: 10_000, interval: 20 }).toEqual(['completed', 'completed']);
    expect(b.phone.originated.sort()).toEqual([`${never}-c1`, `${released}-c1`].sort());
    // Released once the end of the call is written, so a moment after the status reads completed.
    await expect.poll(() => rows(store.db, sql<{ unit_key: string; owner: string | null }>`SELECT unit_key, owner FROM cluster_leases ORDER BY unit_key`), { timeout: 2000, interval: 20 })
      .toEqual([{ unit_key: `survey:${never}`, owner: null }, { unit_key: `survey:${released}`, owner: null }].sort((x, y) => x.unit_key.localeCompare(y.unit_key)));
    expect(b.failures).toEqual([]);
  }, 30_000);
});
