// `liandong service install` writes two systemd units and the EnvironmentFile: the units pass
// `systemd-analyze verify` with no complaint (restart on failure, the service after Asterisk,
// journal logging), the EnvironmentFile holds the exported settings at mode 0600 and is kept
// when it exists; a unit systemd would reject is caught by the same check.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { environmentFile } from '../../src/service/systemd.js';

/** The child's PATH: fixed, not the caller's (tests build their own environment). */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const ROOT = path.resolve(import.meta.dirname, '../..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-units-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const PRODUCTION = {
  ARI_USERNAME: 'liandong', ARI_PASSWORD: 'ari-secret-42', AMI_USERNAME: 'liandong', AMI_SECRET: 'ami-secret-42',
  LIANDONG_API_TOKENS: 'admin:admin-token-0042,viewer:viewer-token-0042', LIANDONG_DIAL_TEMPLATE: 'PJSIP/{number}@carrier',
  LIANDONG_ASTERISK_CACHE: '/var/cache/liandong', LIANDONG_WEBHOOK_URL: 'https://desk.example/hooks', LIANDONG_WEBHOOK_SECRET: 'a"quoted\\secret-0042',
};

function install(dir: string, settings: string, env: Record<string, string> = PRODUCTION, extra: string[] = []) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'service', 'install', '--dir', dir, '--settings', settings, ...extra], {
    cwd: ROOT, env: { PATH: SYSTEM_PATH, ...env }, encoding: 'utf8', timeout: 60_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function verify(...units: string[]) {
  const r = spawnSync('systemd-analyze', ['verify', ...units], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`systemd-analyze is needed (Debian package systemd; scripts/setup.sh installs it): ${r.error.message}`);
  return { code: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

// Each test spawns the CLI (node + tsx, about 1 s, several under load): more than the default 5 s.
describe('liandong service install', { timeout: 60_000 }, () => {
  const dir = path.join(scratch, 'units');
  const settings = path.join(scratch, 'etc/liandong.env');

  it('writes units that systemd-analyze verify accepts without a warning', () => {
    const r = install(dir, settings, PRODUCTION, ['--user', 'liandong']);
    expect(r.code, r.out).toBe(0);
    const units = ['liandong-asterisk.service', 'liandong.service'].map((u) => path.join(dir, u));
    const v = verify(...units);
    expect(v.out).toBe('');
    expect(v.code).toBe(0);
  });

  it('restarts on failure, starts the service after Asterisk, logs to the journal, reads the EnvironmentFile', () => {
    const service = fs.readFileSync(path.join(dir, 'liandong.service'), 'utf8');
    const asterisk = fs.readFileSync(path.join(dir, 'liandong-asterisk.service'), 'utf8');
    for (const unit of [service, asterisk]) {
      expect(unit).toMatch(/^Restart=on-failure$/m);
      expect(unit).toMatch(/^StandardOutput=journal$/m);
      expect(unit).toContain(`EnvironmentFile=${settings}`);
      expect(unit).toMatch(/^WantedBy=multi-user.target$/m);
    }
    expect(service).toMatch(/^After=.*\bliandong-asterisk\.service\b/m);
    expect(service).toMatch(/^User=liandong$/m);
    expect(service).toContain(`ExecStart=${process.execPath} ${ROOT}/dist/src/main.js`);
    expect(asterisk).toMatch(/^Type=forking$/m);
    expect(asterisk).toContain('PIDFile=/var/cache/liandong/asterisk.pid');
    expect(asterisk).toMatch(/^ExecStart=.* asterisk up --profile production$/m);
  });

  it('writes the exported settings, secrets included, to an EnvironmentFile of mode 0600', () => {
    expect(fs.statSync(settings).mode & 0o777).toBe(0o600);
    const text = fs.readFileSync(settings, 'utf8');
    expect(text).toContain('ARI_PASSWORD="ari-secret-42"');
    expect(text).toContain('LIANDONG_WEBHOOK_SECRET="a\\"quoted\\\\secret-0042"');
    expect(text).not.toContain('PATH=');
    expect(environmentFile({ A: 'x"y\\z' })).toContain('A="x\\"y\\\\z"');
  });

  it('keeps an existing EnvironmentFile', () => {
    fs.writeFileSync(settings, 'ARI_PASSWORD="edited-by-admin"\n', { mode: 0o644 });
    const r = install(dir, settings);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('kept the existing');
    expect(fs.readFileSync(settings, 'utf8')).toBe('ARI_PASSWORD="edited-by-admin"\n');
    expect(fs.statSync(settings).mode & 0o777).toBe(0o600);
  });

  it('refuses settings that would not start in production, and writes nothing', () => {
    const other = path.join(scratch, 'refused');
    const r = install(other, path.join(other, 'env'), { ...PRODUCTION, ARI_PASSWORD: 'short' });
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('ARI_PASSWORD');
    expect(fs.existsSync(other)).toBe(false);
  });

  it('the check can fail: a unit with a wrong directive or a missing program is reported', () => {
    const bad = path.join(scratch, 'bad');
    fs.mkdirSync(bad, { recursive: true });
    const good = fs.readFileSync(path.join(dir, 'liandong.service'), 'utf8');
    fs.writeFileSync(path.join(bad, 'liandong.service'), good.replace('Restart=on-failure', 'Restart=sometimes'));
    expect(verify(path.join(bad, 'liandong.service')).out).toContain('restart');
    fs.writeFileSync(path.join(bad, 'liandong.service'), good.replace(`ExecStart=${process.execPath}`, 'ExecStart=/nonexistent/node'));
    expect(verify(path.join(bad, 'liandong.service')).code).not.toBe(0);
  });
});
