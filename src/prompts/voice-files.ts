// espeak-ng 1.51 finds a voice given by name (`-v cmn-latn-pinyin`) by lower-casing the name and
// trying <data>/voices/<name>, then <data>/lang/<name>. Debian names the files in mixed case
// (lang/sit/cmn-Latn-pinyin, lang/gmw/en-US), so that fails, and every run then reads all ~420
// voice files to match the name: ~4–5 ms of the ~11 ms an espeak-ng run costs before it speaks
// (strace: 425 files opened against 66; timing loops of 40 runs). `--load -v <path>` (documented:
// "Load voice from a file") opens just that one file; espeak-ng lower-cases that path too, and its
// command line keeps at most 39 characters of a voice argument. So each voice file is copied under
// a short lower-case path: /tmp/liandong-voices-<uid>/<first 12 hex of the file's sha256>, a
// private folder shared by this user's processes and kept (a few hundred bytes a voice; named by
// content, so an upgraded espeak-ng's file gets a new name). The WAVs are byte for byte the same
// as with the name (checked for both default voices). Where no copy can be used (a TMPDIR with
// capitals or too long, a voice espeak-ng does not list, espeak-ng missing) the voice goes by its
// name, as before: same audio, slower start.
import { createHash, randomBytes } from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Runs espeak-ng with these arguments and resolves with its stdout. */
export type EspeakProbe = (args: readonly string[]) => Promise<string>;

export interface VoiceFiles {
  /** The espeak-ng arguments that select `voice`: `--load -v <copy>`, or `-v <voice>` without a copy. */
  argsFor(voice: string): Promise<string[]>;
  /** Why a voice goes by name, once that is known (undefined while every voice has its copy). */
  fallbackReason(): string | undefined;
}

/** What espeak-ng's command line keeps of a `-v` argument (espeak-ng.c: char voicename[40]). */
export const MAX_VOICE_ARG = 39;

/** The File column of `espeak-ng --voices` for the one voice whose language is `voice` (relative to <data>/voices or <data>/lang). */
export function voiceFileOf(listing: string, voice: string): string | undefined {
  // Pty Language Age/Gender VoiceName File Other-Languages; names have no spaces (underscores).
  const rows = listing.split('\n').map((line) => line.trim().split(/\s+/)).filter((cols) => cols[1]?.toLowerCase() === voice.toLowerCase());
  return rows.length === 1 ? rows[0]?.[4] : undefined;
}

/** Copies of `voices`' files in `<tmpRoot>/liandong-voices-<uid>`, made on first use. */
export function voiceFiles(voices: readonly string[], probe: EspeakProbe, tmpRoot: string = os.tmpdir()): VoiceFiles {
  const uid = process.getuid?.() ?? 0;
  const folder = path.join(tmpRoot, `liandong-voices-${uid}`);
  let reason: string | undefined;
  let copies: Promise<Map<string, string>> | undefined;

  /** The folder, made private (0700) if new; one that another user made, or others may write to, is not used. */
  const ownFolder = async (): Promise<boolean> => {
    await fs.mkdir(folder, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    const st = await fs.lstat(folder);
    if (st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0) return true;
    reason = `${folder} is not a private folder of this user`;
    return false;
  };

  const copyAll = async (): Promise<Map<string, string>> => {
    const out = new Map<string, string>();
    const data = /Data at:\s*(\S.*)$/m.exec(await probe(['--version']))?.[1]?.trim();
    if (!data) {
      reason = 'espeak-ng --version names no data folder';
      return out;
    }
    const listing = await probe(['--voices']);
    if (!(await ownFolder())) return out;
    for (const voice of new Set(voices)) {
      const file = voiceFileOf(listing, voice);
      const source = file && [path.join(data, 'voices', file), path.join(data, 'lang', file)].find((p) => fsSync.existsSync(p));
      if (!source) {
        reason = `espeak-ng lists no file of its own for voice "${voice}"`;
        continue;
      }
      const content = await fs.readFile(source);
      const target = path.join(folder, createHash('sha256').update(content).digest('hex').slice(0, 12));
      if (target !== target.toLowerCase() || target.length > MAX_VOICE_ARG) {
        reason = `${target} is not a path espeak-ng --load takes (lower case, at most ${MAX_VOICE_ARG} characters)`;
        continue;
      }
      if (!fsSync.existsSync(target)) {
        // Another process may write the same file at the same time: each writes its own, the rename is atomic.
        const temp = `${target}.${process.pid}-${randomBytes(4).toString('hex')}`;
        await fs.writeFile(temp, content);
        await fs.rename(temp, target);
      }
      out.set(voice, target);
    }
    return out;
  };

  return {
    async argsFor(voice) {
      copies ??= copyAll().catch((err: unknown) => {
        // Not a failure of the render: the voice goes by name (same audio); a missing espeak-ng is reported by the render itself.
        reason = `voice files not copied: ${err instanceof Error ? err.message : String(err)}`;
        return new Map<string, string>();
      });
      const copy = (await copies).get(voice);
      return copy ? ['--load', '-v', copy] : ['-v', voice];
    },
    fallbackReason: () => reason,
  };
}
