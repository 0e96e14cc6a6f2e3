// The WAL syncer: an fsync in the thread pool per durable commit, shared by callers that arrive
// while one runs (at most one running and one waiting), and a clear failure when there is no WAL.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { walSync } from '../../src/db/wal-sync.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function databaseWithWal(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-walsync-'));
  dirs.push(dir);
  const file = path.join(dir, 'x.db');
  fs.writeFileSync(`${file}-wal`, 'frames');
  return file;
}

describe('walSync', () => {
  it('fsyncs the WAL file once per lone caller', async () => {
    const s = walSync(databaseWithWal());
    await s.sync();
    await s.sync();
    expect(s.count()).toBe(2);
  });

  it('callers arriving while an fsync runs share the next one: 10 callers, at most 2 fsyncs', async () => {
    const s = walSync(databaseWithWal());
    await Promise.all(Array.from({ length: 10 }, () => s.sync()));
    expect(s.count()).toBeGreaterThanOrEqual(1);
    expect(s.count()).toBeLessThanOrEqual(2);
  });

  it('rejects, naming the file, when the WAL file is missing; a later call tries again', async () => {
    const file = databaseWithWal();
    fs.rmSync(`${file}-wal`);
    const s = walSync(file);
    await expect(s.sync()).rejects.toThrow(/x\.db-wal/);
    fs.writeFileSync(`${file}-wal`, 'frames');
    await s.sync();
    expect(s.count()).toBe(1);
  });
});
