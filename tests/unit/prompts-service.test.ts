import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPrompts, createRenderer, defaultPromptsDir, loadCatalog, openPrompts, runProcess, type Prompts, type PromptsConfig, type RunFn } from '../../src/prompts/index.js';

let dir: string;
let calls: string[];
let prompts: Prompts;
let config: PromptsConfig;
const run: RunFn = (cmd, args, opts) => (calls.push(cmd, ...(opts.pipeTo ? [opts.pipeTo.command] : [])), runProcess(cmd, args, opts));

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-prompts-svc-'));
  calls = [];
  config = { language: 'zh-CN', timezone: 'Asia/Shanghai', media: { dir, baseUrl: 'http://127.0.0.1:3000/media' } };
  prompts = createPrompts(config, loadCatalog(defaultPromptsDir(), { timeZone: config.timezone }), createRenderer({ dir, run }));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('Prompts service', () => {
  it('returns sound:http URIs under config.media.baseUrl for rendered files', async () => {
    const [goodbye, ...none] = await prompts.media('goodbye');
    expect(none).toEqual([]);
    // A prompt with a code is played from its parts: fixed text, digit clips, fixed text.
    const uris = await prompts.media('dispatch-accepted', { code: 'LD-0042' });
    expect(uris.length).toBeGreaterThan(3);
    for (const uri of [goodbye, ...uris]) {
      const m = /^sound:http:\/\/127\.0\.0\.1:3000\/media\/([0-9a-f]{64}\.wav)$/.exec(uri ?? '');
      expect(m).not.toBeNull();
      expect(fs.existsSync(path.join(dir, m?.[1] ?? ''))).toBe(true);
    }
  });

  it('uses config.language by default and another language on request', async () => {
    expect(prompts.text('dispatch-accepted', { code: 1 })).toContain('联动单号：幺');
    expect(prompts.text('dispatch-accepted', { code: 1 }, 'en')).toContain('Order number: one.');
    const [zh] = await prompts.media('goodbye');
    const [en] = await prompts.media('goodbye', {}, 'en');
    expect(zh).not.toBe(en);
  });

  it('speaks dates in config.timezone', () => {
    expect(prompts.speakDate(new Date('2026-11-22T17:30:00Z'))).toBe('二零二六年十一月二十三日');
    expect(prompts.speakDate(new Date('2026-11-22T17:30:00Z'), 'en')).toBe('23 November 2026');
    expect(prompts.speakDigits('110')).toBe('幺幺零');
  });

  it('warms every static prompt, every fixed part of the prompts with slots and the digit clips once, then finds them all on disk', async () => {
    const statics = prompts.catalog.names.filter((n) => prompts.catalog.get(n, 'zh-CN').slots.length === 0);
    expect(statics.length).toBeGreaterThan(10);
    const first = await prompts.warm();
    // espeak-ng + sox once per distinct text, speed and kind (two prompts may share all three, and
    // then a file; survey prompts are spoken slower, so a text shared with a duty prompt is two files).
    expect(calls.length).toBe(2 * first.rendered);
    expect(first.cached).toBe(0);
    // At least the statics, the ten digits and the fixed parts of dispatch-accepted (2) and dispatch-order (5).
    expect(first.rendered).toBeGreaterThanOrEqual(new Set(statics.map((n) => prompts.catalog.fill(n, undefined, 'zh-CN'))).size + 10 + 7);
    calls.length = 0;
    const second = await prompts.warm();
    expect(second).toMatchObject({ rendered: 0, cached: first.rendered });
    expect(calls).toEqual([]);
    // A prompt with a code and nothing else after warming needs no TTS at all: fixed parts and digits are on disk.
    await prompts.media('feedback-menu', { code: '7' });
    await prompts.media('dispatch-accepted', { code: '596688' });
    expect(calls).toEqual([]);
    // Its text of its own (here the department) is rendered on demand, once.
    await prompts.media('alarm-unacknowledged', { code: '596688', department: '水务局' });
    await prompts.media('alarm-unacknowledged', { code: '123456', department: '水务局' });
    expect(calls).toEqual(['espeak-ng', 'sox']);
  });

  it('rejects bad values before anything is spawned', async () => {
    // @ts-expect-error -- the typed API wants {code}
    await expect(prompts.media('dispatch-accepted', {})).rejects.toThrow(/missing \{code\}/);
    expect(() => prompts.text('survey-greeting', { date: new Date(NaN) })).toThrow(/\{date\}: invalid date/);
    expect(calls).toEqual([]);
  });

  it('opens from config with the default prompts folder', () => {
    const opened = openPrompts(config);
    expect(opened.text('goodbye', undefined, 'en')).toBe('Thank you. Goodbye.');
  });
});
