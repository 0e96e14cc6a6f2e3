// The Prompts service: what machines call to get something to play. Prompt name + values in,
// Asterisk media URIs out; the text is filled in the caller's language and rendered (or taken
// from the content-addressed cache) before the URI is handed back, so Asterisk never waits on TTS.
import type { Config, Language } from '../config.js';
import type { MediaUri } from '../telephony/port.js';
import { LANGUAGES } from '../config.js';
import { defaultPromptsDir, digitGroups, loadCatalog, speakDate, speakDigits, type Catalog, type PromptName, type PromptVars } from './catalog.js';
import { createRecordingStore, type RecordingStore } from './recordings.js';
import { createRenderer, type Renderer, type RunFn, type SpeechStyle } from './renderer.js';
import { makeSilence } from './recordings.js';

export {
  PROMPT_SPEC,
  PromptCatalogError,
  PromptError,
  MAX_TEXT_VALUE_CHARS,
  defaultPromptsDir,
  loadCatalog,
  speakDate,
  speakDigits,
  type Catalog,
  type CatalogOptions,
  type PromptEntry,
  type PromptName,
  type PromptSpec,
  type PromptValue,
  type PromptVars,
  type SlotKind,
} from './catalog.js';
export {
  DEFAULT_VOICES,
  MAX_RENDER_CHARS,
  RENDERER_VERSION,
  RenderError,
  createRenderer,
  runProcess,
  type RenderedMedia,
  type Renderer,
  type RendererOptions,
  type RunFn,
  type RunOptions,
  type Voice,
} from './renderer.js';
export {
  DIGIT_IDS,
  RecordingError,
  convertRecording,
  createRecordingStore,
  recordableIds,
  type Recording,
  type RecordingProblem,
  type RecordingStore,
  type RecordingsReport,
} from './recordings.js';
export { mediaRoute, MEDIA_FILE_RE, type MediaRouteOptions } from './media-route.js';
export { asteriskMediaCache, parseMediaCacheList, startMediaRetention, sweepMedia, type AsteriskMediaCache, type MediaSweepReport } from './media-retention.js';

/** Arguments after the name: prompts with slots require their values; static prompts take none. */
export type MediaArgs<N extends PromptName> = [keyof PromptVars<N>] extends [never]
  ? [vars?: Readonly<Record<string, never>>, lang?: Language]
  : [vars: PromptVars<N>, lang?: Language];

export interface WarmReport {
  /** Static prompts rendered now. */
  readonly rendered: number;
  /** Static prompts already on disk. */
  readonly cached: number;
  /** Wall time in milliseconds. */
  readonly ms: number;
  /** Recordings in use (all languages), and the files refused (each played as TTS instead). */
  readonly recorded?: number;
  readonly recordingProblems?: ReadonlyArray<{ readonly file: string; readonly message: string }>;
}

export interface Prompts {
  /** Filled, rendered prompt as URIs for TelephonyPort.play/prompt, e.g. [`sound:http://127.0.0.1:3000/media/<sha256>.wav`]. */
  media<N extends PromptName>(name: N, ...args: MediaArgs<N>): Promise<MediaUri[]>;
  /** The filled text that media() would speak (for logs, transcripts and the desk UI). */
  text<N extends PromptName>(name: N, ...args: MediaArgs<N>): string;
  /** Render every placeholder-free prompt of `lang` (default config.language), so the first calls need no TTS. */
  warm(lang?: Language): Promise<WarmReport>;
  speakDigits(value: string | number, lang?: Language): string;
  /** In config.timezone. */
  speakDate(date: Date, lang?: Language): string;
  readonly catalog: Catalog;
  readonly renderer: Renderer;
  /** The site's recorded prompts; absent: every prompt is TTS. */
  readonly recordings?: RecordingStore;
}

export type PromptsConfig = Pick<Config, 'language' | 'timezone'> & Partial<Pick<Config, 'prompts'>> & { readonly media: Pick<Config['media'], 'dir' | 'baseUrl'> };

/** Milliseconds of silence between the groups of a code read from digit clips (`LD-2026…`, or 4+4 digits). */
export const DIGIT_GROUP_PAUSE_MS = 250;

/** The citizen survey is spoken slower than duty calls unless LIANDONG_TTS_SURVEY_RATE says otherwise (words per minute). */
export const DEFAULT_SURVEY_RATE_WPM: Readonly<Record<Language, number>> = Object.freeze({ 'zh-CN': 150, en: 130 });
/** Prompts read in parts, with a pause between their sentences (the order's code, category, address, summary). */
export const PAUSED_PROMPTS: readonly string[] = ['dispatch-order', 'major-notify', 'alarm-unacknowledged'];

/** The speed and pitch a prompt (or a part of one, `<name>.<n>`) is synthesised with. */
export function speechStyleOf(config: Partial<Pick<Config, 'prompts'>>, name: string, lang: Language): SpeechStyle | undefined {
  const p = config.prompts;
  const survey = name.startsWith('survey-');
  const speedWpm = survey ? (p?.ttsSurveyRateWpm ?? DEFAULT_SURVEY_RATE_WPM[lang]) : p?.ttsRateWpm;
  if (speedWpm === undefined && p?.ttsPitch === undefined) return undefined;
  return { speedWpm, pitch: p?.ttsPitch };
}

/** What one piece of a prompt is played from: a text to synthesise, or a file already in the media folder. */
type Piece = { readonly tts: string } | { readonly file: string };

export function createPrompts(config: PromptsConfig, catalog: Catalog, renderer: Renderer, recordings?: RecordingStore): Prompts {
  const base = config.media.baseUrl.replace(/\/+$/, '');
  const textOf = (name: string, vars: Readonly<Record<string, unknown>> | undefined, lang: Language | undefined): string =>
    catalog.fill(name, vars as Parameters<Catalog['fill']>[1], lang ?? config.language);

  /** A code read from recorded digit clips, groups apart; undefined when a character has no clip. */
  async function digitClips(value: string | number, lang: Language, store: RecordingStore): Promise<Piece[] | undefined> {
    const groups = digitGroups(value);
    if (groups.some((g) => !/^[0-9]+$/.test(g))) return undefined; // letters: no clips for them
    const pieces: Piece[] = [];
    for (const [i, group] of groups.entries()) {
      if (i > 0) pieces.push({ file: (await store.silence(DIGIT_GROUP_PAUSE_MS)).file });
      for (const ch of group) {
        const clip = await store.get(`digit-${ch}`, lang);
        if (!clip) return undefined;
        pieces.push({ file: clip.file });
      }
    }
    return pieces;
  }

  /** Recorded parts where the site has them, TTS for the rest (adjacent texts synthesised together). */
  async function piecesOf(name: string, vars: Readonly<Record<string, unknown>> | undefined, lang: Language): Promise<Piece[]> {
    const whole: Piece[] = [{ tts: textOf(name, vars, lang) }];
    if (!recordings) return whole;
    const entry = catalog.get(name, lang);
    if (entry.slots.length === 0) {
      const recorded = await recordings.get(name, lang);
      return recorded ? [{ file: recorded.file }] : whole;
    }
    const pieces: Piece[] = [];
    for (const seg of catalog.segments(name, vars as Parameters<Catalog['segments']>[1], lang)) {
      if (seg.kind === 'fixed') {
        const recorded = await recordings.get(`${name}.${seg.index}`, lang);
        pieces.push(recorded ? { file: recorded.file } : { tts: seg.text });
      } else if (seg.slotKind === 'digits' && !(seg.value instanceof Date)) {
        pieces.push(...((await digitClips(seg.value, lang, recordings)) ?? [{ tts: seg.spoken }]));
      } else pieces.push({ tts: seg.spoken });
    }
    if (pieces.every((p) => 'tts' in p)) return whole; // nothing recorded: one render, as without recordings
    return mergeTexts(pieces, lang);
  }

  /** Adjacent texts are synthesised together. */
  function mergeTexts(pieces: readonly Piece[], lang: Language): Piece[] {
    const merged: Piece[] = [];
    for (const p of pieces) {
      const last = merged[merged.length - 1];
      if ('tts' in p && last && 'tts' in last) merged[merged.length - 1] = { tts: last.tts + (lang === 'zh-CN' ? '' : ' ') + p.tts };
      else merged.push(p);
    }
    return merged;
  }

  const pauseMs = config.prompts?.partPauseMs ?? 0;
  /**
   * An order is read sentence by sentence with a pause between them: the officer hears where the
   * code ends and the address begins, and the fixed sentences (greeting, labels, categories) are
   * rendered once for all orders instead of once per order.
   */
  async function withPauses(pieces: readonly Piece[], lang: Language): Promise<Piece[]> {
    const end = lang === 'zh-CN' ? /(?<=[。！？；])/u : /(?<=[.!?;])\s+/u;
    const split: Piece[] = pieces.flatMap((p): Piece[] => ('tts' in p ? p.tts.split(end).filter((t) => t.trim().length > 0).map((tts) => ({ tts })) : [p]));
    if (pauseMs === 0) return split;
    const pause: Piece = { file: (await makeSilence(config.media.dir, pauseMs)).file };
    const out: Piece[] = [];
    split.forEach((p, i) => {
      if (i > 0 && 'tts' in (split[i - 1] as Piece)) out.push(pause);
      out.push(p);
    });
    return out;
  }

  return {
    catalog,
    renderer,
    ...(recordings ? { recordings } : {}),
    async media(name, ...[vars, lang]) {
      const language = lang ?? config.language;
      let pieces = await piecesOf(name, vars, language);
      if (PAUSED_PROMPTS.includes(name)) pieces = await withPauses(pieces, language);
      const style = speechStyleOf(config, name, language);
      const files = await Promise.all(pieces.map(async (p) => ('file' in p ? p.file : (await renderer.render(p.tts.trim(), language, style)).file)));
      return files.map((file) => `sound:${base}/${file}`);
    },
    text(name, ...[vars, lang]) {
      return textOf(name, vars, lang);
    },
    async warm(lang) {
      const language = lang ?? config.language;
      const started = performance.now();
      const report = await recordings?.load();
      const recorded = new Set((report?.recordings ?? []).filter((r) => r.lang === language).map((r) => r.id));
      const statics = catalog.names.filter((n) => catalog.get(n, language).slots.length === 0 && !recorded.has(n));
      const results = await Promise.all(statics.map((n) => renderer.render(catalog.fill(n, undefined, language), language, speechStyleOf(config, n, language))));
      const cached = results.filter((r) => r.cached).length;
      return {
        rendered: results.length - cached,
        cached,
        ms: Math.round(performance.now() - started),
        ...(report ? { recorded: report.recordings.length, recordingProblems: report.problems } : {}),
      };
    },
    speakDigits: (value, lang) => speakDigits(value, lang ?? config.language),
    speakDate: (date, lang) => speakDate(date, lang ?? config.language, config.timezone),
  };
}

export interface OpenPromptsOptions {
  /** Default: prompts/ of this checkout. */
  readonly promptsDir?: string;
  readonly run?: RunFn;
}

/** Boot helper: load and check the catalog (throws PromptCatalogError), set up the renderer in config.media.dir. */
export function openPrompts(config: PromptsConfig, options: OpenPromptsOptions = {}): Prompts {
  const catalog = loadCatalog(options.promptsDir ?? defaultPromptsDir(), { timeZone: config.timezone });
  const renderer = createRenderer({ dir: config.media.dir, ...(options.run ? { run: options.run } : {}) });
  const recordings = createRecordingStore({
    catalog,
    languages: LANGUAGES,
    recordingsDir: config.prompts?.recordingsDir,
    mediaDir: config.media.dir,
    maxSeconds: config.prompts?.recordingMaxSeconds ?? 60,
  });
  return createPrompts(config, catalog, renderer, recordings);
}
