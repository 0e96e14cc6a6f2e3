// `liandong asterisk pack <file>` and `up --from <file>`: the built Debian root as one tarball,
// for hosts with no way to the Debian archive (a government network). The tarball holds the
// root as built (packages, the asterisk user, the build stamp) but no secret and no run-time
// state: the rendered /etc/asterisk (ARI password, AMI secret) is left out and restored from
// the pristine etc/asterisk.dist on unpacking, as are logs, spool, astdb and the media cache.
import fs from 'node:fs';
import path from 'node:path';
import { findExecutable, run, tailLines } from './exec.js';
import { readStamp, type Stamp } from './root.js';
import type { AsteriskPaths, Log } from './types.js';
import { ProvisionError } from './types.js';

const MINUTE = 60_000;
/** Paths inside the root never packed (relative to the root): secrets and run-time state. */
const LEFT_OUT = ['etc/asterisk', 'var/log/asterisk/*', 'var/spool/asterisk/*', 'var/lib/asterisk/astdb*', 'var/cache/asterisk/*', 'run/asterisk/*', 'tmp/*', 'proc/*', 'sys/*', 'dev/pts/*'];

/** tar's compression for a file name: zstd for .zst/.tzst, gzip for .gz/.tgz, none for .tar. */
export function compressionOf(file: string): '--zstd' | '--gzip' | undefined {
  if (/\.(tar\.zst|tzst)$/.test(file)) return '--zstd';
  if (/\.(tar\.gz|tgz)$/.test(file)) return '--gzip';
  if (/\.tar$/.test(file)) return undefined;
  throw new ProvisionError(`cannot tell the compression of "${file}"`, 'name it .tar.zst (smallest, fast), .tar.gz or .tar');
}

function tarPath(): string {
  const tar = findExecutable('tar');
  if (tar === undefined) throw new ProvisionError('tar is missing.', 'apt-get install tar');
  return tar;
}

/** Writes the built root to `file`; returns its stamp and the file's size in bytes. */
export async function packRoot(paths: AsteriskPaths, file: string, log: Log): Promise<{ stamp: Stamp; bytes: number }> {
  const stamp = readStamp(paths);
  if (stamp === undefined) throw new ProvisionError(`no built root at ${paths.root}`, 'run `liandong asterisk up` once on a machine that reaches the Debian archive, then pack there');
  const compression = compressionOf(file);
  const out = path.resolve(file);
  const name = path.basename(paths.root);
  // The rendered configs hold secrets; the package's own are kept in etc/asterisk.dist.
  const leftOut = fs.existsSync(paths.etcDist) ? LEFT_OUT : LEFT_OUT.slice(1);
  const args = ['--create', '--file', `${out}.partial`, ...(compression ? [compression] : []), '--one-file-system', '--numeric-owner', '--directory', path.dirname(paths.root),
    ...leftOut.map((p) => `--exclude=${name}/${p}`), name];
  log(`asterisk: packing ${paths.root} (asterisk ${stamp.versions['asterisk'] ?? '?'}, ${stamp.suite} from ${stamp.mirror}) into ${out}`);
  const r = await run(tarPath(), args, { timeoutMs: 20 * MINUTE });
  if (r.code !== 0) {
    fs.rmSync(`${out}.partial`, { force: true });
    throw new ProvisionError(`tar failed (exit ${r.code}):\n    ${tailLines(r.stderr, 6).join('\n    ')}`, `check the free space where ${out} goes`);
  }
  fs.renameSync(`${out}.partial`, out);
  return { stamp, bytes: fs.statSync(out).size };
}

/**
 * Installs the root from a tarball written by `packRoot`, with no network: unpacked next to the
 * root, checked (build stamp, asterisk binary), then renamed into place. An existing root is
 * kept (remove it first to replace it).
 */
export async function unpackRoot(paths: AsteriskPaths, file: string, log: Log): Promise<Stamp> {
  const existing = readStamp(paths);
  if (existing !== undefined) {
    log(`asterisk: a root is already built at ${paths.root}; ${file} is not unpacked (remove the root first to replace it)`);
    return existing;
  }
  if (!fs.existsSync(file)) throw new ProvisionError(`no such file: ${file}`, 'give the tarball written by `liandong asterisk pack`');
  const compression = compressionOf(file);
  const staging = `${paths.root}.unpack`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  log(`asterisk: unpacking ${file} into ${paths.cacheDir} (no network needed)`);
  const r = await run(tarPath(), ['--extract', '--file', path.resolve(file), ...(compression ? [compression] : []), '--numeric-owner', '--same-permissions', '--directory', staging], { timeoutMs: 20 * MINUTE });
  const unpacked = path.join(staging, path.basename(paths.root));
  if (r.code !== 0 || !fs.existsSync(unpacked)) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw new ProvisionError(`unpacking ${file} failed (exit ${r.code}):\n    ${tailLines(r.stderr, 6).join('\n    ') || 'no sid-root in it'}`, 'is it a tarball written by `liandong asterisk pack`?');
  }
  const stampFile = path.join(unpacked, '.liandong-stamp.json');
  const asterisk = path.join(unpacked, 'usr/sbin/asterisk');
  if (!fs.existsSync(stampFile) || !fs.existsSync(asterisk)) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw new ProvisionError(`${file} holds no built liandong root (no build stamp or no usr/sbin/asterisk)`, 'pack it with `liandong asterisk pack` on the machine that built it');
  }
  // The rendered configs were left out: Asterisk starts from the package's, rendered over at up.
  const etc = path.join(unpacked, 'etc/asterisk');
  const dist = path.join(unpacked, 'etc/asterisk.dist');
  if (!fs.existsSync(etc) && fs.existsSync(dist)) {
    // cp -a keeps the owner (the root's asterisk user) that fs.cpSync would drop.
    const cp = await run('cp', ['-a', dist, etc], { timeoutMs: MINUTE });
    if (cp.code !== 0) throw new ProvisionError(`restoring etc/asterisk in the unpacked root failed: ${tailLines(cp.stderr, 3).join(' ')}`, 'check the free space and rerun');
  }
  fs.renameSync(unpacked, paths.root);
  fs.rmSync(staging, { recursive: true, force: true });
  const stamp = readStamp(paths) as Stamp;
  log(`asterisk: root installed from ${file} (asterisk ${stamp.versions['asterisk'] ?? '?'}, ${stamp.suite} from ${stamp.mirror}, built ${stamp.builtAt})`);
  return stamp;
}
