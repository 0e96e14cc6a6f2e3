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
    const b = await p.media('dispatch-order', { code: '123456', category: '供水', address: '建设路', summary: '路面积水' });
    // sentence, pause, sentence, pause, … : 5 sentences and 4 pauses.
    expect(a).toHaveLength(9);
    const pause = a[1];
    expect([a[3], a[5], a[7]]).toEqual([pause, pause, pause]);
    expect(seconds(fileOf(pause))).toBeCloseTo(0.4, 2);
    // The opening sentence and the category are rendered once for both orders.
    expect(b[0]).toBe(a[0]);
    expect(b[4]).toBe(a[4]);
    expect(b[2]).not.toBe(a[2]);
    // No pause configured: the sentences follow each other directly.
    expect(await prompts({ partPauseMs: 0 }).media('dispatch-order', { code: '596688', category: '供水', address: '城关镇人民路', summary: '水管爆裂' })).toEqual(a.filter((u) => u !== pause));
  });
});
