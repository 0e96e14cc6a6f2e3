// Security of the configuration and logs: ARI, AMI, SIP and HTTP listen on loopback unless told
// otherwise; secrets come only from src/config.ts; pino redacts phone numbers and secrets.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { capturedLogger } from './captured-log.js';
import { renderAsteriskConfigs } from '../../src/asterisk/index.js';
import { DEV_DEFAULTS, loadConfig } from '../../src/config.js';
import { maskPhone } from '../../src/logging.js';

const PROD = {
  ARI_USERNAME: 'liandong',
  ARI_PASSWORD: 'prod-ari-secret-1',
  AMI_USERNAME: 'liandong',
  AMI_SECRET: 'prod-ami-secret-1',
  LIANDONG_API_TOKENS: 'desk:prod-desk-token-123,admin:prod-admin-token-123',
  LIANDONG_DIAL_TEMPLATE: 'PJSIP/{number}@carrier',
};

describe('loopback by default', () => {
  it('the service, ARI, AMI and Asterisk bind to 127.0.0.1 unless configured', () => {
    const c = loadConfig(PROD);
    expect(c.http.host).toBe('127.0.0.1');
    expect(new URL(c.ari.url).hostname).toBe('127.0.0.1');
    expect(c.ami.host).toBe('127.0.0.1');
    expect(c.asterisk.bindAddress).toBe('127.0.0.1');
  });

  it("Asterisk's rendered HTTP/ARI, AMI and SIP listen on the bind address only", () => {
    const files = renderAsteriskConfigs(loadConfig(PROD));
    expect(files.get('http.conf')).toMatch(/^bindaddr = 127\.0\.0\.1$/m);
    expect(files.get('manager.conf')).toMatch(/^bindaddr = 127\.0\.0\.1$/m);
    expect(files.get('manager.conf')).toMatch(/^webenabled = no/m);
    expect(files.get('pjsip.conf')).toMatch(/^bind = 127\.0\.0\.1:5060$/m);
    // Nothing else served by Asterisk's HTTP server.
    expect(files.get('http.conf')).toMatch(/^enablestatic = no/m);
  });
});

describe('secrets only from config', () => {
  const srcFiles = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(dir, e.name);
      return e.isDirectory() ? srcFiles(p) : /\.(ts|js)$/.test(e.name) ? [p] : [];
    });
  const sources = srcFiles(path.resolve('src')).map((file) => ({ file: path.relative(process.cwd(), file), text: fs.readFileSync(file, 'utf8') }));

  it('only src/config.ts reads the environment', () => {
    const readers = sources.filter((s) => /process\.env|process\[['"]env['"]\]/.test(s.text)).map((s) => s.file);
    expect(readers).toEqual([path.join('src', 'config.ts')]);
  });

  it('no source file but src/config.ts holds a credential (the dev defaults are the only ones)', () => {
    const secrets = [DEV_DEFAULTS.ARI_PASSWORD, DEV_DEFAULTS.AMI_SECRET, ...(DEV_DEFAULTS.LIANDONG_API_TOKENS ?? '').split(',').map((t) => t.split(':')[1])].filter(
      (s): s is string => typeof s === 'string' && s.length > 0,
    );
    expect(secrets.length).toBeGreaterThanOrEqual(6);
    const holders = sources.filter((s) => s.file !== path.join('src', 'config.ts') && secrets.some((secret) => s.text.includes(secret))).map((s) => s.file);
    expect(holders).toEqual([]);
  });

  it('production refuses to start on the dev credentials being absent, not silently defaulted', () => {
    expect(() => loadConfig({})).toThrow(/ARI_PASSWORD is required in production/);
  });
});

describe('log redaction', () => {
  const capture = () => {
    const log = capturedLogger('debug');
    return { lines: () => log.text(), logger: log.logger };
  };

  it('replaces numbers, phones, tokens, passwords, secrets and authorization headers wherever they are named so', () => {
    const { lines, logger } = capture();
    logger.info({ number: '13812345678', phone: '13912345678', reporterPhone: '13712345678', callerId: '057712345678' }, 'top level');
    logger.info({ contact: { number: '13612345678' }, order: { reporterPhone: '13512345678' } }, 'nested');
    logger.info({ token: 'tok-aaaaaaaaaaaa', password: 'pw-bbbbbbbbbb', secret: 'sec-cccccccccc', ami: { secret: 'sec-dddddddddd' } }, 'secrets');
    logger.info({ req: { headers: { authorization: 'Bearer bearer-eeeeeeeeee' } }, headers: { authorization: 'Bearer bearer-ffffffffff' } }, 'request');
    logger.child({ number: '13412345678' }).info('child binding');
    const text = lines();
    for (const clear of ['13812345678', '13912345678', '13712345678', '057712345678', '13612345678', '13512345678', '13412345678', 'tok-aaaa', 'pw-bbbb', 'sec-cccc', 'sec-dddd', 'bearer-eeee', 'bearer-ffff']) {
      expect(text, clear).not.toContain(clear);
    }
    expect(text.match(/\[redacted\]/g)?.length).toBeGreaterThanOrEqual(13);
  });

  it('masks numbers the code logs on purpose', () => {
    expect(maskPhone('13812345678')).toBe('138****5678');
    expect(maskPhone('70111')).toBe('***11');
    expect(maskPhone('+8613812345678')).not.toContain('13812345678');
  });
});
