// The feedback line's caller check (issue 13): caller ids matched against a unit's contacts in
// national form, the unit PIN stored hashed, and the admin routes that set and clear it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createServices, type Services } from '../../src/composition.js';
import { openDatabase } from '../../src/db/database.js';
import { isContactOf, nationalNumber, wrongPinsSince } from '../../src/feedback/caller-check.js';
import { UnitPins } from '../../src/feedback/unit-pins.js';
import { createLogger } from '../../src/logging.js';

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

describe('unit PINs', () => {
  it('stores a salted hash, never the PIN, and verifies only the right PIN', () => {
    const db = openDatabase(':memory:');
    const pins = new UnitPins(db);
    expect(pins.has('tourism')).toBe(false);
    expect(pins.verify('tourism', '2468')).toBe(false);
    pins.set('tourism', '2468', '赵管理员');
    pins.set('education', '2468', '赵管理员');
    const rows = db.prepare('SELECT * FROM unit_pins').all() as Array<{ salt: string; hash: string; set_by: string }>;
    expect(JSON.stringify(rows)).not.toContain('2468');
    expect(rows[0]?.hash).not.toBe(rows[1]?.hash); // own salt per unit
    expect(pins.verify('tourism', '2468')).toBe(true);
    for (const wrong of ['2467', '24680', '', '246', 'abcd']) expect(pins.verify('tourism', wrong), wrong).toBe(false);
    expect(() => pins.set('tourism', '12', 'x')).toThrow();
    expect(pins.clear('tourism')).toBe(true);
    expect(pins.verify('tourism', '2468')).toBe(false);
  });

  it('counts a unit\'s wrong PIN refusals over all its orders in a time window', () => {
    const db = openDatabase(':memory:');
    const order = (id: string, code: string, unit: string) =>
      db.prepare("INSERT INTO orders (id, code, external_id, category, department_id, summary, address, reporter_phone, urgency, major, status, created_at, updated_at) VALUES (?, ?, ?, 'c', ?, 's', 'a', '1', 'normal', 0, 'accepted', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')").run(id, code, `e-${id}`, unit);
    order('o1', '100001', 'tourism');
    order('o2', '100002', 'tourism');
    order('o3', '100003', 'education');
    const add = (orderId: string, at: string, detail: object) => db.prepare("INSERT INTO order_events (order_id, at, actor, kind, detail) VALUES (?, ?, 'phone:1', 'feedback_refused', ?)").run(orderId, at, JSON.stringify(detail));
    add('o1', '2026-01-01T10:00:00Z', { reason: 'wrong PIN (entry 1)', wrongPin: 1, units: ['tourism'] });
    add('o2', '2026-01-01T10:30:00Z', { reason: 'wrong PIN (entry 1)', wrongPin: 1, units: ['tourism'] }); // another order of the same unit counts too
    add('o1', '2026-01-01T10:31:00Z', { reason: 'caller is not a contact of the unit and the unit has no PIN' });
    add('o3', '2026-01-01T10:32:00Z', { reason: 'wrong PIN (entry 1)', wrongPin: 1, units: ['education', 'tourism'] });
    expect(wrongPinsSince(db, 'tourism', '2026-01-01T09:59:00Z')).toBe(3); // o3 is also on tourism: its wrong PIN may have been a guess of tourism's
    expect(wrongPinsSince(db, 'tourism', '2026-01-01T10:10:00Z')).toBe(2);
    expect(wrongPinsSince(db, 'education', '2026-01-01T09:59:00Z')).toBe(1);
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
    const audit = s.db.prepare("SELECT actor, action, detail FROM audit_log WHERE action LIKE 'department.pin%'").all();
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
    expect(s.db.prepare('SELECT count(*) FROM unit_pins').pluck().get()).toBe(0);
  });
});
