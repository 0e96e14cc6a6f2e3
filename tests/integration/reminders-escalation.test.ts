// 督查催办 paths on the real Asterisk: "still on the way" twice escalates — the order is flagged
// overdue and the department's leader contact is called; "we need help" alerts the 110 command
// centre by webhook and an alarm call. Orders are acknowledged through the API, so the only
// calls are the reminders (and the alarm).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/composition.js';
import { startServices } from './support.js';

const DESK = { authorization: 'Bearer dev-desk-token' };
const ADMIN = { authorization: 'Bearer dev-admin-token' };
const DEPT = { authorization: 'Bearer dev-department-token' };
const POLICY = {
  attemptsPerContact: 1, retryDelaySeconds: 1, ringTimeoutSeconds: 3, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 0, keyTimeoutSeconds: 4,
  arrivalDeadlineSeconds: 3, completionDeadlineSeconds: 0, remindersBeforeEscalation: 2,
};

interface CaseView {
  status: string;
  feedback: Array<{ kind: string; via: string }>;
  events: Array<{ kind: string; detail: Record<string, unknown> }>;
  reminders: {
    deadlines: Array<{ kind: string; status: string; rounds: number; unanswered: number; helpRequests: number; overdueAt: string | null }>;
    calls: Array<{ round: number; target: string; contactId: string; result: string | null; answer: string | null }>;
  };
}

let s: Services;
let hook: http.Server;
// Outbox deliveries: the event name, and the order's fields under `data` (docs/webhooks.md).
const hooks: Array<{ event: string; data: { orderId: string; deadline?: string } }> = [];
const api = (method: 'GET' | 'POST' | 'PUT', url: string, headers: { authorization: string }, payload?: unknown) =>
  s.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
const record = async (id: string) => (await api('GET', `/api/v1/orders/${id}`, DESK)).json<CaseView>();

async function configure(id: string, leaderNumber: string) {
  const d = (await api('GET', '/api/v1/departments', DESK)).json<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>().departments.find((x) => x.id === id);
  const res = await api('PUT', `/api/v1/departments/${id}`, ADMIN, {
    name: d?.name, categories: d?.categories, policy: POLICY,
    contacts: [{ id: 'duty-room', name: 'duty', number: '730', priority: 1 }, { id: 'leader', name: 'leader', number: leaderNumber, priority: 2 }],
  });
  expect(res.statusCode, res.body).toBe(200);
}

async function acceptedOrder(departmentId: string): Promise<string> {
  const res = await api('POST', '/api/v1/orders', DESK, {
    externalId: `esc-${departmentId}-${Date.now()}`, category: 'water-main-burst', departmentId, summary: '水管爆裂', address: '城关镇', reporterPhone: '13800138000', urgency: 'urgent',
  });
  expect(res.statusCode, res.body).toBe(201);
  const id = res.json<{ id: string }>().id;
  expect((await api('POST', `/api/v1/orders/${id}/acknowledge`, DEPT)).statusCode).toBe(200);
  return id;
}

beforeAll(async () => {
  hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hooks.push(JSON.parse(body) as (typeof hooks)[number]);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  s = await startServices('reminders-escalation', { LIANDONG_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook` });
  const directory = { commandCentre: { id: 'command-centre', name: { 'zh-CN': '指挥中心', en: 'Command centre' }, number: '70111' }, leaders: [] };
  expect((await api('PUT', '/api/v1/directory', ADMIN, directory)).statusCode).toBe(200);
  await configure('tourism', '70112'); // the leader answers and presses 2: still on the way
  await configure('education', '70113'); // the leader answers and presses 3: we need help
}, 60_000);

afterAll(async () => {
  await s?.close();
  hook?.close();
});

describe('reminder escalation and help', () => {
  it('"still on the way" twice: progress recorded each time, then flagged overdue and the leader contact is called', async () => {
    const id = await acceptedOrder('tourism');
    await expect.poll(async () => (await record(id)).reminders.calls.filter((c) => c.target === 'leader').length, { timeout: 120_000, interval: 500 }).toBe(1);
    await expect.poll(async () => (await record(id)).reminders.calls.every((c) => c.result !== null), { timeout: 30_000, interval: 500 }).toBe(true);
    const r = await record(id);
    // Round 1 and 2: the duty room rings unanswered, the leader (next in the chain) presses 2; then the escalation call.
    expect(r.reminders.calls.map((c) => [c.round, c.target, c.contactId, c.result, c.answer])).toEqual([
      [1, 'chain', 'duty-room', 'no_answer', null],
      [1, 'chain', 'leader', 'accepted', 'on_the_way'],
      [2, 'chain', 'duty-room', 'no_answer', null],
      [2, 'chain', 'leader', 'accepted', 'on_the_way'],
      [2, 'leader', 'leader', 'accepted', 'on_the_way'],
    ]);
    expect(r.reminders.deadlines[0]).toMatchObject({ kind: 'arrival', status: 'overdue', rounds: 2, unanswered: 2 });
    expect(r.reminders.deadlines[0]?.overdueAt).not.toBeNull();
    expect(r.feedback.map((f) => [f.kind, f.via])).toEqual([['progress', 'phone'], ['progress', 'phone'], ['progress', 'phone']]);
    expect(r.status).toBe('accepted');
    expect(r.events.map((e) => e.kind)).toEqual(expect.arrayContaining(['reminder_scheduled', 'flagged_overdue', 'leader_reminder_ended']));
    await expect.poll(() => hooks.some((h) => h.data.orderId === id && h.event === 'order.overdue'), { timeout: 10_000 }).toBe(true);
  });

  it('"we need help": webhook and an alarm call to the 110 command centre, confirmed with 1; a new deadline follows', async () => {
    const id = await acceptedOrder('education');
    await expect.poll(async () => (await record(id)).reminders.calls.some((c) => c.target === 'command_centre' && c.result !== null), { timeout: 90_000, interval: 500 }).toBe(true);
    // The alarm is raised as soon as 3 is committed; the chain round ends after the leader's confirmation.
    const kinds = async () => (await record(id)).events.map((e) => e.kind);
    await expect.poll(kinds, { timeout: 30_000, interval: 500 }).toEqual(expect.arrayContaining(['help_alarm_confirmed', 'reminder_scheduled']));
    const r = await record(id);
    expect(r.reminders.calls.slice(0, 2).map((c) => [c.contactId, c.answer])).toEqual([['duty-room', null], ['leader', 'need_help']]);
    expect(r.reminders.calls.find((c) => c.target === 'command_centre')).toMatchObject({ contactId: 'command-centre', result: 'accepted', answer: 'done' });
    expect(r.reminders.deadlines[0]).toMatchObject({ helpRequests: 1, unanswered: 0 });
    expect(hooks.find((h) => h.event === 'order.help_requested' && h.data.orderId === id)?.data).toMatchObject({ deadline: 'arrival' });
    // The unit reports its arrival by API at last: the deadline is met and no more reminders come.
    expect((await api('POST', `/api/v1/orders/${id}/feedback`, DEPT, { kind: 'arrived' })).statusCode).toBe(201);
    expect((await record(id)).reminders.deadlines[0]).toMatchObject({ status: 'met' });
  });
});
