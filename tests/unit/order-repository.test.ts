import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/sql.js';
import { openStore, type Engine, type Store } from '../../src/db/store.js';
import { OrderRepository, type NewOrder } from '../../src/orders/order-repository.js';
import { ENGINES, newPostgresDatabase, openTestStore } from '../support/engines.js';

const ORDER: NewOrder = {
  externalId: 'x-1', category: 'water-main-burst', departmentId: 'water-supply', summary: 's', address: 'a',
  reporterPhone: '13800138000', urgency: 'urgent', major: false,
};

describe.each(ENGINES)('OrderRepository on %s', (engine: Engine) => {
  const opened: Store[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  /** PostgreSQL: where the test's database is, for a second node on it. */
  let url = '';

  async function setup(order: NewOrder = ORDER) {
    let now = Date.parse('2026-11-23T08:00:00Z');
    if (engine === 'postgres') url = await newPostgresDatabase();
    const store = engine === 'postgres' ? await openStore({ engine, url }) : await openTestStore(engine);
    opened.push(store);
    const repo = new OrderRepository(store, () => now);
    const { row } = await repo.createOrder(order);
    const attempt = async (seq: number) => {
      const attemptId = `${row.id}-a${seq}`;
      await repo.startAttempt({ orderId: row.id, attemptId, seq, script: 'dispatch', contactId: `c${seq}`, number: '70111', attemptOnContact: 0, cursor: { loop: 0, contactIndex: seq - 1 } });
      return attemptId;
    };
    return { store, repo, row, attempt, advance: (ms: number) => (now += ms) };
  }

  it('is idempotent on externalId and gives six-digit codes', async () => {
    const { repo, row } = await setup();
    const again = await repo.createOrder(ORDER);
    expect(again.created).toBe(false);
    expect(again.row.id).toBe(row.id);
    expect(row.code).toMatch(/^[1-9][0-9]{5}$/);
    expect([row.major, row.callback, row.status]).toEqual([0, 1, 'dispatching']);
  });

  it('keeps an informant from being called back', async () => {
    const { row } = await setup({ ...ORDER, callback: false });
    expect(row.callback).toBe(0);
  });

  it('the first dispatch acceptance wins; a second is kept as late; seconds to accept are measured', async () => {
    const { repo, row, attempt, advance } = await setup();
    const a1 = await attempt(1);
    const a2 = await attempt(2);
    advance(42_000);
    expect(await repo.commitAcceptance({ orderId: row.id, attemptId: a1, contactId: 'c1', script: 'dispatch', disputed: true, via: 'phone' })).toEqual({ late: false });
    expect((await repo.getOrder(row.id))?.status).toBe('accepted');
    expect(await repo.commitAcceptance({ orderId: row.id, attemptId: a2, contactId: 'c2', script: 'dispatch', disputed: false, via: 'phone' })).toEqual({ late: true });
    const acks = await repo.acknowledgements(row.id);
    expect(acks.map((a) => [a.contact_id, a.late, a.disputed])).toEqual([['c1', 0, 1], ['c2', 1, 0]]);
    expect(acks[0]?.seconds_to_accept).toBe(42);
  });

  it('key 3 opens one jurisdiction dispute linked to the acknowledgement', async () => {
    const { store, repo, row, attempt } = await setup();
    await repo.commitAcceptance({ orderId: row.id, attemptId: await attempt(1), contactId: 'c1', script: 'dispatch', disputed: true, via: 'phone' });
    const [ack] = await repo.acknowledgements(row.id);
    const disputes = await rows(store.db, sql<{ department_id: string; acknowledgement_id: number; status: string }>`SELECT department_id, acknowledgement_id, status FROM disputes WHERE order_id = ${row.id}`);
    expect(disputes).toEqual([{ department_id: 'water-supply', acknowledgement_id: ack?.id, status: 'open' }]);
  });

  it('a repeated commit for the same attempt is not doubled', async () => {
    const { repo, row, attempt } = await setup();
    const a1 = await attempt(1);
    await repo.commitAcceptance({ orderId: row.id, attemptId: a1, contactId: 'c1', script: 'dispatch', disputed: false, via: 'phone' });
    expect(await repo.commitAcceptance({ orderId: row.id, attemptId: a1, contactId: 'c1', script: 'dispatch', disputed: false, via: 'phone' })).toEqual({ late: false });
    expect(await repo.acknowledgements(row.id)).toHaveLength(1);
  });

  it('the store itself refuses a second acceptance that counts for one order and unit', async () => {
    const { store, repo, row } = await setup();
    await repo.commitAcceptance({ orderId: row.id, attemptId: null, contactId: null, script: 'dispatch', disputed: false, via: 'feedback' });
    const insert = sql`INSERT INTO acknowledgements (order_id, script, via, accepted_at, seconds_to_accept, disputed, late, department_id)
      VALUES (${row.id}, 'dispatch', 'feedback', ${new Date().toISOString()}, 1, 0, 0, 'water-supply')`;
    await expect(store.transaction((tx) => insert.execute(tx))).rejects.toThrow(/unique/i);
  });

  it('two nodes accepting at once: one acceptance counts, the other caller hears late (no error)', async () => {
    // Node A holds its commit open (its case-event hook waits) after inserting the acceptance that
    // counts; node B read "dispatching" meanwhile, so its insert meets the unique index and is
    // committed again as late. On SQLite one connection serialises the two: B reads A's commit.
    const { store, repo, row } = await setup();
    const storeB = engine === 'postgres' ? await twin() : store;
    const nodeA = new OrderRepository(store);
    const nodeB = new OrderRepository(storeB);
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let holding = false;
    nodeA.onEvent = async (e) => {
      if (e.kind !== 'acceptance_committed') return;
      holding = true;
      await gate;
    };
    const a = nodeA.commitAcceptance({ orderId: row.id, attemptId: null, contactId: null, script: 'dispatch', disputed: false, via: 'feedback' });
    await until(() => Promise.resolve(holding), 'A holds its commit open');
    const b = nodeB.commitAcceptance({ orderId: row.id, attemptId: null, contactId: null, script: 'dispatch', disputed: false, via: 'phone' });
    if (engine === 'postgres') await until(async () => (await lockWaits(store)) > 0, 'B waits on the index');
    release();
    expect([await a, await b]).toEqual([{ late: false }, { late: true }]);
    const acks = await repo.acknowledgements(row.id);
    expect(acks.map((k) => [k.via, k.late])).toEqual([['feedback', 0], ['phone', 1]]);
    expect((await repo.events(row.id)).map((e) => e.kind).filter((k) => k.includes('acceptance'))).toEqual(['acceptance_committed', 'late_acceptance_committed']);
  });

  /** A second store on the same PostgreSQL database: another node of the cluster. */
  async function twin(): Promise<Store> {
    const other = await openStore({ engine: 'postgres', url });
    opened.push(other);
    return other;
  }

  it('an acceptance after the order was cancelled is recorded late and does not reopen it', async () => {
    const { repo, row, attempt } = await setup();
    const a1 = await attempt(1);
    await repo.advanceStatus(row.id, 'cancelled');
    expect(await repo.commitAcceptance({ orderId: row.id, attemptId: a1, contactId: 'c1', script: 'dispatch', disputed: false, via: 'phone' })).toEqual({ late: true });
    expect((await repo.getOrder(row.id))?.status).toBe('cancelled');
  });

  it('alarm and leader confirmations never accept the order', async () => {
    const { repo, row, attempt } = await setup();
    const a1 = await attempt(1);
    expect(await repo.commitAcceptance({ orderId: row.id, attemptId: a1, contactId: 'leader-a', script: 'major', disputed: false, via: 'phone' })).toEqual({ late: false });
    expect((await repo.getOrder(row.id))?.status).toBe('dispatching');
  });

  it('status only moves forward; cancelled is final', async () => {
    const { repo, row } = await setup();
    const status = async () => (await repo.getOrder(row.id))?.status;
    await repo.addFeedback(row.id, 'arrived', null, 'api', 'api:department');
    expect(await status()).toBe('arrived');
    await repo.advanceStatus(row.id, 'accepted'); // a late machine report
    expect(await status()).toBe('arrived');
    await repo.addFeedback(row.id, 'progress', 'on it', 'api', 'api:department');
    expect(await status()).toBe('arrived');
    await repo.addFeedback(row.id, 'completed', null, 'phone', 'phone:05770001234');
    expect(await status()).toBe('completed');
    await repo.advanceStatus(row.id, 'cancelled');
    await repo.advanceStatus(row.id, 'dispatching');
    expect(await status()).toBe('cancelled');
  });

  it('an attempt ends once; a second end is ignored; answers and keys are kept', async () => {
    const { repo, row, attempt } = await setup();
    const ended: string[] = [];
    repo.onAttempt = (e) => void ended.push(`${e.phase}:${e.result ?? ''}`);
    const a1 = await attempt(1);
    await repo.markAnswered(a1, Date.parse('2026-11-23T08:00:05Z'));
    await repo.appendDigit(a1, '2');
    await repo.appendDigit(a1, '1');
    expect((await repo.openAttempts(row.id)).map((a) => [a.digits, a.answered_at])).toEqual([['21', '2026-11-23T08:00:05.000Z']]);
    await repo.endAttempt(a1, { result: 'busy', digits: '21', endedAt: Date.now(), cause: { code: 17, text: 'User busy' } });
    await repo.endAttempt(a1, { result: 'interrupted', digits: '', endedAt: Date.now() });
    expect((await repo.attempts(row.id))[0]).toMatchObject({ result: 'busy', cause_code: 17, digits: '21' });
    expect(await repo.openAttempts(row.id)).toEqual([]);
    expect(await repo.allOpenAttempts()).toEqual([]);
    expect(ended).toEqual(['started:', 'ended:busy']);
  });

  it('lists and pages orders by status, unit and time; keeps resume points and platform deadlines', async () => {
    const { repo, row, advance } = await setup();
    advance(60_000);
    const second = (await repo.createOrder({ ...ORDER, externalId: 'x-2', departmentId: 'power-supply' })).row;
    expect((await repo.listOrders({ limit: 10, offset: 0 })).rows.map((o) => o.id)).toEqual([second.id, row.id]);
    expect(await repo.listOrders({ limit: 1, offset: 1 })).toMatchObject({ total: 2, rows: [{ id: row.id }] });
    expect((await repo.listOrders({ departmentId: 'power-supply', limit: 10, offset: 0 })).total).toBe(1);
    expect((await repo.listOrders({ status: 'accepted', limit: 10, offset: 0 })).total).toBe(0);
    expect((await repo.listOrders({ from: second.created_at, limit: 10, offset: 0 })).rows.map((o) => o.id)).toEqual([second.id]);
    expect((await repo.listOrders({ to: second.created_at, limit: 10, offset: 0 })).rows.map((o) => o.id)).toEqual([row.id]);
    await repo.saveResume(row.id, { nextAttemptSeq: 3 });
    await repo.setPlatformDue(second.id, Date.parse('2026-11-23T09:00:00Z'));
    expect((await repo.dispatchingOrders()).map((o) => [o.resume, o.platform_due_at])).toEqual([['{"nextAttemptSeq":3}', null], [null, '2026-11-23T09:00:00.000Z']]);
    expect((await repo.getOrderByCode(second.code))?.id).toBe(second.id);
  });

  it('lists as resumable the dispatching orders and units, and the accepted or unacknowledged ones that left a resume point', async () => {
    const { repo, row, advance } = await setup();
    const make = async (externalId: string, status: 'accepted' | 'unacknowledged' | 'arrived' | 'cancelled', resume: unknown) => {
      advance(1_000);
      const o = (await repo.createOrder({ ...ORDER, externalId, coUnits: ['fire-rescue'] })).row;
      await repo.setStatus(o.id, status);
      await repo.saveResume(o.id, resume);
      await repo.advanceUnitStatus(o.id, 'fire-rescue', status === 'arrived' ? 'accepted' : status);
      await repo.saveUnitResume(o.id, 'fire-rescue', resume);
      return o;
    };
    const accepted = await make('r-1', 'accepted', { nextAttemptSeq: 3, status: 'accepted' });
    const alarming = await make('r-2', 'unacknowledged', { nextAttemptSeq: 4, status: 'unacknowledged', alarmAttempts: 1 });
    await make('r-3', 'accepted', null);
    await make('r-4', 'cancelled', { nextAttemptSeq: 2 });
    await make('r-5', 'arrived', null);
    expect((await repo.resumableOrders()).map((o) => o.id)).toEqual([row.id, accepted.id, alarming.id]);
    expect((await repo.resumableCoUnits()).map((u) => [u.order_id, u.status])).toEqual([[accepted.id, 'accepted'], [alarming.id, 'unacknowledged']].sort((x, y) => String(x[0]).localeCompare(String(y[0]))));
  });

  it('a reassigned order restarts its clock for the new unit; the first acceptance stays on record', async () => {
    const { repo, row, advance } = await setup();
    advance(10_000);
    await repo.commitAcceptance({ orderId: row.id, attemptId: null, contactId: null, script: 'dispatch', disputed: true, via: 'feedback' });
    advance(20_000);
    await repo.reassign(row.id, 'housing-construction');
    expect((await repo.getOrder(row.id))?.status).toBe('dispatching');
    advance(5_000);
    expect(await repo.commitAcceptance({ orderId: row.id, attemptId: null, contactId: null, script: 'dispatch', disputed: false, via: 'feedback' })).toEqual({ late: false });
    const acks = await repo.acknowledgements(row.id);
    expect(acks.map((a) => [a.department_id, a.late, a.seconds_to_accept])).toEqual([['water-supply', 0, 10], ['housing-construction', 0, 5]]);
  });

  describe('several units on one order', () => {
    const coSetup = () => setup({ ...ORDER, externalId: 'x-co', coUnits: ['urban-management', 'fire-rescue'] });

    it('stores the co-units in order, each dispatching, and lists the order under every unit', async () => {
      const { repo, row } = await coSetup();
      expect((await repo.coUnits(row.id)).map((u) => [u.department_id, u.unit_index, u.status])).toEqual([['urban-management', 1, 'dispatching'], ['fire-rescue', 2, 'dispatching']]);
      expect((await repo.dispatchingCoUnits()).map((u) => u.department_id)).toEqual(['urban-management', 'fire-rescue']);
      for (const unit of ['water-supply', 'urban-management', 'fire-rescue']) expect((await repo.listOrders({ departmentId: unit, limit: 10, offset: 0 })).total).toBe(1);
      expect((await repo.listOrders({ departmentId: 'power-supply', limit: 10, offset: 0 })).total).toBe(0);
      await repo.saveUnitResume(row.id, 'fire-rescue', { nextAttemptSeq: 2002 });
      expect((await repo.coUnit(row.id, 'fire-rescue'))?.resume).toBe('{"nextAttemptSeq":2002}');
    });

    it("a co-unit's acceptance is its own: its status moves, the order's (the lead's) does not; a second one is late", async () => {
      const { repo, row, advance } = await coSetup();
      const attemptId = `${row.id}-u1-a1001`;
      await repo.startAttempt({ orderId: row.id, attemptId, seq: 1001, script: 'dispatch', contactId: 'u1', number: '70111', attemptOnContact: 0, cursor: { loop: 0, contactIndex: 0 }, departmentId: 'urban-management' });
      advance(12_000);
      expect(await repo.commitAcceptance({ orderId: row.id, attemptId, contactId: 'u1', script: 'dispatch', disputed: false, via: 'phone', coUnit: 'urban-management' })).toEqual({ late: false });
      expect((await repo.coUnit(row.id, 'urban-management'))?.status).toBe('accepted');
      expect((await repo.getOrder(row.id))?.status).toBe('dispatching');
      expect(await repo.commitAcceptance({ orderId: row.id, attemptId: null, contactId: null, script: 'dispatch', disputed: false, via: 'feedback', coUnit: 'urban-management' })).toEqual({ late: true });
      const acks = await repo.acknowledgements(row.id);
      expect(acks.map((a) => [a.department_id, a.late, a.seconds_to_accept])).toEqual([['urban-management', 0, 12], ['urban-management', 1, 12]]);
      expect((await repo.attempts(row.id))[0]?.department_id).toBe('urban-management');
      await expect(repo.commitAcceptance({ orderId: row.id, attemptId: null, contactId: null, script: 'dispatch', disputed: false, via: 'feedback', coUnit: 'tourism' })).rejects.toThrow(/not a co-unit/);
    });

    it("a co-unit's feedback names it and moves only its status; the lead's completed completes the order", async () => {
      const { repo, row } = await coSetup();
      const f = await repo.addFeedback(row.id, 'completed', null, 'api', 'api:department', 'fire-rescue');
      expect(f.department_id).toBe('fire-rescue');
      expect((await repo.coUnit(row.id, 'fire-rescue'))?.status).toBe('completed');
      expect((await repo.getOrder(row.id))?.status).toBe('dispatching');
      expect((await repo.addFeedback(row.id, 'completed', null, 'api', 'api:department')).department_id).toBe('water-supply');
      expect((await repo.getOrder(row.id))?.status).toBe('completed');
      expect((await repo.feedback(row.id)).map((x) => [x.kind, x.department_id])).toEqual([['completed', 'fire-rescue'], ['completed', 'water-supply']]);
    });

    it('numbers each unit in its own block of attempt seqs', async () => {
      const { repo, row } = await coSetup();
      const start = (seq: number) => repo.startAttempt({ orderId: row.id, attemptId: `${row.id}-a${seq}`, seq, script: 'dispatch', contactId: 'c', number: '70111', attemptOnContact: 0, cursor: null });
      const maxSeqs = () => Promise.all([repo.maxSeq(row.id), repo.maxSeq(row.id, 1), repo.maxSeq(row.id, 2)]);
      expect(await maxSeqs()).toEqual([0, 1000, 2000]);
      for (const seq of [1, 2, 1001, 2001, 2002]) await start(seq);
      expect(await maxSeqs()).toEqual([2, 1001, 2002]);
    });
  });
});

/** Sessions of this database waiting on a lock (PostgreSQL). */
async function lockWaits(store: Store): Promise<number> {
  const [row] = await rows(store.db, sql<{ n: number }>`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
  return row?.n ?? 0;
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (const deadline = Date.now() + 5000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    if (await check()) return;
  }
  throw new Error(`timed out waiting until ${what}`);
}
