// `asterisk up` clears Asterisk's HTTP media cache while it is stopped (src/asterisk/media-cache.ts):
// the cached prompt URLs and their metadata go, every other astdb family and file stays.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { purgeMediaCache } from '../../src/asterisk/media-cache.js';
import { asteriskPaths } from '../../src/asterisk/types.js';
import { loadConfig } from '../../src/config.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A root with an astdb as Asterisk 22 writes it: two cached prompts, plus rows that are not the cache. */
function fakeRoot() {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-mc-'));
  dirs.push(cacheDir);
  const paths = asteriskPaths(loadConfig({ LIANDONG_ASTERISK_CACHE: cacheDir }, 'dev'));
  const lib = path.join(paths.root, 'var/lib/asterisk');
  const cache = path.join(paths.root, 'var/cache/asterisk');
  fs.mkdirSync(lib, { recursive: true });
  fs.mkdirSync(cache, { recursive: true });
  const db = new Database(path.join(lib, 'astdb.sqlite3'));
  db.exec('CREATE TABLE astdb(key VARCHAR(256), value VARCHAR(256), PRIMARY KEY(key))');
  const put = db.prepare('INSERT INTO astdb VALUES (?, ?)');
  const items = ['92007e267cae957cf05a7153d9cfb5643d512c58', 'ffcc92691665a18310ad0fd925c323cb31995ed7'];
  items.forEach((id, i) => {
    put.run(`/MediaCache/http://127.0.0.1:3000/media/${i}.wav`, id);
    for (const field of ['path', 'created', 'modified', 'etag', 'expires', 'uri']) put.run(`/${id}/${field}`, `${field}-${i}`);
    fs.writeFileSync(path.join(cache, `bucket-${i}abc.wav`), 'RIFF');
  });
  put.run('/pbx/UUID', '6a8afbb6');
  put.run('/liandong_bench/ready', '1');
  put.run('/0123456789012345678901234567890123456789/kept', 'a family that is no cache item of ours');
  db.close();
  fs.writeFileSync(path.join(cache, 'other.txt'), 'not a cache item');
  return { paths, cache, astdb: path.join(lib, 'astdb.sqlite3') };
}

const keys = (astdb: string): string[] => {
  const db = new Database(astdb, { readonly: true });
  try {
    return (db.prepare('SELECT key FROM astdb ORDER BY key').all() as Array<{ key: string }>).map((r) => r.key);
  } finally {
    db.close();
  }
};

describe('purgeMediaCache', () => {
  it('forgets the cached URLs, their metadata and their files, and nothing else', () => {
    const { paths, cache, astdb } = fakeRoot();
    expect(purgeMediaCache(paths)).toEqual({ items: 2, rows: 14, files: 2 });
    expect(keys(astdb)).toEqual(['/0123456789012345678901234567890123456789/kept', '/liandong_bench/ready', '/pbx/UUID']);
    expect(fs.readdirSync(cache)).toEqual(['other.txt']);
    expect(fs.existsSync(`${astdb}-journal`)).toBe(false);
  });

  it('is idempotent, and a root Asterisk never started (no astdb, no cache folder) is fine', () => {
    const { paths } = fakeRoot();
    purgeMediaCache(paths);
    expect(purgeMediaCache(paths)).toEqual({ items: 0, rows: 0, files: 0 });
    fs.rmSync(paths.root, { recursive: true });
    expect(purgeMediaCache(paths)).toEqual({ items: 0, rows: 0, files: 0 });
  });
});
