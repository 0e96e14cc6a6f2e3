// The reminder service over the store, without Asterisk (the telephony never places a call here):
// deadlines set from the acceptance when the dispatcher's queued hook calls it, met by feedback
// given inside a queued write (neither waits for the queue it runs in), a due deadline of an order
// no longer chased cancelled by the timer, and the recovery of a round cut short by a stop.
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { capturedLogger } from './captured-log.js';
import { callAttemptMachine } from '../../machines/call-attempt.machine.js';
import { reminderRoundMachine } from '../../machines/reminder-round.machine.js';
import { first, rows, run } from '../../src/db/sql.js';
import { openStore, type Store } from '../../src/db/store.js';
import { WriteQueue } from '../../src/db/write-queue.js';
import type { DepartmentStore } from '../../src/departments/store.js';
import type { OrderRepository } from '../../src/orders/order-repository.js';
import type { Prompts } from '../../src/prompts/index.js';
import { ReminderRepository } from '../../src/reminders/reminder-repository.js';
import { ReminderService } from '../../src/reminders/reminder-service.js';
import type { TelephonyPort } from '../../src/telephony/port.js';
import { ENGINES, openTestStore } from '../support/engines.js';
import { beepPrompts, KEYED_1, scriptedTelephone } from './fake-telephony.js';

const ACCEPTED_AT = Date.parse('2026-11-23T08:00:00Z');

async function insertOrder(store: Store, id: string, status: string): Promise<void> {
  const at = new Date(ACCEPTED_AT - 60_000).toISOString();
  await run(store.db, sql`
    INSERT INTO orders (id, code, external_id, category, department_id, summary, address, reporter_phone, urgency, major, status, created_at, updated_at)
    VALUES (${id}, ${id.slice(-6)}, ${`ext-${id}`}, 'water-main-burst', 'water-supply', 's', 'a', '13800138000', 'urgent', 0, ${status}, ${at}, ${at})`);
  await run(store.db, sql`
    INSERT INTO acknowledgements (order_id, attempt_id, contact_id, accepted_at, via, script, seconds_to_accept, disputed, late, department_id)
    VALUES (${id}, NULL, 'duty', ${new Date(ACCEPTED_AT).toISOString()}, 'feedback', 'dispatch', 60, 0, 0, 'water-supply')`);
}

interface Event { orderId: string; kind: string; detail: Record<string, unknown> }

function reminderService(store: Store, writes: WriteQueue, events: Event[], connected: boolean) {
  // Only what the service reads of the order repository, straight from the store.
  const orders = {
    getOrder: (id: string) => first(store.db, sql`SELECT * FROM orders WHERE id = ${id}`),
    acknowledgements: (id: string) => rows(store.db, sql`SELECT * FROM acknowledgements WHERE order_id = ${id}`),
    feedback: (id: string) => rows(store.db, sql`SELECT * FROM feedback WHERE order_id = ${id}`),
    appendEvent: (orderId: string, _actor: string, kind: string, detail: Record<string, unknown>) => {
      events.push({ orderId, kind, detail });
      return Promise.resolve();
    },
  };
  const department = { id: 'water-supply', name: { 'zh-CN': '供水', en: 'Water' }, contacts: [], rosters: [] };
  const departments = {
    policyOf: () => ({ arrivalDeadlineSeconds: 60, completionDeadlineSeconds: 600, keyTimeoutSeconds: 5, ringTimeoutSeconds: 5, maxReplays: 0 }),
    current: () => ({ departmentsById: new Map([['water-supply', department]]), commandCentre: { id: 'cc', number: '110' } }),
  };
  const telephony = { health: () => ({ connected }), onHealthChange: () => () => undefined, hangup: () => Promise.resolve() };
  return new ReminderService({
    config: { language: 'zh-CN', timezone: 'Asia/Shanghai' },
    reminders: new ReminderRepository(store),
    orders: orders as unknown as OrderRepository,
    departments: departments as unknown as DepartmentStore,
    telephony: telephony as unknown as TelephonyPort,
    prompts: {} as Prompts,
    webhook: { notify: () => Promise.resolve({ ok: true, eventId: 'ev_x', deliveries: 0 }) },
    logger: pino({ level: 'silent' }),
    writes,
    recordFeedback: () => Promise.resolve(),
  });
}

async function within<T>(what: string, work: Promise<T>, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe.each(ENGINES)('ReminderService on %s', (engine) => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function setup(connected = false) {
    const store = await openTestStore(engine);
    cleanups.push(() => store.close());
    const failures: string[] = [];
    const writes = new WriteQueue((label, reason) => failures.push(`${label}: ${reason}`), { store, windowMs: 20 });
    const events: Event[] = [];
    const service = reminderService(store, writes, events, connected);
    cleanups.push(() => service.stop());
    return { store, writes, events, failures, service, reminders: new ReminderRepository(store) };
  }

  it('sets deadlines from the acceptance inside a queued write, and meets them by feedback given inside one', async () => {
    const { store, writes, events, failures, service } = await setup();
    const id = 'o00000000000000a1';
    await insertOrder(store, id, 'accepted');
    writes.post('order accepted hook', () => service.onAccepted(id)); // as the dispatcher does
    await within('the queued acceptance hook', writes.drain());
    const set = await service.forOrder(id);
    expect(set.deadlines.map((d) => [d.kind, d.status, d.dueAt])).toEqual([
      ['arrival', 'pending', new Date(ACCEPTED_AT + 60_000).toISOString()],
      ['completion', 'pending', new Date(ACCEPTED_AT + 600_000).toISOString()],
    ]);
    expect(events.map((e) => e.kind)).toEqual(['deadline_set', 'deadline_set']);

    await within('feedback run through the queue', writes.run(() => service.onFeedback(id, 'arrived'))); // as the feedback line does
    expect((await service.forOrder(id)).deadlines.map((d) => [d.kind, d.status])).toEqual([['arrival', 'met'], ['completion', 'pending']]);
    expect(events.at(-1)).toMatchObject({ kind: 'deadline_met', detail: { deadline: 'arrival', late: false } });
    expect(failures).toEqual([]);
  });

  it('cancels a due deadline of an order no longer chased, by the timer', async () => {
    const { store, events, service, reminders } = await setup(true);
    const id = 'o00000000000000b1';
    await insertOrder(store, id, 'completed');
    await reminders.ensureDeadline(id, 'arrival', 60, ACCEPTED_AT); // due long ago
    await service.start();
    await within('cancelled', (async () => {
      while ((await reminders.get(`${id}-arrival`))?.status !== 'cancelled') await new Promise((r) => setTimeout(r, 20));
    })());
    expect(events).toContainEqual({ orderId: id, kind: 'deadline_cancelled', detail: { deadline: 'arrival', status: 'completed' } });
    expect((await reminders.get(`${id}-arrival`))?.rounds).toBe(0); // no round was counted
  });

  it('at start, ends a call left open by a stop and places its round again', async () => {
    const { store, events, service, reminders } = await setup(false);
    const id = 'o00000000000000c1';
    await insertOrder(store, id, 'accepted');
    await reminders.ensureDeadline(id, 'arrival', 60, ACCEPTED_AT);
    await reminders.startRound(`${id}-arrival`);
    await reminders.startAttempt({ id: `${id}-r1`, orderId: id, deadlineId: `${id}-arrival`, seq: 1, round: 1, target: 'chain', contactId: 'duty', number: '1001' });
    await service.start();
    expect(await reminders.attempts(id)).toEqual([expect.objectContaining({ result: 'interrupted', reason: 'service restarted during the call' })]);
    expect(await reminders.get(`${id}-arrival`)).toMatchObject({ status: 'pending', rounds: 1 });
    expect(events.map((e) => e.kind)).toEqual(['reminder_resumed']);
  });
});

describe('ReminderService machines', () => {
  afterEach(() => vi.restoreAllMocks());

  it('provides the round and call machines once, logs one summary line per call at info, and holds nothing of a round after it', async () => {
    const provided = { round: vi.spyOn(reminderRoundMachine, 'provide'), call: vi.spyOn(callAttemptMachine, 'provide') };
    const store = await openStore({ engine: 'sqlite', path: ':memory:' });
    const log = capturedLogger('info');
    const failures: string[] = [];
    const writes = new WriteQueue((label, reason) => failures.push(`${label}: ${reason}`));
    const phone = scriptedTelephone(() => Promise.resolve(KEYED_1));
    const department = { id: 'water-supply', name: { 'zh-CN': '供水', en: 'Water' }, contacts: [{ id: 'duty', number: '13912345678', priority: 1 }], rosters: [] };
    const orders = {
      getOrder: (id: string) => first(store.db, sql`SELECT * FROM orders WHERE id = ${id}`),
      acknowledgements: (id: string) => rows(store.db, sql`SELECT * FROM acknowledgements WHERE order_id = ${id}`),
      feedback: (id: string) => rows(store.db, sql`SELECT * FROM feedback WHERE order_id = ${id}`),
      appendEvent: () => Promise.resolve(),
    };
    const service: ReminderService = new ReminderService({
      config: { language: 'zh-CN', timezone: 'Asia/Shanghai' },
      reminders: new ReminderRepository(store),
      orders: orders as unknown as OrderRepository,
      departments: {
        policyOf: () => ({ arrivalDeadlineSeconds: 60, completionDeadlineSeconds: 600, keyTimeoutSeconds: 5, ringTimeoutSeconds: 5, maxReplays: 0 }),
        current: () => ({ departmentsById: new Map([['water-supply', department]]), commandCentre: { id: 'cc', number: '110' } }),
      } as unknown as DepartmentStore,
      telephony: phone.port,
      prompts: beepPrompts,
      webhook: { notify: () => Promise.resolve({ ok: true, eventId: 'ev_x', deliveries: 0 }) },
      logger: log.logger,
      writes,
      // As the order service does: the feedback meets the deadline.
      recordFeedback: (orderId, kind) => service.onFeedback(orderId, kind),
    });
    expect([provided.round.mock.calls.length, provided.call.mock.calls.length]).toEqual([1, 1]);
    const ids = ['o0000000000000001', 'o0000000000000002', 'o0000000000000003'];
    const reminders = new ReminderRepository(store);
    for (const id of ids) {
      await insertOrder(store, id, 'accepted');
      await reminders.ensureDeadline(id, 'arrival', 60, Date.now() - 120_000);
    }
    try {
      await service.start();
      await expect.poll(async () => (await rows(store.db, sql<{ status: string }>`SELECT status FROM feedback_deadlines WHERE kind = 'arrival'`)).map((d) => d.status), { timeout: 10_000, interval: 50 })
        .toEqual(['met', 'met', 'met']);
      await expect.poll(() => service.liveState(), { timeout: 5_000, interval: 20 }).toEqual({ rounds: 0, attemptIds: 0, traces: 0 });
      await writes.drain();
    } finally {
      service.stop();
    }
    expect(failures).toEqual([]);
    expect(phone.originated).toHaveLength(3);
    expect([provided.round.mock.calls.length, provided.call.mock.calls.length]).toEqual([1, 1]);
    const lines = log.lines();
    const ended = lines.filter((l) => l.msg === 'reminder call ended');
    expect(ended.map((l) => l.orderId).sort()).toEqual(ids);
    for (const line of ended) {
      expect(line).toMatchObject({ level: 30, deadline: 'arrival', target: 'chain', contactId: 'duty', result: 'accepted', digits: '1' });
      for (const ms of ['queuedMs', 'ringMs', 'firstPromptMs', 'keyMs', 'totalMs']) expect(line[ms], ms).toEqual(expect.any(Number));
    }
    expect(lines.filter((l) => ['reminder call started', 'reminder call answered', 'reminder keypad', 'first prompt requested'].includes(String(l.msg)))).toEqual([]);
    expect(log.text()).not.toContain('13912345678');
    await store.close();
  });
});
