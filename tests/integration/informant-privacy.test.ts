// Informants' privacy on the real Asterisk 22: an order of an informant category (举报: illegal
// tobacco) or with `callback: false` is dispatched as usual but its reporter is never called
// back; the callback register shows it as `not_called (privacy)`. The same category with
// `callback: true` is called back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/composition.js';
import type { CaseRecord } from '../../src/orders/case-record.js';
import { setDutyLine, startServices } from './support.js';

let s: Services;
const DESK = { authorization: 'Bearer dev-desk-token' };
const DEPT = { authorization: 'Bearer dev-department-token' };
const VIEWER = { authorization: 'Bearer dev-viewer-token' };

type Record_ = CaseRecord & { callback: boolean; surveys: Array<{ kind: string; status: string }> };

async function api(method: 'GET' | 'POST' | 'PUT', url: string, headers: Record<string, string>, payload?: object) {
  return s.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
}
const record = async (id: string) => (await api('GET', `/api/v1/orders/${id}`, DESK)).json<Record_>();

async function completedOrder(category: string, tag: string, extra: object = {}): Promise<string> {
  const res = await api('POST', '/api/v1/orders', DESK, {
    externalId: `privacy-${tag}-${Date.now()}`, category, summary: '有人在仓库卖假烟', address: '城关镇某仓库', reporterPhone: '7011121', urgency: 'urgent', ...extra,
  });
  expect(res.statusCode, res.body).toBe(201);
  const id = res.json<{ id: string }>().id;
  await expect.poll(async () => (await record(id)).status, { timeout: 60_000, interval: 300 }).toBe('accepted');
  expect((await api('POST', `/api/v1/orders/${id}/feedback`, DEPT, { kind: 'completed' })).statusCode).toBe(201);
  return id;
}

beforeAll(async () => {
  s = await startServices('informant-privacy', {
    LIANDONG_SURVEY_DELAY_SECONDS: '0',
    LIANDONG_SURVEY_WINDOW: '00:00-00:00',
    LIANDONG_SURVEY_RING_SECONDS: '5',
    LIANDONG_FOLLOWUP_RULE: 'off',
  });
  for (const departmentId of ['tobacco-monopoly', 'tourism']) await setDutyLine(s, departmentId, '70111');
}, 60_000);
afterAll(async () => {
  await s?.close();
});

describe("informants' privacy", () => {
  it('the catalogue marks 举报-type categories as informant', async () => {
    const categories = (await api('GET', '/api/v1/departments', DESK)).json<{ categories: Array<{ id: string; informant: boolean }> }>().categories;
    expect(categories.find((c) => c.id === 'illegal-tobacco')?.informant).toBe(true);
    expect(categories.find((c) => c.id === 'water-main-burst')?.informant).toBe(false);
  });

  it('an informant order (illegal tobacco) and a callback:false order are dispatched but never called back; the register says not_called (privacy)', async () => {
    const informant = await completedOrder('illegal-tobacco', 'informant');
    const anonymous = await completedOrder('tourism-complaint', 'anonymous', { callback: false });
    // Both were dispatched and accepted by phone as usual.
    for (const id of [informant, anonymous]) expect((await record(id)).acknowledgement).toMatchObject({ contactId: 'duty' });
    // The survey loop calls due surveys at once here (delay 0, window always open): give it time.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    for (const id of [informant, anonymous]) {
      const r = await record(id);
      expect(r.callback).toBe(false);
      expect(r.status).toBe('completed');
      expect(r.surveys).toEqual([]);
      const kinds = r.events.map((e) => e.kind);
      expect(kinds).toContain('survey_not_called_privacy');
      expect(kinds).not.toContain('survey_scheduled');
      expect(kinds).not.toContain('survey_call_started');
    }
    // The desk cannot schedule one by hand either.
    const refused = await api('POST', `/api/v1/orders/${informant}/survey`, DESK, {});
    expect(refused.statusCode).toBe(409);
    expect(refused.json<{ error: { code: string } }>().error.code).toBe('callback_refused');

    const rows = (await api('GET', '/api/v1/reports/callbacks', VIEWER)).json<{ rows: Array<{ orderId: string; disposition: string; attempts: number; attitude: unknown }> }>().rows;
    for (const id of [informant, anonymous]) {
      expect(rows.filter((r) => r.orderId === id)).toEqual([expect.objectContaining({ disposition: 'not_called (privacy)', attempts: 0, attitude: null })]);
    }
    const csv = (await api('GET', '/api/v1/reports/callbacks.csv', VIEWER)).body;
    expect(csv).toContain('未回访（保护隐私）');
  }, 120_000);

  it('the desk may still ask for a callback on an informant category with callback: true', async () => {
    const id = await completedOrder('illegal-tobacco', 'consented', { callback: true });
    await expect.poll(async () => (await record(id)).surveys.map((x) => x.kind), { timeout: 20_000, interval: 300 }).toEqual(['callback']);
    expect((await record(id)).callback).toBe(true);
  }, 90_000);
});
