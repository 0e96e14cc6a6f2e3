// The three-satisfactions callback against simulated citizens on the real Asterisk: answers
// 1,2,1 → register row, flag and follow-up; 9 → opt-out, never called again; busy → retried,
// then unreachable. The calling window is always open here (00:00-00:00); its edges are unit-tested.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/composition.js';
import type { CaseRecord } from '../../src/orders/case-record.js';
import { setDutyLine, startServices } from './support.js';

let s: Services;
const DESK = { authorization: 'Bearer dev-desk-token' };
const DEPT = { authorization: 'Bearer dev-department-token' };
const VIEWER = { authorization: 'Bearer dev-viewer-token' };

type Survey = { id: string; kind: string; status: string; attempts: Array<{ result: string | null }>; answers: Record<string, string | null> };
type Record_ = CaseRecord & { surveys: Survey[] };

async function api(method: 'GET' | 'POST' | 'PUT', url: string, headers: Record<string, string>, payload?: object) {
  return s.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
}
const record = async (id: string) => (await api('GET', `/api/v1/orders/${id}`, DESK)).json<Record_>();

async function order(reporterPhone: string, tag: string): Promise<string> {
  const res = await api('POST', '/api/v1/orders', DESK, {
    externalId: `survey-${tag}-${Date.now()}`, category: 'tourism-complaint', summary: '投诉', address: '景区', reporterPhone, urgency: 'normal',
  });
  expect(res.statusCode, res.body).toBe(201);
  const id = res.json<{ id: string }>().id;
  await expect.poll(async () => (await record(id)).status, { timeout: 60_000, interval: 300 }).toBe('accepted');
  return id;
}

async function surveysSettled(id: string, count: number, timeoutMs = 90_000): Promise<Survey[]> {
  const done = ['completed', 'partial', 'unreachable', 'opted_out'];
  await expect
    .poll(async () => (await record(id)).surveys.filter((x) => done.includes(x.status)).length, { timeout: timeoutMs, interval: 500 })
    .toBe(count);
  return (await record(id)).surveys;
}

beforeAll(async () => {
  s = await startServices('survey', {
    LIANDONG_SURVEY_DELAY_SECONDS: '0',
    LIANDONG_SURVEY_WINDOW: '00:00-00:00',
    LIANDONG_SURVEY_RETRY_SECONDS: '1',
    LIANDONG_SURVEY_ATTEMPTS: '2',
    LIANDONG_SURVEY_RING_SECONDS: '3',
    LIANDONG_SURVEY_KEY_TIMEOUT_SECONDS: '3',
    LIANDONG_FOLLOWUP_DELAY_SECONDS: '0',
  });
  await setDutyLine(s, 'tourism', '70111');
}, 60_000);
afterAll(async () => {
  await s?.close();
});

describe('three-satisfactions callback survey', () => {
  it('completed case → callback → answers 1,2,1 committed; flag; follow-up; register row and CSV', async () => {
    const id = await order('7011121', 'answers');
    expect((await api('POST', `/api/v1/orders/${id}/feedback`, DEPT, { kind: 'completed' })).statusCode).toBe(201);
    const surveys = await surveysSettled(id, 2, 120_000);
    const callback = surveys.find((x) => x.kind === 'callback');
    expect(callback).toMatchObject({ status: 'completed', answers: { attitude: 'satisfied', speed: 'unsatisfied', quality: 'satisfied' } });
    expect(callback?.attempts.map((a) => a.result)).toEqual(['completed']);
    expect(surveys.find((x) => x.kind === 'follow_up')).toMatchObject({ status: 'completed' });
    const r = await record(id);
    expect(r.status).toBe('surveyed');
    const kinds = r.events.map((e) => e.kind);
    expect(kinds.filter((k) => k === 'survey_answer')).toHaveLength(6);
    expect(kinds).toEqual(expect.arrayContaining(['survey_scheduled', 'flagged_unsatisfied', 'survey_finished']));

    const flags = (await api('GET', '/api/v1/flags', VIEWER)).json<{ flags: Array<{ orderId: string; reason: string }> }>().flags;
    expect(flags).toContainEqual(expect.objectContaining({ orderId: id, reason: 'not satisfied: speed' }));

    const register = (await api('GET', `/api/v1/reports/callbacks?departmentId=tourism`, VIEWER)).json<{ rows: Array<Record<string, unknown>> }>().rows;
    const row = register.find((x) => x.orderId === id && x.kind === 'callback');
    expect(row).toMatchObject({ orderCode: r.code, departmentId: 'tourism', attempts: 1, attitude: 'satisfied', speed: 'unsatisfied', quality: 'satisfied', disposition: 'completed', reporterPhone: '701****1121' });

    const csv = await api('GET', `/api/v1/reports/callbacks.csv?departmentId=tourism`, VIEWER);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.rawPayload.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const lines = csv.body.replace(/^\uFEFF/, '').split('\r\n');
    expect(lines[0]).toBe('单号,处置单位,类别,报警时间,回访时间,回访类型,回访次数,服务态度,处置速度,处置水平,回访结果,报警人电话');
    expect(lines.find((l) => l.startsWith(`${r.code},`) && l.includes(',回访,'))).toMatch(new RegExp(`^${r.code},[^,]+,[^,]+,\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d,\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d,回访,1,满意,不满意,满意,完成,701\\*\\*\\*\\*1121$`));
  });

  it('9 opts out: recorded, and that number is never called for a survey again', async () => {
    const id = await order('70119', 'optout');
    expect((await api('POST', `/api/v1/orders/${id}/survey`, DESK, {})).statusCode).toBe(201);
    const [survey] = await surveysSettled(id, 1);
    expect(survey).toMatchObject({ kind: 'callback', status: 'opted_out' });
    expect(survey?.attempts).toHaveLength(1);
    const second = await order('70119', 'optout-again');
    const res = await api('POST', `/api/v1/orders/${second}/survey`, DESK, {});
    expect(res.json<Survey>()).toMatchObject({ status: 'opted_out', attempts: [] });
  });

  it('busy every time: retried per the configured count, then unreachable', async () => {
    const id = await order('740', 'busy');
    expect((await api('POST', `/api/v1/orders/${id}/survey`, DESK, { delaySeconds: 0 })).statusCode).toBe(201);
    const [survey] = await surveysSettled(id, 1);
    expect(survey).toMatchObject({ status: 'unreachable', answers: { attitude: null, speed: null, quality: null } });
    expect(survey?.attempts.map((a) => a.result)).toEqual(['busy', 'busy']);
    expect((await record(id)).events.map((e) => e.kind)).toContain('survey_retry_scheduled');
  });

  it('refuses a survey for an unknown order and needs the desk role', async () => {
    expect((await api('POST', '/api/v1/orders/nope/survey', DESK, {})).statusCode).toBe(404);
    expect((await api('GET', '/api/v1/reports/callbacks', DESK)).statusCode).toBe(403);
    expect((await api('GET', '/api/v1/flags', {})).statusCode).toBe(401);
  });
});
