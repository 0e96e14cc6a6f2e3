// DepartmentStore over the store: admin changes survive a restart, and a second node (another
// DepartmentStore on the same database, through its own connection) sees them after refresh().
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/sql.js';
import type { Engine } from '../../src/db/store.js';
import { loadCatalog, type Catalog, type DepartmentUpdate } from '../../src/departments/catalog.js';
import { DepartmentStore } from '../../src/departments/store.js';
import { ENGINES } from '../support/engines.js';
import { openTwoNodes } from '../support/two-nodes.js';

const base: Catalog = loadCatalog();

const twoNodes = async (engine: Engine) => {
  const nodes = await openTwoNodes(engine);
  return { ...nodes, cleanup: () => nodes.close() };
};

/** The update that keeps `id` as it is in `catalog`, with other contacts and `categories`. */
function update(catalog: Catalog, id: string, contact: string, categories?: string[]): DepartmentUpdate {
  const d = catalog.departmentsById.get(id);
  if (!d) throw new Error(`${id} missing from config`);
  return { name: d.name, categories: categories ?? [...d.categories], contacts: [{ id: contact, name: '值班室', number: '05770009999', priority: 1 }], rosters: [] };
}

const firstContact = (s: DepartmentStore, id: string) => s.current().departmentsById.get(id)?.contacts[0]?.id;

describe.each(ENGINES)('DepartmentStore on %s', (engine) => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('keeps a change, its policy, platform and audit entry over a restart', async () => {
    const nodes = await twoNodes(engine);
    cleanup = nodes.cleanup;
    const one = await DepartmentStore.open(nodes.a, base);
    await one.updateDepartment('tourism', update(one.current(), 'tourism', 'duty'), { retryDelaySeconds: 30 }, 'api:admin', { url: 'https://grid.example/orders' });
    expect(firstContact(one, 'tourism')).toBe('duty');
    const again = await DepartmentStore.open(nodes.a, base);
    expect(firstContact(again, 'tourism')).toBe('duty');
    expect(again.policyOf('tourism').retryDelaySeconds).toBe(30);
    expect(again.hasOwnPolicy('tourism')).toBe(true);
    expect(again.platformOf('tourism')).toEqual({ url: 'https://grid.example/orders' });
    expect(await rows(nodes.a.db, sql<{ actor: string; action: string }>`SELECT actor, action FROM audit_log`)).toEqual([{ actor: 'api:admin', action: 'department.update' }]);
  });

  it('sees another node\'s department and directory changes after refresh, not before', async () => {
    const nodes = await twoNodes(engine);
    cleanup = nodes.cleanup;
    const a = await DepartmentStore.open(nodes.a, base);
    const b = await DepartmentStore.open(nodes.b, base);
    await a.updateDepartment('tourism', update(a.current(), 'tourism', 'night-desk'), { retryDelaySeconds: 45 }, 'api:admin', { url: 'https://grid.example/t' });
    const leader = { id: 'deputy-mayor', name: { 'zh-CN': '分管副县长', en: 'Deputy county head' }, number: '13900000001' };
    await a.setDirectory({ commandCentre: base.commandCentre, leaders: [leader] }, 'api:admin');
    expect(firstContact(b, 'tourism')).not.toBe('night-desk');
    await b.refresh();
    expect(firstContact(b, 'tourism')).toBe('night-desk');
    expect(b.policyOf('tourism').retryDelaySeconds).toBe(45);
    expect(b.platformOf('tourism')).toEqual({ url: 'https://grid.example/t' });
    expect(b.current().leaders).toEqual([leader]);
    // A second change later, the platform removed: only what is new is applied.
    await a.updateDepartment('tourism', update(a.current(), 'tourism', 'day-desk'), undefined, 'api:admin', null);
    await b.refresh();
    expect(firstContact(b, 'tourism')).toBe('day-desk');
    expect(b.hasOwnPolicy('tourism')).toBe(false);
    expect(b.platformOf('tourism')).toBeNull();
    expect(b.current().leaders).toEqual([leader]);
  });

  it('catches up on another node\'s change before writing its own, in the order they were stored', async () => {
    const nodes = await twoNodes(engine);
    cleanup = nodes.cleanup;
    const a = await DepartmentStore.open(nodes.a, base);
    const b = await DepartmentStore.open(nodes.b, base);
    await a.updateDepartment('tourism', update(a.current(), 'tourism', 'from-a'), undefined, 'api:a');
    await b.updateDepartment('education', update(b.current(), 'education', 'from-b'), undefined, 'api:b');
    expect(firstContact(b, 'tourism')).toBe('from-a'); // b read a's change while writing its own
    expect(firstContact(b, 'education')).toBe('from-b');
    await a.refresh();
    expect(firstContact(a, 'education')).toBe('from-b');
  });

  it('refuses a change that no longer fits after another node\'s, writing nothing', async () => {
    const nodes = await twoNodes(engine);
    cleanup = nodes.cleanup;
    const a = await DepartmentStore.open(nodes.a, base);
    const b = await DepartmentStore.open(nodes.b, base);
    const tourism = a.current().departmentsById.get('tourism');
    const moved = a.current().departmentsById.get('education')?.categories[0];
    if (!tourism || !moved) throw new Error('config changed: tourism or education missing');
    // a moves one of education's categories to tourism; b, not yet refreshed, rewrites tourism
    // without it: the category would be left routed to tourism yet missing from its list.
    await a.updateDepartment('tourism', update(a.current(), 'tourism', 'duty', [...tourism.categories, moved]), undefined, 'api:a');
    await expect(b.updateDepartment('tourism', update(b.current(), 'tourism', 'stale'), undefined, 'api:b')).rejects.toThrow(/omits/);
    expect(await rows(nodes.b.db, sql<{ actor: string }>`SELECT actor FROM department_changes ORDER BY id`)).toEqual([{ actor: 'api:a' }]);
    expect(await rows(nodes.b.db, sql<{ actor: string }>`SELECT actor FROM audit_log ORDER BY id`)).toEqual([{ actor: 'api:a' }]);
    expect(firstContact(b, 'tourism')).not.toBe('stale');
    await b.refresh();
    expect(b.current().categoriesById.get(moved)?.departmentId).toBe('tourism');
  });

  it('keeps its catalog when a stored change does not fit, and throws on refresh', async () => {
    const nodes = await twoNodes(engine);
    cleanup = nodes.cleanup;
    const b = await DepartmentStore.open(nodes.b, base);
    const bad = JSON.stringify({ update: { ...update(base, 'tourism', 'x'), categories: ['no-such-category'] } });
    await sql`INSERT INTO department_changes (department_id, body, actor, at) VALUES ('tourism', ${bad}, 'api:a', '2026-01-01T00:00:00.000Z')`.execute(nodes.a.db);
    const before = b.current();
    await expect(b.refresh()).rejects.toThrow(/no-such-category/);
    expect(b.current()).toBe(before);
  });
});
