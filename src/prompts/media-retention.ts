// Rendered prompts pile up on both sides of the media URL: our WAVs in config.media.dir (every
// order has its own text: code, address, summary) and Asterisk's copies in its HTTP media cache,
// which never expires anything and re-reads every item when it boots. A periodic sweep bounds both:
//  - a WAV not used (a use refreshes its mtime, at most once a minute: used-marks.ts) for
//    `retentionDays` is deleted;
//    a later request renders it again (~60 ms);
//  - an Asterisk cache item under our media URL whose WAV is gone or unused for
//    `asteriskCacheHours` is deleted from that cache with the CLI command `media cache delete`;
//    a later play fetches it again from us (a loopback HTTP request).
// Items under other URLs in Asterisk's cache are not ours and are left alone.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logging.js';
import { MEDIA_FILE_RE } from './media-route.js';

export interface MediaRetentionOptions {
  /** config.media.dir */
  readonly dir: string;
  /** config.media.baseUrl, e.g. http://127.0.0.1:3000/media */
  readonly baseUrl: string;
  /** A WAV unused for this long is deleted, in milliseconds. */
  readonly retentionMs: number;
  /** Asterisk keeps its copy of a prompt used within this long, in milliseconds. */
  readonly asteriskKeepMs: number;
}

/** Asterisk's media cache, as the AMI adapter reaches it (CLI commands through AMI). */
export interface AsteriskMediaCache {
  list(): Promise<string[]>;
  remove(uri: string): Promise<void>;
}

export interface MediaSweepReport {
  readonly filesRemoved: number;
  readonly filesKept: number;
  readonly asteriskRemoved: number;
  readonly asteriskKept: number;
}

/** One sweep. Throws when the folder or Asterisk cannot be read; the caller logs and tries later. */
export async function sweepMedia(options: MediaRetentionOptions, asterisk: AsteriskMediaCache, now: number = Date.now()): Promise<MediaSweepReport> {
  const lastUsed = new Map<string, number>();
  let filesRemoved = 0;
  for (const name of await listWavs(options.dir)) {
    const p = path.join(options.dir, name);
    const stat = await statOrNothing(p);
    if (!stat) continue;
    if (now - stat.mtimeMs > options.retentionMs) {
      await fs.rm(p, { force: true });
      filesRemoved += 1;
    } else lastUsed.set(name, stat.mtimeMs);
  }
  const prefix = `${options.baseUrl.replace(/\/+$/, '')}/`;
  let asteriskRemoved = 0;
  let asteriskKept = 0;
  for (const uri of await asterisk.list()) {
    const name = uri.startsWith(prefix) ? uri.slice(prefix.length) : '';
    if (!MEDIA_FILE_RE.test(name)) continue; // not ours
    const used = lastUsed.get(name);
    if (used !== undefined && now - used <= options.asteriskKeepMs) {
      asteriskKept += 1;
      continue;
    }
    await asterisk.remove(uri);
    asteriskRemoved += 1;
  }
  return { filesRemoved, filesKept: lastUsed.size, asteriskRemoved, asteriskKept };
}

/** `media cache show all` through AMI: the URI lines (each followed by an indented local file line). */
export function parseMediaCacheList(output: string): string[] {
  return output.split('\n').map((l) => l.trimEnd()).filter((l) => /^https?:\/\/\S+$/.test(l));
}

/** Asterisk's media cache through AMI CLI commands (the AMI client refuses CR/LF in any value). */
export function asteriskMediaCache(ami: { command(command: string): Promise<string> }): AsteriskMediaCache {
  return {
    list: async () => parseMediaCacheList(await ami.command('media cache show all')),
    remove: async (uri) => {
      await ami.command(`media cache delete ${uri}`);
    },
  };
}

export interface MediaRetentionScheduleOptions extends MediaRetentionOptions {
  /** Time between sweeps, in milliseconds. */
  readonly intervalMs: number;
}

/** Sweeps every intervalMs; returns a stop function. A failed sweep is logged with its reason and retried next time. */
export function startMediaRetention(options: MediaRetentionScheduleOptions, asterisk: AsteriskMediaCache, logger: Logger): () => void {
  const log = logger.child({ component: 'media-retention' });
  let running = false;
  const timer = setInterval(() => {
    if (running) return; // a slow sweep is never run twice at once
    running = true;
    sweepMedia(options, asterisk)
      .then((r) => log[r.filesRemoved + r.asteriskRemoved > 0 ? 'info' : 'debug'](r, 'media sweep done'))
      .catch((err: unknown) => log.warn({ reason: err instanceof Error ? err.message : String(err) }, 'media sweep failed; next try at the next interval'))
      .finally(() => (running = false));
  }, options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

async function listWavs(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).filter((n) => MEDIA_FILE_RE.test(n));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []; // nothing rendered yet
    throw err;
  }
}

async function statOrNothing(p: string): Promise<{ mtimeMs: number } | undefined> {
  try {
    return await fs.stat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // rendered away meanwhile
    throw err;
  }
}
