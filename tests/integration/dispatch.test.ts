// Dispatch orders end to end: HTTP API → SQLite → order and call machines → ARI → Asterisk 22 →
// simulated duty phones (dialplans/sim-phones.conf). Every scenario has its own department so
// they all run at once; each test asserts the stored case record, not only the HTTP answer.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Services } from '../../src/composition.js';
import type { CaseRecord } from '../../src/orders/case-record.js';
import { startServices } from './support.js';

let s: Services;
let webhookServer: http.Server;
const webhookCalls: unknown[] = [];
const DESK = { authorization: 'Bearer dev-desk-token' };
const ADMIN = { authorization: 'Bearer dev-admin-token' };
const DEPT = { authorization: 'Bearer dev-department-token' };

/** Short delays so escalation happens within seconds (named, validated policy fields). */
const FAST = { attemptsPerContact: 1, retryDelaySeconds: 1, ringTimeoutSeconds: 3, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 1, keyTimeoutSeconds: 3 };

const scenarios = {
  accept: { department: 'tourism', contacts: ['70111'] },
  repeatThenAccept: { department: 'education', contacts: ['702321'] },
  dispute: { department: 'civil-affairs', contacts: ['70113'] },
  noAnswerThenBackup: { department: 'human-resources', contacts: ['730', '70111'] },
  busyThenBackup: { department: 'environment-forestry', contacts: ['740', '70111'] },
  hangupDuringPrompt: { department: 'housing-construction', contacts: ['721', '70111'] },
  noInput: { department: 'transport', contacts: ['710'], policy: { maxReplays: 0 } },
  exhausted: { department: 'agriculture-water', contacts: ['740', '750'] },
  major: { department: 'culture-media', contacts: ['70111'], major: true },
  // 800 is no simulated phone: unallocated number (cause 1). Two attempts per contact with a
  // 60 s retry delay: only the dead-line rule makes the backup ring at once.
  deadThenBackup: { department: 'health', contacts: ['800', '70111'], policy: { attemptsPerContact: 2, retryDelaySeconds: 60 } },
} as const;
type Scenario = keyof typeof scenarios;
const orderIds = new Map<Scenario, string>();

async function api(method: 'GET' | 'POST' | 'PUT', url: string, headers: Record<string, string>, payload?: unknown) {
  return s.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
}

async function configureDepartment(id: string, numbers: readonly string[], policy: Record<string, number>) {
  const list = (await api('GET', '/api/v1/departments', DESK)).json<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>();
  const dept = list.departments.find((d) => d.id === id);
  if (!dept) throw new Error(`no department ${id}`);
  const contacts = numbers.map((number, i) => ({ id: `c${i + 1}`, name: `duty ${i + 1}`, number, priority: i + 1 }));
  const res = await api('PUT', `/api/v1/departments/${id}`, ADMIN, { name: dept.name, categories: dept.categories, contacts, policy });
  expect(res.statusCode, res.body).toBe(200);
}

function orderBody(scenario: Scenario) {
  const sc = scenarios[scenario];
  return {
    externalId: `it-${scenario}-${Date.now()}`,
    category: 'water-main-burst',
    departmentId: sc.department,
    summary: '水管爆裂',
    address: '城关镇',
    reporterPhone: '13800138000',
    urgency: 'urgent',
    ...('major' in sc ? { major: true } : {}),
  };
}

async function record(id: string): Promise<CaseRecord> {
  return (await api('GET', `/api/v1/orders/${id}`, DESK)).json<CaseRecord>();
}

/** Waits until the order's dispatch has finished (no live machine) and returns its record. */
async function settled(scenario: Scenario, timeoutMs = 90_000): Promise<CaseRecord> {
  const id = orderIds.get(scenario);
  if (!id) throw new Error(`order for ${scenario} was not created`);
  await expect.poll(() => s.dispatcher.isLive(id), { timeout: timeoutMs, interval: 250 }).toBe(false);
  return record(id);
}

beforeAll(async () => {
  webhookServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      webhookCalls.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => webhookServer.listen(0, '127.0.0.1', r));
  const port = (webhookServer.address() as AddressInfo).port;
  s = await startServices('dispatch', { LIANDONG_WEBHOOK_URL: `http://127.0.0.1:${port}/hook` });
  const directory = {
    commandCentre: { id: 'command-centre', name: { 'zh-CN': '110指挥中心', en: '110 command centre' }, number: '70111' },
    leaders: [
      { id: 'leader-a', name: { 'zh-CN': '副县长', en: 'Deputy county head' }, number: '70111' },
      { id: 'leader-b', name: { 'zh-CN': '办公室主任', en: 'Office director' }, number: '70211' },
    ],
  };
  expect((await api('PUT', '/api/v1/directory', ADMIN, directory)).statusCode).toBe(200);
  for (const [name, sc] of Object.entries(scenarios) as Array<[Scenario, (typeof scenarios)[Scenario]]>) {
    await configureDepartment(sc.department, sc.contacts, { ...FAST, ...('policy' in sc ? sc.policy : {}) });
    const res = await api('POST', '/api/v1/orders', DESK, orderBody(name));
    expect(res.statusCode, res.body).toBe(201);
    orderIds.set(name, res.json<{ id: string }>().id);
  }
}, 120_000);

afterAll(async () => {
  await s?.close();
  webhookServer?.close();
});

describe('dispatch calls against simulated duty phones', () => {
  it('accept: 1 is committed, then confirmed; who and when are in the record', async () => {
    const r = await settled('accept');
    expect(r.status).toBe('accepted');
    expect(r.attempts).toHaveLength(1);
    expect(r.attempts[0]).toMatchObject({ script: 'dispatch', contactId: 'c1', result: 'accepted', digits: '1', number: '***11' });
    expect(r.attempts[0]?.answeredAt).not.toBeNull();
    expect(r.acknowledgement).toMatchObject({ contactId: 'c1', via: 'phone', disputed: false, late: false });
    expect(r.acknowledgement?.secondsToAccept).toBeGreaterThan(0.5);
    const kinds = r.events.map((e) => e.kind);
    // Committed before the confirmation was played and the call ended.
    expect(kinds.indexOf('acceptance_committed')).toBeLessThan(kinds.lastIndexOf('attempt_ended'));
  });

  it('repeat then accept: 2 replays the order, 1 accepts', async () => {
    const r = await settled('repeatThenAccept');
    expect(r.status).toBe('accepted');
    expect(r.attempts[0]).toMatchObject({ result: 'accepted', digits: '21' });
    expect(r.events.filter((e) => e.kind === 'keypad').map((e) => e.detail.result)).toEqual(['repeat', 'accepted']);
  });

  it('dispute: 3 accepts and records a jurisdiction dispute', async () => {
    const r = await settled('dispute');
    expect(r.status).toBe('accepted');
    expect(r.acknowledgement).toMatchObject({ disputed: true, late: false });
    expect(r.attempts[0]?.digits).toBe('3');
  });

  it('no answer, then the backup contact accepts', async () => {
    const r = await settled('noAnswerThenBackup');
    expect(r.status).toBe('accepted');
    expect(r.attempts.map((a) => [a.contactId, a.result])).toEqual([['c1', 'no_answer'], ['c2', 'accepted']]);
    expect(r.attempts[0]?.cause?.code).toBe(19);
    expect(r.acknowledgement?.contactId).toBe('c2');
  });

  it('busy, then the backup contact accepts', async () => {
    const r = await settled('busyThenBackup');
    expect(r.attempts.map((a) => [a.contactId, a.result])).toEqual([['c1', 'busy'], ['c2', 'accepted']]);
    expect(r.attempts[0]?.cause).toEqual({ code: 17, text: expect.any(String) as string });
  });

  it('primary number unallocated: the backup rings within 1 s, not after the retry delay', async () => {
    const r = await settled('deadThenBackup');
    expect(r.status).toBe('accepted');
    expect(r.attempts.map((a) => [a.contactId, a.result])).toEqual([['c1', 'failed'], ['c2', 'accepted']]);
    const [dead, backup] = r.attempts;
    expect(dead?.cause?.code).toBe(1);
    expect(dead?.reason).toMatch(/^line dead: /);
    // 70111 answers as soon as it rings, so its answer time is when the backup rang. (The first
    // call's own start waits in the trunk pacer behind this file's other orders, so the order's
    // creation time is not the reference.)
    const gapMs = Date.parse(backup?.answeredAt ?? '') - Date.parse(dead?.endedAt ?? '');
    expect(gapMs).toBeGreaterThanOrEqual(0);
    expect(gapMs).toBeLessThan(1000);
    expect(r.events.map((e) => e.kind)).toEqual(expect.arrayContaining(['dead_line', 'next_contact']));
    expect(r.events.map((e) => e.kind)).not.toContain('retry_scheduled');
  });

  it('hang-up during the prompt is recorded, then the backup accepts', async () => {
    const r = await settled('hangupDuringPrompt');
    expect(r.attempts.map((a) => a.result)).toEqual(['hangup', 'accepted']);
    expect(r.attempts[0]?.answeredAt).not.toBeNull();
  });

  it('no key within the named timeout: no_input (heard, not accepted), chain exhausted', async () => {
    const r = await settled('noInput');
    expect(r.attempts[0]).toMatchObject({ script: 'dispatch', result: 'no_input', digits: '' });
    expect(r.acknowledgement).toBeNull();
  });

  it('chain exhausted: unacknowledged, webhook, alarm call to the command centre confirmed with 1', async () => {
    const r = await settled('exhausted');
    expect(r.status).toBe('unacknowledged');
    expect(r.attempts.map((a) => [a.script, a.result])).toEqual([['dispatch', 'busy'], ['dispatch', 'failed'], ['alarm', 'accepted']]);
    expect(r.acknowledgement).toBeNull();
    expect(r.confirmations).toEqual([expect.objectContaining({ script: 'alarm', contactId: 'command-centre', late: false })]);
    expect(r.events.map((e) => e.kind)).toEqual(expect.arrayContaining(['chain_exhausted', 'alarm_confirmed', 'webhook_queued']));
    // The outbox delivers it on its own time (stored first, then sent).
    await vi.waitFor(() => expect(webhookCalls).toContainEqual(expect.objectContaining({ event: 'order.unacknowledged', data: expect.objectContaining({ orderId: r.id, status: 'unacknowledged' }) as unknown })), { timeout: 10_000 });
  });

  it('major incident: the department accepts and each county leader confirms, recorded per person', async () => {
    const r = await settled('major');
    expect(r.status).toBe('accepted');
    expect(r.major).toBe(true);
    const leaderCalls = r.attempts.filter((a) => a.script === 'major');
    expect(leaderCalls.map((a) => a.contactId).sort()).toEqual(['leader-a', 'leader-b']);
    expect(leaderCalls.every((a) => a.result === 'accepted')).toBe(true);
    expect(r.confirmations.map((c) => c.contactId).sort()).toEqual(['leader-a', 'leader-b']);
    expect(r.acknowledgement?.contactId).toBe('c1');
  });
});

describe('feedback', () => {
  it('arrived then completed move the case forward and are in the record', async () => {
    const id = orderIds.get('accept') as string;
    await settled('accept');
    expect((await api('POST', `/api/v1/orders/${id}/feedback`, DEPT, { kind: 'arrived', note: '已到达现场' })).statusCode).toBe(201);
    expect((await record(id)).status).toBe('arrived');
    expect((await api('POST', `/api/v1/orders/${id}/feedback`, DEPT, { kind: 'completed' })).statusCode).toBe(201);
    const r = await record(id);
    expect(r.status).toBe('completed');
    expect(r.feedback.map((f) => f.kind)).toEqual(['arrived', 'completed']);
    expect(r.events.map((e) => e.kind)).toEqual(expect.arrayContaining(['feedback_arrived', 'feedback_completed']));
  });
});

describe('orders API input', () => {
  it('is idempotent on externalId: the same order comes back and no second call is placed', async () => {
    await settled('accept');
    const body = orderBody('accept');
    const first = await api('POST', '/api/v1/orders', DESK, body);
    const again = await api('POST', '/api/v1/orders', DESK, body);
    expect([first.statusCode, again.statusCode]).toEqual([201, 200]);
    expect(again.json()).toEqual(first.json());
    const id = first.json<{ id: string }>().id;
    await expect.poll(() => s.dispatcher.isLive(id), { timeout: 30_000 }).toBe(false);
    expect((await record(id)).attempts.filter((a) => a.script === 'dispatch')).toHaveLength(1);
    const changed = await api('POST', '/api/v1/orders', DESK, { ...body, summary: '另一件事' });
    expect(changed.statusCode).toBe(409);
  });

  it.each([
    ['a number with &', { reporterPhone: '138&Local/1@x' }, 400],
    ['full-width digits', { reporterPhone: '１３８００１３８０００' }, 400],
    ['an unknown field', { extra: 1 }, 400],
    ['a wrong type', { urgency: 1 }, 400],
    ['an unknown category', { category: 'alien-landing' }, 400],
    ['an unknown department', { departmentId: 'ministry-of-magic' }, 400],
    ['SQL-looking text is just text (stored verbatim)', { summary: "'; DROP TABLE orders; --" }, 201],
  ] as const)('%s', async (_label, patch, status) => {
    const before = (await api('GET', '/api/v1/orders?limit=1', DESK)).json<{ total: number }>().total;
    const res = await api('POST', '/api/v1/orders', DESK, { ...orderBody('accept'), externalId: `bad-${Math.random()}`, ...patch });
    expect(res.statusCode, res.body).toBe(status);
    const after = (await api('GET', '/api/v1/orders?limit=1', DESK)).json<{ total: number }>().total;
    if (status === 400) {
      expect(res.json()).toMatchObject({ error: { code: expect.any(String) as string, message: expect.any(String) as string } });
      expect(after).toBe(before);
    } else {
      expect(after).toBe(before + 1);
      const id = res.json<{ id: string }>().id;
      expect((await record(id)).summary).toBe("'; DROP TABLE orders; --");
      await api('POST', `/api/v1/orders/${id}/cancel`, DESK, { reason: 'test' });
    }
  });

  it('needs a token and the desk role', async () => {
    const body = { ...orderBody('accept'), externalId: `auth-${Date.now()}` };
    expect((await api('POST', '/api/v1/orders', {}, body)).statusCode).toBe(401);
    expect((await api('POST', '/api/v1/orders', { authorization: 'Bearer wrong-token-123' }, body)).statusCode).toBe(401);
    expect((await api('POST', '/api/v1/orders', { authorization: 'Bearer dev-viewer-token' }, body)).statusCode).toBe(403);
    expect((await api('GET', `/api/v1/orders?limit=200`, DESK)).json<{ orders: Array<{ externalId: string }> }>().orders.map((o) => o.externalId)).not.toContain(body.externalId);
  });
});
