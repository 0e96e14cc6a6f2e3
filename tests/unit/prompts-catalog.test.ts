import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LANGUAGES } from '../../src/config.js';
import {
  PROMPT_SPEC,
  PromptCatalogError,
  PromptError,
  defaultPromptsDir,
  loadCatalog,
  speakDate,
  speakDigits,
  type PromptSpec,
} from '../../src/prompts/catalog.js';

const TZ = 'Asia/Shanghai';
const tmpDirs: string[] = [];
afterEach(() => {
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A throw-away prompts folder: files[lang][name] = full file content. */
function fixture(files: Record<string, Record<string, string>>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-prompts-'));
  tmpDirs.push(dir);
  for (const [lang, byName] of Object.entries(files)) {
    fs.mkdirSync(path.join(dir, lang), { recursive: true });
    for (const [name, content] of Object.entries(byName)) fs.writeFileSync(path.join(dir, lang, `${name}.txt`), content);
  }
  return dir;
}
const HDR = '# Played by: test\n# Keys: none\n';
const SPEC: PromptSpec = { hello: { who: 'text' }, bye: {} };

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PromptCatalogError);
    return (err as PromptCatalogError).problems;
  }
  throw new Error('expected a PromptCatalogError');
}

describe('the shipped catalog', () => {
  const catalog = loadCatalog(defaultPromptsDir(), { timeZone: TZ });

  it('has every prompt of PROMPT_SPEC in every language, with the same placeholders', () => {
    expect([...catalog.names]).toEqual(Object.keys(PROMPT_SPEC).sort());
    for (const name of catalog.names) {
      const expected = Object.keys(PROMPT_SPEC[name as keyof typeof PROMPT_SPEC]).sort();
      for (const lang of LANGUAGES) expect([...catalog.get(name, lang).slots].sort(), `${lang}/${name}`).toEqual(expected);
    }
  });

  it('strips the header and keeps it as documentation', () => {
    const menu = catalog.get('dispatch-menu', 'zh-CN');
    expect(menu.text).not.toContain('#');
    expect(menu.text).toContain('请按1');
    expect(menu.header.some((h) => h.startsWith('Keys:') && h.includes('3'))).toBe(true);
    expect(catalog.get('dispatch-menu', 'en').text).toMatch(/^To accept this order, press 1\./);
  });

  it('speaks 110 the dispatch way in Mandarin and keeps Latin letters out of Mandarin texts', () => {
    for (const name of catalog.names) {
      const text = catalog.get(name, 'zh-CN').text.replace(/\{[a-zA-Z]+\}/g, '');
      // The Mandarin voice reads Latin letters as pinyin, so none may appear outside placeholders.
      expect(text, name).not.toMatch(/[A-Za-z]/);
      expect(text, name).not.toContain('110');
    }
    expect(catalog.get('test-call', 'zh-CN').text).toContain('幺幺零社会联动指挥中心');
  });

  it('fills a dispatch order in both languages', () => {
    const vars = { code: 'LD-0710', category: '供水', address: '建设路', summary: '水管爆裂' };
    expect(catalog.fill('dispatch-order', vars, 'zh-CN')).toContain('联动单号：艾勒迪，零七幺零。类别：供水。地点：建设路。情况：水管爆裂。');
    expect(catalog.fill('dispatch-order', { ...vars, category: 'water supply' }, 'en')).toContain('Order number: el dee, zero seven one zero. Category: water supply.');
    const survey = catalog.fill('survey-greeting', { date: new Date('2026-11-22T17:30:00Z') }, 'zh-CN');
    expect(survey).toContain('关于您在二零二六年十一月二十三日反映的事情');
  });

  it('refuses missing, extra and ill-typed values, naming the prompt and slot', () => {
    expect(() => catalog.fill('dispatch-accepted', {}, 'zh-CN')).toThrow(/dispatch-accepted.*missing \{code\}/);
    expect(() => catalog.fill('dispatch-accepted', undefined, 'en')).toThrow(PromptError);
    expect(() => catalog.fill('goodbye', { code: '1' }, 'zh-CN')).toThrow(/goodbye.*unexpected \{code\}/);
    expect(() => catalog.fill('dispatch-accepted', { code: '12', extra: 'x' }, 'zh-CN')).toThrow(/unexpected \{extra\}/);
    expect(() => catalog.fill('survey-greeting', { date: '2026-11-23' }, 'en')).toThrow(/\{date\}: expects a Date/);
    expect(() => catalog.fill('major-notify', { code: '1', category: '  \n ', address: 'a' }, 'en')).toThrow(/\{category\}: is empty/);
    expect(() => catalog.fill('major-notify', { code: '1', category: 'x'.repeat(501), address: 'a' }, 'en')).toThrow(/at most 500/);
    expect(() => catalog.fill('dispatch-accepted', { code: '12#' }, 'en')).toThrow(/\{code\}.*"#"/);
    expect(() => catalog.fill('no-such-prompt', {}, 'en')).toThrow(/unknown prompt "no-such-prompt"/);
  });

  it('flattens control characters and line breaks in text values', () => {
    const text = catalog.fill('alarm-unacknowledged', { code: '7', department: '自来水\n公司\t抢修队' }, 'zh-CN');
    expect(text).toContain('联动单号七，自来水 公司 抢修队无人接单');
  });
});

describe('catalog validation', () => {
  it('loads a consistent fixture and joins lines per language', () => {
    const dir = fixture({
      'zh-CN': { hello: `${HDR}你好，\n{who}。\n`, bye: `${HDR}再见。` },
      en: { hello: `\uFEFF${HDR}Hello,\r\n{who}.\r\n`, bye: `${HDR}Bye.` },
    });
    const c = loadCatalog(dir, { timeZone: TZ, spec: SPEC });
    expect(c.fill('hello', { who: '老王' }, 'zh-CN')).toBe('你好，老王。');
    expect(c.fill('hello', { who: 'Wang' }, 'en')).toBe('Hello, Wang.');
  });

  it('reports a name missing in one language and placeholders that differ, naming the files', () => {
    const dir = fixture({
      'zh-CN': { hello: `${HDR}你好{who}。`, bye: `${HDR}再见。` },
      en: { hello: `${HDR}Hello {name}.` },
    });
    const problems = problemsOf(() => loadCatalog(dir, { timeZone: TZ, spec: SPEC }));
    expect(problems.some((p) => p.includes(path.join(dir, 'en', 'bye.txt')) && p.includes('missing'))).toBe(true);
    expect(problems.some((p) => p.includes(path.join(dir, 'en', 'hello.txt')) && p.includes('{name}') && p.includes('{who}'))).toBe(true);
  });

  it('reports headers, stray braces, empty texts and names outside the spec', () => {
    const dir = fixture({
      'zh-CN': { hello: '你好{who}。', bye: `${HDR}再见{。`, extra: `${HDR}多余。` },
      en: { hello: '# Played by: test\nHello {who}.', bye: `${HDR}\n\n`, extra: `${HDR}Extra.` },
    });
    const problems = problemsOf(() => loadCatalog(dir, { timeZone: TZ, spec: SPEC }));
    const about = (lang: string, name: string, what: RegExp): boolean => problems.some((p) => p.startsWith(path.join(dir, lang, `${name}.txt`)) && what.test(p));
    expect(about('zh-CN', 'hello', /must start with '#' header/)).toBe(true);
    expect(about('en', 'hello', /no "# Keys:/)).toBe(true);
    expect(about('zh-CN', 'bye', /stray '\{'/)).toBe(true);
    expect(about('en', 'bye', /no spoken text/)).toBe(true);
    expect(about('zh-CN', 'extra', /not listed in PROMPT_SPEC/)).toBe(true);
  });

  it('reports a missing language folder and placeholders that disagree with the spec', () => {
    const dir = fixture({ 'zh-CN': { hello: `${HDR}你好{whom}。`, bye: `${HDR}再见。` } });
    const problems = problemsOf(() => loadCatalog(dir, { timeZone: TZ, spec: SPEC }));
    expect(problems.some((p) => p.startsWith(path.join(dir, 'en')) && p.includes('cannot read folder'))).toBe(true);
    expect(problems.some((p) => p.includes('hello.txt') && p.includes('PROMPT_SPEC says {who}'))).toBe(true);
  });
});

describe('speakDigits', () => {
  it('reads Mandarin dispatch digits with 幺 for 1', () => {
    expect(speakDigits('0123456789', 'zh-CN')).toBe('零幺二三，四五六，七八九');
    expect(speakDigits(110, 'zh-CN')).toBe('幺幺零');
    expect(speakDigits('20261123', 'zh-CN')).toBe('二零二六，幺幺二三');
  });
  it('reads English digits and letters one by one, pausing at separators', () => {
    expect(speakDigits('LD-2026/07', 'en')).toBe('el dee, two zero two six, zero seven');
    expect(speakDigits('a1b', 'en')).toBe('ay one bee');
    expect(speakDigits('1234567', 'en')).toBe('one two three four, five six seven');
  });
  it('refuses what it cannot read', () => {
    expect(() => speakDigits('', 'en')).toThrow(PromptError);
    expect(() => speakDigits('12*3', 'zh-CN')).toThrow(/"\*"/);
    expect(() => speakDigits(-5, 'en')).toThrow(/non-negative integer/);
    expect(() => speakDigits(1.5, 'en')).toThrow(/non-negative integer/);
  });
});

describe('speakDate', () => {
  it('speaks the calendar date in the given time zone', () => {
    const lateEvening = new Date('2026-11-22T17:30:00Z'); // 01:30 on the 23rd in Shanghai
    expect(speakDate(lateEvening, 'zh-CN', 'Asia/Shanghai')).toBe('二零二六年十一月二十三日');
    expect(speakDate(lateEvening, 'en', 'Asia/Shanghai')).toBe('23 November 2026');
    expect(speakDate(lateEvening, 'en', 'UTC')).toBe('22 November 2026');
  });
  it('reads month and day as Mandarin cardinals', () => {
    expect(speakDate(new Date('2030-01-10T04:00:00Z'), 'zh-CN', TZ)).toBe('二零三零年一月十日');
    expect(speakDate(new Date('2030-10-31T04:00:00Z'), 'zh-CN', TZ)).toBe('二零三零年十月三十一日');
    expect(speakDate(new Date('2030-12-20T04:00:00Z'), 'zh-CN', TZ)).toBe('二零三零年十二月二十日');
  });
  it('refuses invalid dates and zones', () => {
    expect(() => speakDate(new Date('nope'), 'en', TZ)).toThrow(/invalid date/);
    expect(() => speakDate(new Date(), 'en', 'Mars/Olympus')).toThrow(/Mars\/Olympus/);
  });
});
