// The dispatcher's machines are built once (orders differ only by their input), what it holds for
// an order is gone once the order's machine ends, is stopped or abandoned, and each attempt is
// logged as one summary line at info (its per-step lines at debug), with no number in clear.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { capturedLogger } from './captured-log.js';
import { callAttemptMachine } from '../../machines/call-attempt.machine.js';
import { dialMachine } from '../../machines/dial.machine.js';
import { orderMachine } from '../../machines/order.machine.js';
import { openStore, type Store } from '../../src/db/store.js';
import { WriteQueue } from '../../src/db/write-queue.js';
import { loadCatalog } from '../../src/departments/catalog.js';
import type { DepartmentStore } from '../../src/departments/store.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { PacedTelephony } from '../../src/dispatch/pacing.js';
import { resolvePolicy } from '../../src/dispatch/policy.js';
import { createLogger, type Logger } from '../../src/logging.js';
import { OrderRepository } from '../../src/orders/order-repository.js';
import type { TelephonyPort } from '../../src/telephony/port.js';
import { beepPrompts, KEYED_1, scriptedTelephone } from './fake-telephony.js';


const catalog = loadCatalog();

function dispatcherOver(store: Store, telephony: TelephonyPort, logger: Logger = createLogger('silent')) {
  const repo = new OrderRepository(store);
  const failures: string[] = [];
  const writes = new WriteQueue((label, reason) => failures.push(`${label}: ${reason}`));
  const departments = { current: () => catalog, policyOf: () => resolvePolicy({ attemptsPerContact: 1, chainLoops: 0 }), platformOf: () => null } as unknown as DepartmentStore;
  const dispatcher = new Dispatcher({
    repo, writes, departments, telephony, prompts: beepPrompts, logger, language: 'zh-CN', timezone: 'Asia/Shanghai',
    webhook: { notify: () => Promise.resolve({ ok: false, reason: 'not in this test' }) },
  });
  const create = async (externalId: string, coUnits?: string[]) =>
    (await repo.createOrder({ externalId, category: 'water-main-burst', departmentId: 'water-supply', summary: 's', address: 'a', reporterPhone: '13800138000', urgency: 'urgent', major: false, ...(coUnits ? { coUnits } : {}) })).row;
  const settled = async (): Promise<void> => {
    for (const deadline = Date.now() + 10_000; dispatcher.liveCount() > 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    await writes.drain();
  };
  return { repo, writes, failures, dispatcher, create, settled };
}

/** A port on which no call ever gets a line (Asterisk not connected): every call waits in the pacer. */
function neverALine(): PacedTelephony {
  const { port } = scriptedTelephone(() => Promise.resolve(KEYED_1));
  const down: TelephonyPort = { ...port, health: () => ({ connected: false, since: new Date() }) };
  return new PacedTelephony(down, { callsPerSecond: 100, maxChannels: 10 }, createLogger('silent'));
}

describe('Dispatcher machines', () => {
  let store: Store | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await store?.close();
    store = undefined;
  });

  it('provides the order, call-attempt and dial machines once, whatever the number of orders; nothing of an order is left after it ends', async () => {
    const provided = { order: vi.spyOn(orderMachine, 'provide'), call: vi.spyOn(callAttemptMachine, 'provide'), dial: vi.spyOn(dialMachine, 'provide') };
    const counts = () => ({ order: provided.order.mock.calls.length, call: provided.call.mock.calls.length, dial: provided.dial.mock.calls.length });
    store = await openStore({ engine: 'sqlite', path: ':memory:' });
    const phone = scriptedTelephone(() => Promise.resolve(KEYED_1));
    const lines = new PacedTelephony(phone.port, { callsPerSecond: 1000, maxChannels: 4 }, createLogger('silent'));
    const { repo, failures, dispatcher, create, settled } = dispatcherOver(store, lines);
    expect(counts()).toEqual({ order: 1, call: 1, dial: 1 });

    const orders = [await create('once-1', ['civil-affairs']), await create('once-2'), await create('once-3', ['civil-affairs']), await create('once-4'), await create('once-5')];
    for (const order of orders) await dispatcher.begin(order);
    expect(dispatcher.liveState().units).toBe(7); // five leads, two co-units
    await settled();

    expect(failures).toEqual([]);
    for (const order of orders) expect((await repo.getOrder(order.id))?.status).toBe('accepted');
    expect(phone.originated).toHaveLength(7);
    expect(counts()).toEqual({ order: 1, call: 1, dial: 1 });
    expect(dispatcher.liveState()).toEqual({ units: 0, calls: 0 });
  });

  it('forgets the orders it stops: queued for a line, or ringing', async () => {
    store = await openStore({ engine: 'sqlite', path: ':memory:' });
    const queued = dispatcherOver(store, neverALine());
    for (const id of ['stop-1', 'stop-2']) await queued.dispatcher.begin(await queued.create(id, id === 'stop-1' ? ['civil-affairs'] : undefined));
    await new Promise((r) => setTimeout(r, 20));
    expect(queued.dispatcher.liveState()).toEqual({ units: 3, calls: 3 });
    queued.dispatcher.stopAll();
    expect(queued.dispatcher.liveState()).toEqual({ units: 0, calls: 0 });

    // Ringing (never answered) when stopped: the call's trace goes with its order.
    const { port } = scriptedTelephone(() => Promise.resolve(KEYED_1));
    const ringing: TelephonyPort = { ...port, originate: () => Promise.resolve() };
    const rung = dispatcherOver(store, ringing);
    await rung.dispatcher.begin(await rung.create('stop-3'));
    await new Promise((r) => setTimeout(r, 20));
    expect(rung.dispatcher.liveState()).toEqual({ units: 1, calls: 1 });
    rung.dispatcher.stopAll();
    expect(rung.dispatcher.liveState()).toEqual({ units: 0, calls: 0 });
  });

  it('a stop keeps the resume point of the orders it stops (the restart continues them from it)', async () => {
    store = await openStore({ engine: 'sqlite', path: ':memory:' });
    const { repo, writes, dispatcher, create } = dispatcherOver(store, neverALine());
    const order = await create('keep-1');
    await dispatcher.begin(order);
    await new Promise((r) => setTimeout(r, 20));
    await writes.drain();
    const point = (await repo.getOrder(order.id))?.resume;
    expect(JSON.parse(point ?? 'null')).toMatchObject({ nextAttemptSeq: 2 });
    dispatcher.stopAll();
    await writes.drain();
    expect((await repo.getOrder(order.id))?.resume).toBe(point);
  });

  it('forgets an order withdrawn while it waits for a line, and the orders it abandons', async () => {
    store = await openStore({ engine: 'sqlite', path: ':memory:' });
    const { dispatcher, create, settled } = dispatcherOver(store, neverALine());
    const withdrawn = await create('gone-1', ['civil-affairs']);
    const lost = await create('gone-2');
    await dispatcher.begin(withdrawn);
    await dispatcher.begin(lost);
    await new Promise((r) => setTimeout(r, 20));
    expect(dispatcher.liveState()).toEqual({ units: 3, calls: 3 });
    expect(await dispatcher.cancel(withdrawn.id, 'test')).toBe(true);
    await dispatcher.abandon([lost.id]);
    await settled();
    expect(dispatcher.liveState()).toEqual({ units: 0, calls: 0 });
  });

  it('logs one summary line per attempt at info: who, result, cause, timings; per-step lines only at debug; no number in clear', async () => {
    store = await openStore({ engine: 'sqlite', path: ':memory:' });
    const info = capturedLogger('info');
    const phone = scriptedTelephone(() => Promise.resolve(KEYED_1));
    const lines = new PacedTelephony(phone.port, { callsPerSecond: 1000, maxChannels: 4 }, createLogger('silent'));
    const atInfo = dispatcherOver(store, lines, info.logger);
    const order = await atInfo.create('log-1');
    await atInfo.dispatcher.begin(order);
    await atInfo.settled();

    const ended = info.lines().filter((l) => l.msg === 'attempt ended');
    expect(ended).toHaveLength(1);
    const contact = catalog.departmentsById.get('water-supply')!.contacts[0]!;
    expect(ended[0]).toMatchObject({
      level: 30, orderId: order.id, attemptId: `${order.id}-a1`, departmentId: 'water-supply', script: 'dispatch', contactId: contact.id,
      result: 'accepted', digits: '1',
    });
    for (const ms of ['queuedMs', 'ringMs', 'firstPromptMs', 'keyMs', 'totalMs']) expect(ended[0]?.[ms], ms).toEqual(expect.any(Number));
    expect(Number(ended[0]?.totalMs)).toBeGreaterThanOrEqual(Number(ended[0]?.ringMs));
    const perStep = ['attempt started', 'answered', 'first prompt requested', 'keypad'];
    expect(info.lines().filter((l) => perStep.includes(String(l.msg)))).toEqual([]);
    expect(info.text()).not.toContain(contact.number);

    const debug = capturedLogger('debug');
    const atDebug = dispatcherOver(store, new PacedTelephony(phone.port, { callsPerSecond: 1000, maxChannels: 4 }, createLogger('silent')), debug.logger);
    const second = await atDebug.create('log-2');
    await atDebug.dispatcher.begin(second);
    await atDebug.settled();
    const steps = debug.lines().filter((l) => l.attemptId === `${second.id}-a1` && perStep.includes(String(l.msg)));
    expect(steps.map((l) => [l.msg, l.level])).toEqual(perStep.map((msg) => [msg, 20]));
    expect(debug.lines().filter((l) => l.msg === 'attempt ended').map((l) => l.level)).toEqual([30]);
    expect(debug.text()).not.toContain(contact.number);
  });
});
