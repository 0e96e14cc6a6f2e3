// The spoken texts of liandong: prompts/<lang>/<name>.txt, loaded and checked once at boot so a
// typo in a prompt file stops the service before the first call rather than in the middle of one.
// Also the helpers that turn dynamic values (order codes, dates) into text a TTS voice speaks right.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LANGUAGES, type Language } from '../config.js';

/**
 * How a slot's value is turned into speech: character by character (`digits`), as a date, or as
 * given — `name`: one of a few names (a category, a department), `text`: the order's own free
 * text (address, summary), new for nearly every order. Both are spoken as given; they differ in
 * how a prompt is put together (src/prompts/assemble.ts).
 */
export type SlotKind = 'digits' | 'date' | 'name' | 'text';

/**
 * Every prompt the code may play, with its slots. The files under prompts/<lang>/ must match this
 * exactly (same names, same placeholders), so a caller can never ask for a prompt or a slot that
 * a language lacks. Adding a prompt means adding it here and in every language folder.
 */
export const PROMPT_SPEC = {
  'test-call': {},
  'dispatch-order': { code: 'digits', category: 'name', address: 'text', summary: 'text' },
  'dispatch-menu': {},
  'dispatch-accepted': { code: 'digits' },
  'dispatch-disputed': { code: 'digits' },
  'dispatch-invalid': {},
  'dispatch-no-input': {},
  'alarm-unacknowledged': { code: 'digits', department: 'name' },
  'alarm-confirmed': {},
  'major-notify': { code: 'digits', category: 'name', address: 'text' },
  'major-confirmed': {},
  'reminder-arrival': { code: 'digits', department: 'name' },
  'reminder-completion': { code: 'digits', department: 'name' },
  'reminder-recorded': {},
  'reminder-help': {},
  'help-alarm': { code: 'digits', department: 'name' },
  'dispatch-urgent': {},
  'dispatch-major': {},
  'feedback-welcome': {},
  'feedback-menu': { code: 'digits' },
  'feedback-recorded': {},
  'feedback-unknown-order': {},
  'feedback-pin': {},
  'feedback-pin-wrong': {},
  'feedback-refused': {},
  'survey-greeting': { date: 'date' },
  'survey-attitude': {},
  'survey-speed': {},
  'survey-quality': {},
  'survey-invalid': {},
  'survey-thanks': {},
  'survey-opted-out': {},
  'survey-enter-code': {},
  goodbye: {},
} as const satisfies Record<string, Record<string, SlotKind>>;

export type PromptSpec = Readonly<Record<string, Readonly<Record<string, SlotKind>>>>;
export type PromptName = keyof typeof PROMPT_SPEC;
type Spec = typeof PROMPT_SPEC;
type SlotValue<K extends SlotKind> = K extends 'date' ? Date : K extends 'digits' ? string | number : string;
/** The values a prompt needs: digits slots take a code (string or non-negative integer), date slots a Date, name and text slots a string. */
export type PromptVars<N extends PromptName> = { readonly [S in keyof Spec[N]]: Spec[N][S] extends SlotKind ? SlotValue<Spec[N][S]> : never };
export type PromptValue = string | number | Date;

/** A text slot longer than this many characters is refused (500 Mandarin characters are about two minutes of speech). */
export const MAX_TEXT_VALUE_CHARS = 500;

export interface PromptEntry {
  readonly name: string;
  readonly lang: Language;
  readonly file: string;
  /** The `#` header lines, without the `#`. */
  readonly header: readonly string[];
  /** The spoken text with `{slot}` placeholders, lines joined. */
  readonly text: string;
  /** Placeholder names in order of first appearance. */
  readonly slots: readonly string[];
}

export interface Catalog {
  readonly dir: string;
  readonly names: readonly string[];
  get(name: string, lang: Language): PromptEntry;
  /** Spoken text with every slot filled; missing, extra or unspeakable values throw a PromptError. */
  fill(name: string, vars: Readonly<Record<string, PromptValue>> | undefined, lang: Language): string;
  /** How each slot of a prompt is spoken (PROMPT_SPEC). */
  slotKinds(name: string): Readonly<Record<string, SlotKind>>;
  /** The same filled text in parts: fixed text between the slots (numbered from 1) and each slot's value. */
  segments(name: string, vars: Readonly<Record<string, PromptValue>> | undefined, lang: Language): PromptSegment[];
}

/**
 * A part of a filled prompt. `fixed`: text of the template between slots, `index` counting from 1
 * (a site may record it as `<prompt>.<index>.wav`); `slot`: one slot's value as given and as spoken.
 */
export type PromptSegment =
  | { readonly kind: 'fixed'; readonly index: number; readonly text: string }
  | { readonly kind: 'slot'; readonly slot: string; readonly slotKind: SlotKind; readonly value: PromptValue; readonly spoken: string };

/** The fixed parts of a template with slots, in order, numbered from 1 (empty parts are skipped but keep their number). */
export function fixedParts(entry: PromptEntry): Array<{ index: number; text: string }> {
  return entry.text.split(SLOT_RE).filter((_, i) => i % 2 === 0).map((text, i) => ({ index: i + 1, text })).filter((p) => p.text.trim().length > 0);
}

export class PromptCatalogError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid prompt catalog:\n  - ${problems.join('\n  - ')}`);
    this.name = 'PromptCatalogError';
  }
}

export class PromptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromptError';
  }
}

const NAME_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const SLOT_RE = /\{([a-z][a-zA-Z0-9]*)\}/g;
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL_RE = /[\u0000-\u0008\u000b-\u001f\u007f]/;
const REQUIRED_HEADERS = ['Played by:', 'Keys:'];

/** prompts/ of this checkout, found by walking up from this module (works from src/ under tsx and from dist/src/). */
export function defaultPromptsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'prompts');
    if (fs.existsSync(path.join(candidate, LANGUAGES[0]))) return candidate;
    dir = path.dirname(dir);
  }
  throw new PromptCatalogError([`no prompts/${LANGUAGES[0]} folder found above ${fileURLToPath(import.meta.url)}`]);
}

export interface CatalogOptions {
  /** IANA time zone in which dates are spoken (config.timezone). */
  readonly timeZone: string;
  /** What the files must contain; defaults to PROMPT_SPEC. */
  readonly spec?: PromptSpec;
}

/** Read and check every prompts/<lang>/*.txt; throws a PromptCatalogError listing every problem. */
export function loadCatalog(dir: string, options: CatalogOptions): Catalog {
  const spec: PromptSpec = options.spec ?? PROMPT_SPEC;
  const problems: string[] = [];
  const byLang = new Map<Language, Map<string, PromptEntry>>();
  for (const lang of LANGUAGES) byLang.set(lang, loadLanguage(dir, lang, problems));

  const [first, ...others] = LANGUAGES;
  const base = byLang.get(first) ?? new Map<string, PromptEntry>();
  for (const lang of others) {
    const entries = byLang.get(lang) ?? new Map<string, PromptEntry>();
    for (const name of base.keys()) if (!entries.has(name)) problems.push(`${path.join(dir, lang, `${name}.txt`)}: missing (${first} has it)`);
    for (const [name, entry] of entries) {
      const other = base.get(name);
      if (!other) problems.push(`${entry.file}: ${first} has no ${name}.txt`);
      else if (!sameSet(entry.slots, other.slots)) {
        problems.push(`${entry.file}: placeholders {${entry.slots.join('}, {')}} differ from ${other.file}'s {${other.slots.join('}, {')}}`);
      }
    }
  }
  for (const [lang, entries] of byLang) {
    for (const [name, slotKinds] of Object.entries(spec)) {
      const entry = entries.get(name);
      if (!entry) {
        if (lang === first) problems.push(`${path.join(dir, lang, `${name}.txt`)}: missing (listed in PROMPT_SPEC)`);
        continue;
      }
      const expected = Object.keys(slotKinds);
      if (!sameSet(entry.slots, expected)) problems.push(`${entry.file}: placeholders {${entry.slots.join('}, {')}} but PROMPT_SPEC says {${expected.join('}, {')}}`);
    }
    for (const entry of entries.values()) {
      if (!Object.hasOwn(spec, entry.name)) problems.push(`${entry.file}: not listed in PROMPT_SPEC (src/prompts/catalog.ts)`);
    }
  }
  if (problems.length > 0) throw new PromptCatalogError([...new Set(problems)]);

  const names = Object.freeze([...base.keys()].sort());
  const get = (name: string, lang: Language): PromptEntry => {
    const entry = byLang.get(lang)?.get(name);
    if (!entry) throw new PromptError(`unknown prompt "${name}" for language ${lang}`);
    return entry;
  };
  const catalog: Catalog = Object.freeze({
    dir,
    names,
    get,
    fill(name: string, vars: Readonly<Record<string, PromptValue>> | undefined, lang: Language): string {
      const entry = get(name, lang);
      const given = vars ?? {};
      const missing = entry.slots.filter((s) => given[s] === undefined);
      const extra = Object.keys(given).filter((k) => !entry.slots.includes(k));
      if (missing.length > 0 || extra.length > 0) {
        const parts = [missing.length > 0 ? `missing {${missing.join('}, {')}}` : '', extra.length > 0 ? `unexpected {${extra.join('}, {')}}` : ''];
        throw new PromptError(`prompt "${name}": ${parts.filter(Boolean).join('; ')}`);
      }
      const spoken = new Map<string, string>();
      for (const slot of entry.slots) {
        const kind = spec[name]?.[slot] ?? 'text';
        spoken.set(slot, speakValue(name, slot, kind, given[slot] as PromptValue, lang, options.timeZone));
      }
      return entry.text.replace(SLOT_RE, (_m, slot: string) => spoken.get(slot) ?? '');
    },
    slotKinds(name: string): Readonly<Record<string, SlotKind>> {
      return spec[name] ?? {};
    },
    segments(name: string, vars: Readonly<Record<string, PromptValue>> | undefined, lang: Language): PromptSegment[] {
      catalog.fill(name, vars, lang); // the same checks of missing, extra and unspeakable values
      const entry = get(name, lang);
      const given = vars ?? {};
      // split() with a capturing group alternates fixed text and slot names.
      return entry.text.split(SLOT_RE).flatMap((part, i): PromptSegment[] => {
        if (i % 2 === 0) return part.trim().length > 0 ? [{ kind: 'fixed', index: i / 2 + 1, text: part }] : [];
        const slotKind = spec[name]?.[part] ?? 'text';
        const value = given[part] as PromptValue;
        return [{ kind: 'slot', slot: part, slotKind, value, spoken: speakValue(name, part, slotKind, value, lang, options.timeZone) }];
      });
    },
  });
  return catalog;
}

function loadLanguage(dir: string, lang: Language, problems: string[]): Map<string, PromptEntry> {
  const out = new Map<string, PromptEntry>();
  const langDir = path.join(dir, lang);
  let files: string[];
  try {
    files = fs.readdirSync(langDir).filter((f) => f.endsWith('.txt') && !f.startsWith('.')).sort();
  } catch (err) {
    problems.push(`${langDir}: cannot read folder (${(err as Error).message})`);
    return out;
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (const f of files) {
    const file = path.join(langDir, f);
    const name = f.slice(0, -'.txt'.length);
    if (!NAME_RE.test(name)) {
      problems.push(`${file}: file name must be lower-case words joined by '-', e.g. dispatch-menu.txt`);
      continue;
    }
    let raw: string;
    try {
      raw = decoder.decode(fs.readFileSync(file));
    } catch (err) {
      problems.push(`${file}: cannot read as UTF-8 (${(err as Error).message})`);
      continue;
    }
    const entry = parsePromptFile(file, name, lang, raw, problems);
    if (entry) out.set(name, entry);
  }
  return out;
}

/** Header lines first (`# …`), then the spoken text; checks headers, braces and characters. */
function parsePromptFile(file: string, name: string, lang: Language, raw: string, problems: string[]): PromptEntry | undefined {
  const lines = raw.replace(/^\uFEFF/, '').split(/\r?\n/);
  let i = 0;
  const header: string[] = [];
  while (i < lines.length && (lines[i] ?? '').startsWith('#')) header.push((lines[i++] ?? '').slice(1).trim());
  const body = lines.slice(i).map((l) => l.trim());
  const before = problems.length;
  if (header.length === 0) problems.push(`${file}: must start with '#' header lines (which machine plays it, which keys the caller may press)`);
  for (const h of REQUIRED_HEADERS) {
    if (header.length > 0 && !header.some((l) => l.startsWith(h))) problems.push(`${file}: header has no "# ${h} …" line`);
  }
  const late = body.findIndex((l) => l.startsWith('#'));
  if (late >= 0) problems.push(`${file}: line ${i + late + 1} starts with '#' after the text began; header lines must come first`);
  // Mandarin needs no space between lines; other languages do.
  const text = body.filter((l) => l.length > 0).join(lang === 'zh-CN' ? '' : ' ');
  if (text.length === 0) problems.push(`${file}: no spoken text after the header`);
  if (CONTROL_RE.test(text)) problems.push(`${file}: contains control characters`);
  const stray = text.replace(SLOT_RE, '').match(/[{}]/);
  if (stray) problems.push(`${file}: stray '${stray[0]}' — placeholders are {lowerCamelName}`);
  if (problems.length > before) return undefined;
  const slots = [...new Set([...text.matchAll(SLOT_RE)].map((m) => m[1] ?? ''))];
  return Object.freeze({ name, lang, file, header: Object.freeze(header), text, slots: Object.freeze(slots) });
}

function speakValue(name: string, slot: string, kind: SlotKind, value: PromptValue, lang: Language, timeZone: string): string {
  const where = `prompt "${name}" {${slot}}`;
  try {
    if (kind === 'date') {
      if (!(value instanceof Date)) throw new PromptError('expects a Date');
      return speakDate(value, lang, timeZone);
    }
    if (value instanceof Date) throw new PromptError(`expects ${kind === 'digits' ? 'a code' : 'text'}, got a Date`);
    if (kind === 'digits') return speakDigits(value, lang);
    const text = String(value).replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim(); // eslint-disable-line no-control-regex
    if (text.length === 0) throw new PromptError('is empty');
    if (text.length > MAX_TEXT_VALUE_CHARS) throw new PromptError(`is ${text.length} characters; at most ${MAX_TEXT_VALUE_CHARS}`);
    return text;
  } catch (err) {
    throw new PromptError(`${where}: ${(err as Error).message}`);
  }
}

// Dispatch-speech digits: in Mandarin 1 is 幺 (yāo) so it cannot be misheard as 七 over a phone line.
const ZH_DIGITS = ['零', '幺', '二', '三', '四', '五', '六', '七', '八', '九'];
const EN_DIGITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
// Letter names as spoken in each language (the Mandarin voice would otherwise read Latin as pinyin).
const ZH_LETTERS = '诶 比 西 迪 伊 艾弗 吉 艾尺 艾 杰 开 艾勒 艾马 艾娜 欧 皮 吉吾 艾儿 艾丝 提 伊吾 维 达布流 艾克斯 吾艾 贼德'.split(' ');
const EN_LETTERS = 'ay bee see dee ee ef jee aitch eye jay kay el em en oh pee cue ar ess tee you vee double-you ex why zee'.split(' ');
const SEPARATOR_RE = /[\s\-_/.:]+/;
/** A run of more than this many characters is read in groups, with a short pause between them. */
const GROUP_MAX = 4;

/**
 * An order code or number read character by character: `LD-20261123` → `艾勒迪，二零二六，幺幺二三` / `el dee, two zero two six, one one two three`.
 * Separators (space - _ / . :) and long runs become short pauses. Anything else is refused.
 */
export function speakDigits(value: string | number, lang: Language): string {
  if (typeof value === 'number' && !(Number.isSafeInteger(value) && value >= 0)) throw new PromptError(`cannot read ${value} digit by digit; give a non-negative integer or a string`);
  const raw = String(value).trim();
  if (raw.length === 0) throw new PromptError('empty code');
  const bad = raw.match(/[^0-9A-Za-z\s\-_/.:]/);
  if (bad) throw new PromptError(`cannot read "${bad[0]}" in "${raw}" character by character`);
  const zh = lang === 'zh-CN';
  const word = (ch: string): string => {
    const d = ch.charCodeAt(0) - 48;
    if (d >= 0 && d <= 9) return (zh ? ZH_DIGITS : EN_DIGITS)[d] ?? ch;
    return (zh ? ZH_LETTERS : EN_LETTERS)[ch.toUpperCase().charCodeAt(0) - 65] ?? ch;
  };
  const groups = digitGroups(raw);
  return groups.map((g) => [...g].map(word).join(zh ? '' : ' ')).join(zh ? '，' : ', ');
}

/** The groups a code is read in (separators and long runs split it): `LD-20261123` → LD, 2026, 1123. */
export function digitGroups(value: string | number): string[] {
  return String(value).trim().split(SEPARATOR_RE).filter(Boolean).flatMap(splitEvenly);
}

/** Split a run longer than GROUP_MAX into near-equal groups: 8 → 4+4, 7 → 4+3, 9 → 3+3+3. */
function splitEvenly(run: string): string[] {
  const count = Math.ceil(run.length / GROUP_MAX);
  const out: string[] = [];
  let start = 0;
  for (let k = 0; k < count; k++) {
    const size = Math.ceil((run.length - start) / (count - k));
    out.push(run.slice(start, start + size));
    start += size;
  }
  return out;
}

const ZH_NUM = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
const EN_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** 1–99 as a Mandarin cardinal: 10 十, 11 十一, 23 二十三. */
function zhCardinal(n: number): string {
  const tens = Math.floor(n / 10);
  const ones = n % 10;
  if (tens === 0) return ZH_NUM[ones] ?? '';
  return `${tens === 1 ? '' : (ZH_NUM[tens] ?? '')}十${ones === 0 ? '' : (ZH_NUM[ones] ?? '')}`;
}

/** The calendar date of `date` in `timeZone`, spoken: `二零二六年十一月二十三日` / `23 November 2026`. */
export function speakDate(date: Date, lang: Language, timeZone: string): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new PromptError('invalid date');
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric', calendar: 'gregory', numberingSystem: 'latn' }).formatToParts(date);
  } catch {
    throw new PromptError(`time zone "${timeZone}" is not an IANA zone`);
  }
  const num = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  const [year, month, day] = [num('year'), num('month'), num('day')];
  if (lang === 'zh-CN') {
    // Years are read digit by digit with 一 (not 幺): 二零二六年.
    const y = [...String(year)].map((c) => ZH_NUM[Number(c)] ?? c).join('');
    return `${y}年${zhCardinal(month)}月${zhCardinal(day)}日`;
  }
  return `${day} ${EN_MONTHS[month - 1] ?? ''} ${year}`;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
