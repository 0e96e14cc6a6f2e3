// The Asterisk process inside the root: start it detached, recognise it (by its root, never
// by name), talk to it with `asterisk -rx`, probe ARI, stop it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { run, sleep } from './exec.js';
import type { AsteriskPaths } from './types.js';

const CHROOT = '/usr/sbin/chroot';
const ASTERISK = '/usr/sbin/asterisk';

/** Reads /proc/<pid>/...; undefined when the process is gone or not readable. */
function procRead(pid: number, file: string): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** True when pid exists and is not a zombie (exited, not yet reaped). */
export function isAlive(pid: number): boolean {
  const stat = procRead(pid, 'stat');
  // The state follows the parenthesised command name; Z = exited, not yet reaped.
  return stat !== undefined && !/^\d+ \(.*\) Z/s.test(stat);
}

/** True when pid is alive and its root directory is `root`: it runs in our chroot. */
export function isInRoot(pid: number, root: string): boolean {
  return rootMatches(pid, root) === true;
}

/** Like isInRoot, but undefined when /proc/<pid>/root is unreadable (we are not root). */
function rootMatches(pid: number, root: string): boolean | undefined {
  if (!isAlive(pid)) return false;
  try {
    return fs.readlinkSync(`/proc/${pid}/root`) === fs.realpathSync(root);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EACCES' ? undefined : false;
  }
}

/** Whether pid is the Asterisk daemon (`asterisk -f ...`), not a `-rx` client or `chroot` still exec'ing. */
function isDaemon(pid: number): boolean {
  const argv = (procRead(pid, 'cmdline') ?? '').split('\0');
  return path.basename(argv[0] ?? '') === 'asterisk' && argv.includes('-f');
}

/**
 * The pid of the Asterisk we started, or undefined. Looks at the pid file first, then scans
 * /proc for an `asterisk -f` whose root is ours (pid file lost), so `down` still finds it.
 */
export function findOurAsterisk(paths: AsteriskPaths): number | undefined {
  if (!fs.existsSync(paths.root)) return undefined;
  const fromFile = Number.parseInt(readOr(paths.pidFile, ''), 10);
  // A non-root caller cannot read /proc/<pid>/root; for `status` the pid file plus the
  // command line will do (signalling always requires isInRoot, hence root).
  if (Number.isInteger(fromFile) && fromFile > 0 && rootMatches(fromFile, paths.root) !== false && isDaemon(fromFile)) return fromFile;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    if (isInRoot(pid, paths.root) && isDaemon(pid)) return pid;
  }
  return undefined;
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return fallback;
  }
}

/**
 * Starts `asterisk -f` chrooted, detached into its own session (survives the CLI exiting),
 * stdout/stderr appended to the console log. Returns the pid (chroot execs Asterisk, so the pid
 * is Asterisk's). It runs as the package's `asterisk` user (-U/-G), not root: the files Debian
 * installed in the root are owned by that user inside the root (a uid unused on the host, see
 * root.ts), so only the rendered configs and /run/asterisk need chown. Tested without /proc,
 * /sys or /dev/pts mounted in the root: Asterisk needs none of them, so nothing is mounted.
 */
export function startAsterisk(paths: AsteriskPaths): number {
  const header = `\n=== ${new Date().toISOString()} liandong: starting asterisk in ${paths.root}\n`;
  fs.appendFileSync(paths.consoleLog, header);
  const fd = fs.openSync(paths.consoleLog, 'a');
  try {
    // -f: stay in the foreground (we detach it ourselves); -n: no colour codes in the log.
    const args = [paths.root, ASTERISK, '-f', '-n', '-U', 'asterisk', '-G', 'asterisk'];
    const child = spawn(CHROOT, args, { detached: true, stdio: ['ignore', fd, fd] });
    // An exec failure arrives as an event; record it where waitReady's error quotes from.
    child.once('error', (err) => fs.appendFileSync(paths.consoleLog, `liandong: cannot start ${CHROOT}: ${err.message}\n`));
    if (child.pid === undefined) throw new Error(`could not spawn ${CHROOT}`);
    child.unref();
    fs.writeFileSync(paths.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    fs.closeSync(fd);
  }
}

export interface CliResult {
  readonly ok: boolean;
  readonly output: string;
}

/** `asterisk -rx <command>` inside the root. `ok` is false when it could not connect or timed out. */
export async function rx(paths: AsteriskPaths, command: string, timeoutMs: number): Promise<CliResult> {
  const r = await run(CHROOT, [paths.root, ASTERISK, '-rx', command], { timeoutMs });
  const output = (r.stdout + r.stderr).replace(/\s+$/, '');
  const ok = r.code === 0 && !r.timedOut && !/^Unable to connect to remote asterisk/m.test(output);
  return { ok, output };
}

export interface AriInfo {
  readonly ready: boolean;
  readonly version?: string;
  /** HTTP status or network error, for messages. */
  readonly detail: string;
}

/** GET <ARI_URL>/ari/asterisk/info with the configured credentials. */
export async function probeAri(config: Config, timeoutMs: number): Promise<AriInfo> {
  const auth = Buffer.from(`${config.ari.username}:${config.ari.password}`).toString('base64');
  try {
    const res = await fetch(`${config.ari.url}/ari/asterisk/info`, {
      headers: { authorization: `Basic ${auth}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      return { ready: false, detail: `HTTP ${res.status}` };
    }
    const body = (await res.json()) as { system?: { version?: string } };
    return { ready: true, version: shortVersion(body.system?.version), detail: 'HTTP 200' };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { ready: false, detail: cause ?? (err as Error).message };
  }
}

/** Debian's "1:22.10.1+dfsg+~cs6.17-1" -> "22.10.1". */
export function shortVersion(v: string | undefined): string | undefined {
  return v?.replace(/^\d+:/, '').replace(/[+~-].*$/, '');
}

/** Polls until `pid` is gone; true when it went within `ms` milliseconds. */
export async function waitGone(pid: number, root: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isInRoot(pid, root)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

/** Sends a signal if pid is still ours; ignores ESRCH (already gone). */
export function signalOurs(pid: number, root: string, signal: NodeJS.Signals): void {
  if (!isInRoot(pid, root)) return;
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
