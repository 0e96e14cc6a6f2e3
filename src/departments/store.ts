// The live department catalog: config/ as shipped, with the admin changes stored in the database
// applied over it in order (PUT /api/v1/departments/:id, PUT /api/v1/directory). Every change is
// also written to the audit log (who, what, when). Reads are synchronous, from memory: the dialler
// asks for contacts on every call and must not wait for the database. In a cluster another node
// may change a department; `refresh()` (the lead calls it on a timer) brings those changes in.
import { sql } from 'kysely';
import { AuditLog } from '../admin/audit.js';
import { first, rows } from '../db/sql.js';
import type { Store } from '../db/store.js';
import type { DispatchPolicy } from '../dispatch/policy.js';
import { resolvePolicy } from '../dispatch/policy.js';
import { applyDepartmentUpdate, type Catalog, type DepartmentUpdate, type Endpoint } from './catalog.js';

export interface Directory {
  readonly commandCentre: Endpoint;
  readonly leaders: readonly Endpoint[];
}

interface StoredChange {
  readonly update: DepartmentUpdate;
  readonly policy?: Partial<DispatchPolicy>;
  /** The department's own platform (网格化平台): normal orders are sent there first. */
  readonly platform?: DepartmentPlatform | null;
}

export interface DepartmentPlatform {
  /** http(s) URL that receives normal orders as a JSON POST. */
  readonly url: string;
}

interface ChangeRow {
  readonly id: number;
  readonly department_id: string;
  readonly body: string;
}

/** What is in memory; replaced whole, never edited in place, so a failed replay changes nothing. */
interface State {
  /** config/ with every change up to lastChangeId and the directory applied. */
  readonly catalog: Catalog;
  readonly policies: ReadonlyMap<string, Partial<DispatchPolicy>>;
  readonly platforms: ReadonlyMap<string, DepartmentPlatform>;
  /** The id of the last department_changes row applied (0: none). */
  readonly lastChangeId: number;
  /** The directory's stored JSON as last applied, to see whether another node changed it. */
  readonly directory: string | undefined;
}

/**
 * PostgreSQL advisory lock taken by every department write: a writer reads the changes other
 * nodes made and checks its own against them, so two nodes must not do that at the same time.
 * (SQLite lets one writer in at a time anyway.) Any number works if every node uses the same.
 */
const DEPARTMENT_WRITE_LOCK = 4_210_111;

export class DepartmentStore {
  private state: State;
  /** Refreshes and writes of this instance, one after the other (each reads state and replaces it). */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly store: Store,
    base: Catalog,
  ) {
    this.state = { catalog: base, policies: new Map(), platforms: new Map(), lastChangeId: 0, directory: undefined };
  }

  /** The catalog `base` (config/) with every stored change applied; throws if one no longer fits it. */
  static async open(store: Store, base: Catalog): Promise<DepartmentStore> {
    const departments = new DepartmentStore(store, base);
    await departments.refresh();
    return departments;
  }

  current(): Catalog {
    return this.state.catalog;
  }

  policyOf(departmentId: string): DispatchPolicy {
    return resolvePolicy(this.state.policies.get(departmentId));
  }

  platformOf(departmentId: string): DepartmentPlatform | null {
    return this.state.platforms.get(departmentId) ?? null;
  }

  hasOwnPolicy(departmentId: string): boolean {
    return this.state.policies.has(departmentId);
  }

  /**
   * Reads the changes stored since the last one applied here (by any node) and the directory.
   * If a stored change does not fit (config/ differs between nodes), it throws and keeps the
   * catalog as it was; the next refresh tries again from the same change.
   */
  refresh(): Promise<void> {
    return this.exclusive(async () => {
      const [changes, directory] = await Promise.all([this.changesAfter(this.store, this.state.lastChangeId), this.storedDirectory(this.store)]);
      this.state = withDirectory(replay(this.state, changes), directory);
    });
  }

  /** Applies a validated update; throws (changing nothing) if it does not fit the catalog. */
  updateDepartment(departmentId: string, update: DepartmentUpdate, policy: Partial<DispatchPolicy> | undefined, actor: string, platform?: DepartmentPlatform | null): Promise<void> {
    const change: StoredChange = { update, ...(policy ? { policy } : {}), ...(platform !== undefined ? { platform } : {}) };
    return this.exclusive(async () => {
      const next = await this.store.transaction(async (tx) => {
        const view = this.store.within(tx);
        if (this.store.engine === 'postgres') await sql`SELECT pg_advisory_xact_lock(${DEPARTMENT_WRITE_LOCK})`.execute(tx);
        // Another node's newer changes first: this one is checked against them (a throw here rolls back: nothing is written).
        const caughtUp = replay(this.state, await this.changesAfter(view, this.state.lastChangeId));
        applyDepartmentUpdate(caughtUp.catalog, departmentId, update);
        const body = JSON.stringify(change);
        const row = await first(tx, sql<{ id: number }>`INSERT INTO department_changes (department_id, body, actor, at) VALUES (${departmentId}, ${body}, ${actor}, ${new Date().toISOString()}) RETURNING id`);
        if (row === undefined) throw new Error('department_changes: INSERT returned no id');
        await new AuditLog(view).record(actor, 'department.update', { departmentId, contacts: update.contacts.length, categories: update.categories.length, policy: policy ?? null });
        return replay(caughtUp, [{ id: row.id, department_id: departmentId, body }]);
      });
      this.state = next; // only after the commit
    });
  }

  setDirectory(directory: Directory, actor: string): Promise<void> {
    const value = JSON.stringify(directory);
    return this.exclusive(async () => {
      await this.store.transaction(async (tx) => {
        await sql`INSERT INTO settings (key, value, actor, at) VALUES ('directory', ${value}, ${actor}, ${new Date().toISOString()})
          ON CONFLICT (key) DO UPDATE SET value = excluded.value, actor = excluded.actor, at = excluded.at`.execute(tx);
        await new AuditLog(this.store.within(tx)).record(actor, 'directory.update', { leaders: directory.leaders.length });
      });
      this.state = withDirectory(this.state, value);
    });
  }

  private exclusive(fn: () => Promise<void>): Promise<void> {
    const done = this.queue.then(fn);
    // The caller gets done's failure; the queue only keeps the order, so it must not stop on it.
    this.queue = done.then(() => undefined, () => undefined);
    return done;
  }

  private changesAfter(store: Store, id: number): Promise<ChangeRow[]> {
    return rows(store.db, sql<ChangeRow>`SELECT id, department_id, body FROM department_changes WHERE id > ${id} ORDER BY id`);
  }

  private async storedDirectory(store: Store): Promise<string | undefined> {
    return (await first(store.db, sql<{ value: string }>`SELECT value FROM settings WHERE key = 'directory'`))?.value;
  }
}

/** `state` with `changes` applied in order; throws (state untouched) if one does not fit. */
function replay(state: State, changes: readonly ChangeRow[]): State {
  if (changes.length === 0) return state;
  let catalog = state.catalog;
  const policies = new Map(state.policies);
  const platforms = new Map(state.platforms);
  for (const row of changes) {
    const change = JSON.parse(row.body) as StoredChange;
    catalog = applyDepartmentUpdate(catalog, row.department_id, change.update);
    if (change.policy) policies.set(row.department_id, change.policy);
    else policies.delete(row.department_id);
    // A change without `platform` keeps the one set before; null removes it.
    if (change.platform === null) platforms.delete(row.department_id);
    else if (change.platform !== undefined) platforms.set(row.department_id, change.platform);
  }
  return { ...state, catalog, policies, platforms, lastChangeId: changes[changes.length - 1]?.id ?? state.lastChangeId };
}

/** The directory (command centre, leaders) as stored; none stored keeps config/'s. */
function withDirectory(state: State, value: string | undefined): State {
  if (value === undefined || value === state.directory) return state;
  const dir = JSON.parse(value) as Directory;
  return { ...state, catalog: { ...state.catalog, commandCentre: dir.commandCentre, leaders: dir.leaders }, directory: value };
}
