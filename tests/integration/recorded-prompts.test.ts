// Recorded prompts on the real Asterisk 22: a site's recordings (LIANDONG_RECORDINGS_DIR) of the
// dispatch menu and the digits 0-9 are what Asterisk fetches and plays in a dispatch call; the
// file in Asterisk's media cache has the same content hash as the converted recording.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/composition.js';
import type { CaseRecord } from '../../src/orders/case-record.js';
import { startServices } from './support.js';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-rec-it-'));
const recDir = path.join(scratch, 'recordings');
const DESK = { authorization: 'Bearer dev-desk-token' };
const ADMIN = { authorization: 'Bearer dev-admin-token' };
let s: Services;

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

beforeAll(async () => {
  fs.mkdirSync(path.join(recDir, 'zh-CN'), { recursive: true });
  const tone = (id: string, seconds: number, freq: number) =>
    execFileSync('sox', ['-n', '-r', '44100', '-c', '2', '-b', '16', path.join(recDir, 'zh-CN', `${id}.wav`), 'synth', String(seconds), 'sine', String(freq)]);
  tone('dispatch-menu', 1, 500);
  for (let d = 0; d <= 9; d++) tone(`digit-${d}`, 0.3, 300 + d * 60);
  s = await startServices('recorded-prompts', { LIANDONG_MEDIA_DIR: path.join(scratch, 'media'), LIANDONG_RECORDINGS_DIR: recDir });
}, 60_000);

afterAll(async () => {
  await s?.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** `media cache show all`: each URI line is followed by the local file Asterisk keeps it in (inside its root). */
async function asteriskCopies(): Promise<Map<string, string>> {
  const out = await s.ami.command('media cache show all');
  const lines = out.split('\n').map((l) => l.trim());
  const copies = new Map<string, string>();
  lines.forEach((line, i) => {
    const file = lines[i + 1] ?? '';
    if (/^https?:\/\/\S+$/.test(line) && file.startsWith('/')) copies.set(line, path.join(s.config.asterisk.cacheDir, 'sid-root', file));
  });
  return copies;
}

describe('recorded prompts in a real dispatch call', () => {
  it('Asterisk plays the recorded menu and digit clips: its cached copies have the recordings\' content hash', async () => {
    const recordings = s.prompts.recordings;
    if (!recordings) throw new Error('no recording store');
    const menu = await recordings.get('dispatch-menu', 'zh-CN');
    expect(menu, 'the menu recording was accepted').toBeDefined();

    // A duty phone that answers and never presses: the whole order and menu are played once.
    const list = (await s.app.inject({ method: 'GET', url: '/api/v1/departments', headers: DESK })).json<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>();
    const dept = list.departments.find((d) => d.id === 'tourism');
    if (!dept) throw new Error('no tourism department');
    const policy = { attemptsPerContact: 1, retryDelaySeconds: 1, ringTimeoutSeconds: 5, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 0, keyTimeoutSeconds: 2 };
    const put = await s.app.inject({ method: 'PUT', url: '/api/v1/departments/tourism', headers: ADMIN, payload: { name: dept.name, categories: dept.categories, contacts: [{ id: 'c1', name: 'duty', number: '710', priority: 1 }], policy } });
    expect(put.statusCode, put.body).toBe(200);
    const created = await s.app.inject({
      method: 'POST',
      url: '/api/v1/orders',
      headers: DESK,
      payload: { externalId: `it-rec-${Date.now()}`, category: 'water-main-burst', departmentId: 'tourism', summary: '水管爆裂', address: '城关镇', reporterPhone: '13800138000', urgency: 'urgent' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const { id, code } = created.json<{ id: string; code: string }>();
    await expect.poll(() => s.dispatcher.isLive(id), { timeout: 90_000, interval: 250 }).toBe(false);
    const record = (await s.app.inject({ method: 'GET', url: `/api/v1/orders/${id}`, headers: DESK })).json<CaseRecord>();
    // Heard in full without a key (then the chain is exhausted and the command centre is alarmed).
    expect(record.attempts[0]).toMatchObject({ script: 'dispatch', result: 'no_input' });

    const copies = await asteriskCopies();
    const base = s.config.media.baseUrl;
    const menuCopy = copies.get(`${base}/${menu?.file}`);
    expect(menuCopy, 'Asterisk fetched the recorded menu').toBeDefined();
    expect(sha256(menuCopy ?? '')).toBe(sha256(menu?.path ?? ''));
    // Every digit of the order code was played from its clip.
    for (const digit of new Set(code)) {
      const clip = await recordings.get(`digit-${digit}`, 'zh-CN');
      const copy = copies.get(`${base}/${clip?.file}`);
      expect(copy, `Asterisk fetched the clip of ${digit}`).toBeDefined();
      expect(sha256(copy ?? '')).toBe(sha256(clip?.path ?? ''));
    }
  }, 120_000);
});
