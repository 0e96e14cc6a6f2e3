import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isDialableNumber } from '../../src/config.js';
import {
  applyDepartmentUpdate, buildCatalog, CatalogError, contactsOnDuty, loadCatalog, routeCategory, rosterCovers, validateDepartmentUpdate,
  type Catalog, type Contact, type RosterEntry,
} from '../../src/departments/catalog.js';

const TZ = 'Asia/Shanghai';
const tmpDirs: string[] = [];
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A small valid pair of documents; tests break copies of it. */
function fixture() {
  const contacts = (n: string) => [
    { id: 'duty-room', name: '值班室', number: `05770000${n}1`, priority: 1 },
    { id: 'backup', name: '备班', number: `05770000${n}2`, priority: 2 },
  ];
  const dept = (id: string, zh: string, en: string, categories: string[], n: string) => ({
    id,
    name: { 'zh-CN': zh, en },
    dutyClass: 'rescue_24h',
    source: 'test fixture',
    duties: { 'zh-CN': ['职责'], en: ['duty'] },
    categories,
    contacts: contacts(n),
  });
  return {
    departments: {
      commandCentre: { id: 'command-centre', name: { 'zh-CN': '110指挥中心', en: '110 Command Centre' }, number: '110' },
      leaders: [{ id: 'deputy-head', name: { 'zh-CN': '副县长', en: 'Deputy county head' }, number: '05779999001' }],
      departments: [
        dept('water-supply', '自来水厂', 'Waterworks', ['water-main-burst'], '1'),
        dept('power-supply', '供电公司', 'Power company', ['power-outage'], '2'),
      ] as Array<Record<string, unknown>>,
    },
    categories: {
      categories: [
        { id: 'water-main-burst', name: { 'zh-CN': '水管爆裂', en: 'Burst water main' }, departmentId: 'water-supply' },
        { id: 'power-outage', name: { 'zh-CN': '停电', en: 'Power cut' }, departmentId: 'power-supply', major: false },
      ] as Array<Record<string, unknown>>,
    },
  };
}

function writeFixture(docs: { departments: unknown; categories: unknown } | { departmentsText: string; categoriesText: string }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-departments-'));
  tmpDirs.push(dir);
  const [d, c] = 'departmentsText' in docs ? [docs.departmentsText, docs.categoriesText] : [JSON.stringify(docs.departments), JSON.stringify(docs.categories)];
  fs.writeFileSync(path.join(dir, 'departments.json'), d);
  fs.writeFileSync(path.join(dir, 'categories.json'), c);
  return dir;
}

function loadProblems(dir: string): string[] {
  try {
    loadCatalog(dir);
  } catch (err) {
    if (err instanceof CatalogError) return err.problems;
    throw err;
  }
  return [];
}

describe('shipped catalog (config/)', () => {
  const catalog = loadCatalog('config');

  it('has the member departments of both source documents', () => {
    expect(catalog.departments.length).toBeGreaterThanOrEqual(22);
    // Li County 2017 Annex 2 (item 21 is split into the three operators) plus Yongjia's gas company.
    const liUnits = ['public-security', 'tourism', 'education', 'civil-affairs', 'human-resources', 'environment-forestry', 'housing-construction',
      'transport', 'agriculture-water', 'culture-media', 'health', 'land-resources', 'work-safety', 'market-supervision', 'urban-management',
      'price-bureau', 'meteorology', 'tobacco-monopoly', 'power-supply', 'agricultural-bank', 'china-telecom', 'china-mobile', 'china-unicom', 'tv-station'];
    for (const id of [...liUnits, 'water-supply', 'gas-supply']) expect(catalog.departmentsById.has(id), id).toBe(true);
  });

  it('routes every category to exactly one department that lists it', () => {
    expect(catalog.categories.length).toBeGreaterThanOrEqual(40);
    expect(catalog.categories.length).toBeLessThanOrEqual(90);
    for (const c of catalog.categories) {
      const d = routeCategory(catalog, c.id);
      expect(d?.id, c.id).toBe(c.departmentId);
      expect(d?.categories).toContain(c.id);
      expect(catalog.departments.filter((x) => x.categories.includes(c.id))).toHaveLength(1);
    }
    expect(routeCategory(catalog, 'no-such-category')).toBeUndefined();
  });

  it('routes the examples the source documents name', () => {
    const routes: Record<string, string> = {
      'water-main-burst': 'water-supply',
      'elevator-entrapment': 'market-supervision',
      'labour-wage-dispute': 'human-resources',
      'construction-wage-dispute': 'housing-construction',
      'stray-beggar': 'civil-affairs',
      'unidentified-body': 'civil-affairs',
      pollution: 'environment-forestry',
      'power-outage': 'power-supply',
      'gas-leak': 'gas-supply',
      'manhole-cover': 'urban-management',
      'dead-animal': 'agriculture-water',
    };
    for (const [category, department] of Object.entries(routes)) expect(routeCategory(catalog, category)?.id, category).toBe(department);
  });

  it('has the duties the seeds name that were missing, each with the document it comes from; 重大食物中毒 is major', () => {
    const added: Record<string, [string, RegExp]> = {
      'checkpoint-interception': ['transport', /Li County 2017.*交通运输局 duty 3.*Yongjia County 2009.*\(十\)/],
      'water-accident-rescue': ['transport', /Yongjia County 2009.*\(十\) 县交通局/],
      'waterway-blockage': ['transport', /Yongjia County 2009.*\(十\) 县交通局/],
      'emergency-relocation': ['civil-affairs', /Yongjia County 2009.*\(五\) 县民政局/],
      'mass-unexplained-illness': ['health', /Li County 2017.*卫计局 duty 3/],
      'major-food-poisoning': ['health', /Yongjia County 2009.*\(十二\)/],
      'work-injury-dispute': ['human-resources', /Li County 2017.*人社局 duty 2/],
      'farm-input-quality': ['agriculture-water', /Li County 2017.*农牧水务局 duty 1/],
      'animal-epidemic': ['agriculture-water', /Li County 2017.*农牧水务局 duty 1/],
      'water-resource-dispute': ['agriculture-water', /Li County 2017.*农牧水务局 duty 5/],
      'river-violation': ['agriculture-water', /Li County 2017.*农牧水务局 duty 6/],
      'forest-pests': ['environment-forestry', /Li County 2017.*环林局 duty 4/],
    };
    for (const [id, [department, source]] of Object.entries(added)) {
      const c = catalog.categoriesById.get(id);
      expect(routeCategory(catalog, id)?.id, id).toBe(department);
      expect(c?.source, id).toMatch(source);
      expect(c?.name['zh-CN'] && c.name.en, id).toBeTruthy();
    }
    expect(catalog.categoriesById.get('major-food-poisoning')?.major).toBe(true);
    expect(catalog.categoriesById.get('mass-unexplained-illness')?.major).toBe(true);
    expect(catalog.categoriesById.get('food-poisoning')?.major).toBe(false);
  });

  it('refuses a category source that is not text', () => {
    const f = fixture();
    (f.categories.categories[0] as { source: unknown }).source = 5;
    const problems = loadProblems(writeFixture(f));
    expect(problems[0]).toContain('source');
  });

  it('classes the emergency units named by Li County as 24-hour rescue units', () => {
    const rescue = catalog.departments.filter((d) => d.dutyClass === 'rescue_24h').map((d) => d.id).sort();
    expect(rescue).toEqual(['china-mobile', 'china-telecom', 'china-unicom', 'gas-supply', 'health', 'power-supply', 'public-security', 'tv-station', 'urban-management', 'water-supply']);
    for (const id of ['civil-affairs', 'market-supervision', 'environment-forestry', 'tourism']) expect(catalog.departmentsById.get(id)?.dutyClass).toBe('phone_duty');
  });

  it('has three dialable placeholder contacts per department, names and duties in both languages', () => {
    for (const d of catalog.departments) {
      expect(d.contacts.map((c) => [c.id, c.priority])).toEqual([['duty-room', 1], ['backup', 2], ['leader', 3]]);
      for (const c of d.contacts) expect(isDialableNumber(c.number), `${d.id}/${c.id}`).toBe(true);
      expect(d.name['zh-CN'] && d.name.en).toBeTruthy();
      expect(d.duties['zh-CN'].length).toBe(d.duties.en.length);
      expect(d.source).toMatch(/Li County 2017|Yongjia County 2009/);
    }
    expect(isDialableNumber(catalog.commandCentre.number)).toBe(true);
    expect(catalog.leaders.length).toBeGreaterThan(0);
    for (const l of catalog.leaders) expect(isDialableNumber(l.number)).toBe(true);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(catalog)).toBe(true);
    expect(Object.isFrozen(catalog.departments[0]?.contacts[0])).toBe(true);
    expect(Object.isFrozen(catalog.categories)).toBe(true);
  });
});

describe('loadCatalog with broken files', () => {
  it('accepts the valid fixture', () => {
    const c = loadCatalog(writeFixture(fixture()));
    expect(c.departments.map((d) => d.id)).toEqual(['water-supply', 'power-supply']);
    expect(c.categoriesById.get('power-outage')?.major).toBe(false);
    expect(c.departmentsById.get('water-supply')?.rosters).toEqual([]);
  });

  it('reports duplicate ids, dangling categories and bad numbers, naming file, item and problem', () => {
    const f = fixture();
    const water = f.departments.departments[0] as { contacts: Array<Record<string, unknown>> };
    water.contacts[0] = { ...water.contacts[0], number: '0577&1234567' };
    water.contacts[1] = { ...water.contacts[1], number: '０５７７１２３４５６７' };
    f.departments.departments.push({ ...f.departments.departments[1], categories: [] }); // second power-supply
    f.departments.departments.push({ ...f.departments.departments[1], id: 'gas-supply', categories: ['gas-leak'] }); // gas-leak does not exist
    f.categories.categories.push({ id: 'elevator-entrapment', name: { 'zh-CN': '电梯困人', en: 'Lift' }, departmentId: 'market-supervision' });
    f.categories.categories.push({ id: 'power-outage', name: { 'zh-CN': '停电', en: 'Power cut' }, departmentId: 'power-supply' });
    const dir = writeFixture(f);
    const problems = loadProblems(dir);
    const deps = path.join(dir, 'departments.json');
    const cats = path.join(dir, 'categories.json');
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(new RegExp(`^${escape(deps)}: department "water-supply": contacts\\[0\\]\\.number: must be 3 to 20 ASCII digits .*"0577&1234567"`)),
      expect.stringMatching(new RegExp(`^${escape(deps)}: department "water-supply": contacts\\[1\\]\\.number: .*full-width`)),
      `${deps}: department "power-supply": id: "power-supply" is already used by departments[1]; department ids must be unique`,
      `${deps}: department "gas-supply": categories: lists "gas-leak", which is not a category in ${cats}`,
      `${cats}: category "elevator-entrapment": departmentId: "market-supervision" is not a department in ${deps}`,
      `${cats}: category "power-outage": id: "power-outage" is already used by categories[1]; category ids must be unique`,
    ]));
    expect(problems).toHaveLength(6);
  });

  it('reports categories listed on the wrong department or missing from theirs', () => {
    const f = fixture();
    (f.departments.departments[0] as { categories: string[] }).categories = ['water-main-burst', 'power-outage'];
    (f.departments.departments[1] as { categories: string[] }).categories = [];
    const dir = writeFixture(f);
    const problems = loadProblems(dir);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain('department "water-supply": categories: lists "power-outage", but');
    expect(problems[0]).toContain('routes it to "power-supply"');
    expect(problems[1]).toContain('department "power-supply": categories: omits "power-outage"');
  });

  it('checks names, duty class, priorities, contact ids, rosters and unknown fields', () => {
    const f = fixture();
    const water = f.departments.departments[0] as Record<string, unknown> & { contacts: Array<Record<string, unknown>> };
    water.name = { 'zh-CN': '自来水厂' };
    water.dutyClass = 'sometimes';
    water.colour = 'blue';
    water.contacts[1] = { ...water.contacts[1], id: 'duty-room', priority: 0 };
    water.rosters = [{ contactId: 'nobody', weekdays: [0, 8], from: '8:00', to: '24:00' }];
    f.categories.categories[0] = { ...f.categories.categories[0], major: 'yes' };
    const problems = loadProblems(writeFixture(f));
    const item = (s: string) => problems.find((p) => p.includes(s));
    expect(item('name.en: is required')).toContain('department "water-supply"');
    expect(item('dutyClass: must be one of rescue_24h, phone_duty')).toBeDefined();
    expect(item('colour: unknown field')).toBeDefined();
    expect(item('contacts[1].priority: must be a positive integer')).toBeDefined();
    expect(item('contacts[1].id: "duty-room" is already used by contacts[0]')).toBeDefined();
    expect(item('rosters[0].contactId: "nobody" is not one of the department\'s contacts')).toBeDefined();
    expect(item('rosters[0].weekdays: must be a non-empty list of distinct weekdays 1-7')).toBeDefined();
    expect(item('rosters[0].from: must be a 24-hour time "HH:MM"')).toBeDefined();
    expect(item('category "water-main-burst": major: must be true or false')).toBeDefined();
    expect(problems.some((p) => p.includes('rosters[0].to'))).toBe(false); // "24:00" is a valid end
  });

  it('names the file that is not JSON or missing', () => {
    const dir = writeFixture({ departmentsText: '{ "commandCentre": ', categoriesText: '{}' });
    fs.rmSync(path.join(dir, 'categories.json'));
    const problems = loadProblems(dir);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(new RegExp(`^${escape(path.join(dir, 'departments.json'))}: not valid JSON`));
    expect(problems[1]).toMatch(new RegExp(`^${escape(path.join(dir, 'categories.json'))}: cannot read`));
  });

  it('refuses a document of the wrong shape', () => {
    expect(() => buildCatalog([], { categories: [] })).toThrow(CatalogError);
    let problems: string[] = [];
    try {
      buildCatalog({ commandCentre: { id: 'cc', name: { 'zh-CN': 'a', en: 'a' }, number: 110 }, leaders: [], departments: [] }, { categories: [] });
    } catch (err) {
      if (err instanceof CatalogError) problems = err.problems;
    }
    expect(problems).toEqual([
      expect.stringContaining('commandCentre: number: must be 3 to 20 ASCII digits with an optional leading +, written as a string'),
      expect.stringContaining('leaders: must be a non-empty list'),
      expect.stringContaining('departments: must be a non-empty list'),
      expect.stringContaining('categories.json: categories: must be a non-empty list'),
    ]);
  });
});

describe('validateDepartmentUpdate', () => {
  const catalog: Catalog = loadCatalog(writeFixture(fixture()));
  const good = () => ({
    name: { 'zh-CN': '县自来水厂', en: 'County waterworks' },
    categories: ['water-main-burst'],
    contacts: [
      { id: 'duty-room', name: '值班室', number: '+8657700001', priority: 1 },
      { id: 'night', name: '夜班', number: '710', priority: 2 },
    ],
    rosters: [{ contactId: 'night', weekdays: [1, 2, 3, 4, 5, 6, 7], from: '18:00', to: '08:00' }],
  });

  it('returns the typed update', () => {
    const r = validateDepartmentUpdate(good(), catalog, 'water-supply');
    expect(r).toEqual({ ok: true, value: good(), reassigned: [] });
  });

  it('treats missing rosters as none', () => {
    const body: Record<string, unknown> = good();
    delete body.rosters;
    const r = validateDepartmentUpdate(body, catalog, 'water-supply');
    expect(r.ok && r.value.rosters).toEqual([]);
  });

  it('names the field of every bad number', () => {
    const body = good();
    body.contacts = [
      { id: 'a', name: 'A', number: '0577&1', priority: 1 },
      { id: 'b', name: 'B', number: '０５７７１２３', priority: 2 },
      { id: 'c', name: 'C', number: '0577-123 456', priority: 3 },
      { id: 'd', name: 'D', number: 5770001 as unknown as string, priority: 4 },
      { id: 'e', name: 'E', number: '12', priority: 5 },
      { id: 'f', name: 'F', number: '1'.repeat(21), priority: 6 },
      { id: 'g', name: 'G', number: '057712;Dial(x)', priority: 7 },
    ];
    body.rosters = [];
    const r = validateDepartmentUpdate(body, catalog, 'water-supply');
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    expect(problems.map((p) => p.split(':')[0])).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `contacts[${i}].number`));
    expect(problems[1]).toContain('full-width');
    expect(problems[2]).toContain('without spaces, dashes');
    expect(problems[3]).toContain('written as a string');
  });

  it('reports structure problems', () => {
    const r = validateDepartmentUpdate(
      {
        name: { 'zh-CN': '', en: 'x', fr: 'y' },
        categories: ['water-main-burst', 'no-such', 'water-main-burst'],
        contacts: [{ id: 'Duty Room', name: 'x', number: '110', priority: 1.5, extra: 1 }],
        rosters: [{ contactId: 'duty-room', weekdays: [1, 1], from: '08:00', to: '24:01' }],
        dutyClass: 'phone_duty',
      },
      catalog,
      'water-supply',
    );
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    for (const expected of [
      'dutyClass: unknown field (allowed: name, categories, contacts, rosters)',
      'name.fr: is not a language',
      'name.zh-CN: must be a non-empty string',
      'categories[2]: "water-main-burst" is listed twice',
      'contacts[0].extra: unknown field',
      'contacts[0].id: must be lower-case ASCII',
      'contacts[0].priority: must be a positive integer',
      'rosters[0].weekdays: must be a non-empty list of distinct weekdays 1-7 (1 = Monday, 7 = Sunday); [1,1] lists a day twice',
      'rosters[0].to: must be a 24-hour time "HH:MM" from 00:00 to 24:00, got "24:01"',
    ]) {
      expect(problems.some((p) => p.startsWith(expected)), expected).toBe(true);
    }
  });

  it('refuses bodies that are not objects and missing fields', () => {
    expect(validateDepartmentUpdate(null, catalog)).toEqual({ ok: false, problems: [expect.stringContaining('must be a JSON object')] });
    const r = validateDepartmentUpdate({ name: { 'zh-CN': '甲', en: 'A' } }, catalog);
    expect(r.ok ? [] : r.problems).toEqual(['categories: is required', 'contacts: is required']);
    const empty = validateDepartmentUpdate({ ...good(), contacts: [], rosters: [] }, catalog);
    expect(empty.ok ? [] : empty.problems).toEqual([expect.stringMatching(/^contacts: must be a non-empty list/)]);
  });

  it('checks categories against the routing: unknown, moved, orphaned', () => {
    const unknown = validateDepartmentUpdate({ ...good(), categories: ['water-main-burst', 'gas-leak'] }, catalog, 'water-supply');
    expect(unknown.ok ? [] : unknown.problems).toEqual(['categories[1]: "gas-leak" is not a category']);

    const moved = validateDepartmentUpdate({ ...good(), categories: ['water-main-burst', 'power-outage'] }, catalog, 'water-supply');
    expect(moved.ok && moved.reassigned).toEqual([{ categoryId: 'power-outage', from: 'power-supply' }]);

    const orphan = validateDepartmentUpdate({ ...good(), categories: [] }, catalog, 'water-supply');
    expect(orphan.ok ? [] : orphan.problems).toEqual([expect.stringMatching(/^categories: omits "water-main-burst"/)]);

    const noDept = validateDepartmentUpdate(good(), catalog, 'no-such-department');
    expect(noDept.ok ? [] : noDept.problems).toEqual(['department "no-such-department" does not exist']);
  });

  it('applyDepartmentUpdate moves categories and keeps the catalog consistent', () => {
    const moved = validateDepartmentUpdate({ ...good(), categories: ['water-main-burst', 'power-outage'] }, catalog, 'water-supply');
    if (!moved.ok) throw new Error(moved.problems.join('; '));
    const next = applyDepartmentUpdate(catalog, 'water-supply', moved.value);
    expect(routeCategory(next, 'power-outage')?.id).toBe('water-supply');
    expect(next.departmentsById.get('power-supply')?.categories).toEqual([]);
    expect(next.departmentsById.get('water-supply')?.contacts.map((c) => c.id)).toEqual(['duty-room', 'night']);
    expect(next.departmentsById.get('water-supply')?.dutyClass).toBe('rescue_24h');
    expect(routeCategory(catalog, 'power-outage')?.id).toBe('power-supply'); // the old catalog is untouched
    expect(Object.isFrozen(next.departmentsById.get('water-supply')?.rosters)).toBe(true);
    expect(() => applyDepartmentUpdate(catalog, 'water-supply', { ...moved.value, categories: [] })).toThrow(CatalogError);
  });
});

describe('contactsOnDuty', () => {
  const c = (id: string, priority: number): Contact => ({ id, name: id, number: `0577${priority}00`, priority });
  const contacts = [c('leader', 3), c('day', 2), c('night', 4), c('room', 1), c('weekend', 5)];
  const rosters: RosterEntry[] = [
    { contactId: 'day', weekdays: [1, 2, 3, 4, 5], from: '08:00', to: '18:00' },
    // A Friday night shift running into Saturday morning.
    { contactId: 'night', weekdays: [5], from: '22:00', to: '08:00' },
    // Sunday evening to Monday morning: the weekday wraps from 7 to 1.
    { contactId: 'weekend', weekdays: [7], from: '20:00', to: '06:00' },
  ];
  const dept = { contacts, rosters };
  /** A Shanghai wall-clock time (UTC+8, no DST). */
  const sh = (iso: string) => new Date(`${iso}+08:00`);
  const order = (at: Date, tz = TZ) => contactsOnDuty(dept, at, tz).map((x) => x.id);

  // 2025-01-03 is a Friday.
  it('puts the rostered contact first, then everyone by priority', () => {
    expect(order(sh('2025-01-03T10:00'))).toEqual(['day', 'room', 'leader', 'night', 'weekend']);
    expect(order(sh('2025-01-03T18:00'))).toEqual(['room', 'day', 'leader', 'night', 'weekend']); // `to` is exclusive
  });

  it('follows a shift across midnight into the next weekday', () => {
    expect(order(sh('2025-01-03T22:00'))).toEqual(['night', 'room', 'day', 'leader', 'weekend']);
    expect(order(sh('2025-01-03T23:59'))).toEqual(['night', 'room', 'day', 'leader', 'weekend']);
    expect(order(sh('2025-01-04T00:00'))).toEqual(['night', 'room', 'day', 'leader', 'weekend']); // Saturday
    expect(order(sh('2025-01-04T07:59'))).toEqual(['night', 'room', 'day', 'leader', 'weekend']);
    expect(order(sh('2025-01-04T08:00'))).toEqual(['room', 'day', 'leader', 'night', 'weekend']);
    // Friday early morning belongs to Thursday's night shift, which nobody has.
    expect(order(sh('2025-01-03T07:59'))).toEqual(['room', 'day', 'leader', 'night', 'weekend']);
  });

  it('wraps Sunday night into Monday morning', () => {
    expect(order(sh('2025-01-05T21:00'))).toEqual(['weekend', 'room', 'day', 'leader', 'night']); // Sunday
    expect(order(sh('2025-01-06T05:59'))).toEqual(['weekend', 'room', 'day', 'leader', 'night']); // Monday
    expect(order(sh('2025-01-06T06:00'))).toEqual(['room', 'day', 'leader', 'night', 'weekend']);
    expect(order(sh('2025-01-06T08:30'))).toEqual(['day', 'room', 'leader', 'night', 'weekend']);
  });

  it('uses the Shanghai weekday, not the UTC one', () => {
    // Monday 07:00 in Shanghai is Sunday 23:00 UTC.
    const at = new Date('2025-01-05T23:00:00Z');
    const monday: RosterEntry = { contactId: 'leader', weekdays: [1], from: '00:00', to: '09:00' };
    expect(rosterCovers(monday, at, TZ)).toBe(true);
    expect(rosterCovers(monday, at, 'UTC')).toBe(false);
    // Friday 01:00 in Shanghai is Thursday 17:00 UTC: in UTC the day shift would cover it.
    const fridayEarly = new Date('2025-01-02T17:00:00Z');
    expect(order(fridayEarly)).toEqual(['room', 'day', 'leader', 'night', 'weekend']);
    expect(order(fridayEarly, 'UTC')).toEqual(['day', 'room', 'leader', 'night', 'weekend']);
  });

  it('orders several contacts on duty by priority', () => {
    const both = { contacts, rosters: [...rosters, { contactId: 'leader', weekdays: [5], from: '09:00', to: '12:00' } as RosterEntry] };
    expect(contactsOnDuty(both, sh('2025-01-03T10:00'), TZ).map((x) => x.id)).toEqual(['day', 'leader', 'room', 'night', 'weekend']);
  });

  it('treats from = to as 24 hours and to = 24:00 as midnight', () => {
    const allDay: RosterEntry = { contactId: 'x', weekdays: [3], from: '08:00', to: '08:00' }; // Wednesday 08:00 to Thursday 08:00
    expect(rosterCovers(allDay, sh('2025-01-01T08:00'), TZ)).toBe(true);
    expect(rosterCovers(allDay, sh('2025-01-02T07:59'), TZ)).toBe(true);
    expect(rosterCovers(allDay, sh('2025-01-02T08:00'), TZ)).toBe(false);
    expect(rosterCovers(allDay, sh('2025-01-01T07:59'), TZ)).toBe(false);
    const evening: RosterEntry = { contactId: 'x', weekdays: [3], from: '18:00', to: '24:00' };
    expect(rosterCovers(evening, sh('2025-01-01T23:59'), TZ)).toBe(true);
    expect(rosterCovers(evening, sh('2025-01-02T00:00'), TZ)).toBe(false);
  });

  it('without rosters orders by priority, ties in list order', () => {
    const tied = [c('b', 2), c('a', 1), { ...c('b2', 2), id: 'b2' }];
    expect(contactsOnDuty({ contacts: tied }, new Date(), TZ).map((x) => x.id)).toEqual(['a', 'b', 'b2']);
    expect(contactsOnDuty({ contacts: tied, rosters: [] }, new Date(), TZ).map((x) => x.id)).toEqual(['a', 'b', 'b2']);
  });

  it('refuses an invalid Date when there is a roster', () => {
    expect(() => contactsOnDuty(dept, new Date('nope'), TZ)).toThrow(RangeError);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
