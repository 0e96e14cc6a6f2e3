// The webhook outbox end to end, with the production service as a child process placing real
// calls on Asterisk. A local receiver answers 500, then is down (connection refused), then
// answers too slowly (past the 2 s timeout), and the service is killed with SIGKILL meanwhile;
// after the restart the receiver recovers (answers within the timeout, a little slowly). Every
// event — order.accepted, dispute.opened, order.unacknowledged, order.completed, survey.flagged —
// reaches each subscriber it concerns (global, per department), every request's signature
// verifies, nothing is lost, and the retry schedule is measured at the receiver.
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, spawnService, TOKENS, waitUntil, type ServiceProcess } from '../../harness/service-process.js';

const SECRET = 'webhook-test-secret-0123456789';
const QUICK = '70111'; // answers, presses 1 after 1 s
const DISPUTE = '70113'; // answers, presses 3 after 1 s (accept and dispute jurisdiction)
const BUSY = '741'; // busy
const CITIZEN = '7011121'; // answers the survey 1, 2, 1 (speed not satisfied)
const POLICY = { attemptsPerContact: 1, retryDelaySeconds: 1, ringTimeoutSeconds: 10, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 1, keyTimeoutSeconds: 8 };
const RETRY = { first: 1, max: 4, timeout: 2 };

type Mode = 'fail' | 'down' | 'slow' | 'ok';
interface Hit { at: number; path: string; id: string; event: string; attempt: number; status: number | 'timeout'; signatureOk: boolean; body: Record<string, unknown> }

let svc: ServiceProcess;
let mode: Mode = 'fail';
let server: http.Server | undefined;
let port = 0;
const hits: Hit[] = [];
const phases: Array<{ mode: Mode; at: number }> = [];
const orders = { a: '', b: '', c: '' };

function listen(): Promise<void> {
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      const expected = `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`;
      const signatureOk = req.headers['x-liandong-signature'] === expected && req.headers['x-liandong-timestamp'] === String(body.sentAt) && req.headers['x-liandong-event-id'] === body.id;
      const hit: Hit = { at: Date.now(), path: req.url ?? '', id: String(body.id), event: String(body.event), attempt: Number(body.attempt), status: 500, signatureOk, body };
      hits.push(hit);
      if (mode === 'fail') return void res.writeHead(500).end('broken');
      // slow: past the service's timeout, so the service counts it as failed and sends it again.
      const delay = mode === 'slow' ? (RETRY.timeout + 1) * 1000 : 500;
      hit.status = mode === 'slow' ? 'timeout' : 200;
      setTimeout(() => {
        if (!res.destroyed) res.writeHead(200).end('ok');
      }, delay);
    });
  });
  return new Promise((resolve) => server?.listen(port, '127.0.0.1', () => {
    port = (server?.address() as AddressInfo).port;
    resolve();
  }));
}

function setMode(m: Mode): void {
  mode = m;
  phases.push({ mode: m, at: Date.now() });
}

async function configure(departmentId: string, number: string): Promise<void> {
  const list = await svc.api<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>('GET', '/api/v1/departments', TOKENS.desk);
  const d = list.body.departments.find((x) => x.id === departmentId);
  if (!d) throw new Error(`no department ${departmentId}`);
  const res = await svc.api('PUT', `/api/v1/departments/${departmentId}`, TOKENS.admin, { name: d.name, categories: d.categories, contacts: [{ id: 'c1', name: 'duty', number, priority: 1 }], policy: POLICY });
  if (res.status !== 200) throw new Error(`PUT department ${departmentId}: ${res.status} ${JSON.stringify(res.body)}`);
}

async function order(externalId: string, departmentId: string, reporterPhone = '13912345678'): Promise<string> {
  const res = await svc.api<{ id: string }>('POST', '/api/v1/orders', TOKENS.desk, { externalId, category: 'water-main-burst', departmentId, summary: '水管爆裂', address: '城关镇', reporterPhone, urgency: 'urgent' });
  if (res.status !== 201) throw new Error(`POST order: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

interface Deliveries { total: number; counts: { pending: number; delivered: number; failed: number }; deliveries: Array<{ id: string; eventId: string; event: string; subscriberId: string; url: string; status: string; attempts: number; departmentId: string | null }> }
const deliveries = async () => (await svc.api<Deliveries>('GET', '/api/v1/webhooks/deliveries?limit=500', TOKENS.admin)).body;

/** The (event, path) pairs each subscriber must receive. */
const expected = () => [
  ['order.accepted', orders.a, '/global'], ['order.accepted', orders.a, '/education'],
  ['order.completed', orders.a, '/global'], ['order.completed', orders.a, '/education'],
  ['survey.flagged', orders.a, '/global'], ['survey.flagged', orders.a, '/education'],
  ['order.accepted', orders.b, '/global'], ['dispute.opened', orders.b, '/global'],
  ['order.unacknowledged', orders.c, '/global'],
].map((x) => x.join(' ')).sort();

let final: Deliveries;

beforeAll(async () => {
  await listen();
  setMode('fail');
  svc = await spawnService('webhooks', {
    LIANDONG_WEBHOOK_URL: `http://127.0.0.1:${port}/global`,
    LIANDONG_WEBHOOK_SECRET: SECRET,
    LIANDONG_WEBHOOK_RETRY_FIRST_SECONDS: String(RETRY.first),
    LIANDONG_WEBHOOK_RETRY_MAX_SECONDS: String(RETRY.max),
    LIANDONG_WEBHOOK_TIMEOUT_SECONDS: String(RETRY.timeout),
    LIANDONG_WEBHOOK_RETRY_FOR_SECONDS: '600',
    LIANDONG_SURVEY_DELAY_SECONDS: '0',
    LIANDONG_SURVEY_WINDOW: '00:00-23:59',
    LIANDONG_SURVEY_RING_SECONDS: '10',
    LIANDONG_SURVEY_KEY_TIMEOUT_SECONDS: '8',
    LIANDONG_FOLLOWUP_RULE: 'off',
  });
  const directory = { commandCentre: { id: 'command-centre', name: { 'zh-CN': '指挥中心', en: 'Command centre' }, number: QUICK }, leaders: [] };
  expect((await svc.api('PUT', '/api/v1/directory', TOKENS.admin, directory)).status).toBe(200);
  for (const dept of ['education', 'tourism']) {
    const res = await svc.api('POST', '/api/v1/webhooks/subscribers', TOKENS.admin, { url: `http://127.0.0.1:${port}/${dept}`, departmentId: dept });
    expect(res.status).toBe(201);
  }
  await configure('education', QUICK);
  await configure('civil-affairs', DISPUTE);
  orders.a = await order('wh-a', 'education', CITIZEN);
  orders.b = await order('wh-b', 'civil-affairs');
  await waitUntil('A accepted', async () => (await svc.api<{ status: string }>('GET', `/api/v1/orders/${orders.a}`, TOKENS.desk)).body.status, (s) => s === 'accepted', 30_000);
  expect((await svc.api('POST', `/api/v1/orders/${orders.a}/feedback`, TOKENS.department, { kind: 'completed' })).status).toBe(201);
  await waitUntil('B accepted', async () => (await svc.api<{ status: string }>('GET', `/api/v1/orders/${orders.b}`, TOKENS.desk)).body.status, (s) => s === 'accepted', 30_000);
  await configure('civil-affairs', BUSY);
  orders.c = await order('wh-c', 'civil-affairs');
  // Every event stored (9 deliveries), each tried and refused at least twice.
  await waitUntil('all nine deliveries tried twice against a failing receiver', deliveries, (d) => d.total === 9 && d.deliveries.every((x) => x.attempts >= 2), 60_000, 250);
  // Down: connection refused.
  setMode('down');
  await new Promise<void>((r) => server?.close(() => r()));
  server?.closeAllConnections();
  await new Promise((r) => setTimeout(r, 3000));
  // Slow: answers after the service's timeout.
  await listen();
  setMode('slow');
  const before = hits.length;
  await waitUntil('slow answers seen', () => hits.length, (n) => n >= before + 3, 20_000);
  await svc.kill();
  setMode('ok');
  await svc.restart();
  await waitUntil('every delivery delivered after the restart', deliveries, (d) => d.counts.delivered === 9, 60_000, 250);
  final = await deliveries();
}, 240_000);

afterAll(async () => {
  await svc?.stop();
  svc?.removeDatabase();
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

describe('webhook outbox across a failing, down, slow receiver and a service kill', () => {
  it('every request the receiver got carries a valid signature and a timestamp equal to the body', () => {
    expect(hits.length).toBeGreaterThan(20);
    expect(hits.filter((h) => !h.signatureOk)).toEqual([]);
  });

  it('each event reached each subscriber it concerns with a 2xx answer; the other department saw none', () => {
    const answered = [...new Set(hits.filter((h) => h.status === 200).map((h) => `${h.event} ${String((h.body.data as { orderId: string }).orderId)} ${h.path}`))].sort();
    expect(answered).toEqual(expected());
    expect(hits.filter((h) => h.path === '/tourism')).toEqual([]);
  });

  it('nothing lost: all nine deliveries delivered, none pending or given up', () => {
    expect(final.counts).toEqual({ pending: 0, delivered: 9, failed: 0 });
    const stored = final.deliveries.map((d) => `${d.event} ${d.url.replace(/^http:\/\/127\.0\.0\.1:[0-9]+/, '')}`).sort();
    expect(stored).toEqual(expected().map((x) => x.replace(/ o[0-9a-f]+ /, ' ')).sort());
  });

  it('an event keeps its id across retries and the restart (receivers deduplicate on it)', () => {
    for (const d of final.deliveries) {
      const seen = hits.filter((h) => h.id === d.eventId && h.path === new URL(d.url).pathname);
      expect(seen.length, `${d.event} ${d.url}`).toBeGreaterThanOrEqual(3);
      expect(new Set(seen.map((h) => h.event))).toEqual(new Set([d.event]));
      // attempt numbers only grow, also across the restart
      const attempts = seen.map((h) => h.attempt);
      expect(attempts).toEqual([...attempts].sort((x, y) => x - y));
    }
  });

  it('retries follow the doubling backoff (1 s, 2 s, 4 s, capped at 4 s), measured at the receiver', () => {
    const first = final.deliveries.find((d) => d.event === 'order.accepted' && d.url.endsWith('/global') && hits.some((h) => h.id === d.eventId && h.attempt === 1));
    expect(first).toBeDefined();
    const failing = hits.filter((h) => h.id === first?.eventId && h.path === '/global' && h.at < (phases.find((p) => p.mode === 'down')?.at ?? 0));
    const gapsMs = failing.slice(1).map((h, i) => h.at - (failing[i] as Hit).at);
    const schedule = { firstSeconds: RETRY.first, maxSeconds: RETRY.max, gapsMs, attempts: failing.map((h) => h.attempt) };
    fs.writeFileSync(path.join(ARTIFACTS, 'webhooks.schedule.json'), `${JSON.stringify({ schedule, phases, hits: hits.map((h) => ({ at: h.at, path: h.path, id: h.id, event: h.event, attempt: h.attempt, status: h.status })) }, null, 2)}\n`);
    console.log(`webhook retry gaps (ms) while the receiver answered 500: ${gapsMs.join(', ')}`);
    expect(gapsMs.length).toBeGreaterThanOrEqual(3);
    const want = gapsMs.map((_, i) => Math.min(RETRY.first * 2 ** i, RETRY.max) * 1000);
    gapsMs.forEach((g, i) => {
      expect(g).toBeGreaterThanOrEqual((want[i] as number) - 50);
      // the wait plus the request's own time; a loaded machine adds a little
      expect(g).toBeLessThan((want[i] as number) + 1500);
    });
  });
});
