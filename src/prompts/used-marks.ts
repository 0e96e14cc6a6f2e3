// A media file in use is marked used now (its mtime), which is what the media sweep reads
// (media-retention.ts: a WAV unused for LIANDONG_MEDIA_RETENTION_DAYS, at least one day, is
// deleted). A dispatch order is played from ~40 files — fixed parts, digit clips, pauses — so
// marking each on every use (utimes + stat) was most of the controller's file system calls; each
// file is marked at most once per USED_MARK_EVERY_MS instead. A file marked that recently is at
// most a minute "older" than its last use, against a retention of a day or more.
import fs from 'node:fs/promises';

/** Milliseconds between two marks of one file. */
export const USED_MARK_EVERY_MS = 60_000;

export interface UsedMarks {
  /**
   * Marks `path` used now unless it was within everyMs; resolves false when there is no such
   * file (not made yet, or swept). `isFile`: also checks it is a file (one stat more).
   */
  mark(path: string, isFile?: boolean): Promise<boolean>;
}

export function usedMarks(everyMs = USED_MARK_EVERY_MS, now: () => number = Date.now): UsedMarks {
  // Two generations, swapped every everyMs: what was marked within the last everyMs is in one of
  // them, and memory stays bounded by the files used in the last two periods.
  let current = new Map<string, number>();
  let previous = new Map<string, number>();
  let since = now();
  return {
    async mark(path, isFile = false) {
      const t = now();
      if (t - since >= everyMs) {
        previous = current;
        current = new Map();
        since = t;
      }
      const last = current.get(path) ?? previous.get(path);
      if (last !== undefined && t - last < everyMs) return true;
      try {
        const at = new Date(t);
        await fs.utimes(path, at, at);
        if (isFile && !(await fs.stat(path)).isFile()) return false;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw err;
      }
      current.set(path, t);
      return true;
    },
  };
}
