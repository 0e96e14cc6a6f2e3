// The admin audit log (table audit_log, migration 1): who changed or tried what, and when.
// Department and directory changes are written by DepartmentStore; the telecom admin actions
// (dialplan reload, test calls, policy dry-runs) by AuditLog.record. Details never hold a
// password or a phone number in clear.
import os from 'node:os';
import type { Db } from '../db/database.js';

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
  constructor(private readonly db: Db) {}

  record(actor: string, action: string, detail: Readonly<Record<string, unknown>>): AuditEntry {
    const at = new Date().toISOString();
    const info = this.db.prepare('INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)').run(at, actor, action, JSON.stringify(detail));
    return { id: Number(info.lastInsertRowid), at, actor, action, detail };
  }

  /** Newest first. */
  list(query: AuditQuery = {}): { entries: AuditEntry[]; nextBefore: number | null } {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (query.action !== undefined) {
      if (query.action.endsWith('.*')) {
        where.push('action LIKE ? ESCAPE \'\\\'');
        args.push(`${query.action.slice(0, -1).replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      } else {
        where.push('action = ?');
        args.push(query.action);
      }
    }
    if (query.actor !== undefined) {
      where.push('actor = ?');
      args.push(query.actor);
    }
    if (query.since !== undefined) {
      where.push('at >= ?');
      args.push(new Date(query.since).toISOString());
    }
    if (query.before !== undefined) {
      where.push('id < ?');
      args.push(query.before);
    }
    const limit = Math.min(500, Math.max(1, query.limit ?? 100));
    const sql = `SELECT id, at, actor, action, detail FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, limit + 1) as Array<{ id: number; at: string; actor: string; action: string; detail: string }>;
    const page = rows.slice(0, limit).map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
    return { entries: page, nextBefore: rows.length > limit ? (page[page.length - 1]?.id ?? null) : null };
  }
}
