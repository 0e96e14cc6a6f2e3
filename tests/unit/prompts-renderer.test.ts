// Real renders with Debian's espeak-ng and sox (installed by `npm run setup`); no network.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RENDERER_VERSION, RenderError, createRenderer, runProcess, type RunFn } from '../../src/prompts/renderer.js';
import { createHash } from 'node:crypto';

const DISPATCH_ZH = '这里是幺幺零社会联动指挥中心，现有一起非警务求助，需要贵单位处置。联动单号：二零二六，幺幺二三。地点：城关镇建设路十二号。';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-media-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Wraps the real runner and records every command it is asked to run (both of a pipe). */
function countingRun(): { run: RunFn; calls: string[] } {
  const calls: string[] = [];
  return { calls, run: (cmd, args, opts) => (calls.push(cmd, ...(opts.pipeTo ? [opts.pipeTo.command] : [])), runProcess(cmd, args, opts)) };
}

interface WavInfo {
  format: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  dataBytes: number;
}
function readWav(file: string): WavInfo {
  const buf = fs.readFileSync(file);
  expect(buf.toString('ascii', 0, 4)).toBe('RIFF');
  expect(buf.toString('ascii', 8, 12)).toBe('WAVE');
  const info: Partial<WavInfo> = {};
  for (let off = 12; off + 8 <= buf.length; ) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      info.format = buf.readUInt16LE(off + 8);
      info.channels = buf.readUInt16LE(off + 10);
      info.sampleRate = buf.readUInt32LE(off + 12);
      info.bitsPerSample = buf.readUInt16LE(off + 22);
    } else if (id === 'data') {
      info.dataBytes = size;
      break;
    }
    off += 8 + size + (size % 2);
  }
  return info as WavInfo;
}

/** Peak of a 16-bit PCM WAV's samples, in dBFS (the data chunk is the last one sox writes). */
function peakDbfs(file: string): number {
  const buf = fs.readFileSync(file);
  const data = buf.indexOf('data', 12, 'ascii') + 8;
  let peak = 0;
  for (let off = data; off + 2 <= buf.length; off += 2) peak = Math.max(peak, Math.abs(buf.readInt16LE(off)));
  return 20 * Math.log10(peak / 32768);
}

describe('renderer (real espeak-ng + sox)', () => {
  it('renders Mandarin to an 8 kHz mono 16-bit PCM WAV named by its content hash', async () => {
    const { run, calls } = countingRun();
    const renderer = createRenderer({ dir, run });
    const out = await renderer.render(DISPATCH_ZH, 'zh-CN');
    expect(out.cached).toBe(false);
    expect(calls).toEqual(['espeak-ng', 'sox']);
    expect(out.file).toMatch(/^[0-9a-f]{64}\.wav$/);
    expect(out.path).toBe(path.join(dir, out.file));
    const expectedHash = createHash('sha256').update(JSON.stringify([RENDERER_VERSION, 'cmn-latn-pinyin', 70, 185, DISPATCH_ZH])).digest('hex');
    expect(out.hash).toBe(expectedHash);
    const wav = readWav(out.path);
    expect(wav).toMatchObject({ format: 1, channels: 1, sampleRate: 8000, bitsPerSample: 16 });
    const seconds = wav.dataBytes / (8000 * 2);
    expect(seconds).toBeGreaterThan(5); // ~45 syllables of speech
    expect(seconds).toBeLessThan(30);
    // Nothing but the finished file is left behind.
    expect(fs.readdirSync(dir)).toEqual([out.file]);
  });

  it('normalises a short text to a -3 dBFS peak; an order\'s address and summary, not normalised, keep headroom below full scale', async () => {
    const renderer = createRenderer({ dir });
    const digit = await renderer.render('四', 'zh-CN', undefined, 'clip');
    expect(peakDbfs(digit.path)).toBeCloseTo(-3, 1);
    const order = await renderer.render('城关镇人民路12号菜市场门口<break time="700ms"/>情况：居民楼下水管爆裂，路面大量积水，影响车辆通行', 'zh-CN', undefined, 'ssml');
    // Not normalised (see Voice.amplitude): 40 such texts peaked at -2.7 dBFS on average, -1.7 at most.
    const peak = peakDbfs(order.path);
    expect(peak).toBeLessThan(-1);
    expect(peak).toBeGreaterThan(-6);
  });

  it('removes temp files of renders that died long ago, and only those', async () => {
    const stale = path.join(dir, `.${'a'.repeat(64)}.999-dead.8k.wav`);
    const fresh = path.join(dir, `.${'b'.repeat(64)}.999-live.8k.wav`);
    fs.writeFileSync(stale, 'x');
    fs.writeFileSync(fresh, 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(stale, twoHoursAgo, twoHoursAgo);
    const out = await createRenderer({ dir }).render('test', 'en');
    expect(fs.readdirSync(dir).sort()).toEqual([path.basename(fresh), out.file].sort());
  });

  it('gives the same text in another language a different file', async () => {
    const renderer = createRenderer({ dir });
    const [zh, en] = await Promise.all([renderer.render('110', 'zh-CN'), renderer.render('110', 'en')]);
    expect(zh.file).not.toBe(en.file);
    expect(renderer.hashOf('110', 'en')).toBe(en.hash);
  });

  it('serves a cache hit without spawning anything', async () => {
    const first = countingRun();
    const a = await createRenderer({ dir, run: first.run }).render('请按1。', 'zh-CN');
    const second = countingRun();
    const renderer = createRenderer({ dir, run: second.run }); // a fresh process: only the disk remembers
    const b = await renderer.render('请按1。', 'zh-CN');
    expect(b).toMatchObject({ file: a.file, cached: true });
    expect(second.calls).toEqual([]);
  });

  it('shares one render between concurrent requests for the same text', async () => {
    const { run, calls } = countingRun();
    const renderer = createRenderer({ dir, run });
    const results = await Promise.all(Array.from({ length: 5 }, () => renderer.render('Press 1 to accept.', 'en')));
    expect(calls).toEqual(['espeak-ng', 'sox']);
    expect(new Set(results.map((r) => r.file)).size).toBe(1);
  });

  it('names the remedy when espeak-ng is missing, and leaves no temp files', async () => {
    const renderer = createRenderer({ dir, espeakCommand: 'espeak-ng-not-installed-here' });
    const err = await renderer.render('test', 'en').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RenderError);
    expect((err as RenderError).code).toBe('missing_tool');
    expect((err as RenderError).message).toMatch(/espeak-ng-not-installed-here.*npm run setup.*apt-get install espeak-ng sox/);
    expect(fs.readdirSync(dir)).toEqual([]);
    await expect(createRenderer({ dir, soxCommand: 'sox-not-installed-here' }).check()).rejects.toThrow(/sox-not-installed-here is not installed/);
  });

  it('passes the installation check', async () => {
    await expect(createRenderer({ dir }).check()).resolves.toBeUndefined();
    await expect(createRenderer({ dir, voices: { en: { voice: 'xx-nonexistent', speedWpm: 150, amplitude: 100 } } }).check()).rejects.toThrow(/no voice "xx-nonexistent"/);
  });

  it('refuses empty and oversized texts without spawning', async () => {
    const { run, calls } = countingRun();
    const renderer = createRenderer({ dir, run });
    await expect(renderer.render('  ', 'en')).rejects.toThrow(/empty/);
    await expect(renderer.render('x'.repeat(4001), 'en')).rejects.toThrow(/at most 4000/);
    expect(calls).toEqual([]);
  });
});

describe('runProcess', () => {
  it('kills a child that overruns its time limit', async () => {
    const started = Date.now();
    await expect(runProcess('sleep', ['5'], { timeoutMs: 100 })).rejects.toMatchObject({ code: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2000);
  });
  it('passes text on stdin, never through a shell', async () => {
    await expect(runProcess('cat', [], { stdin: '$(echo hi); `x` 幺', timeoutMs: 2000 })).resolves.toBe('$(echo hi); `x` 幺');
  });
  it('pipes one program into another, and names the one that failed', async () => {
    await expect(runProcess('cat', [], { stdin: 'a b 幺', timeoutMs: 5000, pipeTo: { command: 'tr', args: ['a-z', 'A-Z'] } })).resolves.toBe('A B 幺');
    await expect(runProcess('sh', ['-c', 'echo "no such voice" >&2; exit 3'], { timeoutMs: 5000, pipeTo: { command: 'cat', args: [] } }))
      .rejects.toMatchObject({ code: 'failed', message: expect.stringMatching(/^sh -c .*\(exit 3\): no such voice/) as unknown });
    await expect(runProcess('cat', [], { stdin: 'x', timeoutMs: 5000, pipeTo: { command: 'sox-not-installed-here', args: [] } })).rejects.toMatchObject({ code: 'missing_tool' });
  });
  it('reports a failing exit with its stderr', async () => {
    await expect(runProcess('sox', ['/nonexistent/in.wav', '/tmp/out.wav'], { timeoutMs: 5000 })).rejects.toMatchObject({ code: 'failed', message: expect.stringMatching(/exit 2|exit 1/) as unknown });
  });
});
