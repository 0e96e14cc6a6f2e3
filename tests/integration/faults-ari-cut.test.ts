// The ARI event websocket cut for 10 s while calls run (a dead network path: no FIN, no RST;
// only the missing pongs tell). ARI REST stays reachable. Keys pressed during the cut are never
// seen, so after reconnecting the service reconciles at once: channels that are gone end lost,
// channels still up are hung up and end lost too (a half-seen keypad is not trusted); their
// attempts end `interrupted` and are retried per policy. Reconciled within 2 s of reconnecting,
// no channel left behind after 60 s, one acknowledgement per order.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/composition.js';
import type { TelephonyHealth } from '../../src/telephony/port.js';
import { ari, AriProxy, TOKENS, waitUntil } from '../../harness/service-process.js';
import { ARTIFACTS, startServices, testConfig } from './support.js';

const SLOW = '70911'; // presses 1 after 9 s: during the cut
const CUT_MS = 10_000;
const POLICY = { attemptsPerContact: 3, retryDelaySeconds: 1, ringTimeoutSeconds: 10, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 1, keyTimeoutSeconds: 15 };

let s: Services;
let proxy: AriProxy;
const orders: string[] = [];
const health: Array<TelephonyHealth & { at: number }> = [];
let cutAt = 0;
let reconnectedAt = 0;
let reconciledAt = 0;
let cutAttempts: string[] = [];

async function api(method: 'GET' | 'POST' | 'PUT', url: string, token: string, payload?: unknown) {
  return s.app.inject({ method, url, headers: { authorization: token }, ...(payload === undefined ? {} : { payload: payload as object }) });
}

/** Every attempt of the orders, order by order. */
const attemptsOf = async (ids: readonly string[]) => (await Promise.all(ids.map((id) => s.repo.attempts(id)))).flat();

beforeAll(async () => {
  const direct = new URL(testConfig().ari.url);
  proxy = new AriProxy({ host: direct.hostname, port: Number(direct.port) });
  await proxy.start();
  s = await startServices('faults-ari-cut', { ARI_URL: `http://127.0.0.1:${proxy.port}` });
  s.telephony.onHealthChange((h) => health.push({ ...h, at: Date.now() }));
  const d = (await api('GET', '/api/v1/departments', TOKENS.desk)).json<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>().departments.find((x) => x.id === 'tourism');
  if (!d) throw new Error('no tourism department');
  const put = await api('PUT', '/api/v1/departments/tourism', TOKENS.admin, { name: d.name, categories: d.categories, contacts: [{ id: 'c1', name: 'duty', number: SLOW, priority: 1 }], policy: POLICY });
  if (put.statusCode !== 200) throw new Error(put.body);
  for (let i = 0; i < 10; i += 1) {
    const res = await api('POST', '/api/v1/orders', TOKENS.desk, { externalId: `cut-${i}-${Date.now()}`, category: 'water-main-burst', departmentId: 'tourism', summary: '水管爆裂', address: '城关镇', reporterPhone: '13800138000', urgency: 'urgent' });
    if (res.statusCode !== 201) throw new Error(res.body);
    orders.push(res.json<{ id: string }>().id);
  }
  await waitUntil('10 calls answered', async () => (await attemptsOf(orders)).filter((a) => a.answered_at && !a.ended_at).length, (n) => n === 10, 60_000);
  cutAttempts = orders.map((id) => `${id}-a1`);
  cutAt = Date.now();
  proxy.cutEvents(CUT_MS);
  await waitUntil('ARI seen down', () => s.telephony.health().connected, (c) => !c, 15_000, 20);
  await waitUntil('ARI back', () => s.telephony.health().connected, (c) => c, 30_000, 10);
  reconnectedAt = health.find((h) => h.connected && h.at > cutAt)?.at ?? Date.now();
  // Reconciled: every attempt that was live at the cut has its final result.
  await waitUntil('attempts of the cut ended', async () => {
    const attempts = await attemptsOf(orders);
    return cutAttempts.map((id) => attempts.find((a) => a.id === id)?.ended_at ?? null);
  }, (v) => v.every((x) => x !== null), 10_000, 20);
  reconciledAt = Date.now();
}, 180_000);

afterAll(async () => {
  const down = health.find((h) => !h.connected && h.at >= cutAt)?.at ?? 0;
  fs.writeFileSync(
    path.join(ARTIFACTS, 'faults-ari-cut.timings.json'),
    `${JSON.stringify({ noticedMs: down - cutAt, reconnectedAfterCutEndMs: reconnectedAt - (cutAt + CUT_MS), reconciledAfterReconnectMs: reconciledAt - reconnectedAt }, null, 2)}\n`,
  );
  await s?.close();
  await proxy?.close();
});

describe('ARI event websocket cut for 10 s while 10 calls run', () => {
  it('notices the dead path by the missing pongs and reconnects once the path is back', () => {
    const down = health.find((h) => !h.connected && h.at >= cutAt);
    expect(down).toBeDefined();
    // Two ping intervals (2 s each) without a pong.
    expect((down?.at ?? 0) - cutAt).toBeLessThan(5_000);
    expect(reconnectedAt - cutAt).toBeGreaterThanOrEqual(CUT_MS - 100);
    expect(reconnectedAt - (cutAt + CUT_MS)).toBeLessThan(4_000);
  });

  it('reconciles within 2 s of reconnecting: every call live at the cut has a final result', async () => {
    expect(reconciledAt - reconnectedAt).toBeLessThan(2_000);
    const results = (await attemptsOf(orders)).filter((a) => cutAttempts.includes(a.id));
    expect(results).toHaveLength(10);
    // Keys pressed during the cut were never seen: no acceptance came from those calls.
    for (const a of results) {
      expect(a, a.id).toMatchObject({ result: 'interrupted', cause_code: -1, digits: '' });
      expect(a.cause_text).toMatch(/missed while disconnected/);
    }
  });

  it('retries per policy: every order accepted once, by a later attempt', async () => {
    await waitUntil('orders settled', () => orders.filter((id) => s.dispatcher.isLive(id)).length, (n) => n === 0, 90_000, 250);
    for (const id of orders) {
      expect((await s.repo.getOrder(id))?.status).toBe('accepted');
      const acks = await s.repo.acknowledgements(id);
      expect(acks).toHaveLength(1);
      expect(acks[0]?.attempt_id).not.toBe(`${id}-a1`);
      expect((await s.repo.attempts(id)).every((a) => a.result !== null)).toBe(true);
    }
  });

  it('leaves no channel behind within 60 s of reconnecting', async () => {
    const ours = (present: string[]) => present.filter((c) => orders.some((id) => c.startsWith(id)));
    const left = await waitUntil('no channel of ours', () => ari(s.config).channelIds().then(ours), (p) => p.length === 0, Math.max(1_000, reconnectedAt + 60_000 - Date.now()), 250);
    expect(left).toEqual([]);
  });
});
