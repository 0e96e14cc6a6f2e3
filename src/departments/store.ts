// The live department catalog: config/ as shipped, with the admin changes stored in SQLite
// applied over it in order (PUT /api/v1/departments/:id, PUT /api/v1/directory). Every change is
// also written to the audit log (who, what, when).
import type { Db } from '../db/database.js';
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

export class DepartmentStore {
  private catalog: Catalog;
  private readonly policies = new Map<string, Partial<DispatchPolicy>>();
  private readonly platforms = new Map<string, DepartmentPlatform>();

  constructor(
    private readonly db: Db,
    base: Catalog,
  ) {
    this.catalog = base;
    const rows = db.prepare('SELECT department_id, body FROM department_changes ORDER BY id').all() as Array<{ department_id: string; body: string }>;
    for (const row of rows) this.apply(row.department_id, JSON.parse(row.body) as StoredChange);
    const dir = db.prepare("SELECT value FROM settings WHERE key = 'directory'").pluck().get() as string | undefined;
    if (dir) this.catalog = { ...this.catalog, ...(JSON.parse(dir) as Directory) };
  }

  current(): Catalog {
    return this.catalog;
  }

  policyOf(departmentId: string): DispatchPolicy {
    return resolvePolicy(this.policies.get(departmentId));
  }

  platformOf(departmentId: string): DepartmentPlatform | null {
    return this.platforms.get(departmentId) ?? null;
  }

  hasOwnPolicy(departmentId: string): boolean {
    return this.policies.has(departmentId);
  }

  /** Applies a validated update; throws (changing nothing) if it does not fit the catalog. */
  updateDepartment(departmentId: string, update: DepartmentUpdate, policy: Partial<DispatchPolicy> | undefined, actor: string, platform?: DepartmentPlatform | null): void {
    const change: StoredChange = { update, ...(policy ? { policy } : {}), ...(platform !== undefined ? { platform } : {}) };
    const next = applyDepartmentUpdate(this.catalog, departmentId, update); // throws before any write
    this.db.transaction(() => {
      const at = new Date().toISOString();
      this.db.prepare('INSERT INTO department_changes (department_id, body, actor, at) VALUES (?, ?, ?, ?)').run(departmentId, JSON.stringify(change), actor, at);
      this.audit(actor, 'department.update', { departmentId, contacts: update.contacts.length, categories: update.categories.length, policy: policy ?? null });
    })();
    this.catalog = next;
    if (policy) this.policies.set(departmentId, policy);
    else this.policies.delete(departmentId);
    this.applyPlatform(departmentId, change.platform);
  }

  /** A change without `platform` keeps the one set before; null removes it. */
  private applyPlatform(departmentId: string, platform: DepartmentPlatform | null | undefined): void {
    if (platform === undefined) return;
    if (platform === null) this.platforms.delete(departmentId);
    else this.platforms.set(departmentId, platform);
  }

  setDirectory(directory: Directory, actor: string): void {
    this.db.transaction(() => {
      this.db
        .prepare("INSERT INTO settings (key, value, actor, at) VALUES ('directory', ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, actor = excluded.actor, at = excluded.at")
        .run(JSON.stringify(directory), actor, new Date().toISOString());
      this.audit(actor, 'directory.update', { leaders: directory.leaders.length });
      this.catalog = { ...this.catalog, commandCentre: directory.commandCentre, leaders: directory.leaders };
    })();
  }

  private apply(departmentId: string, change: StoredChange): void {
    this.catalog = applyDepartmentUpdate(this.catalog, departmentId, change.update);
    if (change.policy) this.policies.set(departmentId, change.policy);
    else this.policies.delete(departmentId);
    this.applyPlatform(departmentId, change.platform);
  }

  private audit(actor: string, action: string, detail: Record<string, unknown>): void {
    this.db.prepare('INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)').run(new Date().toISOString(), actor, action, JSON.stringify(detail));
  }
}
