// Recorded prompts: a site's WAV wins over the TTS render, is converted once to 8 kHz mono, is
// refused when unreadable, silent or too long, and digit clips read the order code. Real sox.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LANGUAGES } from '../../src/config.js';
import {
  createPrompts,
  createRecordingStore,
  createRenderer,
  defaultPromptsDir,
  loadCatalog,
  runProcess,
  type Prompts,
  type RecordingStore,
  type RunFn,
} from '../../src/prompts/index.js';

let tmp: string;
let mediaDir: string;
let recDir: string;
let calls: string[];
let store: RecordingStore;
let prompts: Prompts;
const catalog = loadCatalog(defaultPromptsDir(), { timeZone: 'Asia/Shanghai' });
const run: RunFn = (cmd, args, opts) => (calls.push(cmd, ...(opts.pipeTo ? [opts.pipeTo.command] : [])), runProcess(cmd, args, opts));

function sox(...args: string[]): void {
  execFileSync('sox', args, { stdio: 'pipe' });
}
function soxi(flag: string, file: string): string {
  return execFileSync('soxi', [flag, file], { encoding: 'utf8' }).trim();
}
/** A tone as a phone or a PC records it: 44.1 kHz stereo 16-bit, `seconds` long. */
function record(id: string, seconds = 1, freq = 440): string {
  const file = path.join(recDir, 'zh-CN', `${id}.wav`);
  sox('-n', '-r', '44100', '-c', '2', '-b', '16', file, 'synth', String(seconds), 'sine', String(freq));
  return file;
}
const fileOf = (uri: string | undefined) => /\/media\/([0-9a-f]{64}\.wav)$/.exec(uri ?? '')?.[1] ?? '';

function open(maxSeconds = 60): void {
  store = createRecordingStore({ catalog, languages: LANGUAGES, recordingsDir: recDir, mediaDir, maxSeconds });
  prompts = createPrompts({ language: 'zh-CN', timezone: 'Asia/Shanghai', media: { dir: mediaDir, baseUrl: 'http://127.0.0.1:3000/media' } }, catalog, createRenderer({ dir: mediaDir, run }), store);
}

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-rec-'));
  mediaDir = path.join(tmp, 'media');
  recDir = path.join(tmp, 'recordings');
  fs.mkdirSync(path.join(recDir, 'zh-CN'), { recursive: true });
  calls = [];
  open();
});
afterEach(() => {
  prompts.renderer.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('recorded prompts', () => {
  it('a recording is played instead of the TTS render; prompts without one stay TTS', async () => {
    record('dispatch-menu');
    const [menu, ...more] = await prompts.media('dispatch-menu');
    expect(more).toEqual([]);
    const rec = await store.get('dispatch-menu', 'zh-CN');
    expect(rec).toBeDefined();
    expect(fileOf(menu)).toBe(rec?.file);
    expect(calls).toEqual([]); // no espeak-ng for a recorded prompt
    const [goodbye] = await prompts.media('goodbye');
    expect(calls).toEqual(['espeak-ng', 'sox']);
    expect(fileOf(goodbye)).toBe(`${prompts.renderer.hashOf(catalog.fill('goodbye', undefined, 'zh-CN'), 'zh-CN')}.wav`);
    // Other languages are not affected by a zh-CN recording.
    const [en] = await prompts.media('dispatch-menu', {}, 'en');
    expect(fileOf(en)).not.toBe(rec?.file);
  });

  it('converts a 44.1 kHz stereo WAV once to 8 kHz mono 16-bit, named by the hash of its content', async () => {
    const source = record('goodbye', 1.5);
    expect(soxi('-r', source)).toBe('44100');
    expect(soxi('-c', source)).toBe('2');
    const first = await store.load();
    expect(first).toMatchObject({ converted: 1, problems: [] });
    const rec = first.recordings[0];
    if (!rec) throw new Error('no recording');
    expect(soxi('-r', rec.path)).toBe('8000');
    expect(soxi('-c', rec.path)).toBe('1');
    expect(soxi('-b', rec.path)).toBe('16');
    // 1.5 s of tone plus 0.4 s of padding.
    expect(rec.seconds).toBeGreaterThan(1.8);
    expect(rec.seconds).toBeLessThan(2.0);
    expect(rec.file).toBe(`${rec.hash}.wav`);
    // Converted once: a second store over the same media folder finds the file and spawns no sox conversion.
    const before = fs.statSync(rec.path).ino;
    open();
    const second = await store.load();
    expect(second.converted).toBe(0);
    expect(second.recordings[0]?.hash).toBe(rec.hash);
    expect(fs.statSync(rec.path).ino).toBe(before);
    // A new take (different content) gets a new file.
    record('goodbye', 1.5, 660);
    const third = await store.reload();
    expect(third.converted).toBe(1);
    expect(third.recordings[0]?.hash).not.toBe(rec.hash);
  });

  it('refuses an unreadable, a silent and a too long file with a clear message, and TTS is used for them', async () => {
    fs.writeFileSync(path.join(recDir, 'zh-CN', 'goodbye.wav'), 'RIFF this is not audio at all');
    sox('-n', '-r', '8000', '-c', '1', '-b', '16', path.join(recDir, 'zh-CN', 'survey-thanks.wav'), 'trim', '0', '2');
    record('dispatch-menu', 3);
    fs.writeFileSync(path.join(recDir, 'zh-CN', 'not-a-prompt.wav'), '');
    open(2);
    const report = await store.load();
    expect(report.recordings).toEqual([]);
    const messages = Object.fromEntries(report.problems.map((p) => [path.basename(p.file), p.message]));
    expect(messages['goodbye.wav']).toMatch(/cannot be read as audio/);
    expect(messages['survey-thanks.wav']).toMatch(/is silent/);
    expect(messages['dispatch-menu.wav']).toMatch(/is 3\.0 s long; at most 2 s/);
    expect(messages['not-a-prompt.wav']).toMatch(/not a prompt id/);
    const [goodbye] = await prompts.media('goodbye');
    expect(fileOf(goodbye)).toBe(`${prompts.renderer.hashOf(catalog.fill('goodbye', undefined, 'zh-CN'), 'zh-CN')}.wav`);
    // Nothing half-written is left in the media folder.
    expect(fs.readdirSync(mediaDir).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('reads the order code from recorded digit clips, groups apart; only the fixed parts are synthesised', async () => {
    for (let d = 0; d <= 9; d++) record(`digit-${d}`, 0.3, 300 + d * 50);
    const uris = await prompts.media('dispatch-accepted', { code: '596688' });
    const digit = async (d: number) => (await store.get(`digit-${d}`, 'zh-CN'))?.file;
    const silence = (await store.silence(250)).file;
    const [before, ...rest] = uris.map(fileOf);
    const after = rest.pop();
    // 6 digits are read as 3 + 3 with a short pause.
    expect(rest).toEqual([await digit(5), await digit(9), await digit(6), silence, await digit(6), await digit(8), await digit(8)]);
    // The fixed parts around the code, each its own render (the 。 that closes the code says nothing).
    expect(before).toBe(`${prompts.renderer.hashOf('已记录贵单位接受处置，联动单号：', 'zh-CN')}.wav`);
    expect(after).toBe(`${prompts.renderer.hashOf('请尽快到场，处置进展请拨打反馈专线报告。', 'zh-CN')}.wav`);
    expect(calls.filter((c) => c === 'espeak-ng')).toHaveLength(2);
    // A code with letters: the letter group is one synthesised clip, the digits are still the recordings.
    const lettered = (await prompts.media('dispatch-accepted', { code: 'LD-42' })).map(fileOf);
    expect(lettered).toEqual([before, `${prompts.renderer.hashOf('艾勒迪', 'zh-CN', undefined, 'clip')}.wav`, silence, await digit(4), await digit(2), after]);
  });

  it('digits the site has not all recorded are read from TTS clips, so one code is never read in two voices', async () => {
    record('digit-5');
    const files = (await prompts.media('dispatch-accepted', { code: '556' })).map(fileOf);
    const clip = (d: string) => `${prompts.renderer.hashOf(d, 'zh-CN', undefined, 'clip')}.wav`;
    expect(files.slice(1, -1)).toEqual([clip('五'), clip('五'), clip('六')]);
    // All of its digits recorded: the recordings.
    const fives = (await prompts.media('dispatch-accepted', { code: '55' })).map(fileOf);
    expect(fives.slice(1, -1)).toEqual([(await store.get('digit-5', 'zh-CN'))?.file, (await store.get('digit-5', 'zh-CN'))?.file]);
  });

  it('a recorded fixed part of a prompt with slots replaces that part; the rest is read in parts as without recordings', async () => {
    record('dispatch-order.1');
    const vars = { code: '123456', category: '供水', address: '城关镇', summary: '水管爆裂' };
    const files = (await prompts.media('dispatch-order', vars)).map(fileOf);
    expect(files[0]).toBe((await store.get('dispatch-order.1', 'zh-CN'))?.file);
    const tts = (text: string, kind?: 'ssml' | 'clip') => `${prompts.renderer.hashOf(text, 'zh-CN', undefined, kind)}.wav`;
    const silence = (await store.silence(250)).file;
    // The code from TTS digit clips (no digit recorded), then the parts (no pause configured here);
    // the address and the summary are one render, with a break as long as two renders' padding.
    expect(files.slice(1)).toEqual([
      tts('幺', 'clip'), tts('二', 'clip'), tts('三', 'clip'), silence, tts('四', 'clip'), tts('五', 'clip'), tts('六', 'clip'),
      tts('类别：'), tts('供水'), tts('地点：'), tts('城关镇。<break time="400ms"/>情况：水管爆裂', 'ssml'),
    ]);
  });
});
