// The feedback line's effects over the store, on both engines: the PIN lock is counted in the
// database (so a guesser cannot spread tries over two nodes), a wrong PIN is committed before
// verifyPin answers, and the feedback is committed, after the call's posted events, before
// commitFeedback resolves (before the caller hears "recorded"). The order service and repository
// are stand-ins that write the same tables: they belong to another part of the conversion.
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { first, rows } from '../../src/db/sql.js';
import type { Store } from '../../src/db/store.js';
import { WriteQueue } from '../../src/db/write-queue.js';
import { loadCatalog } from '../../src/departments/catalog.js';
import { DepartmentStore } from '../../src/departments/store.js';
import { PIN_LOCK_WRONG } from '../../src/feedback/caller-check.js';
import { callerEffects, type CallerEffects } from '../../src/feedback/caller-effects.js';
import { UnitPins } from '../../src/feedback/unit-pins.js';
import { createLogger } from '../../src/logging.js';
import type { OrderRepository } from '../../src/orders/order-repository.js';
import type { OrderService } from '../../src/orders/order-service.js';
import { ENGINES } from '../support/engines.js';
import { openTwoNodes, type TwoNodes } from '../support/two-nodes.js';

const UNIT = 'tourism';
const OUTSIDER = '05770005555';
const PIN = '2468';
const catalog = loadCatalog();
const CONTACT = catalog.departmentsById.get(UNIT)?.contacts[0]?.number ?? '';

/** One node's effects for one call, over `store`; `seen` gets what the stand-in feedback saw when it wrote. */
async function node(store: Store, seen: string[] = []): Promise<{ effects: CallerEffects; writes: WriteQueue }> {
  const writes = new WriteQueue((label, reason) => seen.push(`failed ${label}: ${reason}`), { store, windowMs: 20 });
  const repo = {
    getOrderByCode: (code: string) => first(store.db, sql<{ id: string; code: string; status: string }>`SELECT id, code, status FROM orders WHERE code = ${code}`),
    appendEvent: async (orderId: string, actor: string, kind: string, detail: Record<string, unknown> = {}) => {
      await store.transaction((tx) => sql`INSERT INTO order_events (order_id, at, actor, kind, detail) VALUES (${orderId}, ${new Date().toISOString()}, ${actor}, ${kind}, ${JSON.stringify(detail)})`.execute(tx));
    },
  } as unknown as OrderRepository;
  const orders = {
    departmentsOf: (id: string) => Promise.resolve(id.startsWith('o-') ? [UNIT] : []),
    feedback: async (orderId: string, kind: string, note: string | null, via: string, actor: string) => {
      const events = await rows(store.db, sql<{ kind: string }>`SELECT kind FROM order_events WHERE order_id = ${orderId} ORDER BY id`);
      seen.push(`feedback after ${events.map((e) => e.kind).join(',')}`);
      return store.transaction((tx) =>
        first(tx, sql<{ id: number }>`INSERT INTO feedback (order_id, kind, note, via, actor, at) VALUES (${orderId}, ${kind}, ${note}, ${via}, ${actor}, ${new Date().toISOString()}) RETURNING id`),
      );
    },
  } as unknown as OrderService;
  const deps = { orders, repo, departments: await DepartmentStore.open(store, catalog), pins: new UnitPins(store), store, writes };
  return { effects: callerEffects(deps, () => createLogger('silent')), writes };
}

async function addOrder(store: Store, id: string, code: string, status = 'accepted'): Promise<void> {
  await sql`INSERT INTO orders (id, code, external_id, category, department_id, summary, address, reporter_phone, urgency, major, status, created_at, updated_at)
    VALUES (${id}, ${code}, ${`e-${id}`}, 'c', ${UNIT}, 's', 'a', '1', 'normal', 0, ${status}, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`.execute(store.db);
}

describe.each(ENGINES)('feedback line effects on %s', (engine) => {
  let nodes: TwoNodes | undefined;
  afterEach(async () => {
    await nodes?.close();
    nodes = undefined;
  });

  it('locks a unit\'s PIN after its wrong entries on one node, for callers on the other node', async () => {
    nodes = await openTwoNodes(engine);
    await new UnitPins(nodes.a).set(UNIT, PIN, 'api:admin');
    await addOrder(nodes.a, 'o-1', '100001');
    await addOrder(nodes.a, 'o-2', '100002');
    const a = await node(nodes.a);
    const b = await node(nodes.b);
    const call = { channelId: 'ch-b', digits: '100002', callerNumber: OUTSIDER };
    expect(await b.effects.findOrder(call)).toEqual({ found: true, orderId: 'o-2', code: '100002', caller: 'pin' });
    for (let i = 0; i < PIN_LOCK_WRONG; i += 1) {
      expect(await a.effects.verifyPin({ channelId: `ch-a${i}`, orderId: 'o-1', digits: '1111', callerNumber: OUTSIDER, wrongSoFar: i % 3 })).toEqual({ ok: false });
      // Committed when verifyPin answers: the next entry, on any node, counts it.
      const n = await first(nodes.b.db, sql<{ n: number }>`SELECT count(*) AS n FROM order_events WHERE kind = 'feedback_refused'`);
      expect(n?.n).toBe(i + 1);
    }
    const locked = await b.effects.findOrder(call);
    expect(locked).toMatchObject({ found: true, orderId: 'o-2', caller: 'refused', refusal: expect.stringMatching(/^PIN locked/) as string });
    // A contact of the unit is not held up by the lock.
    expect(await b.effects.findOrder({ ...call, callerNumber: CONTACT })).toMatchObject({ caller: 'contact' });
    const refusals = await rows(nodes.a.db, sql<{ order_id: string; detail: string }>`SELECT order_id, detail FROM order_events WHERE kind = 'feedback_refused' ORDER BY id`);
    expect(refusals.at(-1)).toMatchObject({ order_id: 'o-2' });
    expect(JSON.parse(refusals[0]?.detail ?? '{}')).toEqual({ reason: 'wrong PIN (entry 1)', wrongPin: 1, units: [UNIT] });
  }, 20_000); // ten scrypt derivations: seconds on a loaded machine

  it('accepts the right PIN, records the verification, and commits the feedback after the call\'s posted events', async () => {
    nodes = await openTwoNodes(engine);
    await new UnitPins(nodes.a).set(UNIT, PIN, 'api:admin');
    await addOrder(nodes.a, 'o-1', '100001');
    const seen: string[] = [];
    const { effects, writes } = await node(nodes.a, seen);
    expect(await effects.verifyPin({ channelId: 'ch', orderId: 'o-1', digits: PIN, callerNumber: OUTSIDER, wrongSoFar: 0 })).toEqual({ ok: true });
    effects.postRefusal({ channelId: 'ch', orderId: 'o-1', callerNumber: OUTSIDER, reason: 'posted just before' }); // an action's write, not awaited
    await effects.commitFeedback({ channelId: 'ch', orderId: 'o-1', kind: 'arrived', callerNumber: OUTSIDER });
    expect(seen).toEqual(['feedback after feedback_caller_verified,feedback_refused']);
    // Resolved: the feedback is in the database, seen from the other node.
    expect(await rows(nodes.b.db, sql`SELECT order_id, kind, via, actor FROM feedback`)).toEqual([{ order_id: 'o-1', kind: 'arrived', via: 'phone', actor: `phone:${OUTSIDER}` }]);
    expect(writes.stats()).toMatchObject({ pending: 0, failures: 0 });
  });

  it('takes a cancelled order or a code of the wrong length for an unknown one, and refuses a unit without a PIN', async () => {
    nodes = await openTwoNodes(engine);
    await addOrder(nodes.a, 'o-1', '100001');
    await addOrder(nodes.a, 'o-9', '100009', 'cancelled');
    const { effects } = await node(nodes.a);
    expect(await effects.findOrder({ channelId: 'ch', digits: '100009', callerNumber: CONTACT })).toEqual({ found: false });
    expect(await effects.findOrder({ channelId: 'ch', digits: '10000', callerNumber: CONTACT })).toEqual({ found: false });
    expect(await effects.findOrder({ channelId: 'ch', digits: '100001', callerNumber: OUTSIDER })).toMatchObject({ caller: 'refused', refusal: 'caller is not a contact of the unit and the unit has no PIN' });
    expect(await rows(nodes.b.db, sql`SELECT kind, actor FROM order_events`)).toEqual([{ kind: 'feedback_refused', actor: `phone:${OUTSIDER}` }]);
  });
});
