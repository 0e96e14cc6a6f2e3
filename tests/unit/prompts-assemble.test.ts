// A prompt with slots is put together from parts (src/prompts/assemble.ts): fixed parts and digit
// clips rendered once (warmed at boot), names once per name, the order's address and summary once
// per order. Renders are counted through a RunFn that writes the files without espeak-ng or sox
// (pauses are made by real sox) and keeps the text each render was asked to speak.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Language } from '../../src/config.js';
import { renderScript, type ScriptOrder } from '../../src/dispatch/script-media.js';
import { createPrompts, createRenderer, defaultPromptsDir, loadCatalog, type Prompts, type RunFn } from '../../src/prompts/index.js';

const catalog = loadCatalog(defaultPromptsDir(), { timeZone: 'Asia/Shanghai' });
let dir: string;
/** What each espeak-ng run was asked to speak, in order, and the file (hash) it was for. */
let said: Array<{ text: string; hash: string; ssml: boolean }>;
const run: RunFn = (cmd, args, { stdin, pipeTo }) => {
  // A render is espeak-ng piped into sox, which writes the temp file (renamed to <hash>.wav after).
  const out = pipeTo?.args.find((a) => a.endsWith('.8k.wav'));
  if (cmd !== 'espeak-ng' || !out) return Promise.reject(new Error(`unexpected ${cmd} ${args.join(' ')}`));
  said.push({ text: stdin ?? '', hash: path.basename(out).slice(1, 65), ssml: args.includes('-m') });
  fs.writeFileSync(out, 'RIFF');
  return Promise.resolve('');
};

function open(partPauseMs = 300, language: Language = 'zh-CN'): Prompts {
  const config = {
    language,
    timezone: 'Asia/Shanghai',
    media: { dir, baseUrl: 'http://127.0.0.1:3000/media' },
    prompts: { recordingsDir: undefined, recordingMaxSeconds: 60, ttsRateWpm: undefined, ttsSurveyRateWpm: undefined, ttsPitch: undefined, partPauseMs },
  };
  return createPrompts(config, catalog, createRenderer({ dir, run }));
}
const order = (code: string, address: string, summary: string): ScriptOrder => ({ code, address, summary, major: 0, urgency: 'normal', categoryName: '供水', departmentName: '水务局' });
/** Texts rendered, sorted: renders run at once, so they start in no fixed order. */
const texts = () => said.map((s) => s.text).sort();
const hashOf = (uri: string) => /([0-9a-f]{64})\.wav$/.exec(uri)?.[1] ?? '';

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-assemble-'));
  said = [];
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('prompts with slots, no recordings', () => {
  it('after the warm-up an order needs one render for its address and summary (and one per new category); the same texts again need none', async () => {
    const prompts = open();
    await prompts.warm();
    said = [];
    await renderScript(prompts, 'dispatch', order('596688', '城关镇人民路12号', '水管爆裂，路面积水'));
    expect(texts()).toEqual(['供水', '城关镇人民路12号。<break time="700ms"/>情况：水管爆裂，路面积水'].sort());
    expect(said.find((x) => x.text.startsWith('城关镇'))?.ssml).toBe(true);
    said = [];
    // Another code, the same category, address and summary: code, confirmations and all from the cache.
    await renderScript(prompts, 'dispatch', order('123457', '城关镇人民路12号', '水管爆裂，路面积水'));
    expect(texts()).toEqual([]);
    // A new summary: exactly one render.
    await renderScript(prompts, 'dispatch', order('770001', '城关镇人民路12号', '消防栓漏水'));
    expect(texts()).toEqual(['城关镇人民路12号。<break time="700ms"/>情况：消防栓漏水']);
  });

  it('plays in order what prompts.text says: fixed parts, each digit, the category, the address and summary', async () => {
    const prompts = open();
    const vars = { code: '596688', category: '供水', address: '城关镇人民路', summary: '水管爆裂' };
    expect(prompts.text('dispatch-order', vars)).toBe('这里是幺幺零社会联动指挥中心，现有一起非警务求助，需要贵单位处置。联动单号：五九六，六八八。类别：供水。地点：城关镇人民路。情况：水管爆裂。');
    const uris = await prompts.media('dispatch-order', vars);
    const byHash = new Map(said.map((s) => [s.hash, s.text]));
    // Silences (made by sox, not spoken) are not in the map.
    const spoken = uris.map((u) => byHash.get(hashOf(u))).filter((t): t is string => t !== undefined);
    expect(spoken).toEqual([
      '这里是幺幺零社会联动指挥中心，现有一起非警务求助，需要贵单位处置。', '联动单号：', '五', '九', '六', '六', '八', '八', '类别：', '供水', '地点：',
      '城关镇人民路。<break time="700ms"/>情况：水管爆裂',
    ]);
    // Nothing said twice or left out: the same words, punctuation and marks aside.
    const words = (t: string) => t.replace(/<[^>]*>/g, '').replace(/[\p{P}\s]/gu, '');
    expect(words(spoken.join(''))).toBe(words(prompts.text('dispatch-order', vars)));
  });

  it('warm() renders every fixed part of the prompts with slots and the ten digit clips, once', async () => {
    const prompts = open();
    const first = await prompts.warm();
    const clips = said.filter((s) => s.hash === prompts.renderer.hashOf(s.text, 'zh-CN', undefined, 'clip')).map((s) => s.text);
    expect(clips.sort()).toEqual(['七', '三', '九', '二', '五', '八', '六', '四', '幺', '零'].sort());
    for (const part of ['这里是幺幺零社会联动指挥中心，现有一起非警务求助，需要贵单位处置。', '联动单号：', '类别：', '地点：', '情况：', '已记录贵单位接受处置，联动单号：', '请尽快到场，处置进展请拨打反馈专线报告。', '联动督办：联动单号']) {
      expect(texts()).toContain(part);
    }
    // Each text once; punctuation alone (the 。 closing an order) is never rendered.
    expect(new Set(said.map((s) => s.hash)).size).toBe(said.length);
    expect(first.rendered).toBe(said.length);
    expect(texts().filter((t) => !/[\p{L}\p{N}]/u.test(t))).toEqual([]);
    said = [];
    expect(await prompts.warm()).toMatchObject({ rendered: 0, cached: first.rendered });
    expect(said).toEqual([]);
  });

  it('a code with letters: each letter group is one clip, the digits are digit clips', async () => {
    const prompts = open();
    await prompts.media('feedback-menu', { code: 'LD-2026-0042' });
    const clips = said.filter((s) => s.hash === prompts.renderer.hashOf(s.text, 'zh-CN', undefined, 'clip')).map((s) => s.text);
    expect(clips.sort()).toEqual(['艾勒迪', '二', '零', '六', '四'].sort());
  });

  it('an address or summary with markup characters is escaped in the SSML render', async () => {
    const prompts = open();
    await prompts.media('dispatch-order', { code: '1', category: '供水', address: 'A&B <3号>', summary: '"漏水"' });
    expect(texts()).toContain('A&amp;B &lt;3号&gt;。<break time="700ms"/>情况：&quot;漏水&quot;');
  });

  it('in English the address and summary are joined the same way, words apart', async () => {
    const prompts = open(300, 'en');
    await prompts.media('dispatch-order', { code: '42', category: 'Water', address: 'Main Street 12', summary: 'a burst pipe' });
    expect(texts()).toContain('Main Street 12. <break time="700ms"/> Details: a burst pipe');
    expect(texts()).toContain('Order number:');
    expect(texts()).toContain('four');
  });

  it('a prompt whose only slot is a date is one render (its sentence flows; a date changes once a day)', async () => {
    const prompts = open();
    const date = new Date('2026-11-22T17:30:00Z');
    const uris = await prompts.media('survey-greeting', { date });
    expect(uris).toHaveLength(1);
    expect(texts()).toEqual([prompts.text('survey-greeting', { date })]);
  });

  it('the major-incident call reads its category and address in parts too: one render for a new address', async () => {
    const prompts = open();
    await prompts.warm();
    said = [];
    await renderScript(prompts, 'major', order('596688', '城关镇人民路12号', '—'));
    expect(texts()).toEqual(['供水', '城关镇人民路12号'].sort());
    said = [];
    await renderScript(prompts, 'alarm', order('596688', '城关镇人民路12号', '—'));
    expect(texts()).toEqual(['水务局']);
  });
});
