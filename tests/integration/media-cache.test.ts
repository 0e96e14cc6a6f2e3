// The media sweep against the real Asterisk 22: a prompt it played sits in its HTTP media cache;
// the sweep deletes our copy there through AMI (`media cache delete`), other URLs stay, and the
// next play fetches the prompt from us again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/composition.js';
import { asteriskMediaCache, sweepMedia } from '../../src/prompts/index.js';
import { channelId, EventLog, startServices } from './support.js';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-media-it-'));
let s: Services;

beforeAll(async () => {
  s = await startServices('media-cache', { LIANDONG_MEDIA_DIR: scratch });
}, 60_000);

afterAll(async () => {
  await s?.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe('Asterisk media cache sweep', () => {
  it('deletes our unused prompts from Asterisk\'s cache, and a later play fetches them again', async () => {
    const cache = asteriskMediaCache(s.ami);
    const media = await s.prompts.media('dispatch-accepted', { code: String(900000 + (process.pid % 99999)) });
    // Distinct files: a prompt is put together from parts, and a code's repeated digit is one clip.
    const uris = [...new Set(media.map((m) => m.replace(/^sound:/, '')))];
    const id = channelId('media');
    const log = new EventLog();
    await s.telephony.originate({ channelId: id, number: '710', ringTimeoutSeconds: 10 }, log.listener);
    await log.next('answered');
    expect(await s.telephony.play(id, media)).toEqual({ status: 'finished' });
    const before = await cache.list();
    expect(before).toEqual(expect.arrayContaining(uris));
    const others = before.filter((u) => !u.startsWith(`${s.config.media.baseUrl}/`));

    // Our WAVs were used a moment ago; with a zero window Asterisk's copies count as unused.
    const report = await sweepMedia({ dir: scratch, baseUrl: s.config.media.baseUrl, retentionMs: 86_400_000, asteriskKeepMs: 0 }, cache, Date.now() + 1000);
    expect(report.filesRemoved).toBe(0);
    expect(report.asteriskRemoved).toBeGreaterThanOrEqual(uris.length);
    const after = await cache.list();
    for (const u of uris) expect(after).not.toContain(u);
    expect(after).toEqual(expect.arrayContaining(others));

    expect(await s.telephony.play(id, media)).toEqual({ status: 'finished' });
    expect(await cache.list()).toEqual(expect.arrayContaining(uris));
    await s.telephony.hangup(id);
    await log.next('hangup');
  }, 60_000);
});
