// Two stores on one database, as two cluster nodes have them: a SQLite file opened twice, or one
// PostgreSQL database of the test run's server reached through two pools.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore, type Engine, type Store } from '../../src/db/store.js';
import { newPostgresDatabase } from './engines.js';

export interface TwoNodes {
  readonly a: Store;
  readonly b: Store;
  /** Closes both stores (and removes the SQLite file). */
  close(): Promise<void>;
}

export async function openTwoNodes(engine: Engine): Promise<TwoNodes> {
  if (engine === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-two-nodes-'));
    const file = path.join(dir, 'liandong.db');
    const a = await openStore({ engine, path: file });
    const b = await openStore({ engine, path: file });
    return {
      a,
      b,
      close: async () => {
        await a.close();
        await b.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const url = await newPostgresDatabase();
  const a = await openStore({ engine, url });
  const b = await openStore({ engine, url });
  return {
    a,
    b,
    close: async () => {
      await a.close();
      await b.close();
    },
  };
}
