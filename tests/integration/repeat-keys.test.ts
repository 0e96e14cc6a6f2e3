// `*` repeats, on the real Asterisk 22 with simulated phones (77DDG<keys>: each 0 is pressed as *):
// in a dispatch call it replays the order like 2; in the callback survey it reads the current
// question again, and the answers that follow are stored once each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/composition.js';
import type { CaseRecord } from '../../src/orders/case-record.js';
import { setDutyLine, startServices } from './support.js';

let s: Services;
const DESK = { authorization: 'Bearer dev-desk-token' };
const DEPT = { authorization: 'Bearer dev-department-token' };

type Survey = { id: string; kind: string; status: string; attempts: Array<{ result: string | null }>; answers: Record<string, string | null> };
type Record_ = CaseRecord & { surveys: Survey[] };

async function api(method: 'GET' | 'POST' | 'PUT', url: string, headers: Record<string, string>, payload?: object) {
  return s.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
}
const record = async (id: string) => (await api('GET', `/api/v1/orders/${id}`, DESK)).json<Record_>();

const setContact = (departmentId: string, number: string) => setDutyLine(s, departmentId, number, { maxReplays: 2, keyTimeoutSeconds: 4 });

async function order(category: string, reporterPhone: string, tag: string): Promise<string> {
  const res = await api('POST', '/api/v1/orders', DESK, { externalId: `repeat-${tag}-${Date.now()}`, category, summary: '投诉', address: '景区', reporterPhone, urgency: 'urgent' });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>().id;
}

beforeAll(async () => {
  s = await startServices('repeat-keys', {
    LIANDONG_SURVEY_DELAY_SECONDS: '0',
    LIANDONG_SURVEY_WINDOW: '00:00-00:00',
    LIANDONG_SURVEY_ATTEMPTS: '1',
    LIANDONG_SURVEY_RING_SECONDS: '5',
    LIANDONG_SURVEY_KEY_TIMEOUT_SECONDS: '6',
    LIANDONG_FOLLOWUP_RULE: 'off',
  });
  await setContact('education', '7701201'); // after 1 s *, 2 s later 1
  await setContact('tourism', '70111');
}, 60_000);
afterAll(async () => {
  await s?.close();
});

describe('* in a dispatch call', () => {
  it('replays the order like 2; the 1 pressed during the replay accepts', async () => {
    const dept = (await api('GET', '/api/v1/departments', DESK)).json<{ departments: Array<{ id: string; categories: string[] }> }>().departments.find((d) => d.id === 'education');
    const id = await order(dept?.categories[0] ?? '', '13800138000', 'dispatch');
    await expect.poll(() => s.dispatcher.isLive(id), { timeout: 60_000, interval: 250 }).toBe(false);
    const r = await record(id);
    expect(r.status).toBe('accepted');
    expect(r.attempts[0]).toMatchObject({ result: 'accepted', digits: '*1' });
    expect(r.events.filter((e) => e.kind === 'keypad').map((e) => [e.detail.result, e.detail.key, e.detail.replay])).toEqual([['repeat', '*', 0], ['accepted', '1', 1]]);
  }, 90_000);
});

describe('* in the callback survey', () => {
  it('* during question 1 reads it again; then 1, 2, 1 are stored once each', async () => {
    // The citizen presses * 26 s after answering (the greeting lasts about 21 s, so during
    // question 1), then 1, 2, 1 two seconds apart.
    const id = await order('tourism-complaint', '772620121', 'survey');
    await expect.poll(async () => (await record(id)).status, { timeout: 60_000, interval: 300 }).toBe('accepted');
    expect((await api('POST', `/api/v1/orders/${id}/feedback`, DEPT, { kind: 'completed' })).statusCode).toBe(201);
    await expect.poll(async () => (await record(id)).surveys.find((x) => x.kind === 'callback')?.status, { timeout: 120_000, interval: 500 }).toBe('completed');
    const r = await record(id);
    const callback = r.surveys.find((x) => x.kind === 'callback');
    expect(callback).toMatchObject({ answers: { attitude: 'satisfied', speed: 'unsatisfied', quality: 'satisfied' } });
    expect(callback?.attempts.map((a) => a.result)).toEqual(['completed']);
    // The * was heard as "repeat" for question 1 (read a second time); each answer stored once.
    const keys = r.events.filter((e) => e.kind === 'survey_key').map((e) => [e.detail.question, e.detail.key, e.detail.meaning]);
    expect(keys).toEqual([['attitude', '*', 'repeat'], ['attitude', '1', 'satisfied'], ['speed', '2', 'unsatisfied'], ['quality', '1', 'satisfied']]);
    const answers = r.events.filter((e) => e.kind === 'survey_answer').map((e) => e.detail.question);
    expect(answers).toEqual(['attitude', 'speed', 'quality']);
  }, 180_000);
});
