// The Prompts service: what machines call to get something to play. Prompt name + values in,
// Asterisk media URIs out; the text is filled in the caller's language and rendered (or taken
// from the content-addressed cache) before the URI is handed back, so Asterisk never waits on TTS.
import type { Config, Language } from '../config.js';
import type { MediaUri } from '../telephony/port.js';
import { LANGUAGES } from '../config.js';
import { digitWord, fixedTexts, placePauses, promptPieces, type Piece } from './assemble.js';
import { defaultPromptsDir, loadCatalog, speakDate, speakDigits, type Catalog, type PromptName, type PromptVars } from './catalog.js';
import { DIGIT_IDS, createRecordingStore, makeSilence, type RecordingStore } from './recordings.js';
import { usedMarks } from './used-marks.js';
import { createRenderer, type RenderKind, type Renderer, type RunFn, type SpeechStyle } from './renderer.js';

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
  type RenderKind,
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
  /** Files rendered now: static prompts, fixed parts of prompts with slots, digit clips. */
  readonly rendered: number;
  /** Those already on disk. */
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
  /** Render everything of `lang` (default config.language) that is the same for every call — static prompts, the fixed parts of prompts with slots, the digit clips — so a call needs TTS only for its new texts. */
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
/** Prompts read sentence by sentence, with a pause (LIANDONG_TTS_PART_PAUSE_MS) between their sentences (the order's code, category, address, summary). */
export const PAUSED_PROMPTS: readonly string[] = ['dispatch-order', 'major-notify', 'alarm-unacknowledged'];

/** The speed and pitch a prompt (or a part of one, `<name>.<n>`) is synthesised with. */
export function speechStyleOf(config: Partial<Pick<Config, 'prompts'>>, name: string, lang: Language): SpeechStyle | undefined {
  const p = config.prompts;
  const survey = name.startsWith('survey-');
  const speedWpm = survey ? (p?.ttsSurveyRateWpm ?? DEFAULT_SURVEY_RATE_WPM[lang]) : p?.ttsRateWpm;
  if (speedWpm === undefined && p?.ttsPitch === undefined) return undefined;
  return { speedWpm, pitch: p?.ttsPitch };
}

export function createPrompts(config: PromptsConfig, catalog: Catalog, renderer: Renderer, recordings?: RecordingStore): Prompts {
  const base = config.media.baseUrl.replace(/\/+$/, '');
  const textOf = (name: string, vars: Readonly<Record<string, unknown>> | undefined, lang: Language | undefined): string =>
    catalog.fill(name, vars as Parameters<Catalog['fill']>[1], lang ?? config.language);
  const pauseMs = config.prompts?.partPauseMs ?? 0;
  const used = usedMarks();
  const silence = (ms: number): Promise<{ file: string }> => makeSilence(config.media.dir, ms, 'sox', used);
  /**
   * An order is read sentence by sentence with a pause between them (the officer hears where the
   * code ends and the address begins); other prompts with slots are read without added pauses.
   */
  const sentencesOf = (name: string): boolean => PAUSED_PROMPTS.includes(name);

  async function fileOf(p: Piece, lang: Language, style: SpeechStyle | undefined): Promise<string> {
    if ('file' in p) return p.file;
    if ('pause' in p) return (await silence(p.pause === 'group' ? DIGIT_GROUP_PAUSE_MS : pauseMs)).file;
    return (await renderer.render(p.tts.trim(), lang, style, p.kind ?? 'speech')).file;
  }

  return {
    catalog,
    renderer,
    ...(recordings ? { recordings } : {}),
    async media(name, ...[vars, lang]) {
      const language = lang ?? config.language;
      const sentences = sentencesOf(name);
      const pieces = await promptPieces(catalog, recordings, name, vars, language, { sentences, pauseMs });
      const style = speechStyleOf(config, name, language);
      const files = await Promise.all(placePauses(pieces, sentences && pauseMs > 0).map((p) => fileOf(p, language, style)));
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
      // Every text a prompt is made of that is the same for every call: static prompts, the fixed
      // parts of prompts with slots, and the ten digit clips (per speaking style of the prompts with
      // a code) unless the site recorded all ten.
      const jobs = new Map<string, { text: string; style: SpeechStyle | undefined; kind: RenderKind }>();
      const add = (text: string, style: SpeechStyle | undefined, kind: RenderKind) => jobs.set(renderer.hashOf(text, language, style, kind), { text, style, kind });
      const allDigitsRecorded = DIGIT_IDS.every((id) => recorded.has(id));
      for (const name of catalog.names) {
        const entry = catalog.get(name, language);
        const style = speechStyleOf(config, name, language);
        if (entry.slots.length === 0) {
          if (!recorded.has(name)) add(entry.text, style, 'speech');
          continue;
        }
        for (const text of await fixedTexts(catalog, entry, sentencesOf(name), recordings)) add(text, style, 'speech');
        const hasCode = Object.values(catalog.slotKinds(name)).includes('digits');
        if (hasCode && !allDigitsRecorded) for (let d = 0; d <= 9; d++) add(digitWord(d, language), style, 'clip');
      }
      const results = await Promise.all([...jobs.values()].map((j) => renderer.render(j.text, language, j.style, j.kind)));
      await Promise.all([silence(DIGIT_GROUP_PAUSE_MS), ...(pauseMs > 0 ? [silence(pauseMs)] : [])]);
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
