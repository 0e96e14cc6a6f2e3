// Shared types and paths of the Asterisk provisioning code. Everything lives under
// config.asterisk.cacheDir (outside the repo), so a fresh checkout reuses a built root.
import path from 'node:path';
import type { Config } from '../config.js';

export interface AsteriskStatus {
  /** True when an Asterisk started by liandong (its root is our sid root) is alive. */
  readonly running: boolean;
  readonly pid?: number;
  /** Asterisk's version, from ARI when it runs, else from the root's build stamp. */
  readonly version?: string;
  /** GET /ari/asterisk/info answered 200 with the configured credentials. */
  readonly ariReady: boolean;
  /** `core waitfullybooted` succeeded. */
  readonly fullyBooted: boolean;
  /** Host path of the Debian sid root Asterisk runs in. */
  readonly root: string;
  /** Host path of the root's /var/log/asterisk. */
  readonly logDir: string;
  /** Host path of Asterisk's stdout/stderr (its console). */
  readonly consoleLog: string;
}

/** A provisioning failure a person can act on: what went wrong, and what to do about it. */
export class ProvisionError extends Error {
  constructor(
    message: string,
    readonly remedy: string,
  ) {
    super(message);
    this.name = 'ProvisionError';
  }
}

export interface AsteriskPaths {
  readonly cacheDir: string;
  /** Complete root; exists only once its build finished (renamed from `partial`). */
  readonly root: string;
  /** Root under construction; removed and redone when found at the start of a build. */
  readonly partial: string;
  /** JSON inside the root recording what was installed (see root.ts). */
  readonly stamp: string;
  readonly pidFile: string;
  readonly consoleLog: string;
  /** Full output of debootstrap/apt runs. */
  readonly buildLog: string;
  /** Serialises concurrent `up`/`down` of the same cache dir. */
  readonly lockFile: string;
  readonly etcDir: string;
  readonly etcDist: string;
  readonly logDir: string;
}

export function asteriskPaths(config: Config): AsteriskPaths {
  const cacheDir = config.asterisk.cacheDir;
  const root = path.join(cacheDir, 'sid-root');
  return {
    cacheDir,
    root,
    partial: path.join(cacheDir, 'sid-root.partial'),
    stamp: path.join(root, '.liandong-stamp.json'),
    pidFile: path.join(cacheDir, 'asterisk.pid'),
    consoleLog: path.join(cacheDir, 'asterisk.console.log'),
    buildLog: path.join(cacheDir, 'build.log'),
    lockFile: path.join(cacheDir, 'asterisk.lock'),
    etcDir: path.join(root, 'etc/asterisk'),
    etcDist: path.join(root, 'etc/asterisk.dist'),
    logDir: path.join(root, 'var/log/asterisk'),
  };
}

export type Log = (line: string) => void;
