// up / down / status / kill / cli: the public operations on liandong's own Asterisk.
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { sleep, tailFile } from './exec.js';
import { preflight } from './preflight.js';
import { findOurAsterisk, isAlive, probeAri, rx, shortVersion, signalOurs, startAsterisk, waitGone } from './process.js';
import { purgeMediaCache } from './media-cache.js';
import { renderAsteriskConfigs } from './render.js';
import { ensureRoot, readStamp } from './root.js';
import type { AsteriskPaths, AsteriskStatus, Log } from './types.js';
import { ProvisionError, asteriskPaths } from './types.js';

/** Bytes above which a log is moved aside when Asterisk starts (64 MiB). */
const LOG_ROTATE_BYTES = 64 * 1024 * 1024;

function rotateIfLarger(file: string, maxBytes: number): void {
  if (fs.existsSync(file) && fs.statSync(file).size > maxBytes) fs.renameSync(file, `${file}.1`);
}

/** Seconds `up` waits for a started Asterisk to be fully booted with ARI answering. */
const BOOT_TIMEOUT_S = 60;

export async function asteriskStatus(config: Config): Promise<AsteriskStatus> {
  const paths = asteriskPaths(config);
  const pid = findOurAsterisk(paths);
  const base = { root: paths.root, logDir: paths.logDir, consoleLog: paths.consoleLog };
  if (pid === undefined) return { running: false, version: stampVersion(paths), ariReady: false, fullyBooted: false, ...base };
  const [booted, ari] = await Promise.all([rx(paths, 'core waitfullybooted', 3000), probeAri(config, 3000)]);
  return {
    running: true,
    pid,
    version: ari.version ?? stampVersion(paths),
    ariReady: ari.ready,
    fullyBooted: booted.ok && /fully booted/i.test(booted.output),
    ...base,
  };
}

function stampVersion(paths: AsteriskPaths): string | undefined {
  return shortVersion(readStamp(paths)?.versions['asterisk']);
}

/**
 * Builds the root if needed, renders the configs and makes sure our Asterisk runs them,
 * returning once it is fully booted and ARI answers. Idempotent: with ours already running
 * identical configs it only checks readiness.
 */
export function asteriskUp(config: Config, log: Log): Promise<AsteriskStatus> {
  return serial(() => up(config, log));
}

async function up(config: Config, log: Log): Promise<AsteriskStatus> {
  const paths = asteriskPaths(config);
  const rendered = renderAsteriskConfigs(config); // fail on template errors before any work
  const built = readStamp(paths) !== undefined;
  // Ports are checked now (fail before a minute of building) and again, authoritatively, under
  // the lock right before the start. Skipped now while another `up` holds the lock: the
  // Asterisk it is starting would look like a stranger holding our ports.
  const early = findOurAsterisk(paths) === undefined && !fs.existsSync(paths.lockFile);
  await preflight(config, { debootstrap: !built, ports: early });
  fs.mkdirSync(paths.cacheDir, { recursive: true });
  return withLock(paths, log, async () => {
    await ensureRoot(paths, log, config.asterisk.debian);
    const pid = findOurAsterisk(paths);
    if (pid !== undefined) {
      if (configsMatch(paths, rendered)) return waitReady(config, paths, pid, log);
      log('asterisk: configuration changed; restarting Asterisk');
      await stop(paths, log);
    }
    await preflight(config, { debootstrap: false, ports: true });
    installConfigs(paths, rendered);
    prepareRuntime(paths, config.timezone);
    const purged = purgeMediaCache(paths);
    if (purged.items > 0 || purged.files > 0) log(`asterisk: cleared its media cache (${purged.items} cached prompt URLs, ${purged.files} files): Asterisk re-reads every entry at boot`);
    const started = startAsterisk(paths);
    log(`asterisk: started pid ${started}; waiting for it to boot (console: ${paths.consoleLog})`);
    return waitReady(config, paths, started, log);
  });
}

/** Stops our Asterisk, if any; never touches another. Idempotent. */
export function asteriskDown(config: Config, log: Log): Promise<AsteriskStatus> {
  return serial(async () => {
    const paths = asteriskPaths(config);
    if (!fs.existsSync(paths.cacheDir)) return asteriskStatus(config);
    await preflight(config, { debootstrap: false, ports: false });
    await withLock(paths, log, () => stop(paths, log));
    return asteriskStatus(config);
  });
}

/**
 * Runs up/down calls of this process one after another (the lock file serialises processes).
 * Concurrent calls would otherwise trip over each other's port probes.
 */
let queue: Promise<unknown> = Promise.resolve();
function serial<T>(fn: () => Promise<T>): Promise<T> {
  const next = queue.then(fn, fn);
  // The caller gets next's failure; the queue only keeps the order, so it must not stop on it.
  queue = next.then(() => undefined, () => undefined);
  return next;
}

/** SIGKILL our Asterisk (fault tests). The pid file stays, as after a crash. */
export async function asteriskKill(config: Config): Promise<void> {
  const paths = asteriskPaths(config);
  const pid = findOurAsterisk(paths);
  if (pid === undefined) return;
  signalOurs(pid, paths.root, 'SIGKILL');
  await waitGone(pid, paths.root, 5000);
}

/** Runs one CLI command in our Asterisk (`asterisk -rx`) and returns its output. */
export async function asteriskCli(config: Config, command: string, timeoutMs = 30_000): Promise<string> {
  if (/[\r\n\0]/.test(command)) throw new Error('asteriskCli: the command must be one line (no CR, LF or NUL)');
  const paths = asteriskPaths(config);
  if (findOurAsterisk(paths) === undefined) {
    throw new ProvisionError('liandong\'s Asterisk is not running.', 'Start it with `npm run asterisk:up`.');
  }
  const r = await rx(paths, command, timeoutMs);
  if (!r.ok) throw new Error(`asterisk -rx '${command}' failed: ${r.output || 'no output (timed out?)'}`);
  return r.output;
}

async function stop(paths: AsteriskPaths, log: Log): Promise<void> {
  const pid = findOurAsterisk(paths);
  if (pid !== undefined) {
    log(`asterisk: stopping pid ${pid}`);
    // Graceful first: hangs up channels and unloads modules cleanly.
    await rx(paths, 'core stop now', 5000);
    if (!(await waitGone(pid, paths.root, 10_000))) {
      log('asterisk: still running after `core stop now`; sending SIGTERM');
      signalOurs(pid, paths.root, 'SIGTERM');
      if (!(await waitGone(pid, paths.root, 5000))) {
        log('asterisk: still running after SIGTERM; sending SIGKILL');
        signalOurs(pid, paths.root, 'SIGKILL');
        await waitGone(pid, paths.root, 5000);
      }
    }
  }
  fs.rmSync(paths.pidFile, { force: true });
}

function configsMatch(paths: AsteriskPaths, rendered: Map<string, string>): boolean {
  for (const [name, text] of rendered) {
    try {
      if (fs.readFileSync(path.join(paths.etcDir, name), 'utf8') !== text) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** uid/gid of the package's `asterisk` user inside the root. */
function asteriskIds(root: string): { uid: number; gid: number } {
  const line = fs
    .readFileSync(path.join(root, 'etc/passwd'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('asterisk:'));
  const f = line?.split(':');
  if (f?.[2] === undefined || f[3] === undefined) throw new Error(`no asterisk user in ${root}/etc/passwd`);
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** Writes our configs over Debian's in /etc/asterisk, keeping Debian's set once in /etc/asterisk.dist. */
function installConfigs(paths: AsteriskPaths, rendered: Map<string, string>): void {
  if (!fs.existsSync(paths.etcDist)) fs.cpSync(paths.etcDir, paths.etcDist, { recursive: true, preserveTimestamps: true });
  const { uid, gid } = asteriskIds(paths.root);
  for (const [name, text] of rendered) {
    const file = path.join(paths.etcDir, name);
    // 0640 like Debian's: the files hold the ARI password and AMI secret.
    fs.writeFileSync(file, text, { mode: 0o640 });
    fs.chmodSync(file, 0o640);
    fs.chownSync(file, uid, gid);
  }
}

/** Directories and files Asterisk expects at run time that a chroot has no service manager to create. */
function prepareRuntime(paths: AsteriskPaths, timezone: string): void {
  const { uid, gid } = asteriskIds(paths.root);
  const run = path.join(paths.root, 'run/asterisk');
  fs.mkdirSync(run, { recursive: true });
  fs.chownSync(run, uid, gid);
  for (const d of ['var/log/asterisk', 'var/lib/asterisk', 'var/spool/asterisk', 'var/cache/asterisk']) {
    const dir = path.join(paths.root, d);
    fs.mkdirSync(dir, { recursive: true });
    fs.chownSync(dir, uid, gid);
  }
  // Asterisk never trims these itself; at each start the big ones move to <name>.1 (one kept).
  for (const log of [path.join(paths.logDir, 'messages'), paths.consoleLog]) rotateIfLarger(log, LOG_ROTATE_BYTES);
  const hosts = path.join(paths.root, 'etc/hosts');
  if (!fs.existsSync(hosts)) fs.writeFileSync(hosts, '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  // Asterisk's logger ignores $TZ and reads /etc/localtime: point it at the configured zone so
  // its timestamps match liandong's.
  const zone = `/usr/share/zoneinfo/${timezone}`;
  if (!timezone.includes('..') && fs.existsSync(path.join(paths.root, zone))) {
    const link = path.join(paths.root, 'etc/localtime');
    fs.rmSync(link, { force: true });
    fs.symlinkSync(zone, link);
    fs.writeFileSync(path.join(paths.root, 'etc/timezone'), `${timezone}\n`);
  }
}

async function waitReady(config: Config, paths: AsteriskPaths, pid: number, log: Log): Promise<AsteriskStatus> {
  const deadline = Date.now() + BOOT_TIMEOUT_S * 1000;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    // Not isInRoot: right after spawn the pid is still `chroot`, with the host's root.
    if (!isAlive(pid)) {
      throw new ProvisionError(
        `Asterisk (pid ${pid}) exited while starting. Last console lines:\n    ${consoleTail(paths).join('\n    ')}`,
        `Read ${paths.consoleLog} and ${paths.logDir}/messages; a configuration error names the file and line.`,
      );
    }
    const booted = await rx(paths, 'core waitfullybooted', Math.max(1000, deadline - Date.now()));
    if (booted.ok) {
      const ari = await probeAri(config, 3000);
      if (ari.ready) {
        const status = await asteriskStatus(config);
        log(`asterisk: ready (pid ${pid}, Asterisk ${status.version ?? '?'}, ARI ${config.ari.url})`);
        return status;
      }
      last = `booted, but ARI ${config.ari.url}/ari/asterisk/info answered ${ari.detail}`;
    } else {
      last = booted.output || 'asterisk -rx timed out';
    }
    await sleep(250);
  }
  throw new ProvisionError(
    `Asterisk (pid ${pid}) was not ready within ${BOOT_TIMEOUT_S} s (${last}). Last console lines:\n    ${consoleTail(paths).join('\n    ')}`,
    `Read ${paths.consoleLog}; stop it with \`npm run asterisk:down\` and retry.`,
  );
}

/** The console lines written since the last start (at most 15). */
function consoleTail(paths: AsteriskPaths): string[] {
  const lines = tailFile(paths.consoleLog, 200);
  const start = lines.map((l) => l.startsWith('=== ')).lastIndexOf(true);
  return lines.slice(start + 1).slice(-15);
}

/**
 * One `up`/`down` at a time per cache dir (parallel test workers may all call `up`).
 * The lock file holds the owner's pid; a dead owner's lock is taken over.
 */
async function withLock<T>(paths: AsteriskPaths, log: Log, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 20 * 60_000; // a first build takes about a minute; allow slow mirrors
  let told = false;
  for (;;) {
    try {
      fs.writeFileSync(paths.lockFile, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(fs.readFileSync(paths.lockFile, 'utf8'), 10);
      if (!Number.isInteger(owner) || !fs.existsSync(`/proc/${owner}`)) {
        fs.rmSync(paths.lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new ProvisionError(`${paths.lockFile} is held by pid ${owner} for too long.`, `Check pid ${owner}; remove the lock file if it is not liandong.`);
      if (!told) log(`asterisk: waiting for pid ${owner} (another liandong asterisk up/down) to finish`);
      told = true;
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(paths.lockFile, { force: true });
  }
}
