// Text → telephone audio: espeak-ng speaks, sox turns it into the 8 kHz mono 16-bit PCM WAV that
// Asterisk's `wav` format plays without transcoding. Files are content-addressed, so a text is
// rendered once per (renderer version, voice, speed) and then served from disk forever.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Language } from '../config.js';
import { createExecPool, ExecPoolError } from './exec-pool.js';
import { usedMarks } from './used-marks.js';
import { voiceFiles } from './voice-files.js';

/**
 * Part of every cache key: bump it whenever the command lines below change the audio, so old
 * files are never served for the new pipeline.
 */
export const RENDERER_VERSION = 'espeak-ng:-b1,-a(voice)|sox:8000/1/16,rate-m,highpass100,gain-n-3(not ssml),pad0.15/0.25;v3';

export interface Voice {
  /** espeak-ng voice name. */
  readonly voice: string;
  /** espeak-ng speed in words per minute (its default is 175). */
  readonly speedWpm: number;
  /**
   * espeak-ng amplitude (-a, its default 100). Chosen per voice so that its speech leaves room
   * for sox: at 100 espeak-ng's peaks reach full scale and the resampler and highpass overshoot
   * it (sox clipped samples in 206 of 317 renders of the prompts and 200 orders), and so that an
   * order's address and summary (an `ssml` render, which gets no sox gain) come out as loud as
   * when they were normalised to -3 dBFS.
   */
  readonly amplitude: number;
}

/**
 * Debian's espeak-ng 1.51 `cmn` voice reads the pinyin of its own dictionary with English
 * letter sounds (这 comes out as "zhe four"); `cmn-latn-pinyin` is the same Mandarin voice with
 * that fixed. ~185 wpm gives about 3.7 syllables a second, a calm dispatcher's pace.
 * Amplitudes (measured over 40 synthetic order texts each, after rate and highpass, no gain):
 * zh-CN 70 — peaks -2.7 dBFS on average, -1.7 at most, active-speech RMS -21.3 dBFS (0.3 dB
 * below the normalised renders); en 85 — peaks -3.4 / -1.6 dBFS, RMS -21.8 (0.4 dB below).
 */
export const DEFAULT_VOICES: Readonly<Record<Language, Voice>> = Object.freeze({
  'zh-CN': Object.freeze({ voice: 'cmn-latn-pinyin', speedWpm: 185, amplitude: 70 }),
  en: Object.freeze({ voice: 'en-us', speedWpm: 160, amplitude: 85 }),
});

/** Texts longer than this many characters are refused (several minutes of speech, nobody listens that long). */
export const MAX_RENDER_CHARS = 4000;
/** Telephone audio: every file we hand Asterisk is 8 kHz mono 16-bit PCM. */
export const SAMPLE_RATE_HZ = 8000;

export interface RunOptions {
  /** Written to the child's stdin, then stdin is closed. */
  readonly stdin?: string;
  /** The child is killed (SIGKILL) after this many milliseconds. */
  readonly timeoutMs: number;
  /** A second program that reads the first one's stdout (a pipe, no temp file); the run succeeds when both exit 0 and resolves with the second one's stdout. */
  readonly pipeTo?: { readonly command: string; readonly args: readonly string[] };
}
/** Runs one program (or two, piped) with argument arrays (never a shell); resolves with its stdout on exit code 0. */
export type RunFn = (command: string, args: readonly string[], options: RunOptions) => Promise<string>;

export interface RenderedMedia {
  /** sha256 hex of (RENDERER_VERSION, voice, amplitude, speed, text[, pitch][, kind]). */
  readonly hash: string;
  /** `<hash>.wav`, the name under the media folder and URL. */
  readonly file: string;
  readonly path: string;
  /** True when the file was already on disk and nothing was spawned. */
  readonly cached: boolean;
}

/** How a text is spoken, beside the language's voice: espeak-ng speed (words per minute) and pitch (0–99, its default 50). */
export interface SpeechStyle {
  readonly speedWpm?: number | undefined;
  readonly pitch?: number | undefined;
}

/**
 * `speech`: plain text. `ssml`: text with SSML `<break time="…ms"/>` marks between its sentences
 * (espeak-ng -m; every other `<`, `>`, `&` escaped by the caller), for texts of an order rendered
 * together that keep the pause they would have had as separate renders. `clip`: one digit (or
 * letter group) of a code, read one after another with the others: its silence is trimmed at both
 * ends (below -45 dBFS) and it gets CLIP_PAD_S of padding, as a recorded digit clip does.
 */
export type RenderKind = 'speech' | 'ssml' | 'clip';
/** Seconds of silence before and after the speech of a render (before: the first syllable is not clipped when the channel starts playing). */
export const SPEECH_PAD_S = Object.freeze({ before: 0.15, after: 0.25 });
export const CLIP_PAD_S = Object.freeze({ before: 0.02, after: 0.06 });

export interface Renderer {
  readonly dir: string;
  render(text: string, lang: Language, style?: SpeechStyle, kind?: RenderKind): Promise<RenderedMedia>;
  /** The cache key a text would get, without rendering. */
  hashOf(text: string, lang: Language, style?: SpeechStyle, kind?: RenderKind): string;
  /** Checks that espeak-ng, its voices and sox are installed; rejects with a RenderError naming the remedy. */
  check(): Promise<void>;
  /** Stops the render helpers (exec-pool.ts); renders after this fail. */
  close(): void;
}

export class RenderError extends Error {
  constructor(
    readonly code: 'missing_tool' | 'missing_voice' | 'failed' | 'timeout' | 'invalid_text',
    message: string,
  ) {
    super(message);
    this.name = 'RenderError';
  }
}

export interface RendererOptions {
  /** Folder the WAV files go to (config.media.dir); created on first render. */
  readonly dir: string;
  /** Process runner for renders and checks; tests inject a counting one. Default: renders go through
   * long-lived helper shells (exec-pool.ts), checks through runProcess. */
  readonly run?: RunFn;
  /** Per-process time limit in milliseconds; default 20000. */
  readonly timeoutMs?: number;
  readonly voices?: Partial<Record<Language, Voice>>;
  /** Renders running at once (each is two short processes); default 2. */
  readonly maxConcurrent?: number;
  readonly espeakCommand?: string;
  readonly soxCommand?: string;
}

/** Temp files of a render that died with its process are removed once they are this old (ms). */
const STALE_TEMP_MS = 60 * 60 * 1000;
const TEMP_RE = /^\.[0-9a-f]{64}\..+\.wav$/;
const REMEDY = 'run `npm run setup` or `apt-get install espeak-ng sox`';
const STDERR_MAX_CHARS = 2000;

export const runProcess: RunFn = async (command, args, { stdin, timeoutMs, pipeTo }) => {
  const commands = [{ command, args }, ...(pipeTo ? [pipeTo] : [])];
  const children = commands.map((c) => spawn(c.command, c.args, { stdio: ['pipe', 'pipe', 'pipe'] }));
  const [first, second] = children as [ChildProcessWithoutNullStreams, ChildProcessWithoutNullStreams | undefined];
  if (second) {
    first.stdout.pipe(second.stdin);
    // The reader gone (exited, failed): the writer's pipe closes too, as in a shell pipe.
    second.stdin.on('error', () => first.stdout.destroy());
  }
  const last = second ?? first;
  let stdout = '';
  last.stdout.setEncoding('utf8').on('data', (d: string) => {
    if (stdout.length < 1_000_000) stdout += d;
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    children.forEach((c) => c.kill('SIGKILL'));
  }, timeoutMs);
  // A child that exits before reading its input gives EPIPE here; its exit status tells the
  // story, and the failure's message says its input was cut.
  let stdinNote = '';
  first.stdin.on('error', (err) => void (stdinNote = ` (stdin: ${err.message})`));
  first.stdin.end(stdin ?? '');
  const errors = await Promise.all(children.map((child, i) => endOf(child, commands[i] as { command: string; args: readonly string[] })));
  clearTimeout(timer);
  // A missing program is the cause (its partner then fails on a closed pipe); else a time-out; else the first that failed.
  const error = errors.find((e) => e?.code === 'missing_tool') ?? (timedOut ? new RenderError('timeout', `${commands.map((c) => c.command).join(' | ')} took longer than ${timeoutMs} ms and was killed`) : errors.find((e) => e));
  if (error) throw error.code === 'failed' && stdinNote !== '' ? new RenderError('failed', `${error.message}${stdinNote}`) : error;
  return stdout;
};

/** How one child of runProcess ended: undefined for exit 0, else the error that says why. */
function endOf(child: ChildProcessWithoutNullStreams, { command, args }: { command: string; args: readonly string[] }): Promise<RenderError | undefined> {
  return new Promise((resolve) => {
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < STDERR_MAX_CHARS) stderr += d;
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      resolve(
        err.code === 'ENOENT'
          ? new RenderError('missing_tool', `${command} is not installed (not found on PATH); ${REMEDY}`)
          : new RenderError('failed', `${command} could not start: ${err.message}`),
      );
    });
    child.on('close', (code, signal) => {
      resolve(code === 0 ? undefined : new RenderError('failed', `${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim().slice(0, 500)}`));
    });
  });
}

export function createRenderer(options: RendererOptions): Renderer {
  const dir = options.dir;
  const maxConcurrent = options.maxConcurrent ?? 2;
  const pool = options.run ? undefined : createExecPool(maxConcurrent);
  const probe = options.run ?? runProcess;
  const run: RunFn = options.run ?? ((command, args, o) => (pool as NonNullable<typeof pool>).run(command, args, o).catch((err: unknown) => {
    if (!(err instanceof ExecPoolError)) throw err;
    throw new RenderError(err.code === 'not_found' ? 'missing_tool' : err.code, err.code === 'not_found' ? `${err.message}; ${REMEDY}` : err.message);
  }));
  const timeoutMs = options.timeoutMs ?? 20_000;
  const voices: Record<Language, Voice> = { ...DEFAULT_VOICES, ...options.voices };
  const espeak = options.espeakCommand ?? 'espeak-ng';
  const sox = options.soxCommand ?? 'sox';
  const limit = limiter(maxConcurrent);
  // Each voice's file under a path espeak-ng --load takes (voice-files.ts); probed with the real espeak-ng, not `run`.
  const voiceArgs = voiceFiles(Object.values(voices).map((v) => v.voice), (args) => runProcess(espeak, args, { timeoutMs }));
  // One promise per text being rendered, so concurrent requests for the same text share one render.
  const inflight = new Map<string, Promise<RenderedMedia>>();
  // A cache hit marks the file used (its mtime, read by the media sweep), at most once a minute.
  const used = usedMarks();
  let swept = false;

  const hashOf = (text: string, lang: Language, style?: SpeechStyle, kind: RenderKind = 'speech'): string => {
    const v = voices[lang];
    // Pitch and kind only when given: a plain speech render's key has neither.
    const key = [RENDERER_VERSION, v.voice, v.amplitude, style?.speedWpm ?? v.speedWpm, text, ...(style?.pitch === undefined ? [] : [style.pitch]), ...(kind === 'speech' ? [] : [{ kind }])];
    return createHash('sha256').update(JSON.stringify(key)).digest('hex');
  };

  const produce = async (hash: string, text: string, voice: Voice, style: SpeechStyle | undefined, kind: RenderKind): Promise<RenderedMedia> => {
    const file = `${hash}.wav`;
    const final = path.join(dir, file);
    if (await used.mark(final, true)) return { hash, file, path: final, cached: true };
    await limit(async () => {
      await fs.mkdir(dir, { recursive: true });
      if (!swept) {
        swept = true;
        await sweepStaleTemps(dir);
      }
      // Temp names start with '.' so the media route (64 hex + .wav) can never serve a half-written file.
      const phone = path.join(dir, `.${hash}.${process.pid}-${randomBytes(4).toString('hex')}.8k.wav`);
      try {
        const pitch = style?.pitch === undefined ? [] : ['-p', String(style.pitch)];
        const ssml = kind === 'ssml' ? ['-m'] : [];
        const selectVoice = await voiceArgs.argsFor(voice.voice);
        // espeak-ng's WAV goes straight into sox through a pipe (--stdout, `-t wav -`): no temp file
        // written and read back, one helper job per render.
        // -D: no dither, so the same text always gives the same bytes. rate -m: sox's medium quality
        // (95 % bandwidth like -h, 100 dB rejection instead of 125 — far beyond what µ-law carries),
        // ~20 % less sox CPU; highpass after it filters 8 kHz audio instead of espeak's 22.05 kHz and
        // removes rumble the phone line cannot carry; pad: SPEECH_PAD_S.
        // gain -n -3 normalises a render to a -3 dBFS peak: espeak-ng says a short text (a digit,
        // 地点：) 5–9 dB quieter than a sentence, and this lifts it to the others. Not an `ssml` render
        // (an order's address and summary, two whole phrases at the voice's amplitude: no clipping,
        // as loud as normalised, see Voice.amplitude): normalising makes sox keep the whole render
        // in a temp file and read it twice, ~1.3 ms of sox's ~10 for an order's ~12 s.
        // A clip is trimmed to its sound first (silence … reverse silence … reverse) and barely padded.
        const trim = kind === 'clip' ? ['silence', '1', '0.02', '-45d', 'reverse', 'silence', '1', '0.02', '-45d', 'reverse'] : [];
        const normalise = kind === 'ssml' ? [] : ['gain', '-n', '-3'];
        const { before, after } = kind === 'clip' ? CLIP_PAD_S : SPEECH_PAD_S;
        await run(espeak, ['-b', '1', ...ssml, '-a', String(voice.amplitude), ...selectVoice, '-s', String(style?.speedWpm ?? voice.speedWpm), ...pitch, '--stdout', '--stdin'], {
          stdin: text,
          timeoutMs,
          pipeTo: {
            command: sox,
            args: ['-q', '-D', '-t', 'wav', '-', '-t', 'wav', '-r', String(SAMPLE_RATE_HZ), '-c', '1', '-b', '16', '-e', 'signed-integer', phone,
              ...trim, 'rate', '-m', String(SAMPLE_RATE_HZ), 'highpass', '100', ...normalise, 'pad', String(before), String(after)],
          },
        });
        await fs.rename(phone, final); // atomic on one file system: readers see no file or the whole file
      } catch (err) {
        await removeIfThere(phone);
        throw err;
      }
    });
    return { hash, file, path: final, cached: false };
  };

  return {
    dir,
    hashOf,
    render(text: string, lang: Language, style?: SpeechStyle, kind: RenderKind = 'speech'): Promise<RenderedMedia> {
      const voice = voices[lang];
      if (!voice) return Promise.reject(new RenderError('invalid_text', `no voice for language "${String(lang)}"`));
      if (typeof text !== 'string' || text.trim().length === 0) return Promise.reject(new RenderError('invalid_text', 'nothing to say: empty text'));
      if (text.length > MAX_RENDER_CHARS) return Promise.reject(new RenderError('invalid_text', `text is ${text.length} characters; at most ${MAX_RENDER_CHARS}`));
      if (text.includes('\0')) return Promise.reject(new RenderError('invalid_text', 'text contains NUL'));
      const hash = hashOf(text, lang, style, kind);
      const pending = inflight.get(hash);
      if (pending) return pending;
      const p = produce(hash, text, voice, style, kind).finally(() => inflight.delete(hash));
      inflight.set(hash, p);
      return p;
    },
    async check(): Promise<void> {
      await probe(espeak, ['--version'], { timeoutMs });
      await probe(sox, ['--version'], { timeoutMs });
      const listed = (await probe(espeak, ['--voices'], { timeoutMs })).toLowerCase();
      for (const v of Object.values(voices)) {
        if (!listed.includes(` ${v.voice.toLowerCase()} `)) throw new RenderError('missing_voice', `espeak-ng has no voice "${v.voice}"; ${REMEDY} (espeak-ng-data)`);
      }
    },
    close() {
      pool?.close();
    },
  };
}

/** Remove temp files left by a render that was killed with its process (crash, power cut). */
async function sweepStaleTemps(dir: string): Promise<void> {
  const cutoff = Date.now() - STALE_TEMP_MS;
  for (const name of await fs.readdir(dir)) {
    if (!TEMP_RE.test(name)) continue;
    const p = path.join(dir, name);
    const stat = await fs.stat(p).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined; // another sweep or the render itself removed it
      throw err;
    });
    if (stat && stat.mtimeMs < cutoff) await fs.rm(p, { force: true });
  }
}

/** Removes a temp file; one that is not there (never written, or renamed) is fine. */
async function removeIfThere(p: string): Promise<void> {
  try {
    await fs.unlink(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** At most `max` tasks at once; a finishing task hands its slot straight to the next waiter. */
function limiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active < max) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
