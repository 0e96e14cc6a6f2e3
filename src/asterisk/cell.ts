// Another Asterisk beside the first, for a second cluster cell on one machine (tests, the cluster
// demo, the benchmark): the same ports on another loopback address, its own cache directory. Its
// root is copied from the first cache when it has none (a few seconds instead of a debootstrap).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { configFromProcess, type Config, type Env } from '../config.js';
import { asteriskDown, asteriskUp } from './lifecycle.js';
import { asteriskPaths, type AsteriskStatus, type Log } from './types.js';

const run = promisify(execFile);

export interface CellAsterisk {
  /** The dev configuration of this cell: its ARI, AMI and cache. */
  readonly config: Config;
  /** The environment a controller of this cell is given (ARI_URL, AMI_HOST, …). */
  readonly env: Readonly<Record<string, string>>;
  readonly status: AsteriskStatus;
  down(): Promise<void>;
}

/** Cell n's loopback address and cache: cell 2 → 127.0.0.2 and <first cache>-cell2. */
export function cellEnv(n: number, first: Config = configFromProcess('dev')): Env {
  if (!Number.isInteger(n) || n < 2 || n > 254) throw new Error(`cell number must be 2..254, got ${n}`);
  const host = `127.0.0.${n}`;
  return {
    LIANDONG_ASTERISK_CACHE: `${first.asterisk.cacheDir}-cell${n}`,
    ASTERISK_BIND: host,
    ARI_URL: `http://${host}:${new URL(first.ari.url).port || '8088'}`,
    AMI_HOST: host,
  };
}

/** Copies the first cache's finished root into `cacheDir` unless a root is there already. */
async function seedRoot(from: Config, to: Config, log: Log): Promise<void> {
  const source = asteriskPaths(from);
  const target = asteriskPaths(to);
  if (fs.existsSync(target.stamp)) return;
  if (!fs.existsSync(source.stamp)) throw new Error(`no Asterisk root in ${source.cacheDir} to copy: run \`liandong asterisk up\` first`);
  const started = Date.now();
  fs.mkdirSync(target.cacheDir, { recursive: true });
  fs.rmSync(target.partial, { recursive: true, force: true });
  // Into .partial then renamed: an interrupted copy is never taken for a finished root.
  await run('cp', ['-a', '--reflink=auto', source.root, target.partial]);
  fs.renameSync(target.partial, target.root);
  log(`root copied from ${source.cacheDir} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Starts (or finds running) cell n's Asterisk. */
export async function startCellAsterisk(n: number, log: Log = () => undefined): Promise<CellAsterisk> {
  const first = configFromProcess('dev');
  const env = cellEnv(n, first) as Record<string, string>;
  const config = configFromProcess('dev', env);
  await seedRoot(first, config, log);
  const status = await asteriskUp(config, log);
  return { config, env, status, down: () => asteriskDown(config, log).then(() => undefined) };
}

/** Where cell n keeps its Asterisk root (for clean-up tools). */
export function cellCacheDir(n: number): string {
  return path.resolve(cellEnv(n).LIANDONG_ASTERISK_CACHE as string);
}
