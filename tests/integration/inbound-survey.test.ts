// Citizens who call back, on the real Asterisk 22: the survey call to the citizen found the line
// busy and gave up (unreachable); the citizen then phones liandong. Matched by caller id on the
// feedback number, or keying the order code on the survey line number, they answer the same
// three questions, and the callback counts as completed, with its attempt `via: inbound`.
// Calls are placed with AMI Originate: the ;2 half of the Local channel runs the sim phone
// (it presses the keys), the ;1 half enters our Stasis app as the inbound call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/composition.js';
import type { CaseRecord } from '../../src/orders/case-record.js';
import { maskPhone } from '../../src/logging.js';
import { setDutyLine, startServices } from './support.js';

let s: Services;
const DESK = { authorization: 'Bearer dev-desk-token' };
const DEPT = { authorization: 'Bearer dev-department-token' };
const VIEWER = { authorization: 'Bearer dev-viewer-token' };
const FEEDBACK_NUMBER = '12110';
const SURVEY_LINE = '12119';

type Survey = { id: string; kind: string; status: string; attempts: Array<{ result: string | null; via: string }>; answers: Record<string, string | null> };
type Record_ = CaseRecord & { surveys: Survey[] };

async function api(method: 'GET' | 'POST' | 'PUT', url: string, headers: Record<string, string>, payload?: object) {
  return s.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
}
const record = async (id: string) => (await api('GET', `/api/v1/orders/${id}`, DESK)).json<Record_>();
const callback = async (id: string) => (await record(id)).surveys.find((x) => x.kind === 'callback');

/** An order whose reporter's line is busy: its callback ends unreachable after one try. */
async function missedCallback(reporterPhone: string, tag: string): Promise<{ id: string; code: string }> {
  const res = await api('POST', '/api/v1/orders', DESK, {
    externalId: `inbound-${tag}-${Date.now()}`, category: 'tourism-complaint', summary: '投诉', address: '景区', reporterPhone, urgency: 'urgent',
  });
  expect(res.statusCode, res.body).toBe(201);
  const order = res.json<{ id: string; code: string }>();
  await expect.poll(async () => (await record(order.id)).status, { timeout: 60_000, interval: 300 }).toBe('accepted');
  expect((await api('POST', `/api/v1/orders/${order.id}/feedback`, DEPT, { kind: 'completed' })).statusCode).toBe(201);
  await expect.poll(async () => (await callback(order.id))?.status, { timeout: 60_000, interval: 300 }).toBe('unreachable');
  return order;
}

/** The citizen phones `dialled` from `callerNumber` on a sim phone that presses keys as its number says. */
async function phoneIn(simNumber: string, callerNumber: string, dialled: string): Promise<void> {
  const channelId = `in-${process.pid}-${Date.now().toString(36)}`;
  const res = await s.ami.action({
    Action: 'Originate',
    Channel: `Local/${simNumber}@sim-phones`,
    Application: 'Stasis',
    Data: `${s.config.ari.app},inbound,${dialled}`,
    CallerID: `"Citizen" <${callerNumber}>`,
    ChannelId: channelId,
    OtherChannelId: `${channelId}-sim`,
    Async: 'true',
  });
  expect(String(res.response).toLowerCase()).toBe('success');
}

beforeAll(async () => {
  s = await startServices('inbound-survey', {
    LIANDONG_SURVEY_DELAY_SECONDS: '0',
    LIANDONG_SURVEY_WINDOW: '00:00-00:00',
    LIANDONG_SURVEY_ATTEMPTS: '1',
    LIANDONG_SURVEY_RING_SECONDS: '3',
    LIANDONG_SURVEY_KEY_TIMEOUT_SECONDS: '4',
    LIANDONG_FOLLOWUP_RULE: 'off',
    LIANDONG_SURVEY_LINE_NUMBERS: SURVEY_LINE,
  });
  await setDutyLine(s, 'tourism', '70111');
}, 60_000);
afterAll(async () => {
  await s?.close();
});

/** `caller`: the number that phoned in, recorded (masked in the case record) on the inbound attempt. */
async function expectInboundCallback(id: string, caller: string): Promise<void> {
  await expect.poll(async () => (await callback(id))?.status, { timeout: 90_000, interval: 500 }).toBe('completed');
  const survey = await callback(id);
  expect(survey?.answers).toEqual({ attitude: 'satisfied', speed: 'unsatisfied', quality: 'satisfied' });
  expect(survey?.attempts.map((a) => [a.via, a.result])).toEqual([['outbound', 'busy'], ['inbound', 'completed']]);
  const r = await record(id);
  expect(r.status).toBe('surveyed');
  expect(r.events.filter((e) => e.kind === 'survey_answer').map((e) => e.detail.question)).toEqual(['attitude', 'speed', 'quality']);
  expect(r.events.filter((e) => e.kind === 'survey_call_started').map((e) => [e.detail.via, e.actor])).toEqual([['outbound', 'liandong'], ['inbound', `phone:${maskPhone(caller)}`]]);
  const rows = (await api('GET', '/api/v1/reports/callbacks', VIEWER)).json<{ rows: Array<{ orderId: string; kind: string; disposition: string; attempts: number }> }>().rows;
  expect(rows.filter((row) => row.orderId === id)).toEqual([expect.objectContaining({ kind: 'callback', disposition: 'completed', attempts: 2 })]);
}

describe('citizens who call back', () => {
  it('on the feedback number, matched by caller id to their open survey: answers 1, 2, 1', async () => {
    const { id } = await missedCallback('740', 'callerid');
    // 7011121: after 1 s press 1, 2, 1 one second apart (the 1 interrupts the greeting).
    await phoneIn('7011121', '740', FEEDBACK_NUMBER);
    await expectInboundCallback(id, '740');
  }, 180_000);

  it('on the survey line with another number: keys the order code, then answers 1, 2, 1', async () => {
    const { id, code } = await missedCallback('741', 'code');
    // 7012<code>121: after 1 s the six digits of the code, then 1, 2, 1, two seconds apart.
    await phoneIn(`7012${code}121`, '05770009999', SURVEY_LINE);
    await expectInboundCallback(id, '05770009999');
  }, 180_000);

  it('a caller with no open survey on the feedback number gets the feedback line as before', async () => {
    expect(await s.surveys.answerInbound('no-such-channel', { number: '05770001234' }, false, '05770001234')).toBe(false);
  });
});
