// The admin audit log (table audit_log, migration 1): who changed or tried what, and when.
// Department and directory changes are written by DepartmentStore; the telecom admin actions
// (dialplan reload, test calls, policy dry-runs) by AuditLog.record. Details never hold a
// password or a phone number in clear.
import os from 'node:os';
import { sql, type RawBuilder } from 'kysely';
import { first, rows } from '../db/sql.js';
import type { Store } from '../db/store.js';

export interface AuditEntry {
  readonly id: number;
  /** ISO 8601, UTC. */
  readonly at: string;
  /** `api:<role>` (HTTP API) or `cli:<system user>` (the liandong command on the server). */
  readonly actor: string;
  /** e.g. dialplan.reload, dialplan.reload_refused, test_call, policy.dry_run, department.update. */
  readonly action: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface AuditQuery {
  /** Only entries with this action, or whose action starts with `<prefix>.` when it ends with '.*'. */
  readonly action?: string;
  readonly actor?: string;
  /** ISO time: entries at or after it. */
  readonly since?: string;
  /** Entries with an id below this one (the next page). */
  readonly before?: number;
  /** 1–500, default 100. */
  readonly limit?: number;
}

/** The actor name of the command line: the system user running it (`sudo` keeps root's name). */
export function cliActor(): string {
  try {
    return `cli:${os.userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}

export class AuditLog {
  constructor(private readonly store: Store) {}

  /** Written in its own transaction (a fenced cluster node checks its epoch there). */
  async record(actor: string, action: string, detail: Readonly<Record<string, unknown>>): Promise<AuditEntry> {
    const at = new Date().toISOString();
    const row = await this.store.transaction((tx) =>
      first(tx, sql<{ id: number }>`INSERT INTO audit_log (at, actor, action, detail) VALUES (${at}, ${actor}, ${action}, ${JSON.stringify(detail)}) RETURNING id`),
    );
    if (row === undefined) throw new Error('audit_log: INSERT returned no id');
    return { id: row.id, at, actor, action, detail };
  }

  /** Newest first. */
  async list(query: AuditQuery = {}): Promise<{ entries: AuditEntry[]; nextBefore: number | null }> {
    const where: RawBuilder<unknown>[] = [];
    if (query.action !== undefined) {
      if (query.action.endsWith('.*')) {
        // Action names are lower case (the route's pattern), so LIKE's case rules do not differ between engines.
        const prefix = `${query.action.slice(0, -1).replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        where.push(sql`action LIKE ${prefix} ESCAPE '\\'`);
      } else where.push(sql`action = ${query.action}`);
    }
    if (query.actor !== undefined) where.push(sql`actor = ${query.actor}`);
    if (query.since !== undefined) where.push(sql`at >= ${new Date(query.since).toISOString()}`);
    if (query.before !== undefined) where.push(sql`id < ${query.before}`);
    const limit = Math.min(500, Math.max(1, query.limit ?? 100));
    const filter = where.length > 0 ? sql`WHERE ${sql.join(where, sql` AND `)}` : sql``;
    const found = await rows(this.store.db, sql<{ id: number; at: string; actor: string; action: string; detail: string }>`
      SELECT id, at, actor, action, detail FROM audit_log ${filter} ORDER BY id DESC LIMIT ${limit + 1}`);
    const page = found.slice(0, limit).map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
    return { entries: page, nextBefore: found.length > limit ? (page[page.length - 1]?.id ?? null) : null };
  }
}
