// Prompts recorded by a person. A site drops WAV files named after prompt ids into
// prompts/<lang>/recorded/ (or LIANDONG_RECORDINGS_DIR/<lang>/); each is checked (readable, not
// silent, not too long) and converted once with sox to the 8 kHz mono 16-bit WAV Asterisk plays,
// stored in the media folder under the hash of its content, and then wins over the TTS render.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Language } from '../config.js';
import { fixedParts, type Catalog } from './catalog.js';
import { SAMPLE_RATE_HZ } from './renderer.js';
import { usedMarks, type UsedMarks } from './used-marks.js';

/**
 * Part of every converted file's hash: bump it whenever the sox command lines below change the
 * audio, so a recording converted by the old pipeline is converted again.
 */
export const RECORDING_CONVERTER_VERSION = 'sox:8000/1/16,trim-45d,highpass100,gain-n-3;v1';
/** Digit clips: ids `digit-0` … `digit-9`, read one after another for order codes and numbers. */
export const DIGIT_IDS: readonly string[] = Array.from({ length: 10 }, (_, d) => `digit-${d}`);
/** A recording whose loudest sample is below this (dBFS) is taken as silent. */
export const SILENCE_PEAK_DB = -45;
const ID_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*(?:\.[0-9]+)?$/;
const TIMEOUT_MS = 30_000;

export interface Recording {
  readonly id: string;
  readonly lang: Language;
  /** The site's file. */
  readonly source: string;
  /** sha256 of (converter version, padding, the source's bytes): the converted file is `<hash>.wav` in the media folder. */
  readonly hash: string;
  readonly file: string;
  readonly path: string;
  /** Of the converted audio, in seconds. */
  readonly seconds: number;
}

export interface RecordingProblem {
  readonly file: string;
  readonly message: string;
}

export interface RecordingsReport {
  readonly recordings: readonly Recording[];
  readonly problems: readonly RecordingProblem[];
  /** Converted now (the others were already in the media folder). */
  readonly converted: number;
}

export interface RecordingStore {
  /** The folder a language's recordings are read from. */
  dirOf(lang: Language): string;
  /** Checks and converts every recording (once per content); memoised until reload(). Never rejects for a bad file: it is listed in `problems`. */
  load(): Promise<RecordingsReport>;
  /** Forget the last load (after the site changed its folder). */
  reload(): Promise<RecordingsReport>;
  /** The usable recording of a prompt id (after load()); re-converts it if the media sweep removed the file. */
  get(id: string, lang: Language): Promise<Recording | undefined>;
  /** A file of `ms` milliseconds of silence in the media folder (pauses between digit groups and order parts). */
  silence(ms: number): Promise<{ hash: string; file: string; path: string }>;
}

export interface RecordingStoreOptions {
  readonly catalog: Catalog;
  readonly languages: readonly Language[];
  /** LIANDONG_RECORDINGS_DIR: `<dir>/<lang>/`; undefined: `<catalog dir>/<lang>/recorded/`. */
  readonly recordingsDir: string | undefined;
  /** The media folder (converted files are served from there). */
  readonly mediaDir: string;
  readonly maxSeconds: number;
  readonly soxCommand?: string;
}

/** Every id a site may record for a language: static prompts, fixed parts of prompts with slots (`<name>.<n>`), digits. */
export function recordableIds(catalog: Catalog, lang: Language): Array<{ id: string; text: string }> {
  const out: Array<{ id: string; text: string }> = [];
  for (const name of catalog.names) {
    const entry = catalog.get(name, lang);
    if (entry.slots.length === 0) out.push({ id: name, text: entry.text });
    // A part that is only punctuation (the 。 after the last slot) has nothing to record.
    else for (const part of fixedParts(entry)) if (/[\p{L}\p{N}]/u.test(part.text)) out.push({ id: `${name}.${part.index}`, text: part.text });
  }
  const digitWords = lang === 'zh-CN' ? ['零', '幺', '二', '三', '四', '五', '六', '七', '八', '九'] : ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
  DIGIT_IDS.forEach((id, d) => out.push({ id, text: digitWords[d] ?? String(d) }));
  return out;
}

export class RecordingError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'RecordingError';
  }
}

interface Run {
  stdout: string;
  stderr: string;
}

function run(command: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { timeout: TIMEOUT_MS, maxBuffer: 1_000_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        reject(new Error(code === 'ENOENT' ? `${command} is not installed; run \`npm run setup\` or \`apt-get install sox\`` : (stderr || err.message).trim().slice(0, 400)));
      } else resolve({ stdout, stderr });
    });
  });
}

/** Checks one WAV and converts it to `out` (8 kHz mono 16-bit); throws a RecordingError saying what is wrong. */
export async function convertRecording(source: string, out: string, options: { maxSeconds: number; digit: boolean; sox?: string }): Promise<number> {
  const sox = options.sox ?? 'sox';
  let seconds: number;
  try {
    seconds = await wavSeconds(source, sox);
  } catch (err) {
    throw new RecordingError(source, `cannot be read as audio (${(err as Error).message}); record it again as a WAV file`);
  }
  if (!Number.isFinite(seconds) || seconds <= 0) throw new RecordingError(source, 'holds no audio (length 0)');
  if (seconds > options.maxSeconds) throw new RecordingError(source, `is ${seconds.toFixed(1)} s long; at most ${options.maxSeconds} s (LIANDONG_RECORDING_MAX_SECONDS)`);
  let peak: number;
  try {
    // `stat` writes to stderr: "Maximum amplitude:  0.53"; the file is mixed to mono first.
    const stats = await run(sox, [source, '-n', 'remix', '-', 'stat']);
    const max = /Maximum amplitude:\s*([-0-9.e]+)/.exec(stats.stderr)?.[1];
    const min = /Minimum amplitude:\s*([-0-9.e]+)/.exec(stats.stderr)?.[1];
    peak = Math.max(Math.abs(Number(max)), Math.abs(Number(min)));
    if (!Number.isFinite(peak)) throw new Error('sox stat gave no amplitude');
  } catch (err) {
    throw new RecordingError(source, `cannot be read as audio (${(err as Error).message})`);
  }
  const peakDb = peak > 0 ? 20 * Math.log10(peak) : -Infinity;
  if (peakDb < SILENCE_PEAK_DB) throw new RecordingError(source, `is silent (loudest sample ${Number.isFinite(peakDb) ? peakDb.toFixed(0) : '-∞'} dBFS, below ${SILENCE_PEAK_DB}); check the microphone and record it again`);
  // Trim silence below -45 dBFS at both ends (phones add half a second), take out rumble, normalise
  // to -3 dBFS like the TTS, then pad: digits are read one after another and get almost none.
  const pad = options.digit ? ['0.02', '0.06'] : ['0.15', '0.25'];
  try {
    await run(sox, ['-q', '-D', source, '-t', 'wav', '-r', String(SAMPLE_RATE_HZ), '-c', '1', '-b', '16', '-e', 'signed-integer', out,
      'silence', '1', '0.02', '-45d', 'reverse', 'silence', '1', '0.02', '-45d', 'reverse',
      'highpass', '100', 'rate', '-h', String(SAMPLE_RATE_HZ), 'gain', '-n', '-3', 'pad', ...pad]);
    return await wavSeconds(out, sox);
  } catch (err) {
    throw new RecordingError(source, `could not be converted (${(err as Error).message})`);
  }
}

export function createRecordingStore(options: RecordingStoreOptions): RecordingStore {
  const sox = options.soxCommand ?? 'sox';
  const byKey = new Map<string, Recording>();
  // A recording played marks its converted file used, at most once a minute (used-marks.ts).
  const used = usedMarks();
  let loading: Promise<RecordingsReport> | undefined;

  const dirOf = (lang: Language): string =>
    options.recordingsDir ? path.join(options.recordingsDir, lang) : path.join(options.catalog.dir, lang, 'recorded');

  async function convertOne(id: string, lang: Language, source: string): Promise<{ recording: Recording; converted: boolean }> {
    const digit = DIGIT_IDS.includes(id);
    const bytes = await fs.readFile(source);
    const hash = createHash('sha256').update(JSON.stringify([RECORDING_CONVERTER_VERSION, digit])).update(bytes).digest('hex');
    const file = `${hash}.wav`;
    const final = path.join(options.mediaDir, file);
    const seconds = await existingSeconds(final, sox);
    if (seconds !== undefined) return { recording: { id, lang, source, hash, file, path: final, seconds }, converted: false };
    await fs.mkdir(options.mediaDir, { recursive: true });
    // Temp names start with '.' so the media route never serves a half-written file.
    const temp = path.join(options.mediaDir, `.${hash}.${process.pid}-${randomBytes(4).toString('hex')}.rec.wav`);
    try {
      const s = await convertRecording(source, temp, { maxSeconds: options.maxSeconds, digit, sox });
      await fs.rename(temp, final);
      return { recording: { id, lang, source, hash, file, path: final, seconds: s }, converted: true };
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  async function loadAll(): Promise<RecordingsReport> {
    byKey.clear();
    const recordings: Recording[] = [];
    const problems: RecordingProblem[] = [];
    let converted = 0;
    for (const lang of options.languages) {
      const dir = dirOf(lang);
      let names: string[];
      try {
        names = (await fs.readdir(dir)).filter((f) => !f.startsWith('.')).sort();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // no recordings: every prompt is TTS
        problems.push({ file: dir, message: `cannot read the folder (${(err as Error).message})` });
        continue;
      }
      const known = new Set(recordableIds(options.catalog, lang).map((r) => r.id));
      for (const name of names) {
        const source = path.join(dir, name);
        if (!/\.wav$/i.test(name)) {
          if (!/\.(md|txt)$/i.test(name)) problems.push({ file: source, message: 'not a .wav file; ignored' });
          continue;
        }
        const id = name.replace(/\.wav$/i, '');
        if (!ID_RE.test(id) || !known.has(id)) {
          problems.push({ file: source, message: `"${id}" is not a prompt id of ${lang}; \`liandong prompts list\` shows the ids` });
          continue;
        }
        try {
          const { recording, converted: now } = await convertOne(id, lang, source);
          if (now) converted += 1;
          recordings.push(recording);
          byKey.set(`${lang}/${id}`, recording);
        } catch (err) {
          problems.push({ file: source, message: err instanceof RecordingError ? err.message.slice(source.length + 2) : (err as Error).message });
        }
      }
    }
    return { recordings, problems, converted };
  }

  const store: RecordingStore = {
    dirOf,
    load() {
      loading ??= loadAll();
      return loading;
    },
    reload() {
      loading = undefined;
      return store.load();
    },
    async get(id, lang) {
      await store.load();
      const recording = byKey.get(`${lang}/${id}`);
      if (!recording) return undefined;
      if (await used.mark(recording.path)) return recording;
      // Swept as unused (media-retention.ts): convert the site's file again.
      const { recording: again } = await convertOne(id, lang, recording.source);
      byKey.set(`${lang}/${id}`, again);
      return again;
    },
    silence(ms) {
      return makeSilence(options.mediaDir, ms, sox, used);
    },
  };

  return store;
}

/** `ms` milliseconds of silence as an 8 kHz WAV in the media folder, made once (named by its parameters' hash); `used`: marks of the caller's (used-marks.ts). */
export async function makeSilence(mediaDir: string, ms: number, sox = 'sox', used?: UsedMarks): Promise<{ hash: string; file: string; path: string }> {
  const hash = createHash('sha256').update(JSON.stringify(['silence', SAMPLE_RATE_HZ, ms])).digest('hex');
  const file = `${hash}.wav`;
  const final = path.join(mediaDir, file);
  if (await (used ? used.mark(final) : touch(final))) return { hash, file, path: final };
  await fs.mkdir(mediaDir, { recursive: true });
  const temp = path.join(mediaDir, `.${hash}.${process.pid}-${randomBytes(4).toString('hex')}.sil.wav`);
  try {
    await run(sox, ['-q', '-n', '-t', 'wav', '-r', String(SAMPLE_RATE_HZ), '-c', '1', '-b', '16', '-e', 'signed-integer', temp, 'trim', '0', (ms / 1000).toFixed(3)]);
    await fs.rename(temp, final);
  } finally {
    await fs.rm(temp, { force: true });
  }
  return { hash, file, path: final };
}

async function touch(p: string): Promise<boolean> {
  try {
    const now = new Date();
    await fs.utimes(p, now, now);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Length in seconds of an already converted file, or undefined when it is not there. */
async function existingSeconds(p: string, sox: string): Promise<number | undefined> {
  if (!(await touch(p))) return undefined;
  return wavSeconds(p, sox);
}

/** Length in seconds of an audio file, by soxi (installed with `sox`). */
export async function wavSeconds(file: string, sox = 'sox'): Promise<number> {
  return Number((await run(soxiOf(sox), ['-D', file])).stdout.trim());
}

/** soxi is installed next to sox: `sox` → `soxi`, `/usr/bin/sox` → `/usr/bin/soxi`. */
function soxiOf(sox: string): string {
  return path.join(path.dirname(sox), 'soxi');
}
