// The member departments of the 110 social-linkage network and the incident categories routed to
// them: config/departments.json and config/categories.json, read and checked once at boot so a typo
// stops the service before the first dispatch rather than during one.
//
// config/departments.json  { commandCentre: { id, name, number }, leaders: [{ id, name, number }],
//                            departments: [{ id, name, dutyClass, source, duties, categories, contacts, rosters? }] }
// config/categories.json   { categories: [{ id, name, departmentId, major?, informant? }] }
//
// Routing: categories.json is authoritative (each category names exactly one departmentId). A
// department's `categories` list is a cross-check and must name exactly the categories routed to
// it — a category listed on the wrong department, or missing from its department, is an error
// that names both files. Names are given in every language of LANGUAGES (zh-CN, en).
import fs from 'node:fs';
import path from 'node:path';
import {
  checkKeys, contacts, id, idList, isObj, localized, localizedList, object, phoneNumber, rosters, show, sub, text,
  type Obj, type Report,
} from './fields.js';
import { DUTY_CLASSES, type Catalog, type Category, type Department, type DutyClass, type Endpoint } from './types.js';

export type { Catalog, Category, Contact, Department, DutyClass, Endpoint, LocalizedList, LocalizedText, RosterEntry, Weekday } from './types.js';
export { DUTY_CLASSES } from './types.js';
export { contactsOnDuty, localWeekTime, rosterCovers } from './roster.js';

export class CatalogError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid department catalog:\n  - ${problems.join('\n  - ')}`);
    this.name = 'CatalogError';
  }
}

export const DEPARTMENTS_FILE = 'departments.json';
export const CATEGORIES_FILE = 'categories.json';

/** Where the two documents came from; only used to name them in messages. */
export interface CatalogSource {
  readonly dir: string;
  readonly departmentsFile: string;
  readonly categoriesFile: string;
}

/** Read and check `<dir>/departments.json` and `<dir>/categories.json`; throws a CatalogError listing every problem. */
export function loadCatalog(dir = 'config'): Catalog {
  const source: CatalogSource = { dir, departmentsFile: path.join(dir, DEPARTMENTS_FILE), categoriesFile: path.join(dir, CATEGORIES_FILE) };
  const problems: string[] = [];
  const departmentsJson = readJson(source.departmentsFile, problems);
  const categoriesJson = readJson(source.categoriesFile, problems);
  if (problems.length > 0) throw new CatalogError(problems);
  return buildCatalog(departmentsJson, categoriesJson, source);
}

/** Pure: check already-parsed documents and return the frozen catalog; throws a CatalogError. */
export function buildCatalog(
  departmentsJson: unknown,
  categoriesJson: unknown,
  source: CatalogSource = { dir: 'config', departmentsFile: path.join('config', DEPARTMENTS_FILE), categoriesFile: path.join('config', CATEGORIES_FILE) },
): Catalog {
  const problems: string[] = [];
  const reporter = (file: string, item?: string): Report => (field, message) => {
    problems.push([file, item, field, message].filter(Boolean).join(': '));
  };
  const deptFile = source.departmentsFile;
  const catFile = source.categoriesFile;

  // --- departments.json
  let commandCentre: Endpoint | undefined;
  const leaders: Endpoint[] = [];
  const departments: Department[] = [];
  const deptDrafts: Array<{ id: string; categories: string[] | undefined; label: string }> = [];
  const top = object(departmentsJson, '', reporter(deptFile, 'the document'));
  if (top) {
    const r = reporter(deptFile);
    checkKeys(top, '', ['commandCentre', 'leaders', 'departments'], ['commandCentre', 'leaders', 'departments'], r);
    if (top.commandCentre !== undefined) commandCentre = endpoint(top.commandCentre, reporter(deptFile, 'commandCentre'));
    if (top.leaders !== undefined) {
      if (!Array.isArray(top.leaders) || top.leaders.length === 0) {
        r('leaders', `must be a non-empty list of { id, name, number } (the county leadership notified of major incidents), got ${show(top.leaders)}`);
      } else {
        const seen = new Map<string, number>();
        top.leaders.forEach((raw: unknown, i) => {
          const label = itemLabel('leader', 'leaders', i, raw);
          const e = endpoint(raw, reporter(deptFile, label));
          const leaderId = isObj(raw) && typeof raw.id === 'string' ? raw.id : undefined;
          if (leaderId !== undefined) {
            const first = seen.get(leaderId);
            if (first !== undefined) reporter(deptFile, label)('id', `"${leaderId}" is already used by leaders[${first}]`);
            else seen.set(leaderId, i);
          }
          if (e) leaders.push(e);
        });
      }
    }
    if (top.departments !== undefined) {
      if (!Array.isArray(top.departments) || top.departments.length === 0) {
        r('departments', `must be a non-empty list of departments, got ${show(top.departments)}`);
      } else {
        const seen = new Map<string, number>();
        top.departments.forEach((raw: unknown, i) => {
          const label = itemLabel('department', 'departments', i, raw);
          const rd = reporter(deptFile, label);
          const draft = parseDepartment(raw, rd);
          if (draft.id !== undefined) {
            const first = seen.get(draft.id);
            if (first !== undefined) rd('id', `"${draft.id}" is already used by departments[${first}]; department ids must be unique`);
            else {
              seen.set(draft.id, i);
              deptDrafts.push({ id: draft.id, categories: draft.categories, label });
            }
          }
          if (draft.value) departments.push(draft.value);
        });
      }
    }
  }

  // --- categories.json
  const categories: Category[] = [];
  const catTop = object(categoriesJson, '', reporter(catFile, 'the document'));
  if (catTop) {
    const r = reporter(catFile);
    checkKeys(catTop, '', ['categories'], ['categories'], r);
    const list = catTop.categories;
    if (list !== undefined && (!Array.isArray(list) || list.length === 0)) {
      r('categories', `must be a non-empty list of { id, name, departmentId, major? }, got ${show(list)}`);
    } else if (Array.isArray(list)) {
      const seen = new Map<string, number>();
      const deptIds = new Set(deptDrafts.map((d) => d.id));
      list.forEach((raw: unknown, i) => {
        const label = itemLabel('category', 'categories', i, raw);
        const rc = reporter(catFile, label);
        const c = parseCategory(raw, rc);
        if (c.id !== undefined) {
          const first = seen.get(c.id);
          if (first !== undefined) rc('id', `"${c.id}" is already used by categories[${first}]; category ids must be unique`);
          else seen.set(c.id, i);
        }
        if (c.departmentId !== undefined && top && !deptIds.has(c.departmentId)) {
          rc('departmentId', `"${c.departmentId}" is not a department in ${deptFile}`);
        }
        if (c.value) categories.push(c.value);
      });
    }
  }

  // --- routing cross-check: categories.json decides, each department's list must agree.
  if (top && catTop) {
    const routedTo = new Map(categories.map((c) => [c.id, c.departmentId]));
    for (const d of deptDrafts) {
      const rd = reporter(deptFile, d.label);
      for (const cid of d.categories ?? []) {
        const owner = routedTo.get(cid);
        if (owner === undefined) rd('categories', `lists "${cid}", which is not a category in ${catFile}`);
        else if (owner !== d.id) rd('categories', `lists "${cid}", but ${catFile} routes it to "${owner}" (${catFile} decides routing: remove it here or change its departmentId there)`);
      }
      if (d.categories) {
        const missing = categories.filter((c) => c.departmentId === d.id && !d.categories?.includes(c.id)).map((c) => c.id);
        if (missing.length > 0) rd('categories', `omits ${missing.map((m) => `"${m}"`).join(', ')}, which ${catFile} routes to this department`);
      }
    }
  }

  if (problems.length > 0 || !commandCentre) {
    throw new CatalogError(problems.length > 0 ? problems : [`${deptFile}: commandCentre is required`]);
  }
  return freezeCatalog(source.dir, commandCentre, leaders, departments, categories);
}

/** The department a category is routed to, or undefined for an unknown category. */
export function routeCategory(catalog: Catalog, categoryId: string): Department | undefined {
  const category = catalog.categoriesById.get(categoryId);
  return category ? catalog.departmentsById.get(category.departmentId) : undefined;
}

// ---------------------------------------------------------------------------------------------
// PUT /api/v1/departments/:id

/**
 * The editable part of a department: body of PUT /api/v1/departments/:id. `categories` is every
 * category routed to it after the update (may be empty); `rosters` omitted in the body is none.
 */
export type DepartmentUpdate = Pick<Department, 'name' | 'categories' | 'contacts' | 'rosters'>;

/** A category that the update moves to this department from another one. */
export interface CategoryReassignment {
  readonly categoryId: string;
  readonly from: string;
}

export type DepartmentUpdateResult =
  | { readonly ok: true; readonly value: DepartmentUpdate; readonly reassigned: readonly CategoryReassignment[] }
  | { readonly ok: false; readonly problems: readonly string[] };

const UPDATE_FIELDS = ['name', 'categories', 'contacts', 'rosters'] as const;

/**
 * Check a PUT /api/v1/departments/:id body `{ name, categories, contacts, rosters? }` against the
 * catalog. Every problem is reported, each starting with the field it concerns (e.g.
 * `contacts[1].number: must be 3 to 20 ASCII digits ...`). Unknown fields are refused.
 *
 * With `departmentId` (the :id of the route) the categories are also checked against the routing:
 * a category now routed to another department moves to this one (listed in `reassigned`); leaving
 * out a category now routed to this department is refused, because it would be routed nowhere —
 * list it on the department that should take it instead.
 */
export function validateDepartmentUpdate(body: unknown, catalog: Catalog, departmentId?: string): DepartmentUpdateResult {
  const problems: string[] = [];
  const report: Report = (field, message) => problems.push(field ? `${field}: ${message}` : message);
  if (departmentId !== undefined && !catalog.departmentsById.has(departmentId)) report('', `department "${departmentId}" does not exist`);
  if (!isObj(body)) {
    report('', `the body must be a JSON object { ${UPDATE_FIELDS.join(', ')} }, got ${show(body)}`);
    return { ok: false, problems };
  }
  checkKeys(body, '', UPDATE_FIELDS, ['name', 'categories', 'contacts'], report);
  const name = localized(body.name, 'name', report);
  const categories = idList(body.categories, 'categories', report);
  const contactList = contacts(body.contacts, 'contacts', report);
  const contactIds = Array.isArray(body.contacts)
    ? new Set(body.contacts.flatMap((c: unknown) => (isObj(c) && typeof c.id === 'string' ? [c.id] : [])))
    : undefined;
  const rosterList = rosters(body.rosters, 'rosters', contactIds, report);

  const reassigned: CategoryReassignment[] = [];
  if (categories) {
    categories.forEach((cid, i) => {
      const category = catalog.categoriesById.get(cid);
      if (!category) report(sub('categories', i), `"${cid}" is not a category`);
      else if (departmentId !== undefined && category.departmentId !== departmentId) reassigned.push({ categoryId: cid, from: category.departmentId });
    });
    if (departmentId !== undefined) {
      const dropped = catalog.categories.filter((c) => c.departmentId === departmentId && !categories.includes(c.id)).map((c) => c.id);
      if (dropped.length > 0) {
        report('categories', `omits ${dropped.map((d) => `"${d}"`).join(', ')}, now routed to this department; a category cannot be left without a department — add it to another department's categories instead`);
      }
    }
  }
  if (problems.length > 0 || !name || !categories || !contactList || !rosterList) return { ok: false, problems };
  return { ok: true, value: { name, categories, contacts: contactList, rosters: rosterList }, reassigned };
}

/**
 * A new catalog with the department updated and the categories it now lists routed to it (taken
 * from their previous departments). The update is checked again; throws a CatalogError when it
 * does not fit the catalog.
 */
export function applyDepartmentUpdate(catalog: Catalog, departmentId: string, update: DepartmentUpdate): Catalog {
  const result = validateDepartmentUpdate(update, catalog, departmentId);
  if (!result.ok) throw new CatalogError(result.problems.map((p) => `department "${departmentId}": ${p}`));
  const value = result.value;
  const moved = new Set(value.categories);
  const departments = catalog.departments.map((d): Department =>
    d.id === departmentId
      ? { ...d, name: value.name, categories: [...value.categories], contacts: value.contacts, rosters: value.rosters }
      : { ...d, categories: d.categories.filter((c) => !moved.has(c)) },
  );
  const categories = catalog.categories.map((c): Category => (moved.has(c.id) ? { ...c, departmentId } : c));
  return freezeCatalog(catalog.dir, catalog.commandCentre, catalog.leaders, departments, categories);
}

// ---------------------------------------------------------------------------------------------

function readJson(file: string, problems: string[]): unknown {
  let raw: string;
  try {
    raw = new TextDecoder('utf-8', { fatal: true }).decode(fs.readFileSync(file));
  } catch (err) {
    problems.push(`${file}: cannot read as UTF-8 (${(err as Error).message})`);
    return undefined;
  }
  try {
    return JSON.parse(raw.replace(/^\uFEFF/, '')) as unknown;
  } catch (err) {
    problems.push(`${file}: not valid JSON (${(err as Error).message})`);
    return undefined;
  }
}

/** `department "water-supply"` when the item has a usable id, else `departments[3]`. */
function itemLabel(kind: string, list: string, index: number, raw: unknown): string {
  const rawId = isObj(raw) ? raw.id : undefined;
  return typeof rawId === 'string' && rawId !== '' && rawId.length <= 64 ? `${kind} ${JSON.stringify(rawId)}` : `${list}[${index}]`;
}

function endpoint(raw: unknown, report: Report): Endpoint | undefined {
  const o = object(raw, '', report);
  if (!o) return undefined;
  let bad = false;
  const r: Report = (f, m) => {
    bad = true;
    report(f, m);
  };
  checkKeys(o, '', ['id', 'name', 'number'], ['id', 'name', 'number'], r);
  const e = { id: id(o.id, 'id', r), name: localized(o.name, 'name', r), number: phoneNumber(o.number, 'number', r) };
  return bad ? undefined : (e as Endpoint);
}

const DEPARTMENT_FIELDS = ['id', 'name', 'dutyClass', 'source', 'duties', 'categories', 'contacts', 'rosters'] as const;

function parseDepartment(raw: unknown, report: Report): { id?: string; categories?: string[]; value?: Department } {
  const o: Obj | undefined = object(raw, '', report);
  if (!o) return {};
  let bad = false;
  const r: Report = (f, m) => {
    bad = true;
    report(f, m);
  };
  checkKeys(o, '', DEPARTMENT_FIELDS, DEPARTMENT_FIELDS.filter((f) => f !== 'rosters'), r);
  const deptId = id(o.id, 'id', r);
  const name = localized(o.name, 'name', r);
  let dutyClass: DutyClass | undefined;
  if (o.dutyClass !== undefined) {
    if ((DUTY_CLASSES as readonly unknown[]).includes(o.dutyClass)) dutyClass = o.dutyClass as DutyClass;
    else r('dutyClass', `must be one of ${DUTY_CLASSES.join(', ')}, got ${show(o.dutyClass)}`);
  }
  const src = text(o.source, 'source', r, 500);
  const duties = localizedList(o.duties, 'duties', r);
  const categories = idList(o.categories, 'categories', r);
  const contactList = contacts(o.contacts, 'contacts', r);
  const contactIds = Array.isArray(o.contacts)
    ? new Set(o.contacts.flatMap((c: unknown) => (isObj(c) && typeof c.id === 'string' ? [c.id] : [])))
    : undefined;
  const rosterList = rosters(o.rosters, 'rosters', contactIds, r);
  const out: { id?: string; categories?: string[]; value?: Department } = {};
  if (deptId !== undefined) out.id = deptId;
  if (categories) out.categories = categories;
  if (!bad && deptId && name && dutyClass && src && duties && categories && contactList && rosterList) {
    out.value = { id: deptId, name, dutyClass, source: src, duties, categories, contacts: contactList, rosters: rosterList };
  }
  return out;
}

function parseCategory(raw: unknown, report: Report): { id?: string; departmentId?: string; value?: Category } {
  const o = object(raw, '', report);
  if (!o) return {};
  let bad = false;
  const r: Report = (f, m) => {
    bad = true;
    report(f, m);
  };
  checkKeys(o, '', ['id', 'name', 'departmentId', 'major', 'informant', 'source'], ['id', 'name', 'departmentId'], r);
  const catId = id(o.id, 'id', r);
  const name = localized(o.name, 'name', r);
  const departmentId = id(o.departmentId, 'departmentId', r);
  if (o.major !== undefined && typeof o.major !== 'boolean') r('major', `must be true or false, got ${show(o.major)}`);
  if (o.informant !== undefined && typeof o.informant !== 'boolean') r('informant', `must be true or false, got ${show(o.informant)}`);
  const out: { id?: string; departmentId?: string; value?: Category } = {};
  if (catId !== undefined) out.id = catId;
  if (departmentId !== undefined) out.departmentId = departmentId;
  const source = o.source === undefined ? undefined : text(o.source, 'source', r, 500);
  if (!bad && catId && name && departmentId) out.value = { id: catId, name, departmentId, major: o.major === true, informant: o.informant === true, ...(source ? { source } : {}) };
  return out;
}

function freezeCatalog(dir: string, commandCentre: Endpoint, leaders: readonly Endpoint[], departments: readonly Department[], categories: readonly Category[]): Catalog {
  const d = deepFreeze(departments.map((x) => ({ ...x })));
  const c = deepFreeze(categories.map((x) => ({ ...x })));
  return Object.freeze({
    dir,
    commandCentre: deepFreeze({ ...commandCentre }),
    leaders: deepFreeze(leaders.map((x) => ({ ...x }))),
    departments: d,
    categories: c,
    departmentsById: new Map(d.map((x) => [x.id, x])),
    categoriesById: new Map(c.map((x) => [x.id, x])),
  });
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
