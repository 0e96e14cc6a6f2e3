// /metrics against real calls on Asterisk: two orders (one accepted with 1 after a busy first
// contact, one accepted with 1 at once) and a test of the counters and histograms read back in
// Prometheus text format: calls started and ended by script and result, originate → answer and
// key → acknowledgement-committed histograms, seconds to accept per department, orders by
// status, ARI/AMI connected, trunk and order machine gauges, HTTP durations by route pattern, process metrics.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Services } from '../../src/composition.js';
import { first } from '../../src/db/sql.js';
import { startServices } from './support.js';

const ADMIN = { authorization: 'Bearer dev-admin-token' };
const DESK = { authorization: 'Bearer dev-desk-token' };
const VIEWER = { authorization: 'Bearer dev-viewer-token' };
const POLICY = { attemptsPerContact: 1, retryDelaySeconds: 1, ringTimeoutSeconds: 10, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 1, keyTimeoutSeconds: 8 };

let s: Services;
let text = '';
const ids: string[] = [];

/** The value of one sample, e.g. sample('liandong_calls_ended_total', { script: 'dispatch', result: 'busy' }). */
function sample(name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = new Map([...(m[3] ?? '').matchAll(/([a-zA-Z_]+)="([^"]*)"/g)].map((x) => [x[1] as string, x[2] as string]));
    if (Object.entries(labels).every(([k, v]) => got.get(k) === v)) return Number(m[4]);
  }
  return undefined;
}

async function configure(departmentId: string, numbers: string[]): Promise<void> {
  const list = (await s.app.inject({ method: 'GET', url: '/api/v1/departments', headers: DESK })).json<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>();
  const d = list.departments.find((x) => x.id === departmentId);
  const res = await s.app.inject({
    method: 'PUT', url: `/api/v1/departments/${departmentId}`, headers: ADMIN,
    payload: { name: d?.name, categories: d?.categories, contacts: numbers.map((number, i) => ({ id: `c${i + 1}`, name: `duty ${i + 1}`, number, priority: i + 1 })), policy: POLICY },
  });
  expect(res.statusCode, res.body).toBe(200);
}

beforeAll(async () => {
  s = await startServices('metrics');
  await configure('education', ['741', '70111']); // busy, then accepts with 1 after 1 s
  await configure('tourism', ['70211']); // accepts with 1 after 2 s
  for (const [externalId, departmentId] of [['m-1', 'education'], ['m-2', 'tourism']]) {
    const res = await s.app.inject({
      method: 'POST', url: '/api/v1/orders', headers: DESK,
      payload: { externalId, category: 'water-main-burst', departmentId, summary: '水管爆裂', address: '城关镇', reporterPhone: '13912345678', urgency: 'urgent' },
    });
    expect(res.statusCode, res.body).toBe(201);
    ids.push(res.json<{ id: string }>().id);
  }
  // Dispatch finished and every attempt ended (the confirmation ends a little after the machine).
  await vi.waitFor(async () => {
    expect(ids.some((id) => s.dispatcher.isLive(id))).toBe(false);
    expect(await first(s.store.db, sql<{ n: number }>`SELECT count(*) AS n FROM attempts WHERE ended_at IS NULL`)).toEqual({ n: 0 });
  }, { timeout: 90_000, interval: 250 });
  // A line is freed by the channel's hangup event, which may come just after the attempt ended.
  await vi.waitFor(async () => {
    const res = await s.app.inject({ method: 'GET', url: '/metrics', headers: VIEWER });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    text = res.body;
    expect(sample('liandong_trunk_lines_in_use')).toBe(0);
  }, { timeout: 10_000, interval: 200 });
}, 150_000);

afterAll(async () => {
  await s?.close();
});

describe('/metrics after real calls', () => {
  it('needs a viewer (or admin) token', async () => {
    expect((await s.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    expect((await s.app.inject({ method: 'GET', url: '/metrics', headers: DESK })).statusCode).toBe(403);
    expect((await s.app.inject({ method: 'GET', url: '/metrics', headers: ADMIN })).statusCode).toBe(200);
  });

  it('counts calls started and ended by script and result', () => {
    expect(sample('liandong_calls_started_total', { script: 'dispatch' })).toBe(3);
    expect(sample('liandong_calls_ended_total', { script: 'dispatch', result: 'busy' })).toBe(1);
    expect(sample('liandong_calls_ended_total', { script: 'dispatch', result: 'accepted' })).toBe(2);
  });

  it('observes originate → answer and key → acknowledgement committed', () => {
    expect(sample('liandong_originate_to_answer_seconds_count', { script: 'dispatch' })).toBe(2);
    const answerSum = sample('liandong_originate_to_answer_seconds_sum', { script: 'dispatch' }) as number;
    expect(answerSum).toBeGreaterThan(0);
    expect(answerSum).toBeLessThan(20);
    expect(sample('liandong_key_to_acknowledgement_committed_seconds_count', { script: 'dispatch' })).toBe(2);
    const commitSum = sample('liandong_key_to_acknowledgement_committed_seconds_sum', { script: 'dispatch' }) as number;
    expect(commitSum).toBeGreaterThanOrEqual(0);
    expect(commitSum).toBeLessThan(2);
    expect(sample('liandong_key_to_acknowledgement_committed_seconds_bucket', { script: 'dispatch', le: '+Inf' })).toBe(2);
  });

  it('observes seconds to accept per department, consistent with the case records', async () => {
    for (const [i, dept] of [[0, 'education'], [1, 'tourism']] as const) {
      expect(sample('liandong_seconds_to_accept_count', { department: dept })).toBe(1);
      const rec = (await s.app.inject({ method: 'GET', url: `/api/v1/orders/${ids[i] as string}`, headers: DESK })).json<{ acknowledgement: { secondsToAccept: number } }>();
      expect(sample('liandong_seconds_to_accept_sum', { department: dept })).toBeCloseTo(rec.acknowledgement.secondsToAccept, 1);
    }
  });

  it('reads orders by status, connections, trunk, order machine and webhook gauges at scrape time', () => {
    expect(sample('liandong_orders', { status: 'accepted' })).toBe(2);
    expect(sample('liandong_ari_connected')).toBe(1);
    expect(sample('liandong_ami_connected')).toBe(1);
    expect(sample('liandong_trunk_lines_in_use')).toBe(0);
    expect(sample('liandong_trunk_queue_depth')).toBe(0);
    expect(sample('liandong_order_machines_live')).toBe(0);
    expect(sample('liandong_orders_awaiting_admission')).toBe(0);
    expect(sample('liandong_webhook_deliveries', { status: 'pending' })).toBe(0);
  });

  it('times HTTP answers by route pattern (no ids in labels), and has the process metrics', () => {
    expect(sample('liandong_http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/orders', status_code: '201' })).toBe(2);
    expect(sample('liandong_http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/departments', status_code: '200' })).toBe(2);
    expect(sample('liandong_http_request_duration_seconds_count', { method: 'PUT', route: '/api/v1/departments/:id', status_code: '200' })).toBe(2);
    expect(text).not.toMatch(new RegExp(ids.join('|')));
    expect(sample('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(sample('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sample('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });
});
