// The bad-input corpus, against the whole running service (real Asterisk behind it): dial-string
// and AMI injection in phone numbers, non-ASCII digits, malformed JSON, oversize bodies, unknown
// fields, wrong types, unknown category or department, SQL-looking text, wrong role, missing or
// wrong token. Each case must get a clear 4xx with the error shape, change no row of any table,
// and place no call.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { Services } from '../../src/composition.js';
import { first, rows } from '../../src/db/sql.js';
import type { OriginateRequest } from '../../src/telephony/port.js';
import { ARTIFACTS, startServices } from './support.js';

let s: Services;
const originated: OriginateRequest[] = [];
let orderId = '';

const DESK = 'Bearer dev-desk-token';
const ADMIN = 'Bearer dev-admin-token';
const DEPT = 'Bearer dev-department-token';
const VIEWER = 'Bearer dev-viewer-token';

const ORDER = {
  externalId: 'bad-input-base',
  category: 'water-main-burst',
  summary: '水管爆裂',
  address: '城关镇',
  reporterPhone: '13800138000',
  urgency: 'urgent',
};

/** Phone numbers that must never reach a dial string or an AMI action. */
const BAD_NUMBERS: ReadonlyArray<[string, string]> = [
  ['dial-string chaining with &', '13800138000&Local/70111@sim-phones'],
  ['another context with @', '70111@sim-phones'],
  ['a channel technology with /', 'PJSIP/13800138000'],
  ['dial options with ,', '13800138000,,tT'],
  ['a comment or separator with ;', '13800138000;x'],
  ['AMI header injection with CR/LF', '13800138000\r\nAction: Originate\r\nChannel: Local/1@x'],
  ['a bare LF', '13800138000\n'],
  ['NUL', '13800138000\u0000'],
  ['full-width digits', '１３８００１３８０００'],
  ['Arabic-Indic digits', '١٣٨٠٠١٣٨٠٠٠'],
  ['Devanagari digits', '१३८००१३८०००'],
  ['mathematical bold digits', '𝟏𝟑𝟖𝟎𝟎𝟏𝟑𝟖𝟎𝟎𝟎'],
  ['spaces', '138 0013 8000'],
  ['dashes', '138-0013-8000'],
  ['a dialplan variable', '${EXTEN}'],
  ['DTMF and pause characters', '13800138000w123#'],
  ['a URI', 'tel:+8613800138000'],
  ['too short', '12'],
  ['too long', '1'.repeat(21)],
  ['only a plus', '+'],
  ['two pluses', '++8613800138000'],
];

interface Case {
  readonly label: string;
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly url: string;
  readonly authorization?: string;
  /** An object is sent as JSON; a string is sent as it is (with `contentType`). */
  readonly body?: unknown;
  readonly contentType?: string;
  readonly status: number;
  readonly code?: string;
}

/** Rows in every table of the database: a refused request must not change any. */
async function tableCounts(): Promise<Record<string, number>> {
  const { db, engine } = s.store;
  const names = engine === 'sqlite'
    ? sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
    : sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`;
  const tables = (await rows(db, names)).map((r) => r.name);
  // Table names come from the catalog, never from a request: sql.table quotes them.
  const counts = await Promise.all(tables.map(async (t) => [t, (await first(db, sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.table(t)}`))?.n ?? 0] as const));
  return Object.fromEntries(counts);
}

async function send(c: Case) {
  const headers: Record<string, string> = {};
  if (c.authorization !== undefined) headers.authorization = c.authorization;
  if (typeof c.body === 'string') headers['content-type'] = c.contentType ?? 'application/json';
  const payload = c.body === undefined ? undefined : typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
  if (payload !== undefined && typeof c.body !== 'string') headers['content-type'] = 'application/json';
  return s.app.inject({ method: c.method, url: c.url, headers, ...(payload === undefined ? {} : { payload }) });
}

async function department(id: string) {
  const res = await s.app.inject({ method: 'GET', url: '/api/v1/departments', headers: { authorization: DESK } });
  const d = res.json<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>().departments.find((x) => x.id === id);
  if (!d) throw new Error(`no department ${id}`);
  return d;
}

let cases: Case[] = [];

/** Creates a valid order, withdraws it at once and waits until its dispatch has ended. */
async function validOrderWithdrawn(externalId: string, summary: string): Promise<string> {
  const made = await send({ label: externalId, method: 'POST', url: '/api/v1/orders', authorization: DESK, body: { ...ORDER, externalId, summary }, status: 201 });
  if (made.statusCode !== 201) throw new Error(`a valid order was refused: ${made.body}`);
  const id = made.json<{ id: string }>().id;
  await s.app.inject({ method: 'POST', url: `/api/v1/orders/${id}/cancel`, headers: { authorization: DESK }, payload: { reason: 'test' } });
  for (const deadline = Date.now() + 30_000; s.dispatcher.isLive(id); ) {
    if (Date.now() > deadline) throw new Error(`order ${id} still dispatching 30 s after it was withdrawn`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return id;
}

beforeAll(async () => {
  s = await startServices('bad-input', { LIANDONG_TRUNK_CALLS_PER_SECOND: '50' });
  // Observe (not replace) the real port: every originate that reaches it is recorded.
  const real = s.telephony.originate.bind(s.telephony);
  s.telephony.originate = (request, listener) => {
    originated.push(request);
    return real(request, listener);
  };
  // One valid order exists (withdrawn at once), so order routes have something to refuse on.
  orderId = await validOrderWithdrawn('bad-input-base', '水管爆裂');
  originated.length = 0;

  const water = await department('water-supply');
  const put = (patch: Record<string, unknown>) => ({ name: water.name, categories: water.categories, contacts: [{ id: 'duty', name: '值班室', number: '70111', priority: 1 }], ...patch });
  const contact = (number: unknown) => put({ contacts: [{ id: 'duty', name: '值班室', number, priority: 1 }] });
  const endpoint = (number: unknown) => ({ id: 'command-centre', name: { 'zh-CN': '指挥中心', en: 'Command centre' }, number });
  const orders = '/api/v1/orders';
  cases = [
    ...BAD_NUMBERS.map(([label, n]): Case => ({ label: `order reporterPhone: ${label}`, method: 'POST', url: orders, authorization: DESK, body: { ...ORDER, externalId: 'bad-num', reporterPhone: n }, status: 400, code: 'invalid_request' })),
    ...BAD_NUMBERS.map(([label, n]): Case => ({ label: `department contact number: ${label}`, method: 'PUT', url: '/api/v1/departments/water-supply', authorization: ADMIN, body: contact(n), status: 400 })),
    ...BAD_NUMBERS.map(([label, n]): Case => ({ label: `command centre number: ${label}`, method: 'PUT', url: '/api/v1/directory', authorization: ADMIN, body: { commandCentre: endpoint(n), leaders: [] }, status: 400 })),
    { label: 'a number sent as a JSON number', method: 'POST', url: orders, authorization: DESK, body: { ...ORDER, reporterPhone: 13800138000 }, status: 400, code: 'invalid_request' },
    // Malformed JSON and bodies that are not JSON objects.
    ...['{"externalId": ', "{externalId: 'x'}", '{"a":1,}', '[1,2', '\u0000', '{"externalId":"x"}}'].map((body): Case => ({ label: `malformed JSON ${JSON.stringify(body)}`, method: 'POST', url: orders, authorization: DESK, body, status: 400 })),
    { label: 'an empty JSON body', method: 'POST', url: orders, authorization: DESK, body: '', status: 400 },
    { label: 'a JSON array', method: 'POST', url: orders, authorization: DESK, body: '[]', status: 400 },
    { label: 'JSON null', method: 'POST', url: orders, authorization: DESK, body: 'null', status: 400 },
    { label: 'a form instead of JSON', method: 'POST', url: orders, authorization: DESK, body: 'externalId=x&category=y', contentType: 'application/x-www-form-urlencoded', status: 415, code: 'unsupported_media_type' },
    { label: 'plain text instead of JSON', method: 'POST', url: orders, authorization: DESK, body: 'hello', contentType: 'text/plain', status: 415, code: 'unsupported_media_type' },
    // Oversize bodies (64 KiB limit), valid JSON and not.
    { label: 'an oversize order (100 KiB summary)', method: 'POST', url: orders, authorization: DESK, body: { ...ORDER, externalId: 'big', summary: '水'.repeat(35_000) }, status: 413, code: 'body_too_large' },
    { label: 'an oversize department change', method: 'PUT', url: '/api/v1/departments/water-supply', authorization: ADMIN, body: put({ padding: 'x'.repeat(70_000) }), status: 413, code: 'body_too_large' },
    { label: 'a long summary under the body limit', method: 'POST', url: orders, authorization: DESK, body: { ...ORDER, externalId: 'long', summary: 's'.repeat(301) }, status: 400 },
    // Unknown fields and wrong types.
    { label: 'an unknown field', method: 'POST', url: orders, authorization: DESK, body: { ...ORDER, priority: 'high' }, status: 400, code: 'invalid_request' },
    { label: 'a prototype-pollution field', method: 'POST', url: orders, authorization: DESK, body: `{"__proto__":{"admin":true},${JSON.stringify(ORDER).slice(1)}`, status: 400 },
    { label: 'urgency of the wrong type', method: 'POST', url: orders, authorization: DESK, body: { ...ORDER, urgency: 1 }, status: 400 },
    { label: 'urgency outside the enum', method: 'POST', url: orders, authorization: DESK, body: { ...ORDER, urgency: 'very' }, status: 400 },
    { label: 'major as a string', method: 'POST', url: orders, authorization: DESK, body: { ...ORDER, major: 'true' }, status: 400 },
    { label: 'summary as an array', method: 'POST', url: orders, authorization: DESK, body: { ...ORDER, summary: ['a'] }, status: 400 },
    { label: 'a missing address', method: 'POST', url: orders, authorization: DESK, body: { ...ORDER, address: undefined }, status: 400 },
    { label: 'a blank summary', method: 'POST', url: orders, authorization: DESK, body: { ...ORDER, summary: '   ' }, status: 400 },
    { label: 'control characters in the address', method: 'POST', url: orders, authorization: DESK, body: { ...ORDER, address: '城关镇\u0007\u001b[2J' }, status: 400 },
    { label: 'an externalId with spaces', method: 'POST', url: orders, authorization: DESK, body: { ...ORDER, externalId: 'a b' }, status: 400 },
    { label: 'policy field of the wrong type', method: 'PUT', url: '/api/v1/departments/water-supply', authorization: ADMIN, body: put({ policy: { retryDelaySeconds: '30' } }), status: 400 },
    { label: 'policy out of bounds', method: 'PUT', url: '/api/v1/departments/water-supply', authorization: ADMIN, body: put({ policy: { attemptsPerContact: 1000 } }), status: 400 },
    { label: 'feedback of an unknown kind', method: 'POST', url: `/api/v1/orders/${orderId}/feedback`, authorization: DEPT, body: { kind: 'finished' }, status: 400 },
    { label: 'a cancel without a reason', method: 'POST', url: `/api/v1/orders/${orderId}/cancel`, authorization: DESK, body: {}, status: 400 },
    { label: 'a negative survey delay', method: 'POST', url: `/api/v1/orders/${orderId}/survey`, authorization: DESK, body: { delaySeconds: -1 }, status: 400 },
    { label: 'a list limit of the wrong form', method: 'GET', url: `${orders}?limit=1e3`, authorization: DESK, status: 400 },
    { label: 'an unknown list filter', method: 'GET', url: `${orders}?sort=id`, authorization: DESK, status: 400 },
    // Unknown category or department.
    { label: 'an unknown category', method: 'POST', url: orders, authorization: DESK, body: { ...ORDER, category: 'alien-landing' }, status: 400, code: 'unknown_category' },
    { label: 'an unknown department', method: 'POST', url: orders, authorization: DESK, body: { ...ORDER, departmentId: 'ministry-of-magic' }, status: 400, code: 'unknown_department' },
    { label: 'a change to an unknown department', method: 'PUT', url: '/api/v1/departments/ministry-of-magic', authorization: ADMIN, body: put({}), status: 404, code: 'department_not_found' },
    // SQL-looking text where it could matter.
    { label: 'SQL in the category', method: 'POST', url: orders, authorization: DESK, body: { ...ORDER, category: "water-main-burst' OR '1'='1" }, status: 400, code: 'unknown_category' },
    { label: 'SQL in the department', method: 'POST', url: orders, authorization: DESK, body: { ...ORDER, departmentId: "x'; DROP TABLE orders; --" }, status: 400, code: 'unknown_department' },
    { label: 'SQL in the externalId', method: 'POST', url: orders, authorization: DESK, body: { ...ORDER, externalId: "1'; DELETE FROM orders; --" }, status: 400 },
    { label: 'SQL in an order id', method: 'GET', url: `${orders}/${encodeURIComponent("' OR '1'='1")}`, authorization: DESK, status: 404, code: 'order_not_found' },
    { label: 'SQL in a feedback order id', method: 'POST', url: `${orders}/${encodeURIComponent('x" OR 1=1 --')}/feedback`, authorization: DEPT, body: { kind: 'arrived' }, status: 404 },
    { label: 'SQL in a list filter enum', method: 'GET', url: `${orders}?status=${encodeURIComponent("dispatching' OR 1=1 --")}`, authorization: DESK, status: 400 },
    { label: 'SQL in a department id', method: 'PUT', url: `/api/v1/departments/${encodeURIComponent("water-supply'--")}`, authorization: ADMIN, body: put({}), status: 404 },
    // Wrong role, missing or wrong token.
    { label: 'a viewer creating an order', method: 'POST', url: orders, authorization: VIEWER, body: { ...ORDER, externalId: 'role-1' }, status: 403, code: 'forbidden' },
    { label: 'a department creating an order', method: 'POST', url: orders, authorization: DEPT, body: { ...ORDER, externalId: 'role-2' }, status: 403, code: 'forbidden' },
    { label: 'a desk changing a department', method: 'PUT', url: '/api/v1/departments/water-supply', authorization: DESK, body: put({}), status: 403, code: 'forbidden' },
    { label: 'a desk giving feedback', method: 'POST', url: `${orders}/${orderId}/feedback`, authorization: DESK, body: { kind: 'arrived' }, status: 403, code: 'forbidden' },
    { label: 'no token', method: 'POST', url: orders, body: { ...ORDER, externalId: 'tok-1' }, status: 401, code: 'unauthorized' },
    { label: 'a wrong token', method: 'POST', url: orders, authorization: 'Bearer dev-desk-token-x', body: { ...ORDER, externalId: 'tok-2' }, status: 401, code: 'unauthorized' },
    { label: 'a token prefix', method: 'POST', url: orders, authorization: 'Bearer dev-desk-toke', body: { ...ORDER, externalId: 'tok-3' }, status: 401, code: 'unauthorized' },
    { label: 'a lower-case scheme', method: 'POST', url: orders, authorization: 'bearer dev-desk-token', body: { ...ORDER, externalId: 'tok-4' }, status: 401, code: 'unauthorized' },
    { label: 'Basic auth', method: 'POST', url: orders, authorization: `Basic ${Buffer.from('desk:dev-desk-token').toString('base64')}`, body: { ...ORDER, externalId: 'tok-5' }, status: 401, code: 'unauthorized' },
    { label: 'a token with a tab in it', method: 'POST', url: orders, authorization: 'Bearer dev-desk-token\tx', body: { ...ORDER, externalId: 'tok-6' }, status: 401, code: 'unauthorized' },
  ];
}, 120_000);

afterAll(async () => {
  await s?.close();
});

describe('the bad-input corpus', () => {
  it('has a case for every kind of bad input the issue names', () => {
    const labels = cases.map((c) => c.label).join('\n');
    for (const kind of ['&', '@', '/', ',', ';', 'CR/LF', 'full-width', 'Arabic-Indic', 'malformed JSON', 'oversize', 'unknown field', 'wrong type', 'unknown category', 'unknown department', 'SQL', 'viewer', 'no token', 'wrong token']) {
      expect(labels, kind).toContain(kind);
    }
    expect(cases.length).toBeGreaterThan(100);
  });

  it('answers each with a clear 4xx, stores nothing and places no call', async () => {
    const failures: string[] = [];
    for (const c of cases) {
      const before = await tableCounts();
      const res = await send(c);
      const after = await tableCounts();
      let body: { error?: { code?: unknown; message?: unknown } } = {};
      try {
        body = res.json();
      } catch {
        failures.push(`${c.label}: body is not JSON: ${res.body.slice(0, 80)}`);
      }
      if (res.statusCode !== c.status) failures.push(`${c.label}: status ${res.statusCode}, expected ${c.status}: ${res.body.slice(0, 160)}`);
      if (typeof body.error?.code !== 'string' || typeof body.error.message !== 'string' || body.error.message.length < 5) failures.push(`${c.label}: no {error: {code, message}}`);
      if (c.code !== undefined && body.error?.code !== c.code) failures.push(`${c.label}: code ${String(body.error?.code)}, expected ${c.code}`);
      if (JSON.stringify(after) !== JSON.stringify(before)) failures.push(`${c.label}: the database changed: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
    }
    expect(failures).toEqual([]);
    expect(s.dispatcher.liveCount()).toBe(0);
    expect(originated).toEqual([]);
  });

  it('never echoes a refused number into an error message or the log unmasked', async () => {
    const res = await send({ label: 'echo', method: 'POST', url: '/api/v1/orders', authorization: DESK, body: { ...ORDER, externalId: 'echo', reporterPhone: '13912345678&x' }, status: 400 });
    expect(res.statusCode).toBe(400);
    expect(res.body).not.toContain('13912345678');
    const log = fs.readFileSync(path.join(ARTIFACTS, 'bad-input.log'), 'utf8');
    expect(log).toContain('"status":400');
    expect(log).not.toContain('13912345678');
    expect(log).not.toContain('13800138000');
  });

  it('the SQL-looking text that is valid free text is stored verbatim, as text', async () => {
    const text = "'; DROP TABLE orders; -- 水管 \" OR 1=1";
    const id = await validOrderWithdrawn('sql-text', text);
    expect((await s.repo.getOrder(id))?.summary).toBe(text);
    expect((await tableCounts()).orders).toBe(2);
    // Whatever was dialled for the valid orders went out as a clean number.
    expect(originated.every((o) => /^\+?[0-9]{3,20}$/.test(o.number))).toBe(true);
  });
});
