import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPrompts, createRenderer, defaultPromptsDir, loadCatalog, openPrompts, runProcess, speechStyleOf, type Prompts, type PromptsConfig, type RunFn } from '../../src/prompts/index.js';

let dir: string;
let calls: string[];
let prompts: Prompts;
let config: PromptsConfig;
const run: RunFn = (cmd, args, opts) => (calls.push(cmd), runProcess(cmd, args, opts));

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
  it('returns sound:http URIs under config.media.baseUrl for a rendered file', async () => {
    const uris = await prompts.media('dispatch-accepted', { code: 'LD-0042' });
    expect(uris).toHaveLength(1);
    const m = /^sound:http:\/\/127\.0\.0\.1:3000\/media\/([0-9a-f]{64}\.wav)$/.exec(uris[0] ?? '');
    expect(m).not.toBeNull();
    expect(fs.existsSync(path.join(dir, m?.[1] ?? ''))).toBe(true);
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

  it('warms every static prompt once, then finds them all on disk', async () => {
    const statics = prompts.catalog.names.filter((n) => prompts.catalog.get(n, 'zh-CN').slots.length === 0);
    expect(statics.length).toBeGreaterThan(10);
    const first = await prompts.warm();
    expect(first).toMatchObject({ rendered: statics.length, cached: 0 });
    // espeak-ng + sox once per distinct text and speed (two prompts may share both, and then a file;
    // survey prompts are spoken slower, so a text shared with a duty prompt is two files).
    const texts = new Set(statics.map((n) => JSON.stringify([prompts.catalog.fill(n, undefined, 'zh-CN'), speechStyleOf(config, n, 'zh-CN')])));
    expect(calls).toHaveLength(texts.size * 2);
    calls.length = 0;
    const second = await prompts.warm();
    expect(second).toMatchObject({ rendered: 0, cached: statics.length });
    expect(calls).toEqual([]);
    // A dynamic prompt's media after warming is still rendered on demand.
    await prompts.media('feedback-menu', { code: '7' });
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
