// The dispatcher's writes on both engines: a real order machine and call-attempt machine against
// a phone that answers and presses 1 at once. The machines' actions post their writes to the
// WriteQueue; the acceptance is committed through writes.run after them, so the attempt's row,
// its answer and its key are stored in the order they happened.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/db/store.js';
import { WriteQueue } from '../../src/db/write-queue.js';
import { loadCatalog } from '../../src/departments/catalog.js';
import type { DepartmentStore } from '../../src/departments/store.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
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
    const writes = new WriteQueue((label, reason) => failures.push(`${label}: ${reason}`));
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
});
