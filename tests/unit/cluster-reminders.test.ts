// Reminder rounds under cluster ownership: two nodes (two stores on one PostgreSQL database, real
// LeaseManager + ClusterOwnership each, TTL 900 ms) with their reminder services running and
// scripted telephones. Each due deadline gets exactly one round across the cluster; a node killed
// during a round has it taken over after TTL, the call it left hung up through its Asterisk, and
// the round placed again once, its key committed once.
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { first, rows, run } from '../../src/db/sql.js';
import type { Store } from '../../src/db/store.js';
import type { WriteQueue } from '../../src/db/write-queue.js';
import type { DepartmentStore } from '../../src/departments/store.js';
import { createLogger } from '../../src/logging.js';
import type { FeedbackKind, OrderRepository } from '../../src/orders/order-repository.js';
import { ReminderRepository } from '../../src/reminders/reminder-repository.js';
import { ReminderService } from '../../src/reminders/reminder-service.js';
import { sleep, testCluster, type TestCluster } from './cluster-fixtures.js';
import { nodeWrites, SERVICE_TTL_MS, settleNode, testNode, type TestNode } from './cluster-service-fixtures.js';
import { beepPrompts, heldPrompts, KEYED_1, scriptedTelephone } from './fake-telephony.js';

const DEADLINES = 20;

/** A node's telephone: the duty contact answers at once and keys 1 (arrived); with `hold`, the first prompt of each call waits until releaseHeld. */
function nodePhone(hold = false) {
  const gate = heldPrompts();
  const phone = scriptedTelephone((channelId) => (hold ? gate.hold(channelId) : Promise.resolve(KEYED_1)));
  return { ...phone, held: gate.held, releaseHeld: gate.release };
}

const prompts = beepPrompts;
const department = { id: 'water-supply', name: { 'zh-CN': '供水', en: 'Water' }, contacts: [{ id: 'duty', number: '1001', priority: 1 }], rosters: [] };
const departments = {
  policyOf: () => ({ arrivalDeadlineSeconds: 60, completionDeadlineSeconds: 600, keyTimeoutSeconds: 5, ringTimeoutSeconds: 5, maxReplays: 0 }),
  current: () => ({ departmentsById: new Map([['water-supply', department]]), commandCentre: { id: 'cc', number: '110' } }),
} as unknown as DepartmentStore;

interface RunningNode {
  readonly node: TestNode;
  readonly service: ReminderService;
  readonly phone: ReturnType<typeof nodePhone>;
  readonly writes: WriteQueue;
  readonly failures: string[];
}

let cluster: TestCluster | undefined;
const running: RunningNode[] = [];
/** Feedback recorded by a reminder call's key, on any node. */
const feedback: Array<{ orderId: string; kind: FeedbackKind; node: string }> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const r of running.splice(0)) {
    r.node.ownership.stop();
    r.service.stop();
    await settleNode(r);
  }
  feedback.length = 0;
  await cluster?.close();
  cluster = undefined;
});

async function startNode(c: TestCluster, nodeId: string, phone: ReturnType<typeof nodePhone>): Promise<RunningNode> {
  const node = await testNode(c, nodeId);
  const store = node.leases.store;
  const { writes, failures } = nodeWrites(store);
  // Only what the service reads of the order repository, straight from the node's store.
  const orders = {
    getOrder: (id: string) => first(store.db, sql`SELECT * FROM orders WHERE id = ${id}`),
    acknowledgements: (id: string) => rows(store.db, sql`SELECT * FROM acknowledgements WHERE order_id = ${id}`),
    feedback: (id: string) => rows(store.db, sql`SELECT * FROM feedback WHERE order_id = ${id}`),
    appendEvent: () => Promise.resolve(),
  } as unknown as OrderRepository;
  const service: ReminderService = new ReminderService({
    config: { language: 'zh-CN', timezone: 'Asia/Shanghai' },
    reminders: new ReminderRepository(store),
    orders, departments, prompts, writes,
    telephony: phone.port,
    webhook: { notify: () => Promise.resolve({ ok: true, eventId: 'ev_x', deliveries: 0 }) },
    logger: createLogger('silent'),
    // As the order service does: the feedback meets the deadline (through the reminder service's hook).
    recordFeedback: async (orderId, kind) => {
      feedback.push({ orderId, kind, node: nodeId });
      await service.onFeedback(orderId, kind);
    },
    ownership: node.ownership,
  });
  const r = { node, service, phone, writes, failures };
  running.push(r);
  await service.start();
  node.ownership.start();
  return r;
}

/** Accepted orders, each with its arrival deadline passed. */
async function dueDeadlines(store: Store, count: number): Promise<string[]> {
  const accepted = Date.now() - 120_000;
  const at = new Date(accepted - 60_000).toISOString();
  const repo = new ReminderRepository(store);
  const ids: string[] = [];
  for (let i = 1; i <= count; i++) {
    const id = `o${String(i).padStart(16, '0')}`;
    await run(store.db, sql`
      INSERT INTO orders (id, code, external_id, category, department_id, summary, address, reporter_phone, urgency, major, status, created_at, updated_at)
      VALUES (${id}, ${String(100000 + i)}, ${`ext-${id}`}, 'water-main-burst', 'water-supply', 's', 'a', '13800138000', 'urgent', 0, 'accepted', ${at}, ${at})`);
    await run(store.db, sql`
      INSERT INTO acknowledgements (order_id, attempt_id, contact_id, accepted_at, via, script, seconds_to_accept, disputed, late, department_id)
      VALUES (${id}, NULL, 'duty', ${new Date(accepted).toISOString()}, 'phone', 'dispatch', 60, 0, 0, 'water-supply')`);
    await repo.ensureDeadline(id, 'arrival', 60, accepted);
    ids.push(id);
  }
  return ids;
}

async function deadlines(store: Store) {
  return rows(store.db, sql<{ id: string; order_id: string; status: string; rounds: number }>`SELECT id, order_id, status, rounds FROM feedback_deadlines ORDER BY id`);
}

async function heldLeases(store: Store): Promise<number> {
  return (await first(store.db, sql<{ n: number }>`SELECT count(*) AS n FROM cluster_leases WHERE owner IS NOT NULL`))?.n ?? -1;
}

const orderOf = (attemptId: string) => attemptId.replace(/-r\d+$/, '');

describe('reminder rounds, two nodes on one PostgreSQL database', () => {
  it('reminds each of 20 due deadlines with exactly one round across the cluster and releases every lease', async () => {
    cluster = await testCluster('postgres');
    const store = await cluster.store();
    const orders = await dueDeadlines(store, DEADLINES);
    const a = await startNode(cluster, 'a', nodePhone());
    const b = await startNode(cluster, 'b', nodePhone());
    await expect.poll(async () => (await deadlines(store)).filter((d) => d.status === 'met').length, { timeout: 20_000, interval: 50 }).toBe(DEADLINES);
    await expect.poll(() => heldLeases(store), { timeout: 2000, interval: 20 }).toBe(0);
    await a.writes.drain();
    await b.writes.drain();
    const calls = [...a.phone.originated, ...b.phone.originated];
    expect(calls.map(orderOf).sort()).toEqual(orders);
    expect((await deadlines(store)).every((d) => d.rounds === 1)).toBe(true);
    expect(feedback.map((f) => f.orderId).sort()).toEqual(orders);
    const answers = await rows(store.db, sql<{ order_id: string; answer: string | null; result: string }>`SELECT order_id, answer, result FROM reminder_attempts ORDER BY order_id`);
    expect(answers).toEqual(orders.map((o) => ({ order_id: o, answer: 'done', result: 'accepted' })));
    expect([...a.failures, ...b.failures]).toEqual([]);
    console.info(`reminders: node a placed ${a.phone.originated.length} rounds, node b ${b.phone.originated.length}`);
  }, 30_000);

  it('a node killed during a round: taken over after TTL, its call hung up through its Asterisk, the round placed again once', async () => {
    cluster = await testCluster('postgres');
    const store = await cluster.store();
    const [orderId] = await dueDeadlines(store, 1);
    const a = await startNode(cluster, 'a', nodePhone(true)); // the duty contact listens; the node dies before a key
    await expect.poll(() => a.phone.held.length, { timeout: 10_000, interval: 10 }).toBe(1);
    await expect.poll(async () => (await rows(store.db, sql`SELECT id FROM reminder_attempts`)).length, { timeout: 2000, interval: 10 }).toBe(1);
    const b = await startNode(cluster, 'b', nodePhone()); // nothing due for it now

    const killedAt = performance.now();
    // SIGKILL: renewals and takeover polls stop, nothing is cleaned up. Its service timer is left
    // running: a node that cannot renew must take nothing more.
    await a.node.kill();
    await expect.poll(async () => (await deadlines(store))[0]?.status, { timeout: 10_000, interval: 20 }).toBe('met');
    await expect.poll(() => heldLeases(store), { timeout: 2000, interval: 20 }).toBe(0);
    await b.writes.drain();

    const leftByA = `${orderId}-r1`;
    expect(a.phone.originated).toEqual([leftByA]);
    expect(a.node.ari.deleted.map((d) => d.channelId)).toEqual([leftByA]);
    const delay = (a.node.ari.deleted[0]?.at ?? Number.NaN) - killedAt;
    expect(delay).toBeGreaterThan(SERVICE_TTL_MS - SERVICE_TTL_MS / 3 - 50);
    expect(delay).toBeLessThan(SERVICE_TTL_MS + 2000);
    console.info(`reminder takeover: the call hung up ${Math.round(delay)} ms after the kill (TTL ${SERVICE_TTL_MS} ms)`);
    expect(b.phone.originated).toEqual([`${orderId}-r2`]);
    expect(await rows(store.db, sql<{ id: string; result: string; answer: string | null }>`SELECT id, result, answer FROM reminder_attempts ORDER BY seq`)).toEqual([
      { id: leftByA, result: 'interrupted', answer: null },
      { id: `${orderId}-r2`, result: 'accepted', answer: 'done' },
    ]);
    expect(await deadlines(store)).toEqual([{ id: `${orderId}-arrival`, order_id: orderId, status: 'met', rounds: 2 }]);
    expect(feedback).toEqual([{ orderId, kind: 'arrived', node: 'b' }]);
    expect(b.failures).toEqual([]);

    // The dead node's round wakes up (a zombie) and keys 1: its fenced writes are refused.
    a.phone.releaseHeld();
    await sleep(300);
    await a.writes.drain();
    expect(a.failures.length).toBeGreaterThan(0);
    expect(a.failures.every((f) => /lease on reminder:\S+ lost/.test(f))).toBe(true);
    expect(feedback).toHaveLength(1);
    expect((await rows(store.db, sql<{ answer: string | null }>`SELECT answer FROM reminder_attempts ORDER BY seq`)).map((r) => r.answer)).toEqual([null, 'done']);
  }, 30_000);

  it('a node that cannot renew stops its round and hangs its call up itself at TTL/2, before another node takes it over at TTL', async () => {
    cluster = await testCluster('postgres');
    const store = await cluster.store();
    const [orderId] = await dueDeadlines(store, 1);
    const a = await startNode(cluster, 'a', nodePhone(true));
    await expect.poll(() => a.phone.held.length, { timeout: 10_000, interval: 10 }).toBe(1);
    await expect.poll(async () => (await rows(store.db, sql`SELECT id FROM reminder_attempts`)).length, { timeout: 2000, interval: 10 }).toBe(1);
    const b = await startNode(cluster, 'b', nodePhone());

    const cutAt = performance.now();
    vi.spyOn(a.node.leases, 'renew').mockResolvedValue({ ok: false, reason: 'connection refused (test)' });
    await expect.poll(() => a.phone.hungUp.map((h) => h.channelId), { timeout: 5000, interval: 10 }).toEqual([`${orderId}-r1`]);
    const stoppedAfter = (a.phone.hungUp[0]?.at ?? Number.NaN) - cutAt;
    expect(a.node.ari.deleted).toEqual([]);
    await expect.poll(async () => (await deadlines(store))[0]?.status, { timeout: 10_000, interval: 20 }).toBe('met');
    const takenAfter = (a.node.ari.deleted[0]?.at ?? Number.NaN) - cutAt;
    expect(stoppedAfter).toBeLessThan(takenAfter);
    console.info(`reminder lost: the call hung up by its node ${Math.round(stoppedAfter)} ms after its renewals stopped, taken over ${Math.round(takenAfter)} ms after`);
    await a.writes.drain();
    await b.writes.drain();
    expect(a.failures).toEqual([]); // the stopped round wrote nothing more
    expect(b.failures).toEqual([]);
    expect(b.phone.originated).toEqual([`${orderId}-r2`]);
    expect(feedback).toEqual([{ orderId, kind: 'arrived', node: 'b' }]);
    expect(await deadlines(store)).toEqual([{ id: `${orderId}-arrival`, order_id: orderId, status: 'met', rounds: 2 }]);
  }, 30_000);

  it('sweeps up a deadline left reminding without a holder (a released lease) and reminds it once', async () => {
    cluster = await testCluster('postgres');
    const store = await cluster.store();
    const [orderId] = await dueDeadlines(store, 1);
    // Taken by takeDue for a second round on a node that died before its claim.
    await run(store.db, sql`UPDATE feedback_deadlines SET status = 'reminding', rounds = 1, updated_at = ${new Date(Date.now() - 60_000).toISOString()}`);
    await run(store.db, sql`INSERT INTO cluster_leases (unit_key, owner, epoch, acquired_at, expires_at) VALUES (${`reminder:${orderId}-arrival`}, NULL, 2, 0, 0)`);
    const b = await startNode(cluster, 'b', nodePhone());
    await expect.poll(async () => (await deadlines(store))[0]?.status, { timeout: 10_000, interval: 20 }).toBe('met');
    expect(b.phone.originated).toEqual([`${orderId}-r1`]);
    expect((await deadlines(store))[0]?.rounds).toBe(2);
    expect(b.failures).toEqual([]);
  }, 30_000);
});
