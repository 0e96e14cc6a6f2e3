// The live board's rows: each order with its status, its calls and who accepted. Read straight
// from the store so the board shows what any writer (dispatcher, feedback line, surveys) committed.
// No phone numbers: the board is a wall display; the case page shows them masked.
import { sql } from 'kysely';
import { first, rows } from '../db/sql.js';
import type { Executor } from '../db/store.js';

export interface BoardAttempt {
  readonly seq: number;
  readonly script: string;
  readonly contactId: string;
  readonly startedAt: string;
  readonly answeredAt: string | null;
  /** null while the call is live. */
  readonly endedAt: string | null;
  readonly result: string | null;
}

export interface BoardRow {
  readonly id: string;
  readonly code: string;
  readonly status: string;
  readonly departmentId: string;
  readonly category: string;
  readonly urgency: string;
  readonly major: boolean;
  readonly summary: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly attempts: readonly BoardAttempt[];
  readonly acknowledgement: { readonly contactId: string | null; readonly acceptedAt: string; readonly secondsToAccept: number; readonly disputed: boolean; readonly via: string } | null;
}

export interface FeedEvent {
  readonly id: number;
  readonly orderId: string;
  readonly kind: string;
  readonly at: string;
}

interface OrderJoin { id: string; code: string; status: string; department_id: string; category: string; urgency: string; major: 0 | 1; summary: string; created_at: string; updated_at: string }
interface AttemptJoin { order_id: string; seq: number; script: string; contact_id: string; started_at: string; answered_at: string | null; ended_at: string | null; result: string | null }
interface AckJoin { order_id: string; contact_id: string | null; accepted_at: string; seconds_to_accept: number; disputed: 0 | 1; via: string }

/** Orders per board batch: the IN lists stay far below either engine's limit on bound parameters. */
const MAX_IDS = 500;

/** Board rows of the given orders, in the order given; unknown ids are left out. */
export async function boardRows(db: Executor, orderIds: readonly string[]): Promise<BoardRow[]> {
  const ids = [...new Set(orderIds)].slice(0, MAX_IDS);
  if (ids.length === 0) return [];
  const list = sql.join(ids);
  const [orders, attempts, acks] = await Promise.all([
    rows(db, sql<OrderJoin>`SELECT id, code, status, department_id, category, urgency, major, summary, created_at, updated_at FROM orders WHERE id IN (${list})`),
    rows(db, sql<AttemptJoin>`SELECT order_id, seq, script, contact_id, started_at, answered_at, ended_at, result FROM attempts WHERE order_id IN (${list}) ORDER BY order_id, seq`),
    rows(db, sql<AckJoin>`SELECT order_id, contact_id, accepted_at, seconds_to_accept, disputed, via FROM acknowledgements WHERE order_id IN (${list}) AND script = 'dispatch' AND late = 0 ORDER BY id`),
  ]);
  const byId = new Map(orders.map((o) => [o.id, o]));
  return ids.flatMap((id) => {
    const o = byId.get(id);
    if (!o) return [];
    const ack = acks.find((a) => a.order_id === id);
    return [{
      id: o.id,
      code: o.code,
      status: o.status,
      departmentId: o.department_id,
      category: o.category,
      urgency: o.urgency,
      major: o.major === 1,
      summary: o.summary,
      createdAt: o.created_at,
      updatedAt: o.updated_at,
      attempts: attempts.filter((a) => a.order_id === id).map((a) => ({
        seq: a.seq, script: a.script, contactId: a.contact_id, startedAt: a.started_at, answeredAt: a.answered_at, endedAt: a.ended_at, result: a.result,
      })),
      acknowledgement: ack ? { contactId: ack.contact_id, acceptedAt: ack.accepted_at, secondsToAccept: ack.seconds_to_accept, disputed: ack.disputed === 1, via: ack.via } : null,
    }];
  });
}

/** The newest `limit` orders (newest first) and the event id the live feed continues from. */
export async function recentBoard(db: Executor, limit: number): Promise<{ lastEventId: number; orders: BoardRow[] }> {
  const lastEventId = await latestEventId(db);
  const ids = (await rows(db, sql<{ id: string }>`SELECT id FROM orders ORDER BY created_at DESC, id LIMIT ${limit}`)).map((r) => r.id);
  return { lastEventId, orders: await boardRows(db, ids) };
}

export async function latestEventId(db: Executor): Promise<number> {
  return (await first(db, sql<{ id: number }>`SELECT coalesce(max(id), 0) AS id FROM order_events`))?.id ?? 0;
}

/** Case events with id in (afterId, uptoId], oldest first, at most `limit`. */
export function eventsBetween(db: Executor, afterId: number, uptoId: number, limit: number): Promise<FeedEvent[]> {
  // Quoted alias: PostgreSQL folds unquoted identifiers to lower case.
  return rows(db, sql<FeedEvent>`SELECT id, order_id AS "orderId", kind, at FROM order_events WHERE id > ${afterId} AND id <= ${uptoId} ORDER BY id LIMIT ${limit}`);
}
