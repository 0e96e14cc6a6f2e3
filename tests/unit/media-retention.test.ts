// The media sweep (src/prompts/media-retention.ts): old WAVs go, recently used ones stay; Asterisk's
// cached copies of ours go when unused or gone, other URLs in its cache are never touched.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { createRenderer } from '../../src/prompts/renderer.js';
import { usedMarks } from '../../src/prompts/used-marks.js';
import { parseMediaCacheList, startMediaRetention, sweepMedia, type AsteriskMediaCache } from '../../src/prompts/media-retention.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.parse('2026-11-23T12:00:00Z');
const BASE = 'http://127.0.0.1:3000/media';
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const wav = (c: string) => `${c.repeat(64)}.wav`;
function mediaDir(files: Record<string, number>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-media-'));
  dirs.push(dir);
  for (const [name, ageMs] of Object.entries(files)) {
    const p = path.join(dir, name);
    fs.writeFileSync(p, 'RIFF');
    const t = new Date(NOW - ageMs);
    fs.utimesSync(p, t, t);
  }
  return dir;
}
function fakeAsterisk(uris: string[]): AsteriskMediaCache & { removed: string[] } {
  const removed: string[] = [];
  return { removed, list: () => Promise.resolve([...uris]), remove: (u) => Promise.resolve(void removed.push(u)) };
}

describe('sweepMedia', () => {
  it('deletes WAVs unused past the retention and Asterisk copies unused past its window, nothing else', async () => {
    const dir = mediaDir({ [wav('a')]: 40 * DAY, [wav('b')]: 2 * DAY, [wav('c')]: 10 * 60_000, '.tmp.espeak.wav': 40 * DAY, 'notes.txt': 40 * DAY });
    const asterisk = fakeAsterisk([
      `${BASE}/${wav('a')}`, // file now deleted → copy deleted
      `${BASE}/${wav('b')}`, // used 2 days ago: past the 6 h window → deleted
      `${BASE}/${wav('c')}`, // used 10 min ago → kept
      `${BASE}/${wav('d')}`, // no such file of ours (an old run's) → deleted
      `http://127.0.0.1:4000/media/${wav('c')}`, // another server's URL → not ours
      'http://example.org/hold-music.wav',
    ]);
    const report = await sweepMedia({ dir, baseUrl: BASE, retentionMs: 30 * DAY, asteriskKeepMs: 6 * HOUR }, asterisk, NOW);
    expect(report).toEqual({ filesRemoved: 1, filesKept: 2, asteriskRemoved: 3, asteriskKept: 1 });
    expect(fs.readdirSync(dir).sort()).toEqual(['.tmp.espeak.wav', wav('b'), wav('c'), 'notes.txt'].sort());
    expect(asterisk.removed).toEqual([`${BASE}/${wav('a')}`, `${BASE}/${wav('b')}`, `${BASE}/${wav('d')}`]);
  });

  it('a folder not created yet is an empty one; an Asterisk that cannot be asked fails the sweep', async () => {
    const missing = path.join(os.tmpdir(), `liandong-none-${process.pid}`);
    const empty = await sweepMedia({ dir: missing, baseUrl: `${BASE}/`, retentionMs: DAY, asteriskKeepMs: HOUR }, fakeAsterisk([`${BASE}/${wav('e')}`]), NOW);
    expect(empty).toEqual({ filesRemoved: 0, filesKept: 0, asteriskRemoved: 1, asteriskKept: 0 });
    const down: AsteriskMediaCache = { list: () => Promise.reject(new Error('AMI Command timed out after 5000 ms')), remove: () => Promise.resolve() };
    await expect(sweepMedia({ dir: missing, baseUrl: BASE, retentionMs: DAY, asteriskKeepMs: HOUR }, down, NOW)).rejects.toThrow('timed out');
  });
});

describe('parseMediaCacheList', () => {
  it('reads the URIs out of `media cache show all`', () => {
    const out = ['URI', '\tLocal File', '---------------', `${BASE}/${wav('1')}`, '\t/var/cache/asterisk/bucket-2I1Hc9.wav   ', 'http://127.0.0.1:3999/tone.wav', '\t/var/cache/asterisk/bucket-oXPE2f.wav', ''].join('\n');
    expect(parseMediaCacheList(out)).toEqual([`${BASE}/${wav('1')}`, 'http://127.0.0.1:3999/tone.wav']);
    expect(parseMediaCacheList('No media cache items found\n')).toEqual([]);
  });
});

describe('renderer cache hit', () => {
  it('marks the WAV as used now, which is what the sweep reads', async () => {
    const dir = mediaDir({});
    let runs = 0;
    const renderer = createRenderer({
      dir,
      run: (cmd, args, { pipeTo }) => {
        runs += 1;
        // espeak-ng piped into sox, which writes the temp file the renderer then renames.
        const out = pipeTo?.args.find((a) => a.endsWith('.8k.wav'));
        if (out) fs.writeFileSync(out, 'RIFF');
        return Promise.resolve('');
      },
    });
    const first = await renderer.render('工单 1 2 3', 'zh-CN');
    const old = new Date(NOW - 40 * DAY);
    fs.utimesSync(first.path, old, old);
    const again = await renderer.render('工单 1 2 3', 'zh-CN');
    expect(again).toMatchObject({ cached: true, path: first.path });
    expect(runs).toBe(1); // espeak-ng piped into sox once, for the first render only
    expect(Date.now() - fs.statSync(first.path).mtimeMs).toBeLessThan(60_000);
  });
});

describe('usedMarks', () => {
  it('marks a file used now at most once a minute; a missing file or a folder is not there', async () => {
    const dir = mediaDir({ [wav('a')]: 40 * DAY });
    const file = path.join(dir, wav('a'));
    let now = NOW;
    const marks = usedMarks(60_000, () => now);
    const mtime = () => fs.statSync(file).mtimeMs;
    await expect(marks.mark(file, true)).resolves.toBe(true);
    expect(mtime()).toBe(NOW);
    // Marked 30 s ago: nothing is done (the file's mtime, set back here, stays as it is).
    const old = new Date(NOW - 40 * DAY);
    fs.utimesSync(file, old, old);
    now = NOW + 30_000;
    await expect(marks.mark(file, true)).resolves.toBe(true);
    expect(mtime()).toBe(old.getTime());
    // A minute after the last mark it is marked again (also across the swap of its two generations).
    now = NOW + 61_000;
    await expect(marks.mark(file, true)).resolves.toBe(true);
    expect(mtime()).toBe(now);
    now += 130_000;
    await expect(marks.mark(file, true)).resolves.toBe(true);
    expect(mtime()).toBe(now);
    await expect(marks.mark(path.join(dir, wav('b')))).resolves.toBe(false);
    await expect(marks.mark(dir, true)).resolves.toBe(false);
  });
});

describe('startMediaRetention', () => {
  it('sweeps every interval; a failed sweep is logged with its reason and the next one runs', async () => {
    vi.useFakeTimers();
    try {
      const lines: Array<{ msg: string; reason?: string; asteriskRemoved?: number }> = [];
      const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l) as (typeof lines)[number]) });
      let calls = 0;
      const asterisk: AsteriskMediaCache = {
        list: () => (++calls === 1 ? Promise.reject(new Error('AMI is not connected')) : Promise.resolve([`${BASE}/${wav('f')}`])),
        remove: () => Promise.resolve(),
      };
      const dir = mediaDir({});
      const stop = startMediaRetention({ dir, baseUrl: BASE, retentionMs: DAY, asteriskKeepMs: HOUR, intervalMs: 60_000 }, asterisk, logger);
      await vi.advanceTimersByTimeAsync(59_000);
      expect(calls).toBe(0);
      await vi.advanceTimersByTimeAsync(1_000);
      await vi.waitFor(() => expect(lines.map((l) => l.msg)).toContain('media sweep failed; next try at the next interval'));
      expect(lines.find((l) => l.reason)?.reason).toBe('AMI is not connected');
      await vi.advanceTimersByTimeAsync(60_000);
      await vi.waitFor(() => expect(lines.find((l) => l.msg === 'media sweep done')).toMatchObject({ asteriskRemoved: 1 }));
      stop();
      await vi.advanceTimersByTimeAsync(600_000);
      expect(calls).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
