// How a prompt with slots is put together so that only what changes from order to order is
// synthesised: the fixed text between the slots is its own render (one file for every order,
// warmed at boot), an order code is read from digit clips (recorded, or synthesised once per
// digit), a name (category, department) is rendered once per name, and the order's own texts
// (address, summary) once per order: two of them with only fixed text between are one render,
// with that text (`地点：` [城关镇人民路。‖情况：水管爆裂]), since each render costs a start of
// espeak-ng and sox (~11 ms CPU) beside its speech. A site's recording of a fixed part or of the
// digits wins over the TTS one.
//
//   联动单号：{code}。类别：{category}。 → [联动单号：] [五][九][六] ‥ [六][八][八] | [类别：] [供水]
//
// Parts are cut only at the template's placeholders and sentence ends, never inside a word.
import type { Language } from '../config.js';
import { digitGroups, fixedParts, speakDigits, type Catalog, type PromptEntry, type PromptSegment, type PromptValue } from './catalog.js';
import type { RecordingStore } from './recordings.js';
import { SPEECH_PAD_S } from './renderer.js';

/**
 * One part of a prompt: text to synthesise (`clip`: a digit or letter group of a code, trimmed
 * tight), a file already in the media folder, or a pause — `sentence` between the sentences of a
 * prompt read in parts, `group` between the groups of a code.
 */
export type Piece =
  | { readonly tts: string; readonly kind?: 'ssml' | 'clip' }
  | { readonly file: string }
  | { readonly pause: 'sentence' | 'group' };

const SENTENCE_BREAK: Piece = Object.freeze({ pause: 'sentence' });
const GROUP_BREAK: Piece = Object.freeze({ pause: 'group' });
/** Where a sentence ends: the split keeps the punctuation with the sentence it ends. */
const SENTENCE_SPLIT: Readonly<Record<Language, RegExp>> = { 'zh-CN': /(?<=[。！？；])/u, en: /(?<=[.!?;])\s+/u };
const ENDS_SENTENCE = /[。！？；.!?;]\s*$/u;
const SPEAKABLE = /[\p{L}\p{N}]/u;
/** A part after a slot starts with the punctuation that closed it (`。类别：`): nothing to say. */
const LEADING_PUNCTUATION = /^[\s\p{P}]+/u;

/**
 * The fixed text between two slots as pieces. `sentences`: the prompt is read in parts (PAUSED_PROMPTS),
 * so it is cut at its sentence ends with a break there; otherwise it is one render. Punctuation
 * alone (the `。` after the last slot) says nothing and is dropped.
 */
export function fixedPieces(text: string, lang: Language, sentences: boolean): Piece[] {
  const chunks = sentences ? text.split(SENTENCE_SPLIT[lang]) : [text];
  const out: Piece[] = [];
  for (const chunk of chunks) {
    const spoken = chunk.replace(LEADING_PUNCTUATION, '').trim();
    if (SPEAKABLE.test(spoken)) out.push({ tts: spoken });
    if (sentences && ENDS_SENTENCE.test(chunk)) out.push(SENTENCE_BREAK);
  }
  return out;
}

/**
 * Whether a prompt with slots is read in parts. Not when its only slots are dates (the survey's
 * greeting): a date changes once a day, so the whole text is one render a day and keeps the flow
 * of its sentence — unless the site recorded one of its fixed parts.
 */
export function readInParts(catalog: Catalog, name: string): boolean {
  return Object.values(catalog.slotKinds(name)).some((k) => k !== 'date');
}

/** The texts warm() renders for a prompt with slots read in parts: its fixed parts that have no recording. */
export async function fixedTexts(catalog: Catalog, entry: PromptEntry, sentences: boolean, recordings: RecordingStore | undefined): Promise<string[]> {
  const out: string[] = [];
  if (!readInParts(catalog, entry.name)) return out;
  for (const part of fixedParts(entry)) {
    if (await recordings?.get(`${entry.name}.${part.index}`, entry.lang)) continue;
    for (const p of fixedPieces(part.text, entry.lang, sentences)) if ('tts' in p) out.push(p.tts);
  }
  return out;
}

/** What digit `d` is synthesised as for a clip (Mandarin 1 is 幺). */
export const digitWord = (d: number, lang: Language): string => speakDigits(String(d), lang);

/**
 * A code read from clips, groups apart. The site's recorded digits when every digit of the code
 * has one (one voice for the whole code), else TTS clips (rendered once per digit, warmed at boot).
 * A group with letters (`LD` of `LD-2026…`) is one TTS clip of its own, rendered once per distinct
 * group: the order codes liandong gives are six digits, so letters are rare and need no warm-up.
 */
export async function codePieces(value: string | number, lang: Language, recordings: RecordingStore | undefined): Promise<Piece[]> {
  const groups = digitGroups(value);
  const digits = [...new Set(groups.join('').replace(/[^0-9]/g, ''))];
  const clips = new Map<string, string>();
  if (recordings) {
    for (const d of digits) {
      const clip = await recordings.get(`digit-${d}`, lang);
      if (clip) clips.set(d, clip.file);
    }
  }
  const recorded = digits.length > 0 && clips.size === digits.length;
  const pieces: Piece[] = [];
  for (const [i, group] of groups.entries()) {
    if (i > 0) pieces.push(GROUP_BREAK);
    if (!/^[0-9]+$/.test(group)) pieces.push({ tts: speakDigits(group, lang), kind: 'clip' });
    else for (const ch of group) pieces.push(recorded ? { file: clips.get(ch) as string } : { tts: digitWord(Number(ch), lang), kind: 'clip' });
  }
  return pieces;
}

/** How a prompt is read: `sentences` — cut at its sentence ends (PAUSED_PROMPTS) with `pauseMs` of silence between them. */
export interface Reading {
  readonly sentences: boolean;
  readonly pauseMs: number;
}

const SSML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const ssmlEscape = (text: string): string => text.replace(/[&<>"']/g, (c) => SSML_ESCAPES[c] ?? c);

/**
 * Two order texts and the fixed text between them as one render. Read in sentences, a sentence end
 * in the fixed text gets an SSML break as long as the silence two renders would have between them
 * (their padding and the pause), so the order sounds as when read in parts.
 */
function joined(first: string, between: string, second: string, lang: Language, reading: Reading): Piece {
  const chunks = reading.sentences ? between.split(SENTENCE_SPLIT[lang]) : [between];
  if (chunks.length === 1) return { tts: `${first}${between}${second}` };
  const breakMs = Math.round((SPEECH_PAD_S.before + SPEECH_PAD_S.after) * 1000) + reading.pauseMs;
  const mark = `<break time="${breakMs}ms"/>`;
  const middle = chunks.map(ssmlEscape).join(lang === 'zh-CN' ? mark : ` ${mark} `);
  return { tts: `${ssmlEscape(first)}${middle}${ssmlEscape(second)}`, kind: 'ssml' };
}

const isOrderText = (seg: PromptSegment | undefined): seg is Extract<PromptSegment, { kind: 'slot' }> => seg?.kind === 'slot' && seg.slotKind === 'text';

/**
 * A prompt as pieces: a static prompt is its recording or one render; a prompt with slots is
 * assembled from its fixed parts, its code's clips, its names and its texts (see the header).
 */
export async function promptPieces(
  catalog: Catalog,
  recordings: RecordingStore | undefined,
  name: string,
  vars: Readonly<Record<string, PromptValue>> | undefined,
  lang: Language,
  reading: Reading,
): Promise<Piece[]> {
  const entry = catalog.get(name, lang);
  if (entry.slots.length === 0) {
    const recorded = await recordings?.get(name, lang);
    return [recorded ? { file: recorded.file } : { tts: catalog.fill(name, vars, lang) }];
  }
  const { sentences } = reading;
  const segments = catalog.segments(name, vars, lang);
  const recordedPart = async (seg: PromptSegment | undefined) => (seg?.kind === 'fixed' ? recordings?.get(`${name}.${seg.index}`, lang) : undefined);
  if (!readInParts(catalog, name)) {
    const parts = await Promise.all(segments.map(recordedPart));
    if (parts.every((r) => r === undefined)) return [{ tts: catalog.fill(name, vars, lang) }];
  }
  const pieces: Piece[] = [];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as PromptSegment;
    if (seg.kind === 'fixed') {
      const recorded = await recordedPart(seg);
      if (!recorded) pieces.push(...fixedPieces(seg.text, lang, sentences));
      else {
        // A recording is played whole; the sentence ends around it still get their pause.
        if (sentences && /^[\s\p{P}]*[。！？；.!?;]/u.test(seg.text)) pieces.push(SENTENCE_BREAK);
        pieces.push({ file: recorded.file });
        if (sentences && ENDS_SENTENCE.test(seg.text)) pieces.push(SENTENCE_BREAK);
      }
    } else if (seg.slotKind === 'digits' && !(seg.value instanceof Date)) pieces.push(...(await codePieces(seg.value, lang, recordings)));
    else {
      const [between, next] = [segments[i + 1], segments[i + 2]];
      if (isOrderText(seg) && between?.kind === 'fixed' && isOrderText(next) && !(await recordedPart(between))) {
        pieces.push(joined(seg.spoken, between.text, next.spoken, lang, reading));
        i += 2;
      } else pieces.push({ tts: seg.spoken });
    }
  }
  return pieces;
}

/** Sentence pauses only between two things said, one for a run of them; none at all without `sentences`. */
export function placePauses(pieces: readonly Piece[], sentences: boolean): Piece[] {
  const out: Piece[] = [];
  let pending = false;
  for (const p of pieces) {
    if ('pause' in p && p.pause === 'sentence') {
      pending = sentences && out.length > 0;
      continue;
    }
    if (pending) out.push(SENTENCE_BREAK);
    pending = false;
    out.push(p);
  }
  return out;
}
