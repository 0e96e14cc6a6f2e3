// The linkage office works the flags raised by "not satisfied" answers: each gets an owner, a
// status (open → in_progress → closed, reopened to open if need be) and a resolution note; every
// change is kept in flag_history with who made it. Closing needs a resolution note.
import { sql } from 'kysely';
import { first, rows, run } from '../db/sql.js';
import type { Store } from '../db/store.js';
import { HttpError } from '../http/errors.js';

export const FLAG_STATUSES = ['open', 'in_progress', 'closed'] as const;
export type FlagStatus = (typeof FLAG_STATUSES)[number];

export interface FlagPatch { owner?: string | null; status?: FlagStatus; resolution?: string }

interface Row { id: number; order_id: string; survey_id: string; reason: string; created_at: string; owner: string | null; status: FlagStatus; resolution: string | null; updated_at: string | null }
interface HistoryRow { at: string; actor: string; changes: string }

export interface FlagView {
  id: number; orderId: string; surveyId: string; reason: string; createdAt: string;
  owner: string | null; status: FlagStatus; resolution: string | null; updatedAt: string | null;
  history: Array<{ at: string; actor: string; changes: Record<string, { from: unknown; to: unknown }> }>;
}

export class FlagWorkflow {
  constructor(private readonly store: Store, private readonly now: () => Date = () => new Date()) {}

  async get(id: number): Promise<FlagView> {
    const row = await first(this.store.db, sql<Row>`SELECT * FROM flags WHERE id = ${id}`);
    if (!row) throw new HttpError(404, 'flag_not_found', `no flag ${id}`);
    const history = (await rows(this.store.db, sql<HistoryRow>`SELECT at, actor, changes FROM flag_history WHERE flag_id = ${id} ORDER BY id`))
      .map((h) => ({ at: h.at, actor: h.actor, changes: JSON.parse(h.changes) as Record<string, { from: unknown; to: unknown }> }));
    return {
      id: row.id, orderId: row.order_id, surveyId: row.survey_id, reason: row.reason, createdAt: row.created_at,
      owner: row.owner, status: row.status, resolution: row.resolution, updatedAt: row.updated_at, history,
    };
  }

  /** Applies a change; 409 `resolution_required` when closing without a note. No-op fields are not recorded. */
  async update(id: number, patch: FlagPatch, actor: string): Promise<FlagView> {
    return this.store.transaction(async (tx) => {
      // Read and written in one transaction: the history's "from" is what was changed.
      const inTx = new FlagWorkflow(this.store.within(tx), this.now);
      // PostgreSQL: a second PATCH of this flag waits here (SQLite has one writer and no FOR UPDATE).
      if (this.store.engine === 'postgres') await sql`SELECT id FROM flags WHERE id = ${id} FOR UPDATE`.execute(tx);
      const before = await inTx.get(id);
      const after = {
        owner: patch.owner === undefined ? before.owner : patch.owner,
        status: patch.status ?? before.status,
        resolution: patch.resolution ?? before.resolution,
      };
      if (after.status === 'closed' && !after.resolution) throw new HttpError(409, 'resolution_required', 'a flag is closed with a resolution note');
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      for (const field of ['owner', 'status', 'resolution'] as const) {
        if (after[field] !== before[field]) changes[field] = { from: before[field], to: after[field] };
      }
      if (Object.keys(changes).length === 0) return before;
      const at = this.now().toISOString();
      const detail = JSON.stringify({ flagId: id, ...Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, v.to])) });
      await run(tx, sql`UPDATE flags SET owner = ${after.owner}, status = ${after.status}, resolution = ${after.resolution}, updated_at = ${at} WHERE id = ${id}`);
      await run(tx, sql`INSERT INTO flag_history (flag_id, at, actor, changes) VALUES (${id}, ${at}, ${actor}, ${JSON.stringify(changes)})`);
      await run(tx, sql`INSERT INTO order_events (order_id, at, actor, kind, detail) VALUES (${before.orderId}, ${at}, ${actor}, 'flag_updated', ${detail})`);
      return inTx.get(id);
    });
  }
}
