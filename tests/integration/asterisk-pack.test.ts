// Installing on a closed network: `liandong asterisk pack` writes the built root (the tests' own)
// as a zstd tarball, and `liandong asterisk up --from` installs it into a fresh cache folder
// inside a network namespace with nothing but loopback — no DNS, no route, the Debian archive
// unreachable — then Asterisk starts from it and answers ARI; `down` stops it and the folder is
// removed. The tarball holds no secret (the rendered configs are left out).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromProcess, DEV_DEFAULTS } from '../../src/config.js';
import { ROOT } from '../../harness/service-process.js';

/** The child's PATH: fixed, not the caller's (tests build their own environment). */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-pack-'));
const tarball = path.join(scratch, 'asterisk-root.tar.zst');
const freshCache = path.join(scratch, 'cache');
const source = configFromProcess('dev');
const timings: Record<string, number> = {};
let packOutput = '';
let upOutput = '';
let statusJson = '';

/** Runs the liandong CLI with only the environment given (plus PATH), optionally in a namespace without network. */
function cli(args: string[], env: Record<string, string>, offline: boolean): { code: number; out: string } {
  const command = `ip link set lo up && exec '${process.execPath}' --import tsx src/cli.ts ${args.map((a) => `'${a}'`).join(' ')}`;
  const argv = offline ? ['unshare', '--net', 'sh', '-c', command] : ['sh', '-c', command.replace('ip link set lo up && ', '')];
  const r = spawnSync(argv[0] as string, argv.slice(1), { cwd: ROOT, env: { PATH: SYSTEM_PATH, ...env }, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** The fresh root's Asterisk, inside its own network namespace, binds loopback there. */
const offlineEnv = { LIANDONG_ASTERISK_CACHE: freshCache, ASTERISK_BIND: '127.0.0.1', ARI_URL: 'http://127.0.0.1:8088', AMI_HOST: '127.0.0.1', LIANDONG_DEBIAN_MIRROR: 'http://deb.debian.org/debian' };

beforeAll(() => {
  let t = Date.now();
  const pack = cli(['asterisk', 'pack', tarball], { LIANDONG_ASTERISK_CACHE: source.asterisk.cacheDir, ASTERISK_BIND: source.asterisk.bindAddress, ARI_URL: source.ari.url, AMI_HOST: source.ami.host }, false);
  packOutput = pack.out;
  timings.packSeconds = (Date.now() - t) / 1000;
  if (pack.code !== 0) throw new Error(`pack failed: ${pack.out}`);
  t = Date.now();
  // up --from, then status, in one namespace (the Asterisk it starts lives in it).
  const up = spawnSync('unshare', ['--net', 'sh', '-c', `ip link set lo up && '${process.execPath}' --import tsx src/cli.ts asterisk up --from '${tarball}' && '${process.execPath}' --import tsx src/cli.ts asterisk status --json`], {
    cwd: ROOT, env: { PATH: SYSTEM_PATH, ...offlineEnv }, encoding: 'utf8', timeout: 240_000,
  });
  timings.upFromSeconds = (Date.now() - t) / 1000;
  upOutput = `${up.stdout}${up.stderr}`;
  statusJson = up.stdout.trim().split('\n').at(-1) ?? '';
  fs.writeFileSync(path.join(ROOT, 'tests/artifacts/asterisk-pack.timings.json'), `${JSON.stringify({ ...timings, tarballBytes: fs.statSync(tarball).size }, null, 2)}\n`);
}, 480_000);

afterAll(() => {
  cli(['asterisk', 'down'], offlineEnv, false);
  // The fresh root may hold mounts (none are made, but never rm across one): only our scratch folder.
  fs.rmSync(scratch, { recursive: true, force: true });
}, 60_000);

describe('asterisk pack and up --from, offline', () => {
  it('packs the built root into a compressed tarball without the rendered secrets', () => {
    expect(packOutput).toContain('asterisk: wrote');
    const bytes = fs.statSync(tarball).size;
    expect(bytes).toBeGreaterThan(50e6);
    expect(bytes).toBeLessThan(400e6);
    const list = execFileSync('tar', ['--zstd', '-tf', tarball], { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }).split('\n');
    expect(list).toContain('sid-root/usr/sbin/asterisk');
    expect(list).toContain('sid-root/.liandong-stamp.json');
    expect(list.filter((f) => f.startsWith('sid-root/etc/asterisk/'))).toEqual([]);
    expect(list.filter((f) => /^sid-root\/var\/log\/asterisk\/./.test(f))).toEqual([]);
    const dump = execFileSync('sh', ['-c', `tar --zstd -xOf '${tarball}' --wildcards 'sid-root/etc/asterisk.dist/*' | grep -c -e '${DEV_DEFAULTS.ARI_PASSWORD as string}' -e '${DEV_DEFAULTS.AMI_SECRET as string}' || true`], { encoding: 'utf8' });
    expect(dump.trim()).toBe('0');
  });

  it('the namespace really has no network: the Debian archive does not resolve there', () => {
    const r = spawnSync('unshare', ['--net', 'getent', 'hosts', 'deb.debian.org'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
  });

  it('installs into a fresh cache folder with no network, and Asterisk runs from it', () => {
    expect(upOutput).toContain('root installed from');
    expect(upOutput).not.toContain('debootstrap');
    const status = JSON.parse(statusJson) as { running: boolean; ariReady: boolean; version?: string; root: string };
    expect(status).toMatchObject({ running: true, ariReady: true, root: path.join(freshCache, 'sid-root') });
    expect(status.version).toMatch(/^22\./);
    const stamp = JSON.parse(fs.readFileSync(path.join(freshCache, 'sid-root/.liandong-stamp.json'), 'utf8')) as { versions: Record<string, string> };
    const original = JSON.parse(fs.readFileSync(path.join(source.asterisk.cacheDir, 'sid-root/.liandong-stamp.json'), 'utf8')) as { versions: Record<string, string> };
    expect(stamp.versions).toEqual(original.versions);
  });
});
