// Speaking rate, pitch and the pause between an order's parts (LIANDONG_TTS_RATE,
// LIANDONG_TTS_SURVEY_RATE, LIANDONG_TTS_PITCH, LIANDONG_TTS_PART_PAUSE_MS). Real espeak-ng and sox.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createPrompts, createRenderer, defaultPromptsDir, loadCatalog, runProcess, speechStyleOf, type Prompts, type RunFn } from '../../src/prompts/index.js';

const catalog = loadCatalog(defaultPromptsDir(), { timeZone: 'Asia/Shanghai' });
let dir: string;
let spawned: Array<{ cmd: string; args: readonly string[] }>;
const run: RunFn = (cmd, args, opts) => (spawned.push({ cmd, args }), runProcess(cmd, args, opts));
const fileOf = (uri: string | undefined) => path.join(dir, /\/media\/([0-9a-f]{64}\.wav)$/.exec(uri ?? '')?.[1] ?? 'missing');
const seconds = (file: string) => Number(execFileSync('soxi', ['-D', file], { encoding: 'utf8' }));

function prompts(p: { ttsRateWpm?: number; ttsSurveyRateWpm?: number; ttsPitch?: number; partPauseMs?: number } = {}): Prompts {
  const config = {
    language: 'zh-CN' as const,
    timezone: 'Asia/Shanghai',
    media: { dir, baseUrl: 'http://127.0.0.1:3000/media' },
    prompts: { recordingsDir: undefined, recordingMaxSeconds: 60, ttsRateWpm: p.ttsRateWpm, ttsSurveyRateWpm: p.ttsSurveyRateWpm, ttsPitch: p.ttsPitch, partPauseMs: p.partPauseMs ?? 300 },
  };
  return createPrompts(config, catalog, createRenderer({ dir, run }));
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-style-'));
  spawned = [];
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('speaking rate and pitch', () => {
  it('config: LIANDONG_TTS_RATE, LIANDONG_TTS_SURVEY_RATE, LIANDONG_TTS_PITCH, LIANDONG_TTS_PART_PAUSE_MS are read and bounded', () => {
    const c = loadConfig({ LIANDONG_TTS_RATE: '200', LIANDONG_TTS_SURVEY_RATE: '140', LIANDONG_TTS_PITCH: '40', LIANDONG_TTS_PART_PAUSE_MS: '500' }, 'dev');
    expect(c.prompts).toMatchObject({ ttsRateWpm: 200, ttsSurveyRateWpm: 140, ttsPitch: 40, partPauseMs: 500 });
    expect(loadConfig({}, 'dev').prompts).toMatchObject({ ttsRateWpm: undefined, ttsSurveyRateWpm: undefined, ttsPitch: undefined, partPauseMs: 300 });
    expect(() => loadConfig({ LIANDONG_TTS_RATE: '20' }, 'dev')).toThrow(/LIANDONG_TTS_RATE must be a whole number from 80 to 450/);
    expect(() => loadConfig({ LIANDONG_TTS_PITCH: '120' }, 'dev')).toThrow(/LIANDONG_TTS_PITCH/);
  });

  it('the survey is slower than duty calls by default; configured rates and pitch reach espeak-ng', async () => {
    expect(speechStyleOf({}, 'survey-attitude', 'zh-CN')).toEqual({ speedWpm: 150, pitch: undefined });
    expect(speechStyleOf({}, 'dispatch-menu', 'zh-CN')).toBeUndefined();
    const p = prompts({ ttsRateWpm: 220, ttsPitch: 35 });
    await p.media('dispatch-menu');
    await p.media('survey-speed');
    const espeak = spawned.filter((s) => s.cmd === 'espeak-ng').map((s) => s.args.join(' '));
    expect(espeak[0]).toContain('-s 220 -p 35');
    expect(espeak[1]).toContain('-s 150 -p 35');
  });

  it('a slower rate gives longer audio (same text)', async () => {
    const fast = fileOf((await prompts({ ttsSurveyRateWpm: 220 }).media('survey-quality'))[0]);
    const slow = fileOf((await prompts({ ttsSurveyRateWpm: 120 }).media('survey-quality'))[0]);
    expect(fast).not.toBe(slow);
    expect(seconds(slow)).toBeGreaterThan(seconds(fast) * 1.4);
  });
});

describe('pause between the order\'s parts', () => {
  it('reads the order sentence by sentence with the configured silence between; the fixed sentences are shared by all orders', async () => {
    const p = prompts({ partPauseMs: 400 });
    const a = await p.media('dispatch-order', { code: '596688', category: '供水', address: '城关镇人民路', summary: '水管爆裂' });
    const b = await p.media('dispatch-order', { code: '126457', category: '供水', address: '建设路', summary: '路面积水' });
    // opening ‖ 联动单号： 5 9 6 · 6 8 8 ‖ 类别： 供水 ‖ 地点： address+summary (‖: the pause, ·: the group pause)
    expect(a).toHaveLength(16);
    const pause = a[1];
    expect([a[10], a[13]]).toEqual([pause, pause]);
    expect(a.filter((u) => u === pause)).toHaveLength(3);
    expect(seconds(fileOf(pause))).toBeCloseTo(0.4, 2);
    expect(seconds(fileOf(a[6]))).toBeCloseTo(0.25, 2);
    // The opening, the labels and the category are rendered once for both orders; the codes are
    // digit clips (a 6 in both), only the address and summary are the order's own render.
    for (const i of [0, 2, 11, 12, 14]) expect(b[i]).toBe(a[i]);
    expect(b[5]).toBe(a[5]);
    expect(b[15]).not.toBe(a[15]);
    // A digit clip is the digit alone, trimmed: far shorter than a padded sentence.
    expect(seconds(fileOf(a[3]))).toBeLessThan(0.6);
    // Within the one render of the address and summary, the silence two renders would have between
    // them (their 0.4 s of padding and the pause): an SSML break, espeak-ng -m.
    expect(a[15]).toContain(p.renderer.hashOf('城关镇人民路。<break time="800ms"/>情况：水管爆裂', 'zh-CN', undefined, 'ssml'));
    expect(spawned.filter((s) => s.cmd === 'espeak-ng' && s.args.includes('-m'))).toHaveLength(2);
    // No pause configured: the parts follow each other directly; the break is only the padding.
    const c = await prompts({ partPauseMs: 0 }).media('dispatch-order', { code: '596688', category: '供水', address: '城关镇人民路', summary: '水管爆裂' });
    expect(c).toHaveLength(13);
    expect(c.slice(0, 12)).toEqual(a.filter((u) => u !== pause).slice(0, 12));
    expect(c[12]).toContain(p.renderer.hashOf('城关镇人民路。<break time="400ms"/>情况：水管爆裂', 'zh-CN', undefined, 'ssml'));
  });
});
