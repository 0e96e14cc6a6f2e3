// The live board's rows: each order with its status, its calls and who accepted. Read straight
// from SQLite so the board shows what any writer (dispatcher, feedback line, surveys) committed.
// No phone numbers: the board is a wall display; the case page shows them masked.
import type { Db } from '../db/database.js';

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

/** SQLite's default limit on bound parameters is far above this; board batches stay small. */
const MAX_IDS = 500;

/** Board rows of the given orders, in the order given; unknown ids are left out. */
export function boardRows(db: Db, orderIds: readonly string[]): BoardRow[] {
  const ids = [...new Set(orderIds)].slice(0, MAX_IDS);
  if (ids.length === 0) return [];
  const marks = ids.map(() => '?').join(',');
  const orders = db
    .prepare(`SELECT id, code, status, department_id, category, urgency, major, summary, created_at, updated_at FROM orders WHERE id IN (${marks})`)
    .all(...ids) as OrderJoin[];
  const attempts = db
    .prepare(`SELECT order_id, seq, script, contact_id, started_at, answered_at, ended_at, result FROM attempts WHERE order_id IN (${marks}) ORDER BY order_id, seq`)
    .all(...ids) as AttemptJoin[];
  const acks = db
    .prepare(`SELECT order_id, contact_id, accepted_at, seconds_to_accept, disputed, via FROM acknowledgements WHERE order_id IN (${marks}) AND script = 'dispatch' AND late = 0 ORDER BY id`)
    .all(...ids) as AckJoin[];
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
export function recentBoard(db: Db, limit: number): { lastEventId: number; orders: BoardRow[] } {
  const lastEventId = latestEventId(db);
  const ids = db.prepare('SELECT id FROM orders ORDER BY created_at DESC, id LIMIT ?').pluck().all(limit) as string[];
  return { lastEventId, orders: boardRows(db, ids) };
}

export function latestEventId(db: Db): number {
  return (db.prepare('SELECT coalesce(max(id), 0) FROM order_events').pluck().get() as number) ?? 0;
}

/** Case events with id in (afterId, uptoId], oldest first, at most `limit`. */
export function eventsBetween(db: Db, afterId: number, uptoId: number, limit: number): FeedEvent[] {
  return db
    .prepare('SELECT id, order_id AS orderId, kind, at FROM order_events WHERE id > ? AND id <= ? ORDER BY id LIMIT ?')
    .all(afterId, uptoId, limit) as FeedEvent[];
}
