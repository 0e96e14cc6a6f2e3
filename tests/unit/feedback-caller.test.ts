// The feedback line's caller check (issue 13): caller ids matched against a unit's contacts in
// national form, the unit PIN stored hashed, and the admin routes that set and clear it.
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createServices, type Services } from '../../src/composition.js';
import { first, rows } from '../../src/db/sql.js';
import type { Store } from '../../src/db/store.js';
import { isContactOf, nationalNumber, wrongPinsSince } from '../../src/feedback/caller-check.js';
import { UnitPins } from '../../src/feedback/unit-pins.js';
import { createLogger } from '../../src/logging.js';
import { ENGINES, openTestStore } from '../support/engines.js';

describe('caller ids and contacts', () => {
  it('compares numbers in national form', () => {
    expect(nationalNumber('+86 577 0001 2345')).toBe('057700012345');
    expect(nationalNumber('0086-577-00012345')).toBe('057700012345');
    expect(nationalNumber('+8613800138000')).toBe('13800138000');
    expect(nationalNumber('05770001234')).toBe('05770001234');
    expect(isContactOf('+8657700012345', ['057700012345'])).toBe(true);
    expect(isContactOf('13800138000', ['+86 138 0013 8000'])).toBe(true);
  });

  it('does not take a withheld id, a prefix or a suffix for a contact', () => {
    expect(isContactOf('', ['05770001234'])).toBe(false);
    expect(isContactOf('0577000123', ['05770001234'])).toBe(false);
    expect(isContactOf('057700012345', ['05770001234'])).toBe(false);
    expect(isContactOf('05770001234', [])).toBe(false);
  });
});

describe.each(ENGINES)('unit PINs on %s', (engine) => {
  let store: Store;
  beforeEach(async () => {
    store = await openTestStore(engine);
  });
  afterEach(async () => {
    await store.close();
  });

  it('stores a salted hash, never the PIN, and verifies only the right PIN', async () => {
    const pins = new UnitPins(store);
    expect(await pins.has('tourism')).toBe(false);
    expect(await pins.verify('tourism', '2468')).toBe(false);
    await pins.set('tourism', '2468', '赵管理员');
    await pins.set('education', '2468', '赵管理员');
    expect(await pins.has('tourism')).toBe(true);
    const stored = await rows(store.db, sql<{ salt: string; hash: string; set_by: string }>`SELECT * FROM unit_pins ORDER BY department_id`);
    expect(stored).toHaveLength(2);
    expect(JSON.stringify(stored)).not.toContain('2468');
    expect(stored[0]?.hash).not.toBe(stored[1]?.hash); // own salt per unit
    expect(await pins.verify('tourism', '2468')).toBe(true);
    for (const wrong of ['2467', '24680', '', '246', 'abcd']) expect(await pins.verify('tourism', wrong), wrong).toBe(false);
    await expect(pins.set('tourism', '12', 'x')).rejects.toThrow();
    await pins.set('tourism', '1357', '钱管理员'); // replaces the PIN
    expect(await pins.verify('tourism', '2468')).toBe(false);
    expect(await pins.verify('tourism', '1357')).toBe(true);
    expect(await pins.clear('tourism')).toBe(true);
    expect(await pins.clear('tourism')).toBe(false);
    expect(await pins.verify('tourism', '1357')).toBe(false);
  }, 20_000); // a dozen scrypt derivations: seconds on a loaded machine

  it('counts a unit\'s wrong PIN refusals over all its orders in a time window', async () => {
    const order = (id: string, code: string, unit: string) =>
      sql`INSERT INTO orders (id, code, external_id, category, department_id, summary, address, reporter_phone, urgency, major, status, created_at, updated_at)
        VALUES (${id}, ${code}, ${`e-${id}`}, 'c', ${unit}, 's', 'a', '1', 'normal', 0, 'accepted', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`.execute(store.db);
    await order('o1', '100001', 'tourism');
    await order('o2', '100002', 'tourism');
    await order('o3', '100003', 'education');
    const add = (orderId: string, at: string, detail: object, kind = 'feedback_refused') =>
      sql`INSERT INTO order_events (order_id, at, actor, kind, detail) VALUES (${orderId}, ${at}, 'phone:1', ${kind}, ${JSON.stringify(detail)})`.execute(store.db);
    await add('o1', '2026-01-01T10:00:00Z', { reason: 'wrong PIN (entry 1)', wrongPin: 1, units: ['tourism'] });
    await add('o2', '2026-01-01T10:30:00Z', { reason: 'wrong PIN (entry 1)', wrongPin: 1, units: ['tourism'] }); // another order of the same unit counts too
    await add('o1', '2026-01-01T10:31:00Z', { reason: 'caller is not a contact of the unit and the unit has no PIN' });
    await add('o3', '2026-01-01T10:32:00Z', { reason: 'wrong PIN (entry 1)', wrongPin: 1, units: ['education', 'tourism'] });
    await add('o1', '2026-01-01T10:33:00Z', { note: '"wrongPin":1', units: ['tourism'] }, 'note'); // not a refusal
    expect(await wrongPinsSince(store.db, 'tourism', '2026-01-01T09:59:00Z')).toBe(3); // o3 is also on tourism: its wrong PIN may have been a guess of tourism's
    expect(await wrongPinsSince(store.db, 'tourism', '2026-01-01T10:10:00Z')).toBe(2);
    expect(await wrongPinsSince(store.db, 'education', '2026-01-01T09:59:00Z')).toBe(1);
    expect(await wrongPinsSince(store.db, 'civil-affairs', '2026-01-01T09:59:00Z')).toBe(0);
  });
});

describe('PUT/DELETE /api/v1/departments/:id/pin', () => {
  let s: Services;
  beforeAll(async () => {
    s = await createServices(loadConfig({ LIANDONG_DB: ':memory:', LOG_LEVEL: 'silent' }, 'dev'), { logger: createLogger('silent') });
    await s.app.ready();
  });
  afterAll(async () => {
    await s?.close();
  });
  const call = (method: 'PUT' | 'DELETE', url: string, token: string, payload?: object) =>
    s.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });

  it('lets the admin set and clear a unit PIN; audits it without the PIN', async () => {
    const set = await call('PUT', '/api/v1/departments/tourism/pin', 'dev-admin-token', { pin: '97531' });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toEqual({ departmentId: 'tourism', pinSet: true });
    expect(set.body).not.toContain('97531');
    const audit = await rows(s.store.db, sql`SELECT actor, action, detail FROM audit_log WHERE action LIKE 'department.pin%'`);
    expect(audit).toEqual([{ actor: 'api:admin', action: 'department.pin.set', detail: '{"departmentId":"tourism"}' }]);
    const cleared = await call('DELETE', '/api/v1/departments/tourism/pin', 'dev-admin-token');
    expect(cleared.json()).toEqual({ departmentId: 'tourism', pinSet: false });
  });

  it('refuses other roles, bad PINs and unknown units', async () => {
    expect((await call('PUT', '/api/v1/departments/tourism/pin', 'dev-desk-token', { pin: '1234' })).statusCode).toBe(403);
    expect((await call('PUT', '/api/v1/departments/tourism/pin', 'dev-department-token', { pin: '1234' })).statusCode).toBe(403);
    for (const pin of ['123', '123456789', '12a4', '１２３４', 1234]) {
      expect((await call('PUT', '/api/v1/departments/tourism/pin', 'dev-admin-token', { pin })).statusCode, String(pin)).toBe(400);
    }
    expect((await call('PUT', '/api/v1/departments/no-such/pin', 'dev-admin-token', { pin: '1234' })).statusCode).toBe(404);
    expect((await first(s.store.db, sql<{ n: number }>`SELECT count(*) AS n FROM unit_pins`))?.n).toBe(0);
  });
});
