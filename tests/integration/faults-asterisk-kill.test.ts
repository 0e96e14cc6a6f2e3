// kill -9 of Asterisk while 20 dispatch calls are live. Ten officers have pressed 1 already
// (acceptance committed, confirmation playing); ten are still hearing the order (70911 presses 1
// after 9 s). The service notices within 5 s, reconnects when Asterisk is back (it never stops
// trying), every attempt reaches a final result, the interrupted ones are retried per policy,
// and every order ends with exactly one acknowledgement: none lost, none doubled.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asteriskKill, asteriskUp } from '../../src/asterisk/index.js';
import type { Services } from '../../src/composition.js';
import type { TelephonyHealth } from '../../src/telephony/port.js';
import { ari, TOKENS, waitUntil } from '../../harness/service-process.js';
import { ARTIFACTS, startServices } from './support.js';

const QUICK = '70111';
const SLOW = '70911';
const POLICY = { attemptsPerContact: 3, retryDelaySeconds: 2, ringTimeoutSeconds: 10, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 1, keyTimeoutSeconds: 12 };

let s: Services;
const quick: string[] = [];
const slow: string[] = [];
const health: Array<TelephonyHealth & { at: number }> = [];
let killedAt = 0;
let asteriskBackAt = 0;
let downSeen = 0;

async function api(method: 'GET' | 'POST' | 'PUT', url: string, token: string, payload?: unknown) {
  return s.app.inject({ method, url, headers: { authorization: token }, ...(payload === undefined ? {} : { payload: payload as object }) });
}

async function configure(departmentId: string, number: string) {
  const d = (await api('GET', '/api/v1/departments', TOKENS.desk)).json<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>().departments.find((x) => x.id === departmentId);
  if (!d) throw new Error(`no department ${departmentId}`);
  const res = await api('PUT', `/api/v1/departments/${departmentId}`, TOKENS.admin, { name: d.name, categories: d.categories, contacts: [{ id: 'c1', name: 'duty', number, priority: 1 }], policy: POLICY });
  if (res.statusCode !== 200) throw new Error(res.body);
}

const all = () => [...quick, ...slow];
const attemptsOf = async (ids: string[]) => (await Promise.all(ids.map((id) => s.repo.attempts(id)))).flat();
const ackCount = async (id: string) => (await s.repo.acknowledgements(id)).length;

beforeAll(async () => {
  s = await startServices('faults-asterisk-kill');
  s.telephony.onHealthChange((h) => health.push({ ...h, at: Date.now() }));
  await configure('tourism', QUICK);
  await configure('education', SLOW);
  for (let i = 0; i < 10; i += 1) {
    for (const [dept, list] of [['tourism', quick], ['education', slow]] as const) {
      const res = await api('POST', '/api/v1/orders', TOKENS.desk, { externalId: `akill-${dept}-${i}-${Date.now()}`, category: 'water-main-burst', departmentId: dept, summary: '水管爆裂', address: '城关镇', reporterPhone: '13800138000', urgency: 'urgent' });
      if (res.statusCode !== 201) throw new Error(res.body);
      list.push(res.json<{ id: string }>().id);
    }
  }
  // All 20 answered; the ten quick officers' acceptances committed (their confirmations playing).
  await waitUntil(
    '20 live calls, 10 accepted',
    async () => ({ answered: (await attemptsOf(all())).filter((a) => a.answered_at && !a.ended_at).length, acks: (await Promise.all(quick.map(ackCount))).filter((n) => n === 1).length }),
    (v) => v.answered === 20 && v.acks === 10,
    60_000,
  );
  killedAt = Date.now();
  await asteriskKill(s.config);
  await waitUntil('ARI seen down', () => s.telephony.health().connected, (c) => !c, 10_000, 20);
  downSeen = Date.now();
  // Down for a few seconds: nothing can be placed meanwhile.
  await new Promise((r) => setTimeout(r, 3_000));
  await asteriskUp(s.config, () => undefined);
  asteriskBackAt = Date.now();
  await s.telephony.waitConnected(30_000);
}, 180_000);

afterAll(async () => {
  // The figures of this run, for the operations notes.
  const up = health.find((h) => h.connected && h.at > killedAt)?.at ?? 0;
  fs.writeFileSync(path.join(ARTIFACTS, 'faults-asterisk-kill.timings.json'), `${JSON.stringify({ noticedMs: downSeen - killedAt, reconnectedAfterAsteriskUpMs: up - asteriskBackAt }, null, 2)}\n`);
  await s?.close();
});

describe('kill -9 of Asterisk with 20 live dispatch calls', () => {
  it('is noticed within 5 s and reconnected once Asterisk is back', () => {
    expect(downSeen - killedAt).toBeLessThan(5_000);
    const up = health.filter((h) => h.connected);
    expect(up).toHaveLength(1);
    // The reconnect loop's backoff is capped at 2 s: back within a few seconds of Asterisk answering.
    expect((up[0]?.at ?? 0) - asteriskBackAt).toBeLessThan(5_000);
  });

  it('every order ends accepted with exactly one acknowledgement', async () => {
    await waitUntil('all 20 orders settled', () => all().filter((id) => s.dispatcher.isLive(id)).length, (n) => n === 0, 120_000, 250);
    for (const id of all()) {
      expect((await s.repo.getOrder(id))?.status, id).toBe('accepted');
      const acks = await s.repo.acknowledgements(id);
      expect(acks, id).toHaveLength(1);
      expect(acks[0]?.late).toBe(0);
    }
  });

  it('the acceptances committed before the kill are kept; those calls are not placed again', async () => {
    for (const id of quick) {
      const attempts = await s.repo.attempts(id);
      expect(attempts.map((a) => a.id), id).toEqual([`${id}-a1`]);
      expect(attempts[0]?.result).toBe('accepted');
      expect((await s.repo.acknowledgements(id))[0]?.attempt_id).toBe(`${id}-a1`);
    }
  });

  it('the calls cut before a key end interrupted and are retried per policy, under new ids', async () => {
    for (const id of slow) {
      const attempts = await s.repo.attempts(id);
      expect(attempts[0], id).toMatchObject({ id: `${id}-a1`, result: 'interrupted', cause_code: -1 });
      expect(attempts.at(-1), id).toMatchObject({ result: 'accepted', contact_id: 'c1' });
      expect(attempts.at(-1)?.attempt_on_contact).toBe(attempts.length - 1);
      expect(new Set(attempts.map((a) => a.id)).size).toBe(attempts.length);
      expect((await s.repo.acknowledgements(id))[0]?.attempt_id).toBe(attempts.at(-1)?.id);
      const events = (await s.repo.events(id)).map((e) => e.kind);
      expect(events).toContain('retry_scheduled');
    }
  });

  it('every attempt has a final result and no channel is left in Asterisk', async () => {
    const attempts = await attemptsOf(all());
    expect(attempts.filter((a) => a.result === null || a.ended_at === null)).toEqual([]);
    const ours = (present: string[]) => present.filter((c) => all().some((id) => c.startsWith(id)));
    expect(ours(await waitUntil('no channel of ours', () => ari(s.config).channelIds(), (p) => ours(p).length === 0, 30_000, 250))).toEqual([]);
  });
});
