// Asterisk's HTTP media cache (res_http_media_cache + main/media_cache.c) keeps every
// `sound:http://…` it has fetched: a row family in astdb (`/MediaCache/<uri>` → item id, and
// `/<item id>/…` with its metadata) and a file `var/cache/asterisk/bucket-*`. Nothing ever expires
// them, and at boot Asterisk re-reads every entry (measured here: ~5,600 entries cost 24–30 s
// between "modules loaded" and "Asterisk Ready"). Every item comes from liandong's own prompt
// server and is fetched again on first use (a local HTTP request, ~1 ms), so `asterisk up` clears
// the cache while Asterisk is stopped: boot time no longer grows with the number of orders served.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { AsteriskPaths } from './types.js';

export interface MediaCachePurge {
  /** Cached URIs forgotten (rows of the MediaCache family). */
  readonly items: number;
  /** astdb rows deleted in all (the URIs and their metadata families). */
  readonly rows: number;
  /** bucket-* files removed from var/cache/asterisk. */
  readonly files: number;
}

const ITEM_ID_RE = /^[0-9a-f]{40}$/; // the sha1 Asterisk names an item's metadata family by

/** Only while our Asterisk is stopped: astdb is Asterisk's SQLite file and it holds it open. */
export function purgeMediaCache(paths: AsteriskPaths): MediaCachePurge {
  const astdb = path.join(paths.root, 'var/lib/asterisk/astdb.sqlite3');
  let items = 0;
  let rows = 0;
  if (fs.existsSync(astdb)) {
    const owner = fs.statSync(astdb);
    const db = new Database(astdb);
    try {
      const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'astdb'").get();
      if (table) {
        const cached = db.prepare("SELECT value FROM astdb WHERE key LIKE '/MediaCache/%'").all() as Array<{ value: string }>;
        const families = new Set(cached.map((r) => r.value).filter((v) => ITEM_ID_RE.test(v)).map((id) => `/${id}/`));
        const all = db.prepare('SELECT key FROM astdb').pluck().all() as string[];
        // One pass over the keys (a LIKE per item scanned the table thousands of times: 6 s).
        const doomed = all.filter((k) => k.startsWith('/MediaCache/') || families.has(k.slice(0, 42)));
        const remove = db.prepare('DELETE FROM astdb WHERE key = ?');
        db.transaction(() => {
          for (const k of doomed) rows += remove.run(k).changes;
        })();
        if (rows > 0) db.exec('VACUUM');
        items = cached.length;
      }
    } finally {
      db.close();
      // We run as root: leave nothing SQLite created (journal) owned by root in Asterisk's folder.
      for (const f of [astdb, `${astdb}-journal`, `${astdb}-wal`, `${astdb}-shm`]) if (fs.existsSync(f)) fs.chownSync(f, owner.uid, owner.gid);
    }
  }
  let files = 0;
  const cacheDir = path.join(paths.root, 'var/cache/asterisk');
  if (fs.existsSync(cacheDir)) {
    for (const name of fs.readdirSync(cacheDir)) {
      if (!name.startsWith('bucket-')) continue;
      fs.rmSync(path.join(cacheDir, name), { force: true });
      files += 1;
    }
  }
  return { items, rows, files };
}
