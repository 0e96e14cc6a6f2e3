// The Prompts service: what machines call to get something to play. Prompt name + values in,
// Asterisk media URIs out; the text is filled in the caller's language and rendered (or taken
// from the content-addressed cache) before the URI is handed back, so Asterisk never waits on TTS.
import type { Config, Language } from '../config.js';
import type { MediaUri } from '../telephony/port.js';
import { defaultPromptsDir, loadCatalog, speakDate, speakDigits, type Catalog, type PromptName, type PromptVars } from './catalog.js';
import { createRenderer, type Renderer, type RunFn } from './renderer.js';

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
}

export type PromptsConfig = Pick<Config, 'language' | 'timezone'> & { readonly media: Pick<Config['media'], 'dir' | 'baseUrl'> };

export function createPrompts(config: PromptsConfig, catalog: Catalog, renderer: Renderer): Prompts {
  const base = config.media.baseUrl.replace(/\/+$/, '');
  const textOf = (name: string, vars: Readonly<Record<string, unknown>> | undefined, lang: Language | undefined): string =>
    catalog.fill(name, vars as Parameters<Catalog['fill']>[1], lang ?? config.language);
  return {
    catalog,
    renderer,
    async media(name, ...[vars, lang]) {
      const language = lang ?? config.language;
      const rendered = await renderer.render(textOf(name, vars, language), language);
      return [`sound:${base}/${rendered.file}`];
    },
    text(name, ...[vars, lang]) {
      return textOf(name, vars, lang);
    },
    async warm(lang) {
      const language = lang ?? config.language;
      const started = performance.now();
      const statics = catalog.names.filter((n) => catalog.get(n, language).slots.length === 0);
      const results = await Promise.all(statics.map((n) => renderer.render(catalog.fill(n, undefined, language), language)));
      const cached = results.filter((r) => r.cached).length;
      return { rendered: results.length - cached, cached, ms: Math.round(performance.now() - started) };
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
  return createPrompts(config, catalog, renderer);
}
