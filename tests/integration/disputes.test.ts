// Jurisdiction disputes on the real Asterisk: a unit presses 3 (accepts, helps first, disputes);
// the linkage office (admin) upholds the dispute with reassignTo; the order is phoned to the
// other unit, which accepts; the first unit stays on record. Bad settlements change nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/composition.js';
import { startServices } from './support.js';

const DESK = { authorization: 'Bearer dev-desk-token' };
const ADMIN = { authorization: 'Bearer dev-admin-token' };
const VIEWER = { authorization: 'Bearer dev-viewer-token' };
const POLICY = { attemptsPerContact: 1, retryDelaySeconds: 1, ringTimeoutSeconds: 5, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 1, keyTimeoutSeconds: 4 };

interface Ack { contactId: string | null; departmentId: string | null; disputed: boolean }
interface CaseView {
  status: string; departmentId: string; acknowledgement: Ack | null; acknowledgements: Ack[];
  attempts: Array<{ id: string; contactId: string; result: string | null }>; events: Array<{ kind: string }>;
  disputes: Array<{ departmentId: string; status: string; reassignedTo: string | null; note: string | null }>;
}

let s: Services;
let orderId = '';

async function api(method: 'GET' | 'POST' | 'PUT', url: string, headers: { authorization?: string }, payload?: unknown) {
  return s.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
}
const record = async (): Promise<CaseView> => (await api('GET', `/api/v1/orders/${orderId}`, DESK)).json<CaseView>();

async function configure(id: string, number: string) {
  const d = (await api('GET', '/api/v1/departments', DESK)).json<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>().departments.find((x) => x.id === id);
  const res = await api('PUT', `/api/v1/departments/${id}`, ADMIN, { name: d?.name, categories: d?.categories, contacts: [{ id: `${id}-duty`, name: 'duty', number, priority: 1 }], policy: POLICY });
  expect(res.statusCode, res.body).toBe(200);
}

beforeAll(async () => {
  s = await startServices('disputes');
  await configure('education', '70113'); // presses 3 after 1 s: accept and dispute
  await configure('civil-affairs', '70111'); // presses 1 after 1 s
  const res = await api('POST', '/api/v1/orders', DESK, {
    externalId: `dispute-${Date.now()}`, category: 'school-complaint', departmentId: 'education', summary: '流浪人员滞留校门口', address: '城关镇', reporterPhone: '13800138000', urgency: 'urgent',
  });
  expect(res.statusCode, res.body).toBe(201);
  orderId = res.json<{ id: string }>().id;
  const until = Date.now() + 60_000;
  while (s.dispatcher.isLive(orderId) && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
}, 90_000);

afterAll(async () => {
  await s?.close();
});

describe('disputes settled', () => {
  it('key 3 opens a dispute, listed for the linkage office', async () => {
    const r = await record();
    expect(r.status).toBe('accepted');
    expect(r.acknowledgement).toMatchObject({ departmentId: 'education', disputed: true });
    expect(r.disputes).toEqual([expect.objectContaining({ departmentId: 'education', status: 'open', reassignedTo: null })]);
    const open = (await api('GET', '/api/v1/disputes?status=open', VIEWER)).json<{ disputes: Array<{ orderId: string }> }>();
    expect(open.disputes.map((d) => d.orderId)).toContain(orderId);
  });

  it.each([
    ['a viewer may not settle', VIEWER, 'education', { decision: 'upheld', note: 'x' }, 403],
    ['reassignTo only with upheld', ADMIN, 'education', { decision: 'rejected', reassignTo: 'civil-affairs', note: 'x' }, 400],
    ['an unknown unit', ADMIN, 'education', { decision: 'upheld', reassignTo: 'ministry-of-magic', note: 'x' }, 400],
    ['reassigned to itself', ADMIN, 'education', { decision: 'upheld', reassignTo: 'education', note: 'x' }, 400],
    ['a unit without a dispute', ADMIN, 'tourism', { decision: 'rejected', note: 'x' }, 404],
    ['a note is required', ADMIN, 'education', { decision: 'rejected' }, 400],
    ['an unknown decision', ADMIN, 'education', { decision: 'maybe', note: 'x' }, 400],
  ] as const)('refused: %s', async (_label, headers, dept, body, status) => {
    const res = await api('POST', `/api/v1/orders/${orderId}/disputes/${dept}`, headers, body);
    expect(res.statusCode, res.body).toBe(status);
    expect((await record()).disputes[0]?.status).toBe('open');
  });

  it('upheld with reassignTo: the other unit is phoned and accepts; the first stays on record as having helped first', async () => {
    const res = await api('POST', `/api/v1/orders/${orderId}/disputes/education`, ADMIN, { decision: 'upheld', reassignTo: 'civil-affairs', note: '属民政职责' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'upheld', reassignedTo: 'civil-affairs', decidedBy: 'api:admin' });
    await expect.poll(async () => (await record()).acknowledgements.length, { timeout: 60_000, interval: 250 }).toBe(2);
    const r = await record();
    expect(r.departmentId).toBe('civil-affairs');
    expect(r.status).toBe('accepted');
    expect(r.acknowledgement).toMatchObject({ departmentId: 'civil-affairs', contactId: 'civil-affairs-duty', disputed: false });
    expect(r.acknowledgements.map((a) => a.departmentId)).toEqual(['education', 'civil-affairs']);
    expect(r.attempts.map((a) => [a.id, a.contactId])).toEqual([[`${orderId}-a1`, 'education-duty'], [`${orderId}-a2`, 'civil-affairs-duty']]);
    expect(r.events.map((e) => e.kind)).toEqual(expect.arrayContaining(['dispute_upheld', 'reassigned']));
    // Settled once: a second decision is refused.
    expect((await api('POST', `/api/v1/orders/${orderId}/disputes/education`, ADMIN, { decision: 'rejected', note: 'x' })).statusCode).toBe(409);
    const upheld = (await api('GET', '/api/v1/disputes?status=upheld', DESK)).json<{ disputes: Array<{ orderId: string }> }>();
    expect(upheld.disputes.map((d) => d.orderId)).toContain(orderId);
  });
});
