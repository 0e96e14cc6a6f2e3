// The reminder repository on both engines: the loop's figures for /metrics (deadlines being
// chased, overdue orders still unmet), deadlines set again after a reassignment, attempt
// bookkeeping, and due deadlines taken by one node only when two share the store.
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/db/sql.js';
import { openStore, type Store } from '../../src/db/store.js';
import { ReminderRepository } from '../../src/reminders/reminder-repository.js';
import { ENGINES, newPostgresDatabase, openTestStore } from '../support/engines.js';

const NOW = Date.parse('2026-11-23T08:00:00Z');

/** An order row as the order repository would store it (only what the foreign keys need). */
async function insertOrder(store: Store, id: string): Promise<string> {
  const at = new Date(NOW).toISOString();
  await run(store.db, sql`
    INSERT INTO orders (id, code, external_id, category, department_id, summary, address, reporter_phone, urgency, major, status, created_at, updated_at)
    VALUES (${id}, ${id.slice(-6)}, ${`ext-${id}`}, 'water-main-burst', 'water-supply', 's', 'a', '13800138000', 'urgent', 0, 'accepted', ${at}, ${at})`);
  return id;
}


describe.each(ENGINES)('ReminderRepository on %s', (engine) => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function open(): Promise<{ store: Store; reminders: ReminderRepository }> {
    const store = await openTestStore(engine);
    cleanups.push(() => store.close());
    return { store, reminders: new ReminderRepository(store, () => NOW) };
  }

  it('counts missed deadlines while chased, and overdue orders until their feedback comes', async () => {
    const { store, reminders } = await open();
    const a = await insertOrder(store, 'o000000000000000a');
    const b = await insertOrder(store, 'o000000000000000b');
    expect(await reminders.ensureDeadline(a, 'arrival', 60, NOW)).toBe(true);
    await reminders.ensureDeadline(b, 'arrival', 60, NOW);
    await reminders.ensureDeadline(b, 'completion', 600, NOW);
    expect(await reminders.openCounts()).toEqual({ chasing: 0, overdueOrders: 0 }); // none missed yet

    await reminders.startRound(`${a}-arrival`);
    await reminders.startRound(`${b}-arrival`);
    expect(await reminders.openCounts()).toEqual({ chasing: 2, overdueOrders: 0 });

    await reminders.markOverdue(`${b}-arrival`, 2, false);
    expect(await reminders.openCounts()).toEqual({ chasing: 1, overdueOrders: 1 });

    expect((await reminders.meet(b, ['arrival'])).map((d) => [d.kind, d.status])).toEqual([['arrival', 'overdue']]);
    expect((await reminders.meet(a, ['arrival'])).map((d) => [d.kind, d.status])).toEqual([['arrival', 'met']]);
    expect(await reminders.meet(a, ['arrival'])).toEqual([]); // met once
    expect(await reminders.openCounts()).toEqual({ chasing: 0, overdueOrders: 0 });
  });

  it('sets a deadline once; a cancelled one (reassignment) starts again from scratch', async () => {
    const { store, reminders } = await open();
    const o = await insertOrder(store, 'o00000000000000c1');
    expect(await reminders.ensureDeadline(o, 'arrival', 60, NOW)).toBe(true);
    expect(await reminders.ensureDeadline(o, 'arrival', 120, NOW)).toBe(false);
    await reminders.startRound(`${o}-arrival`);
    await reminders.cancelForOrder(o, true);
    expect((await reminders.get(`${o}-arrival`))?.status).toBe('cancelled');
    expect(await reminders.ensureDeadline(o, 'arrival', 120, NOW + 1000)).toBe(true);
    expect(await reminders.get(`${o}-arrival`)).toMatchObject({ status: 'pending', rounds: 0, deadline_seconds: 120, missed_at: null, due_at: new Date(NOW + 121_000).toISOString() });
    expect(await reminders.nextDueAt()).toBe(NOW + 121_000);
  });

  it('takes due deadlines once, earliest first; reschedules, requeues and records attempts', async () => {
    const { store, reminders } = await open();
    const o = await insertOrder(store, 'o00000000000000d1');
    await reminders.ensureDeadline(o, 'completion', 600, NOW - 600_000);
    await reminders.ensureDeadline(o, 'arrival', 60, NOW - 120_000);
    expect((await reminders.takeDue(NOW, 10)).map((d) => d.kind)).toEqual(['arrival', 'completion']); // due 1 min ago, due now
    expect(await reminders.takeDue(NOW, 10)).toEqual([]); // taken: reminding
    expect((await reminders.reminding()).length).toBe(2);
    const round = await reminders.startRound(`${o}-arrival`);
    expect(round).toMatchObject({ status: 'reminding', rounds: 1, missed_at: new Date(NOW).toISOString() });

    await reminders.reschedule(`${o}-arrival`, NOW + 300_000, 1, true);
    expect(await reminders.get(`${o}-arrival`)).toMatchObject({ status: 'pending', unanswered: 1, help_requests: 1 });
    await reminders.requeue(`${o}-completion`);
    expect((await reminders.takeDue(NOW, 10)).map((d) => d.kind)).toEqual(['completion']);

    expect(await reminders.maxSeq(o)).toBe(0);
    const id = `${o}-r1`;
    await reminders.startAttempt({ id, orderId: o, deadlineId: `${o}-arrival`, seq: 1, round: 1, target: 'chain', contactId: 'duty', number: '1001' });
    await reminders.markAnswered(id, NOW + 5000);
    await reminders.appendDigit(id, '1');
    expect(await reminders.setAnswer(id, 'done')).toBe(true);
    expect(await reminders.setAnswer(id, 'need_help')).toBe(false);
    expect((await reminders.openAttempts()).map((a) => a.id)).toEqual([id]);
    await reminders.endAttempt(id, { result: 'accepted', endedAt: NOW + 9000, cause: { code: 16, text: 'Normal Clearing' } });
    expect(await reminders.attempts(o)).toEqual([
      expect.objectContaining({ id, seq: 1, digits: '1', answer: 'done', result: 'accepted', answered_at: new Date(NOW + 5000).toISOString(), cause_code: 16, reason: null }),
    ]);
    expect(await reminders.openAttempts()).toEqual([]);
    expect(await reminders.maxSeq(o)).toBe(1);
  });

  it('finds recent acceptances without deadlines (catch-up at start)', async () => {
    const { store, reminders } = await open();
    const o = await insertOrder(store, 'o00000000000000e1');
    const at = new Date(NOW - 60_000).toISOString();
    await run(store.db, sql`
      INSERT INTO acknowledgements (order_id, attempt_id, contact_id, accepted_at, via, script, seconds_to_accept, disputed, late, department_id)
      VALUES (${o}, NULL, 'duty', ${at}, 'feedback', 'dispatch', 12, 0, 0, 'water-supply')`);
    expect(await reminders.acceptedWithoutDeadlines(new Date(NOW - 3_600_000).toISOString())).toEqual([{ id: o, accepted_at: at }]);
    expect(await reminders.acceptedWithoutDeadlines(new Date(NOW).toISOString())).toEqual([]);
    await reminders.ensureDeadline(o, 'arrival', 60, NOW);
    expect(await reminders.acceptedWithoutDeadlines(new Date(NOW - 3_600_000).toISOString())).toEqual([]);
  });

  // Nodes share PostgreSQL only; SQLite is one node's embedded store (and two of its connections
  // in one process cannot interleave transactions: better-sqlite3 waits for a lock synchronously).
  it.runIf(engine === 'postgres')('two nodes on one store: each due deadline is taken by one of them', async () => {
    const url = await newPostgresDatabase();
    const nodes = await Promise.all([openStore({ engine: 'postgres', url }), openStore({ engine: 'postgres', url })]);
    for (const s of nodes) cleanups.push(() => s.close());
    const [one, two] = nodes.map((s) => new ReminderRepository(s, () => NOW)) as [ReminderRepository, ReminderRepository];
    const ids: string[] = [];
    for (let i = 0; i < 12; i += 1) {
      const o = await insertOrder(nodes[0], `o0000000000000${String(i).padStart(3, '0')}`);
      await one.ensureDeadline(o, 'arrival', 60, NOW - 120_000 + i);
      ids.push(`${o}-arrival`);
    }
    const taken = (await Promise.all([one.takeDue(NOW, 20), two.takeDue(NOW, 20), one.takeDue(NOW, 20), two.takeDue(NOW, 20)])).flat().map((d) => d.id);
    expect(taken.sort()).toEqual(ids.sort());
  });
});
