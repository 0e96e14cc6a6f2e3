// The dispatcher's admission limit (maxLiveOrders, LIANDONG_MAX_LIVE_ORDERS) with real order
// machines over a SQLite store: a burst beyond the limit waits without machines (yet counts as
// live: its record is not final), the more urgent is admitted first, a waiting order cancelled,
// acknowledged or settled by another node is answered truly and never phoned, nothing is started
// or queued twice, and a stop leaves the waiting orders to the restart, which phones them. Also
// followStore (a cluster): a live machine is told once of a settlement made on another node.
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/db/store.js';
import { WriteQueue } from '../../src/db/write-queue.js';
import { loadCatalog } from '../../src/departments/catalog.js';
import type { DepartmentStore } from '../../src/departments/store.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { PacedTelephony } from '../../src/dispatch/pacing.js';
import { resolvePolicy } from '../../src/dispatch/policy.js';
import { createLogger } from '../../src/logging.js';
import { OrderRepository } from '../../src/orders/order-repository.js';
import { OrderService } from '../../src/orders/order-service.js';
import type { TelephonyPort } from '../../src/telephony/port.js';
import { beepPrompts, KEYED_1, scriptedTelephone } from './fake-telephony.js';

const catalog = loadCatalog();
const departments = { current: () => catalog, policyOf: () => resolvePolicy({ attemptsPerContact: 1, chainLoops: 0 }), platformOf: () => null } as unknown as DepartmentStore;

function dispatcherOver(store: Store, telephony: TelephonyPort, maxLiveOrders: number) {
  const repo = new OrderRepository(store);
  const failures: string[] = [];
  const writes = new WriteQueue((label, reason) => failures.push(`${label}: ${reason}`));
  const dispatcher = new Dispatcher({
    repo, writes, departments, telephony, prompts: beepPrompts, logger: createLogger('silent'), language: 'zh-CN', timezone: 'Asia/Shanghai',
    webhook: { notify: () => Promise.resolve({ ok: false, reason: 'not in this test' }) },
    maxLiveOrders,
  });
  const accepted: string[] = [];
  dispatcher.onAccepted = (orderId) => void accepted.push(orderId);
  const orders = new OrderService(repo, departments, dispatcher);
  const create = async (externalId: string, o: { urgency?: 'urgent' | 'normal'; major?: boolean; coUnits?: string[] } = {}) =>
    (await repo.createOrder({
      externalId, category: 'water-main-burst', departmentId: 'water-supply', summary: 's', address: 'a', reporterPhone: '13800138000',
      urgency: o.urgency ?? 'urgent', major: o.major ?? false, ...(o.coUnits ? { coUnits: o.coUnits } : {}),
    })).row;
  /** Waits (10 s at most) until `done` holds; the assertion after it says what was expected. */
  const until = async (done: () => boolean | Promise<boolean>): Promise<void> => {
    for (const deadline = Date.now() + 10_000; !(await done()) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    await writes.drain();
  };
  const phoned = async (orderId: string) => (await repo.attempts(orderId)).map((a) => a.script);
  const kinds = async (orderId: string) => (await repo.events(orderId)).map((e) => e.kind);
  return { repo, writes, failures, dispatcher, orders, accepted, create, until, phoned, kinds };
}

/** No call ever gets a line (Asterisk not connected): every admitted order's machine stays live, its call waiting. */
function neverALine(): PacedTelephony {
  const { port } = scriptedTelephone(() => Promise.resolve(KEYED_1));
  return new PacedTelephony({ ...port, health: () => ({ connected: false, since: new Date() }) }, { callsPerSecond: 100, maxChannels: 10 }, createLogger('silent'));
}

describe('Dispatcher admission limit', () => {
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  it('runs at most maxLiveOrders machines; the rest wait without one, count as live, and the more urgent is admitted first', async () => {
    store = await openStore({ engine: 'sqlite', path: ':memory:' });
    const { dispatcher, failures, create, until, phoned } = dispatcherOver(store, neverALine(), 2);
    const running = [await create('adm-1', { urgency: 'normal' }), await create('adm-2', { urgency: 'normal' })];
    const normal = await create('adm-3', { urgency: 'normal' });
    const urgent = await create('adm-4', { urgency: 'urgent' });
    const later = await create('adm-5', { urgency: 'normal' });
    for (const order of [...running, normal, urgent, later]) await dispatcher.begin(order);

    expect(dispatcher.liveState().units).toBe(2);
    expect(dispatcher.awaitingAdmission()).toBe(3);
    expect(dispatcher.liveCount()).toBe(5);
    for (const order of [normal, urgent, later]) expect(dispatcher.isLive(order.id)).toBe(true);
    await until(() => true);
    for (const order of [normal, urgent, later]) expect(await phoned(order.id)).toEqual([]);

    // A machine ends: the urgent order, though it came after the normal one, is admitted.
    expect(await dispatcher.cancel(running[0]!.id, 'test')).toBe(true);
    await until(() => dispatcher.awaitingAdmission() === 2);
    expect(dispatcher.awaitingAdmission()).toBe(2);
    expect(await phoned(urgent.id)).toEqual(['dispatch']);
    expect(await phoned(normal.id)).toEqual([]);
    // Then the normal ones in the order they came.
    expect(await dispatcher.cancel(running[1]!.id, 'test')).toBe(true);
    await until(() => dispatcher.awaitingAdmission() === 1);
    expect(await phoned(normal.id)).toEqual(['dispatch']);
    expect(await phoned(later.id)).toEqual([]);
    expect(dispatcher.liveState().units).toBe(2);
    dispatcher.stopAll();
    expect(failures).toEqual([]);
  });

  it('an order cancelled while it waits is answered cancelled, its case record says so, and it is never phoned', async () => {
    store = await openStore({ engine: 'sqlite', path: ':memory:' });
    const { repo, dispatcher, orders, failures, create, until, phoned, kinds } = dispatcherOver(store, neverALine(), 1);
    const running = await create('cw-1');
    const waiting = await create('cw-2', { coUnits: ['civil-affairs'] });
    await dispatcher.begin(running);
    await dispatcher.begin(waiting);
    expect(dispatcher.awaitingAdmission()).toBe(2); // its lead and its co-unit

    const answer = await orders.cancel(waiting.id, 'desk withdrew', 'desk');
    expect(answer.status).toBe('cancelled');
    expect(dispatcher.awaitingAdmission()).toBe(0);
    expect(dispatcher.isLive(waiting.id)).toBe(false);
    expect(await repo.coUnit(waiting.id, 'civil-affairs')).toMatchObject({ status: 'cancelled' });
    const record = await orders.caseRecord(waiting.id);
    expect(record.status).toBe('cancelled');
    const cancelled = (await repo.events(waiting.id)).filter((e) => e.kind === 'cancelled');
    expect(cancelled.map((e) => [e.actor, JSON.parse(e.detail ?? '{}') as unknown])).toEqual([['desk', { reason: 'desk withdrew' }]]);

    // Its turn would have come now: nothing starts.
    await orders.cancel(running.id, 'desk withdrew');
    await until(() => dispatcher.liveCount() === 0);
    expect(dispatcher.liveCount()).toBe(0);
    expect(await phoned(waiting.id)).toEqual([]);
    expect(await kinds(waiting.id)).not.toContain('dispatch_started');
    expect(failures).toEqual([]);
  });

  it('an order acknowledged over HTTP while it waits is recorded accepted at once (its deadlines start) and never phoned; so is a co-unit', async () => {
    store = await openStore({ engine: 'sqlite', path: ':memory:' });
    const { repo, dispatcher, orders, accepted, failures, create, until, phoned } = dispatcherOver(store, neverALine(), 1);
    const running = await create('ack-1');
    const waiting = await create('ack-2', { coUnits: ['civil-affairs'] });
    await dispatcher.begin(running);
    await dispatcher.begin(waiting);

    expect((await orders.acknowledge(waiting.id, 'platform')).status).toBe('accepted');
    expect(accepted).toEqual([waiting.id]);
    const acceptedEvents = (await repo.events(waiting.id)).filter((e) => e.kind === 'accepted').map((e) => JSON.parse(e.detail ?? '{}') as unknown);
    expect(acceptedEvents).toEqual([{ via: 'http', attemptId: null }]);
    expect(dispatcher.awaitingAdmission()).toBe(1); // the co-unit still waits for its machine

    expect((await orders.acknowledge(waiting.id, 'platform', 'civil-affairs')).status).toBe('accepted');
    expect(await repo.coUnit(waiting.id, 'civil-affairs')).toMatchObject({ status: 'accepted' });
    const unitEvents = (await repo.events(waiting.id)).filter((e) => e.kind === 'accepted').map((e) => JSON.parse(e.detail ?? '{}') as unknown);
    expect(unitEvents).toEqual([{ via: 'http', attemptId: null }, { via: 'http', attemptId: null, departmentId: 'civil-affairs' }]);
    expect(dispatcher.awaitingAdmission()).toBe(0);
    expect(dispatcher.liveState().units).toBe(1);
    expect(accepted).toEqual([waiting.id]);

    await orders.cancel(running.id, 'test');
    await until(() => dispatcher.liveCount() === 0);
    expect(await phoned(waiting.id)).toEqual([]);
    expect(failures).toEqual([]);
  });

  it('a major incident acknowledged while it waits is not phoned for dispatch, but its county leaders are still told', async () => {
    store = await openStore({ engine: 'sqlite', path: ':memory:' });
    const { dispatcher, orders, accepted, failures, create, until, phoned, kinds } = dispatcherOver(store, neverALine(), 1);
    await dispatcher.begin(await create('maj-1'));
    const major = await create('maj-2', { major: true });
    await dispatcher.begin(major);
    expect(dispatcher.awaitingAdmission()).toBe(1);

    await orders.acknowledge(major.id, 'platform');
    await until(async () => (await phoned(major.id)).length === catalog.leaders.length);
    expect(accepted).toEqual([major.id]);
    expect(await phoned(major.id)).toEqual(catalog.leaders.map(() => 'major'));
    expect(await kinds(major.id)).not.toContain('dispatch_started');
    expect(dispatcher.isLive(major.id)).toBe(true);
    dispatcher.stopAll();
    expect(failures).toEqual([]);
  });

  it('an order cancelled or accepted through another node while it waits is never started (followStore)', async () => {
    store = await openStore({ engine: 'sqlite', path: ':memory:' });
    const { repo, dispatcher, accepted, failures, create, until, phoned } = dispatcherOver(store, neverALine(), 1);
    const running = await create('fs-1');
    const cancelled = await create('fs-2');
    const acknowledged = await create('fs-3');
    for (const order of [running, cancelled, acknowledged]) await dispatcher.begin(order);
    // Another node's requests: its OrderService writes these (the orders are not live there).
    await repo.advanceStatus(cancelled.id, 'cancelled');
    await repo.appendEvent(cancelled.id, 'desk', 'cancelled', { reason: 'elsewhere' });
    await repo.commitAcceptance({ orderId: acknowledged.id, attemptId: null, contactId: null, script: 'dispatch', disputed: false, via: 'feedback' });

    await dispatcher.followStore();
    expect(dispatcher.awaitingAdmission()).toBe(0);
    expect(accepted).toEqual([acknowledged.id]);
    expect((await repo.events(acknowledged.id)).filter((e) => e.kind === 'accepted').map((e) => JSON.parse(e.detail ?? '{}') as unknown)).toEqual([{ via: 'http', attemptId: null }]);
    await dispatcher.cancel(running.id, 'test');
    await until(() => dispatcher.liveCount() === 0);
    expect(await phoned(cancelled.id)).toEqual([]);
    expect(await phoned(acknowledged.id)).toEqual([]);
    expect((await repo.getOrder(cancelled.id))?.status).toBe('cancelled');
    expect(failures).toEqual([]);
  });

  it('an order settled while it waited, without being told, is found settled when its turn comes (its row is read again)', async () => {
    store = await openStore({ engine: 'sqlite', path: ':memory:' });
    const { repo, dispatcher, accepted, failures, create, until, phoned } = dispatcherOver(store, neverALine(), 1);
    const running = await create('rr-1');
    const cancelled = await create('rr-2');
    const acknowledged = await create('rr-3');
    const due = await create('rr-4');
    for (const order of [running, cancelled, acknowledged, due]) await dispatcher.begin(order);
    await repo.advanceStatus(cancelled.id, 'cancelled');
    await repo.commitAcceptance({ orderId: acknowledged.id, attemptId: null, contactId: null, script: 'dispatch', disputed: false, via: 'feedback' });

    await dispatcher.cancel(running.id, 'test');
    await until(async () => (await phoned(due.id)).length > 0);
    expect(await phoned(due.id)).toEqual(['dispatch']);
    expect(await phoned(cancelled.id)).toEqual([]);
    expect(await phoned(acknowledged.id)).toEqual([]);
    expect(accepted).toEqual([acknowledged.id]);
    expect(dispatcher.awaitingAdmission()).toBe(0);
    dispatcher.stopAll();
    expect(failures).toEqual([]);
  });

  it('starts or queues nothing twice: begin, start and resumeAll of an order waiting or running', async () => {
    store = await openStore({ engine: 'sqlite', path: ':memory:' });
    const { dispatcher, failures, create, until, phoned } = dispatcherOver(store, neverALine(), 2);
    const all = [await create('dup-1'), await create('dup-2'), await create('dup-3'), await create('dup-4')];
    for (const order of all) await dispatcher.begin(order);
    for (const order of all) await dispatcher.begin(order);
    for (const order of all) await dispatcher.start(order);
    expect(await dispatcher.resumeAll()).toBe(0);
    expect(dispatcher.liveState().units).toBe(2);
    expect(dispatcher.awaitingAdmission()).toBe(2);

    await dispatcher.cancel(all[0]!.id, 'test');
    await dispatcher.cancel(all[1]!.id, 'test');
    await until(() => dispatcher.awaitingAdmission() === 0);
    for (const order of all.slice(2)) expect(await phoned(order.id)).toEqual(['dispatch']);
    dispatcher.stopAll();
    expect(failures).toEqual([]);
  });

  it('a stop drops the queue; the orders stay dispatching, and the restart phones them all, those never started from the first contact', async () => {
    store = await openStore({ engine: 'sqlite', path: ':memory:' });
    const before = dispatcherOver(store, neverALine(), 2);
    const all = [await before.create('rs-1'), await before.create('rs-2'), await before.create('rs-3'), await before.create('rs-4', { coUnits: ['civil-affairs'] })];
    for (const order of all) await before.dispatcher.begin(order);
    expect(before.dispatcher.awaitingAdmission()).toBe(3); // rs-3, rs-4 and its co-unit
    before.dispatcher.stopAll();
    expect(before.dispatcher.awaitingAdmission()).toBe(0);
    await before.until(() => before.dispatcher.liveCount() === 0);
    expect(before.dispatcher.liveCount()).toBe(0);
    for (const order of all) expect((await before.repo.getOrder(order.id))?.status).toBe('dispatching');
    expect((await before.repo.getOrder(all[3]!.id))?.resume).toBeNull();
    expect(before.failures).toEqual([]);

    // The restart, with phones that answer and key 1, and the same limit: at no originate more than 2 machines.
    const phone = scriptedTelephone(() => Promise.resolve(KEYED_1));
    const liveAtOriginate: number[] = [];
    const current: { dispatcher?: Dispatcher } = {};
    const counting: TelephonyPort = {
      ...phone.port,
      originate: (request, listener) => {
        liveAtOriginate.push(current.dispatcher?.liveState().units ?? 0);
        return phone.port.originate(request, listener);
      },
    };
    const restarted = dispatcherOver(store, new PacedTelephony(counting, { callsPerSecond: 1000, maxChannels: 10 }, createLogger('silent')), 2);
    current.dispatcher = restarted.dispatcher;
    expect(await restarted.dispatcher.resumeAll()).toBe(5);
    await restarted.until(() => restarted.dispatcher.liveCount() === 0);

    expect(restarted.dispatcher.liveCount()).toBe(0);
    for (const order of all) expect((await restarted.repo.getOrder(order.id))?.status).toBe('accepted');
    expect(await restarted.repo.coUnit(all[3]!.id, 'civil-affairs')).toMatchObject({ status: 'accepted' });
    // Started before the stop: its first attempt ended interrupted, the next one placed. Never started: its first attempt.
    expect((await restarted.repo.attempts(all[0]!.id)).map((a) => [a.seq, a.result])).toEqual([[1, 'interrupted'], [2, 'accepted']]);
    expect((await restarted.repo.attempts(all[2]!.id)).map((a) => [a.seq, a.result])).toEqual([[1, 'accepted']]);
    const resumed = (await restarted.repo.events(all[2]!.id)).find((e) => e.kind === 'dispatch_resumed');
    expect(JSON.parse(resumed?.detail ?? 'null')).toEqual({ nextAttemptSeq: 1 });
    expect(liveAtOriginate).toHaveLength(5);
    expect(Math.max(...liveAtOriginate)).toBeLessThanOrEqual(2);
    expect(restarted.failures).toEqual([]);
  });

  it('abandoned orders (their leases lost) leave the queue and are not started here', async () => {
    store = await openStore({ engine: 'sqlite', path: ':memory:' });
    const { dispatcher, failures, create, until, phoned } = dispatcherOver(store, neverALine(), 1);
    const running = await create('ab-1');
    const lost = await create('ab-2');
    const kept = await create('ab-3');
    for (const order of [running, lost, kept]) await dispatcher.begin(order);
    await dispatcher.abandon([lost.id]);
    expect(dispatcher.isLive(lost.id)).toBe(false);
    expect(dispatcher.awaitingAdmission()).toBe(1);
    await dispatcher.cancel(running.id, 'test');
    await until(async () => (await phoned(kept.id)).length > 0);
    expect(await phoned(kept.id)).toEqual(['dispatch']);
    expect(await phoned(lost.id)).toEqual([]);
    dispatcher.stopAll();
    expect(failures).toEqual([]);
  });
});

describe('Dispatcher.followStore (a cluster: other nodes settle orders running here)', () => {
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  it('tells a live machine once: a major order accepted elsewhere, still calling its leaders, gets no late_acceptance per poll', async () => {
    store = await openStore({ engine: 'sqlite', path: ':memory:' });
    const { repo, dispatcher, failures, create, until, kinds } = dispatcherOver(store, neverALine(), 100);
    const major = await create('follow-major', { major: true });
    await dispatcher.begin(major);
    await repo.commitAcceptance({ orderId: major.id, attemptId: null, contactId: null, script: 'dispatch', disputed: false, via: 'feedback' });
    // Three polls (TTL/3 apart in a cluster): the acceptance is seen each time, the machine told once.
    for (let poll = 0; poll < 3; poll++) {
      await dispatcher.followStore();
      await until(async () => (await repo.getOrder(major.id))?.status === 'accepted');
    }
    expect(dispatcher.isLive(major.id)).toBe(true); // its leaders' calls go on
    const written = await kinds(major.id);
    expect(written.filter((k) => k === 'accepted')).toHaveLength(1);
    expect(written).not.toContain('late_acceptance');
    dispatcher.stopAll();
    expect(failures).toEqual([]);
  });
});
