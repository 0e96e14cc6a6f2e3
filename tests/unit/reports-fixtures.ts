// Fixture rows for the report tests, written straight into a fresh store of either engine with
// the real schema (src/db/migrations.ts), so the SQL that reads them is tested on both. The
// builder methods chain as before (`f.order(…).attempt(…)`); they queue their writes in order,
// and `await f.flush()` (done by every read below) waits for them.
import { sql } from 'kysely';
import { afterEach } from 'vitest';
import { first, run } from '../../src/db/sql.js';
import type { Engine, Store } from '../../src/db/store.js';
import { openTestStore } from '../support/engines.js';

type Answer = 'satisfied' | 'unsatisfied' | 'no_answer' | null;

export class Fixture {
  private seq = 0;
  private pending: Promise<void> = Promise.resolve();

  /** `owned`: the fixture opened the store and closes it. */
  private constructor(readonly store: Store, private readonly owned: boolean) {}

  /** A fixture on a fresh, migrated store of that engine (close it). */
  static async open(engine: Engine): Promise<Fixture> {
    return new Fixture(await openTestStore(engine), true);
  }

  /** A fixture writing into a store someone else opened (a whole service's). */
  static over(store: Store): Fixture {
    return new Fixture(store, false);
  }

  /** Waits for every row queued so far; rethrows the first write that failed. */
  async flush(): Promise<this> {
    await this.pending;
    return this;
  }

  async close(): Promise<void> {
    try {
      await this.pending;
    } finally {
      if (this.owned) await this.store.close();
    }
  }

  private queue(write: () => Promise<unknown>): this {
    this.pending = this.pending.then(async () => {
      await write();
    });
    return this;
  }

  order(id: string, departmentId: string, createdAt: string, status = 'accepted'): this {
    this.seq += 1;
    const code = String(100000 + this.seq);
    this.queue(() => run(this.store.db, sql`INSERT INTO orders (id, code, external_id, category, department_id, summary, address, reporter_phone, urgency, major, status, created_at, updated_at)
      VALUES (${id}, ${code}, ${`ext-${id}`}, 'water-main-burst', ${departmentId}, '水管爆裂', '城关镇', '13800138000', 'urgent', 0, ${status}, ${createdAt}, ${createdAt})`));
    return this.event(id, 'order_created', createdAt);
  }

  /** A dispatch (or alarm/major) call; contactIndex and loop place it in the chain. */
  attempt(orderId: string, result: string | null, opts: { script?: string; contactIndex?: number; loop?: number; at?: string; departmentId?: string } = {}): this {
    const at = opts.at ?? '2026-11-01T00:00:00.000Z';
    this.queue(async () => {
      const seq = (await first(this.store.db, sql<{ next: number }>`SELECT coalesce(max(seq), 0) + 1 AS next FROM attempts WHERE order_id = ${orderId}`))?.next ?? 1;
      await run(this.store.db, sql`INSERT INTO attempts (id, order_id, seq, script, contact_id, number, started_at, ended_at, result, chain_loop, contact_index, attempt_on_contact, department_id)
        VALUES (${`${orderId}-a${seq}`}, ${orderId}, ${seq}, ${opts.script ?? 'dispatch'}, ${`c${opts.contactIndex ?? 0}`}, '70111', ${at}, ${result === null ? null : at}, ${result},
                ${opts.loop ?? 0}, ${opts.contactIndex ?? 0}, 0, ${opts.departmentId ?? null})`);
    });
    return this.event(orderId, 'attempt_started', at);
  }

  acceptance(orderId: string, secondsToAccept: number, opts: { late?: boolean; disputed?: boolean; via?: 'phone' | 'feedback'; script?: string; departmentId?: string } = {}): this {
    return this.queue(() => run(this.store.db, sql`INSERT INTO acknowledgements (order_id, attempt_id, contact_id, script, via, accepted_at, seconds_to_accept, disputed, late, department_id)
      VALUES (${orderId}, NULL, 'c0', ${opts.script ?? 'dispatch'}, ${opts.via ?? 'phone'}, '2026-11-01T00:00:00.000Z', ${secondsToAccept}, ${opts.disputed ? 1 : 0}, ${opts.late ? 1 : 0},
              ${opts.departmentId ?? null})`));
  }

  feedback(orderId: string, kind: 'arrived' | 'progress' | 'completed', at: string, departmentId: string | null = null): this {
    return this.queue(() => run(this.store.db, sql`INSERT INTO feedback (order_id, kind, note, via, actor, at, department_id) VALUES (${orderId}, ${kind}, NULL, 'api', 'api:department', ${at}, ${departmentId})`));
  }

  /** A unit dispatched beside the order's lead (several units on one order). */
  coUnit(orderId: string, departmentId: string, unitIndex: number, status: string): this {
    return this.queue(() => run(this.store.db, sql`INSERT INTO order_co_units (order_id, department_id, unit_index, status, updated_at)
      VALUES (${orderId}, ${departmentId}, ${unitIndex}, ${status}, '2026-11-01T00:00:00.000Z')`));
  }

  survey(orderId: string, kind: 'callback' | 'follow_up', status: string, answers: { attitude?: Answer; speed?: Answer; quality?: Answer } = {}): this {
    const finishedAt = ['scheduled', 'calling'].includes(status) ? null : '2026-11-02T00:10:00.000Z';
    return this.queue(() => run(this.store.db, sql`INSERT INTO surveys (id, order_id, kind, status, number, due_at, attitude, speed, quality, created_at, updated_at, finished_at)
      VALUES (${`s-${orderId}-${kind}`}, ${orderId}, ${kind}, ${status}, '13800138000', '2026-11-02T00:00:00.000Z', ${answers.attitude ?? null}, ${answers.speed ?? null}, ${answers.quality ?? null},
              '2026-11-02T00:00:00.000Z', '2026-11-02T00:00:00.000Z', ${finishedAt})`));
  }

  flag(orderId: string): this {
    return this.queue(() => run(this.store.db, sql`INSERT INTO flags (order_id, survey_id, reason, created_at) VALUES (${orderId}, ${`s-${orderId}-callback`}, 'not satisfied: quality', '2026-11-02T00:10:00.000Z')`));
  }

  /** A 督查催办 deadline; `missed`: it passed without the feedback (a reminder was due). */
  deadline(orderId: string, kind: 'arrival' | 'completion', missed: boolean, status = 'met'): this {
    const at = '2026-11-01T00:30:00.000Z';
    return this.queue(() => run(this.store.db, sql`INSERT INTO feedback_deadlines (id, order_id, kind, status, deadline_seconds, first_due_at, due_at, missed_at, created_at, updated_at)
      VALUES (${`${orderId}-${kind}`}, ${orderId}, ${kind}, ${status}, 1800, ${at}, ${at}, ${missed ? at : null}, ${at}, ${at})`));
  }

  /** A jurisdiction dispute raised by `departmentId` on the order. */
  dispute(orderId: string, departmentId: string, status: 'open' | 'upheld' | 'rejected'): this {
    return this.queue(() => run(this.store.db, sql`INSERT INTO disputes (order_id, department_id, opened_at, status) VALUES (${orderId}, ${departmentId}, '2026-11-01T00:01:00.000Z', ${status})`));
  }

  /** A reminder call of round `round` to `target`. */
  reminderCall(orderId: string, kind: 'arrival' | 'completion', round: number, target: 'chain' | 'leader' | 'command_centre' = 'chain'): this {
    return this.queue(async () => {
      const seq = (await first(this.store.db, sql<{ next: number }>`SELECT coalesce(max(seq), 0) + 1 AS next FROM reminder_attempts WHERE order_id = ${orderId}`))?.next ?? 1;
      await run(this.store.db, sql`INSERT INTO reminder_attempts (id, order_id, deadline_id, seq, round, target, contact_id, number, started_at, ended_at, result)
        VALUES (${`${orderId}-r${seq}`}, ${orderId}, ${`${orderId}-${kind}`}, ${seq}, ${round}, ${target}, 'c0', '70111', '2026-11-01T00:30:00.000Z', '2026-11-01T00:31:00.000Z', 'no_answer')`);
    });
  }

  event(orderId: string, kind: string, at = '2026-11-01T00:00:00.000Z', detail: Record<string, unknown> = {}): this {
    return this.queue(() => run(this.store.db, sql`INSERT INTO order_events (order_id, at, actor, kind, detail) VALUES (${orderId}, ${at}, 'liandong', ${kind}, ${JSON.stringify(detail)})`));
  }
}

/**
 * Inside a `describe.each(ENGINES)` block: a function opening a fixture on that engine; every
 * fixture it opened is closed after each test.
 */
export function fixturesOn(engine: Engine): () => Promise<Fixture> {
  const opened: Fixture[] = [];
  afterEach(async () => {
    for (const f of opened.splice(0)) await f.close();
  });
  return async () => {
    const f = await Fixture.open(engine);
    opened.push(f);
    return f;
  };
}
