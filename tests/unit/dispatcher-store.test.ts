// The dispatcher's writes on both engines: a real order machine and call-attempt machine against
// a phone that answers and presses 1 at once. The machines' actions post their writes to the
// WriteQueue, which commits them in 20 ms groups as in production; the acceptance is committed
// through writes.run after them, so the attempt's row, its answer and its key are stored in the
// order they happened.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/db/store.js';
import { WriteQueue } from '../../src/db/write-queue.js';
import { loadCatalog } from '../../src/departments/catalog.js';
import type { DepartmentStore } from '../../src/departments/store.js';
import type { Takeover } from '../../src/cluster/leases.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { PacedTelephony } from '../../src/dispatch/pacing.js';
import { resolvePolicy } from '../../src/dispatch/policy.js';
import type { Logger } from '../../src/logging.js';
import { OrderRepository } from '../../src/orders/order-repository.js';
import type { Prompts } from '../../src/prompts/index.js';
import type { CallEvent, CallEventListener, TelephonyPort } from '../../src/telephony/port.js';
import { ENGINES, openTestStore } from '../support/engines.js';

/** Every call is answered at once; every menu hears 1; hanging up ends the call normally. */
function answeringPhones(): TelephonyPort {
  const listeners = new Map<string, Set<CallEventListener>>();
  const emit = (id: string, e: CallEvent) => setTimeout(() => { for (const l of listeners.get(id) ?? []) l(e); }, 5);
  const on = (id: string, l: CallEventListener) => {
    const set = listeners.get(id) ?? new Set();
    set.add(l);
    listeners.set(id, set);
    return () => void set.delete(l);
  };
  const port: Partial<TelephonyPort> = {
    health: () => ({ connected: true, since: new Date() }),
    onHealthChange: () => () => undefined,
    originate: (req, listener) => {
      on(req.channelId, listener);
      emit(req.channelId, { type: 'answered', at: new Date() });
      return Promise.resolve();
    },
    subscribe: (id, listener) => on(id, listener),
    prompt: () => Promise.resolve({ status: 'complete', digits: '1' }),
    play: () => Promise.resolve({ status: 'finished' }),
    hangup: (id) => {
      emit(id, { type: 'hangup', at: new Date(), cause: { code: 16, text: 'Normal Clearing', kind: 'normal' } });
      return Promise.resolve();
    },
    listChannelIds: () => Promise.resolve([]),
  };
  return port as TelephonyPort;
}

/** A dispatcher over the store with the given chain policy, answering phones and no webhook. */
function dispatcherOver(store: Store, policy: Parameters<typeof resolvePolicy>[0], telephony = answeringPhones()) {
  const repo = new OrderRepository(store);
  const logger = pino({ level: 'silent' }) as unknown as Logger;
  const failures: string[] = [];
  const writes = new WriteQueue((label, reason) => failures.push(`${label}: ${reason}`), { store, windowMs: 20 });
  const catalog = loadCatalog();
  const departments = { current: () => catalog, policyOf: () => resolvePolicy(policy), platformOf: () => null } as unknown as DepartmentStore;
  const prompts = { media: () => Promise.resolve([]) } as unknown as Prompts;
  const dispatcher = new Dispatcher({
    repo, writes, departments, telephony, prompts, logger, language: 'zh-CN', timezone: 'Asia/Shanghai',
    webhook: { notify: () => Promise.resolve({ ok: false, reason: 'not in this test' }) },
  });
  const settled = async (id: string): Promise<void> => {
    for (const deadline = Date.now() + 10_000; dispatcher.isLive(id) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    await writes.drain();
  };
  return { repo, writes, failures, catalog, dispatcher, settled };
}

describe.each(ENGINES)('Dispatcher writes on %s', (engine) => {
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  it('stores an accepted call in order: attempt, answer, key, acceptance, result, status; the hook sees the status', async () => {
    store = await openTestStore(engine);
    const repo = new OrderRepository(store);
    const logger = pino({ level: 'silent' }) as unknown as Logger;
    const failures: string[] = [];
    const writes = new WriteQueue((label, reason) => failures.push(`${label}: ${reason}`), { store, windowMs: 20 });
    const catalog = loadCatalog();
    const departments = { current: () => catalog, policyOf: () => resolvePolicy({ attemptsPerContact: 1, chainLoops: 0 }), platformOf: () => null } as unknown as DepartmentStore;
    const prompts = { media: () => Promise.resolve([]) } as unknown as Prompts;
    const dispatcher = new Dispatcher({
      repo, writes, departments, telephony: answeringPhones(), prompts, logger, language: 'zh-CN', timezone: 'Asia/Shanghai',
      webhook: { notify: () => Promise.resolve({ ok: false, reason: 'not in this test' }) },
    });
    const seenByHook: string[] = [];
    dispatcher.onAccepted = async (id) => void seenByHook.push((await repo.getOrder(id))?.status ?? 'none');
    const { row } = await repo.createOrder({ externalId: 'disp-1', category: 'water-main-burst', departmentId: 'water-supply', summary: 's', address: 'a', reporterPhone: '13800138000', urgency: 'urgent', major: false });

    await dispatcher.begin(row);
    for (const deadline = Date.now() + 10_000; dispatcher.isLive(row.id) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    expect(dispatcher.isLive(row.id)).toBe(false);
    await writes.drain();

    expect(failures).toEqual([]);
    const [attempt, ...others] = await repo.attempts(row.id);
    expect(others).toEqual([]);
    expect(attempt).toMatchObject({ id: `${row.id}-a1`, result: 'accepted', digits: '1', department_id: 'water-supply' });
    expect(attempt?.answered_at).not.toBeNull();
    expect((await repo.acknowledgements(row.id)).map((a) => [a.attempt_id, a.late])).toEqual([[`${row.id}-a1`, 0]]);
    expect(await repo.getOrder(row.id)).toMatchObject({ status: 'accepted', resume: null });
    expect(seenByHook).toEqual(['accepted']);
    const kinds = (await repo.events(row.id)).map((e) => e.kind);
    expect(kinds[0]).toBe('order_created');
    expect(kinds.indexOf('keypad')).toBeGreaterThan(0);
    expect(kinds.indexOf('keypad')).toBeLessThan(kinds.indexOf('acceptance_committed'));
  });

  it('a restart resumes an unacknowledged order whose alarm call was interrupted: the next alarm call, a new attempt id, nothing written twice', async () => {
    store = await openTestStore(engine);
    const { repo, failures, catalog, dispatcher, settled } = dispatcherOver(store, { attemptsPerContact: 3, chainLoops: 0 });
    const { row } = await repo.createOrder({ externalId: 'disp-2', category: 'water-main-burst', departmentId: 'water-supply', summary: 's', address: 'a', reporterPhone: '13800138000', urgency: 'urgent', major: false });
    // Before the stop: the chain was exhausted (status, webhook written), the first alarm call was ringing.
    await repo.setStatus(row.id, 'unacknowledged');
    const centre = catalog.commandCentre;
    await repo.startAttempt({ orderId: row.id, attemptId: `${row.id}-a4`, seq: 4, script: 'alarm', contactId: centre.id, number: centre.number, attemptOnContact: 0, cursor: null, departmentId: 'water-supply' });
    await repo.saveResume(row.id, { nextAttemptSeq: 5, cursor: { loop: 1, contactIndex: 0, attemptOnContact: 0 }, leaders: [], status: 'unacknowledged', alarmAttempts: 1, alarmSettled: false });
    const before = (await repo.events(row.id)).length;

    expect(await dispatcher.resumeAll()).toBe(1);
    await settled(row.id);

    expect(failures).toEqual([]);
    expect((await repo.attempts(row.id)).map((a) => [a.id, a.script, a.result])).toEqual([
      [`${row.id}-a4`, 'alarm', 'interrupted'],
      [`${row.id}-a5`, 'alarm', 'accepted'],
    ]);
    expect(await repo.getOrder(row.id)).toMatchObject({ status: 'unacknowledged', resume: null });
    const events = (await repo.events(row.id)).slice(before);
    expect(JSON.parse(events.find((e) => e.kind === 'dispatch_resumed')?.detail ?? 'null')).toEqual({ nextAttemptSeq: 5, status: 'unacknowledged' });
    const kinds = events.map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['attempt_interrupted', 'alarm_confirmed', 'finished']));
    for (const repeated of ['chain_exhausted', 'dispatch_started', 'webhook_failed', 'webhook_queued']) expect(kinds).not.toContain(repeated);
  });

  it('a restart of an accepted order with a saved point calls only its pending leaders; an order without one is left alone', async () => {
    store = await openTestStore(engine);
    const { repo, failures, catalog, dispatcher, settled } = dispatcherOver(store, { attemptsPerContact: 2, chainLoops: 0 });
    const create = (externalId: string) => repo.createOrder({ externalId, category: 'water-main-burst', departmentId: 'water-supply', summary: 's', address: 'a', reporterPhone: '13800138000', urgency: 'urgent', major: true });
    const { row } = await create('disp-3');
    const { row: done } = await create('disp-4');
    const [first, ...rest] = catalog.leaders;
    expect(first).toBeDefined();
    for (const id of [row.id, done.id]) await repo.setStatus(id, 'accepted');
    await repo.saveResume(row.id, {
      nextAttemptSeq: 3, cursor: { loop: 0, contactIndex: 1, attemptOnContact: 0 },
      leaders: [{ id: first!.id, attempts: 1, phase: 'waiting' }, ...rest.map((l) => ({ id: l.id, attempts: 1, phase: 'confirmed' as const }))], status: 'accepted',
    });

    expect(await dispatcher.resumeAll()).toBe(1);
    expect(dispatcher.isLive(done.id)).toBe(false);
    await settled(row.id);

    expect(failures).toEqual([]);
    expect((await repo.attempts(row.id)).map((a) => [a.id, a.script, a.contact_id, a.result])).toEqual([[`${row.id}-a3`, 'major', first!.id, 'accepted']]);
    expect(await repo.getOrder(row.id)).toMatchObject({ status: 'accepted', resume: null });
    expect((await repo.events(row.id)).map((e) => e.kind)).not.toContain('dispatch_started');
    expect(await repo.attempts(done.id)).toEqual([]);
  });

  it('a takeover of an unacknowledged co-unit still alarming places its next alarm call in its own block; the hung-up call ends interrupted', async () => {
    store = await openTestStore(engine);
    const { repo, failures, catalog, dispatcher, settled } = dispatcherOver(store, { attemptsPerContact: 2, chainLoops: 0 });
    const { row } = await repo.createOrder({ externalId: 'disp-5', category: 'water-main-burst', departmentId: 'water-supply', summary: 's', address: 'a', reporterPhone: '13800138000', urgency: 'urgent', major: false, coUnits: ['civil-affairs'] });
    await repo.setStatus(row.id, 'arrived');
    await repo.advanceUnitStatus(row.id, 'civil-affairs', 'unacknowledged');
    const centre = catalog.commandCentre;
    await repo.startAttempt({ orderId: row.id, attemptId: `${row.id}-u1-a1003`, seq: 1003, script: 'alarm', contactId: centre.id, number: centre.number, attemptOnContact: 0, cursor: null, departmentId: 'civil-affairs' });
    await repo.saveUnitResume(row.id, 'civil-affairs', { nextAttemptSeq: 1004, cursor: { loop: 1, contactIndex: 0, attemptOnContact: 0 }, leaders: [], status: 'unacknowledged', alarmAttempts: 1, alarmSettled: false });
    const hungUp: string[] = [];
    const takeover = { previousOwner: 'node-a', previousEpoch: 1, lease: { epoch: 2 }, previousNode: undefined, channels: [] } as unknown as Takeover;

    await dispatcher.takeOver(row.id, takeover, (id) => {
      hungUp.push(id);
      return Promise.resolve(true);
    });
    await settled(`${row.id}/civil-affairs`);

    expect(failures).toEqual([]);
    expect(hungUp).toEqual([`${row.id}-u1-a1003`]);
    expect((await repo.attempts(row.id)).map((a) => [a.id, a.script, a.result])).toEqual([
      [`${row.id}-u1-a1003`, 'alarm', 'interrupted'],
      [`${row.id}-u1-a1004`, 'alarm', 'accepted'],
    ]);
    expect(await repo.coUnit(row.id, 'civil-affairs')).toMatchObject({ status: 'unacknowledged', resume: null });
    expect((await repo.events(row.id)).map((e) => e.kind)).not.toContain('chain_exhausted');
  });

  it('with group commit, an attempt\'s row is committed before its phone rings (paced calls wait for it)', async () => {
    store = await openTestStore(engine);
    const repo = new OrderRepository(store);
    const failures: string[] = [];
    // A window longer than the test: only a flush (run, committed) commits the posted writes.
    const writes = new WriteQueue((label, reason) => failures.push(`${label}: ${reason}`), { store, windowMs: 3_600_000 });
    const phones = answeringPhones();
    const storedAtOriginate: string[][] = [];
    const inner: TelephonyPort = {
      ...phones,
      originate: async (req, listener) => {
        // Read outside the queue (PostgreSQL: another connection, committed rows only).
        storedAtOriginate.push((await repo.attempts(orderId)).map((a) => a.id));
        return phones.originate(req, listener);
      },
    };
    const lines = new PacedTelephony(inner, { callsPerSecond: 100, maxChannels: 5 }, pino({ level: 'silent' }));
    lines.durable = () => writes.committed();
    const catalog = loadCatalog();
    const departments = { current: () => catalog, policyOf: () => resolvePolicy({ attemptsPerContact: 1, chainLoops: 0 }), platformOf: () => null } as unknown as DepartmentStore;
    const dispatcher = new Dispatcher({
      repo, writes, departments, telephony: lines, prompts: { media: () => Promise.resolve([]) } as unknown as Prompts, logger: pino({ level: 'silent' }),
      language: 'zh-CN', timezone: 'Asia/Shanghai', webhook: { notify: () => Promise.resolve({ ok: false, reason: 'not in this test' }) },
    });
    const { row } = await repo.createOrder({ externalId: 'disp-durable', category: 'water-main-burst', departmentId: 'water-supply', summary: 's', address: 'a', reporterPhone: '13800138000', urgency: 'urgent', major: false });
    const orderId = row.id;

    await dispatcher.begin(row);
    for (const deadline = Date.now() + 10_000; dispatcher.isLive(orderId) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    await writes.drain();
    await lines.close();

    expect(failures).toEqual([]);
    expect(storedAtOriginate).toEqual([[`${orderId}-a1`]]);
    expect((await repo.attempts(orderId)).map((a) => [a.id, a.result])).toEqual([[`${orderId}-a1`, 'accepted']]);
  });
});
