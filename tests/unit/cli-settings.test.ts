// CLI commands that place no call do not demand settings they do not use: `audit` and `report`
// run with a database path only; a setting that is given is still checked; the service itself
// (no `unused`) still demands everything.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** The child's PATH: fixed, not the caller's (tests build their own environment). */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-cli-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, env: { PATH: SYSTEM_PATH, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

// Each test spawns the CLI (node + tsx, about 1 s, several under load): more than the default 5 s.
describe('CLI settings', { timeout: 60_000 }, () => {
  const db = { LIANDONG_DB: path.join(scratch, 'liandong.db') };

  it('audit and report run with nothing but the database (no dial template, tokens or Asterisk credentials)', () => {
    const audit = cli(['audit'], db);
    expect(audit.out).toContain('audit: no entries');
    expect(audit.code).toBe(0);
    const report = cli(['report', 'assessment', '--quarter', '2026Q4', '--json'], db);
    expect(report.code, report.out).toBe(0);
    expect(JSON.parse(report.out)).toMatchObject({ quarter: '2026Q4' });
  });

  it('tokens and prompts run with nothing but their own files (no dial template, tokens or Asterisk credentials)', () => {
    const tokensFile = { LIANDONG_TOKENS_FILE: path.join(scratch, 'tokens.json') };
    const add = cli(['tokens', 'add', '--role', 'viewer', '--person', 'Wang'], tokensFile);
    expect(add.code, add.out).toBe(0);
    expect(add.out).toContain('for Wang (viewer)');
    const list = cli(['tokens', 'list'], tokensFile);
    expect(list.code, list.out).toBe(0);
    expect(list.out).toMatch(/viewer\s+-\s+Wang/);
    const recordings = path.join(scratch, 'recorded');
    fs.mkdirSync(recordings);
    const check = cli(['prompts', 'check'], { LIANDONG_RECORDINGS_DIR: recordings, LIANDONG_MEDIA_DIR: path.join(scratch, 'media') });
    expect(check.code, check.out).toBe(0);
    expect(check.out).toContain('0 recording(s) in use');
  });

  it('still checks a setting that is given', () => {
    const r = cli(['audit'], { ...db, LIANDONG_DIAL_TEMPLATE: 'SIP/x' });
    expect(r.code).toBe(2);
    expect(r.out).toContain('LIANDONG_DIAL_TEMPLATE must contain {number}');
  });

  it('test-call goes through the running service: it needs the admin token, not the dial template', () => {
    const r = cli(['test-call', '70111'], db);
    expect(r.code).toBe(2);
    expect(r.out).toContain('LIANDONG_API_TOKENS is required');
    expect(r.out).not.toContain('LIANDONG_DIAL_TEMPLATE');
  });

  it('the service (no unused settings) still demands every secret and the dial template', () => {
    expect(() => loadConfig({}, 'production')).toThrow(ConfigError);
    try {
      loadConfig({}, 'production');
    } catch (err) {
      expect((err as ConfigError).problems.join('\n')).toContain('LIANDONG_DIAL_TEMPLATE is required');
    }
    expect(loadConfig({}, 'production', ['LIANDONG_DIAL_TEMPLATE', 'LIANDONG_API_TOKENS', 'ARI_USERNAME', 'ARI_PASSWORD', 'AMI_USERNAME', 'AMI_SECRET']).dialTemplate).toBe('');
  });
});
