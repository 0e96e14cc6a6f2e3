// Urgency chooses the channel (Li County: 一般事项通过网格化平台下达，紧急情况直接电话通知), on
// the real Asterisk: a normal order goes to the department's platform first and is never
// phoned when acknowledged there in time; one that is not is phoned after platformAckSeconds;
// an urgent one is phoned at once even when the department has a platform.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/composition.js';
import { startServices } from './support.js';

const DESK = { authorization: 'Bearer dev-desk-token' };
const ADMIN = { authorization: 'Bearer dev-admin-token' };
const DEPT = { authorization: 'Bearer dev-department-token' };
const POLICY = { attemptsPerContact: 1, retryDelaySeconds: 1, ringTimeoutSeconds: 5, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 1, keyTimeoutSeconds: 4 };

interface CaseView { status: string; createdAt: string; attempts: Array<{ startedAt: string; result: string | null }>; events: Array<{ kind: string; at: string }>; acknowledgement: { via: string } | null }

let s: Services;
let platform: http.Server;
const received: Array<{ event: string; orderId: string; order?: { ackSeconds: number } }> = [];

async function api(method: 'GET' | 'POST' | 'PUT', url: string, headers: { authorization: string }, payload?: unknown) {
  return s.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
}
const record = async (id: string) => (await api('GET', `/api/v1/orders/${id}`, DESK)).json<CaseView>();

async function configure(id: string, platformUrl: string, ackSeconds: number) {
  const d = (await api('GET', '/api/v1/departments', DESK)).json<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>().departments.find((x) => x.id === id);
  const res = await api('PUT', `/api/v1/departments/${id}`, ADMIN, {
    name: d?.name, categories: d?.categories, contacts: [{ id: 'duty', name: 'duty', number: '70111', priority: 1 }],
    policy: { ...POLICY, platformAckSeconds: ackSeconds }, platform: { url: platformUrl },
  });
  expect(res.statusCode, res.body).toBe(200);
}

async function order(departmentId: string, urgency: 'normal' | 'urgent'): Promise<string> {
  const res = await api('POST', '/api/v1/orders', DESK, {
    externalId: `urg-${departmentId}-${Date.now()}`, category: 'water-main-burst', departmentId, summary: '路灯不亮', address: '城关镇', reporterPhone: '13800138000', urgency,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>().id;
}

beforeAll(async () => {
  platform = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(JSON.parse(body) as (typeof received)[number]);
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((r) => platform.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(platform.address() as AddressInfo).port}/orders`;
  s = await startServices('urgency');
  await configure('tourism', url, 4);
  await configure('education', url, 2);
  await configure('civil-affairs', url, 600);
}, 60_000);

afterAll(async () => {
  await s?.close();
  platform?.close();
});

describe('urgency chooses the channel', () => {
  it('a normal order acknowledged on the platform in time is never phoned', async () => {
    const id = await order('tourism', 'normal');
    await expect.poll(() => received.find((r) => r.orderId === id), { timeout: 10_000 }).toMatchObject({ event: 'order.dispatched', order: { ackSeconds: 4 } });
    const ack = await api('POST', `/api/v1/orders/${id}/acknowledge`, DEPT);
    expect(ack.statusCode, ack.body).toBe(200);
    expect(ack.json()).toMatchObject({ status: 'accepted' });
    await new Promise((r) => setTimeout(r, 6000)); // past platformAckSeconds
    const r = await record(id);
    expect(r.status).toBe('accepted');
    expect(r.attempts).toEqual([]);
    expect(r.acknowledgement).toMatchObject({ via: 'feedback' });
    expect(r.events.map((e) => e.kind)).toEqual(expect.arrayContaining(['sent_to_platform', 'platform_delivered', 'acknowledged_via_api']));
    expect(r.events.map((e) => e.kind)).not.toContain('platform_unacknowledged');
    expect(s.dispatcher.isLive(id)).toBe(false);
  });

  it('a normal order not acknowledged is phoned after platformAckSeconds', async () => {
    const id = await order('education', 'normal');
    await expect.poll(async () => (await record(id)).status, { timeout: 40_000, interval: 250 }).toBe('accepted');
    const r = await record(id);
    const waitedMs = Date.parse(r.attempts[0]?.startedAt ?? '') - Date.parse(r.createdAt);
    expect(waitedMs).toBeGreaterThanOrEqual(2000);
    expect(r.events.map((e) => e.kind)).toEqual(expect.arrayContaining(['sent_to_platform', 'platform_unacknowledged', 'acceptance_committed']));
    expect(r.acknowledgement).toMatchObject({ via: 'phone' });
  });

  it('an urgent order is phoned at once although the department has a platform', async () => {
    const id = await order('civil-affairs', 'urgent');
    await expect.poll(async () => (await record(id)).attempts.length, { timeout: 10_000, interval: 100 }).toBeGreaterThan(0);
    const r = await record(id);
    expect(Date.parse(r.attempts[0]?.startedAt ?? '') - Date.parse(r.createdAt)).toBeLessThan(1000);
    expect(r.events.map((e) => e.kind)).not.toContain('sent_to_platform');
    expect(received.some((x) => x.orderId === id)).toBe(false);
  });
});
