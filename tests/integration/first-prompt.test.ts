// No dead air, no lost key (issue 11 item 9), on the real Asterisk 22: every prompt of a dispatch
// attempt is rendered before the phone rings; a key pressed between the answer and the first
// prompt answers it; the time from answer to the first prompt is recorded per attempt.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/composition.js';
import type { CaseRecord } from '../../src/orders/case-record.js';
import { channelId, EventLog, startServices } from './support.js';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-first-prompt-it-'));
const DESK = { authorization: 'Bearer dev-desk-token' };
const ADMIN = { authorization: 'Bearer dev-admin-token' };
const COLLECT = { maxDigits: 1, firstDigitTimeoutMs: 3000, interDigitTimeoutMs: 1000 };
let s: Services;

beforeAll(async () => {
  // A media folder of its own: nothing of the order below is rendered before it is created.
  s = await startServices('first-prompt', { LIANDONG_MEDIA_DIR: scratch });
}, 60_000);

afterAll(async () => {
  await s?.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

async function earlyKeyCall(): Promise<{ id: string; log: EventLog }> {
  const id = channelId('early');
  const log = new EventLog();
  // 70011: answers and presses 1 at once, before anything is played.
  await s.telephony.originate({ channelId: id, number: '70011', ringTimeoutSeconds: 10 }, log.listener);
  await log.next('answered');
  await log.next('key');
  return { id, log };
}

describe('a key pressed before the first prompt', () => {
  it('answers the first prompt (keepKeysPressedBefore), which is then not played', async () => {
    const { id, log } = await earlyKeyCall();
    const media = await s.prompts.media('test-call');
    expect(await s.telephony.prompt(id, media, { ...COLLECT, keepKeysPressedBefore: true })).toEqual({ status: 'complete', digits: '1' });
    expect(log.types()).not.toContain('playback_finished');
    await s.telephony.hangup(id);
  });

  it('is dropped by a later prompt (it answered an earlier one)', async () => {
    const { id } = await earlyKeyCall();
    const media = await s.prompts.media('goodbye');
    expect(await s.telephony.prompt(id, media, COLLECT)).toEqual({ status: 'timeout', digits: '' });
    await s.telephony.hangup(id);
  });
});

describe('a dispatch attempt', () => {
  it('has every prompt rendered before the phone rings, and records answer → first prompt', async () => {
    const list = (await s.app.inject({ method: 'GET', url: '/api/v1/departments', headers: DESK })).json<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>();
    const dept = list.departments.find((d) => d.id === 'tourism');
    if (!dept) throw new Error('no tourism department');
    const policy = { attemptsPerContact: 1, retryDelaySeconds: 1, ringTimeoutSeconds: 5, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 1, keyTimeoutSeconds: 3 };
    const put = await s.app.inject({ method: 'PUT', url: '/api/v1/departments/tourism', headers: ADMIN, payload: { name: dept.name, categories: dept.categories, contacts: [{ id: 'c1', name: 'duty', number: '70011', priority: 1 }], policy } });
    expect(put.statusCode, put.body).toBe(200);
    // A summary no earlier test has used, so its audio cannot be in any cache.
    const summary = `水管爆裂，编号${process.pid}${Date.now()}`;
    const created = await s.app.inject({
      method: 'POST',
      url: '/api/v1/orders',
      headers: DESK,
      payload: { externalId: `it-first-${Date.now()}`, category: 'water-main-burst', departmentId: 'tourism', summary, address: '城关镇', reporterPhone: '13800138000', urgency: 'urgent' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const { id } = created.json<{ id: string }>();
    await expect.poll(() => s.dispatcher.isLive(id), { timeout: 60_000, interval: 250 }).toBe(false);
    const record = (await s.app.inject({ method: 'GET', url: `/api/v1/orders/${id}`, headers: DESK })).json<CaseRecord>();
    const attempt = record.attempts[0];
    // The key came at once after the answer: accepted on the first reading.
    expect(attempt).toMatchObject({ result: 'accepted', digits: '1' });
    const first = record.events.find((e) => e.kind === 'first_prompt');
    const detail = first?.detail as { attemptId?: string; msAfterAnswer?: unknown } | undefined;
    expect(detail?.attemptId).toBe(attempt?.id);
    expect(Number.isInteger(detail?.msAfterAnswer) && (detail?.msAfterAnswer as number) >= 0, JSON.stringify(detail)).toBe(true);

    // Every file this attempt could play was on disk before the answer (created, not only touched).
    const answeredAt = Date.parse(attempt?.answeredAt ?? '');
    expect(Number.isFinite(answeredAt)).toBe(true);
    const order = await s.repo.getOrder(id);
    if (!order) throw new Error('order not stored');
    const message = await s.prompts.media('dispatch-order', { code: order.code, category: '供水管道爆裂、漏水', address: order.address, summary: order.summary });
    const files = [...message, ...(await s.prompts.media('dispatch-accepted', { code: order.code })), ...(await s.prompts.media('dispatch-menu'))].map((u) => path.join(scratch, u.slice(u.lastIndexOf('/') + 1)));
    for (const file of files) expect(fs.statSync(file).birthtimeMs, file).toBeLessThanOrEqual(answeredAt);
  }, 90_000);
});
