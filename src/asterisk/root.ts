// Builds the Debian sid root Asterisk runs in: debootstrap into sid-root.partial, apt-get
// install, write a stamp, then rename to sid-root. A leftover .partial (interrupted build) is
// removed and redone; a complete root is never rebuilt, only topped up with missing packages.
import fs from 'node:fs';
import path from 'node:path';
import { findExecutable, run, tailFile, tailLines } from './exec.js';
import type { AsteriskPaths, Log } from './types.js';
import { ProvisionError } from './types.js';

/** Defaults of LIANDONG_DEBIAN_MIRROR and LIANDONG_DEBIAN_SUITE (config.ts). */
export const MIRROR = 'http://deb.debian.org/debian';
export const SUITE = 'sid';

/** The archive the root is built from. */
export interface DebianSource {
  readonly mirror: string;
  readonly suite: string;
}
/** tzdata lets Asterisk log in the configured TZ. */
export const PACKAGES = ['asterisk', 'tzdata'] as const;

export interface Stamp {
  readonly suite: string;
  readonly mirror: string;
  readonly packages: string[];
  /** `dpkg-query -W` output: package -> version, as installed. */
  readonly versions: Record<string, string>;
  readonly builtAt: string;
  /** Wall-clock seconds of the build (debootstrap + apt). */
  readonly buildSeconds: number;
}

export function readStamp(paths: AsteriskPaths): Stamp | undefined {
  try {
    return JSON.parse(fs.readFileSync(paths.stamp, 'utf8')) as Stamp;
  } catch {
    return undefined;
  }
}

// apt's sid Release files carry Valid-Until; a machine clock off by days would reject them.
const APT = ['-o', 'Acquire::Check-Valid-Until=false', '-q'];
const MINUTE = 60_000;

/** Makes sure a complete root exists with PACKAGES installed. Returns its stamp. */
export async function ensureRoot(paths: AsteriskPaths, log: Log, source: DebianSource = { mirror: MIRROR, suite: SUITE }): Promise<Stamp> {
  const { mirror, suite } = source;
  const stamp = readStamp(paths);
  if (stamp !== undefined) {
    const missing = PACKAGES.filter((p) => !stamp.packages.includes(p));
    if (missing.length === 0) return stamp;
    log(`asterisk: adding ${missing.join(' ')} to the existing root`);
    await aptInstall(paths.root, paths, missing);
    return writeStamp(paths.root, paths, [...stamp.packages, ...missing], stamp.buildSeconds, stamp.builtAt, { mirror: stamp.mirror, suite: stamp.suite });
  }
  if (fs.existsSync(paths.root)) {
    // A root without a stamp was not made by this code (or its stamp was deleted): rebuild.
    log(`asterisk: ${paths.root} has no build stamp; rebuilding it`);
    await removeTree(paths.root);
  }
  if (fs.existsSync(paths.partial)) {
    log(`asterisk: removing an interrupted build at ${paths.partial}`);
    await removeTree(paths.partial);
  }
  const started = Date.now();
  const debootstrap = findExecutable('debootstrap');
  if (debootstrap === undefined) throw new ProvisionError('debootstrap is missing.', 'apt-get install debootstrap   (or: npm run setup)');
  fs.writeFileSync(paths.buildLog, `=== ${new Date().toISOString()} debootstrap ${suite} into ${paths.partial}\n`);
  log(`asterisk: building a Debian ${suite} root with debootstrap (about 30 s; log: ${paths.buildLog})`);
  const boot = await run(debootstrap, ['--variant=minbase', suite, paths.partial, mirror], { timeoutMs: 20 * MINUTE, logFile: paths.buildLog });
  if (boot.code !== 0) {
    const detail = [...tailLines(boot.stdout + boot.stderr, 8), ...tailFile(path.join(paths.partial, 'debootstrap/debootstrap.log'), 8)];
    throw new ProvisionError(
      `debootstrap ${suite} from ${mirror} failed${boot.timedOut ? ' (timed out after 20 min)' : ` (exit ${boot.code})`}:\n    ${detail.join('\n    ')}`,
      `Check that this machine reaches ${mirror} (proxy? DNS?); the full log is ${paths.buildLog}. Rerun to retry: the partial root is redone.`,
    );
  }
  // Never let package scripts start services inside the root.
  fs.writeFileSync(path.join(paths.partial, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  await createAsteriskUser(paths);
  log(`asterisk: installing ${PACKAGES.join(' ')} into the root (about 15 s)`);
  await aptInstall(paths.partial, paths, [...PACKAGES]);
  await chrootRun(paths.partial, paths, ['apt-get', 'clean'], 'apt-get clean', 2 * MINUTE);
  const stampOut = await writeStamp(paths.partial, paths, [...PACKAGES], (Date.now() - started) / 1000, new Date().toISOString(), source);
  fs.renameSync(paths.partial, paths.root);
  log(`asterisk: root ready in ${stampOut.buildSeconds.toFixed(0)} s (asterisk ${stampOut.versions['asterisk'] ?? '?'})`);
  return stampOut;
}

/**
 * Creates the `asterisk` user before the package does (its postinst keeps an existing one),
 * with a uid/gid unused on the host. Left to adduser it would get the first free system id
 * inside the root (101), which on the host usually belongs to someone else (postgres on the
 * machine this was written on), letting that host user and Asterisk signal each other.
 */
async function createAsteriskUser(paths: AsteriskPaths): Promise<void> {
  const id = freeSystemId(['/etc/passwd', '/etc/group', ...['etc/passwd', 'etc/group'].map((f) => path.join(paths.partial, f))]);
  await chrootRun(paths.partial, paths, ['groupadd', '--system', '--gid', String(id), 'asterisk'], 'groupadd asterisk', MINUTE);
  await chrootRun(
    paths.partial,
    paths,
    ['useradd', '--system', '--uid', String(id), '--gid', String(id), '--home-dir', '/var/lib/asterisk', '--no-create-home', '--shell', '/usr/sbin/nologin', '--comment', 'Asterisk PBX daemon', 'asterisk'],
    'useradd asterisk',
    MINUTE,
  );
}

/**
 * The first id from 500 up used by no entry of the given passwd/group files. 500 sits in
 * the middle of Debian's dynamic system range (100-999), which adduser fills from 100 up and
 * useradd from 999 down, so a later host account is unlikely to take it.
 */
export function freeSystemId(files: string[], read: (file: string) => string = (f) => fs.readFileSync(f, 'utf8')): number {
  const used = new Set<number>();
  for (const file of files) {
    let text = '';
    try {
      text = read(file);
    } catch {
      continue; // e.g. no /etc/group on an odd host: nothing to avoid there
    }
    for (const line of text.split('\n')) {
      const id = Number(line.split(':')[2]);
      if (Number.isInteger(id)) used.add(id);
    }
  }
  for (let id = 500; id < 1000; id++) if (!used.has(id)) return id;
  throw new ProvisionError('No free system uid/gid between 500 and 999 for the asterisk user.', 'Free one in /etc/passwd and /etc/group.');
}

async function aptInstall(root: string, paths: AsteriskPaths, pkgs: string[]): Promise<void> {
  await chrootRun(root, paths, ['apt-get', ...APT, 'update'], 'apt-get update', 10 * MINUTE);
  await chrootRun(
    root,
    paths,
    ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...APT, 'install', '-y', '--no-install-recommends', ...pkgs],
    `apt-get install ${pkgs.join(' ')}`,
    20 * MINUTE,
  );
}

async function chrootRun(root: string, paths: AsteriskPaths, argv: string[], what: string, timeoutMs: number): Promise<string> {
  fs.appendFileSync(paths.buildLog, `=== ${new Date().toISOString()} chroot ${root} ${argv.join(' ')}\n`);
  const r = await run('/usr/sbin/chroot', [root, ...argv], { timeoutMs, logFile: paths.buildLog });
  if (r.code !== 0) {
    throw new ProvisionError(
      `${what} in the Asterisk root failed${r.timedOut ? ' (timed out)' : ` (exit ${r.code})`}:\n    ${tailLines(r.stdout + r.stderr, 10).join('\n    ')}`,
      `Check that this machine reaches the Debian mirror (LIANDONG_DEBIAN_MIRROR; on a closed network use a local mirror or \`liandong asterisk up --from <file>\`); the full log is ${paths.buildLog}. Rerun to retry.`,
    );
  }
  return r.stdout;
}

async function writeStamp(root: string, paths: AsteriskPaths, packages: string[], buildSeconds: number, builtAt: string, source: DebianSource): Promise<Stamp> {
  const out = await chrootRun(root, paths, ['dpkg-query', '-W', '-f', '${Package} ${Version}\\n', ...packages], 'dpkg-query', MINUTE);
  const versions: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const [pkg, version] = line.split(' ');
    if (pkg && version) versions[pkg] = version;
  }
  const stamp: Stamp = { suite: source.suite, mirror: source.mirror, packages, versions, builtAt, buildSeconds: Math.round(buildSeconds * 10) / 10 };
  fs.writeFileSync(path.join(root, '.liandong-stamp.json'), JSON.stringify(stamp, null, 2) + '\n');
  return stamp;
}

/** Mount points at or below `dir` (deepest first), from /proc/self/mountinfo. */
export function mountsUnder(dir: string, mountinfo: string): string[] {
  const prefix = dir.replace(/\/+$/, '');
  return mountinfo
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => m !== undefined)
    .map((m) => m.replace(/\\040/g, ' '))
    .filter((m) => m === prefix || m.startsWith(prefix + '/'))
    .sort((a, b) => b.length - a.length);
}

/**
 * rm -rf that first detaches mounts inside the tree: an interrupted debootstrap leaves /proc
 * and /sys mounted in the target, and deleting through them would touch the host.
 */
export async function removeTree(dir: string): Promise<void> {
  const read = (): string[] => mountsUnder(fs.realpathSync(dir), fs.readFileSync('/proc/self/mountinfo', 'utf8'));
  for (const m of read()) await run('/usr/bin/umount', ['-l', m], { timeoutMs: 10_000 });
  const left = read();
  if (left.length > 0) {
    throw new ProvisionError(`Cannot remove ${dir}: still mounted: ${left.join(', ')}`, `Unmount them (umount -l ${left.join(' ')}) and rerun.`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
