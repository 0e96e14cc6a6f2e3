import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAsteriskCli } from '../../src/asterisk/cli.js';
import { CONFIG_FILES, loadTemplates, renderAsteriskConfigs, renderTemplate } from '../../src/asterisk/render.js';
import type { Config } from '../../src/config.js';
import { loadConfig } from '../../src/config.js';

const dev = loadConfig({}, 'dev');

/** The `key = value` pairs of one [section] of an Asterisk .conf text (comments stripped). */
function section(text: string, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  let inside = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/;.*$/, '').trim();
    const head = /^\[([^\]]+)\]/.exec(line);
    if (head) {
      inside = head[1] === name;
      continue;
    }
    const kv = /^([A-Za-z_]+)\s*=>?\s*(.*)$/.exec(line);
    if (inside && kv?.[1] !== undefined && kv[2] !== undefined) out[kv[1]] = kv[2];
  }
  return out;
}

function file(files: Map<string, string>, name: string): string {
  const text = files.get(name);
  if (text === undefined) throw new Error(`${name} not rendered`);
  return text;
}

describe('renderAsteriskConfigs', () => {
  it('renders every config file, with no placeholder left', () => {
    const files = renderAsteriskConfigs(dev);
    expect([...files.keys()]).toEqual([...CONFIG_FILES]);
    for (const [name, text] of files) {
      expect(text, name).not.toMatch(/\{\{|\}\}/);
      expect(text.startsWith(';'), `${name} starts with its header comment`).toBe(true);
    }
  });

  it('binds HTTP, AMI and SIP to ASTERISK_BIND and the configured ports', () => {
    const config = loadConfig({ ASTERISK_BIND: '10.1.2.3', ARI_URL: 'http://10.1.2.3:8099', AMI_PORT: '5039', SIP_PORT: '5070' }, 'dev');
    const files = renderAsteriskConfigs(config);
    expect(section(file(files, 'http.conf'), 'general')).toMatchObject({ enabled: 'yes', bindaddr: '10.1.2.3', bindport: '8099' });
    expect(section(file(files, 'manager.conf'), 'general')).toMatchObject({ enabled: 'yes', bindaddr: '10.1.2.3', port: '5039' });
    expect(section(file(files, 'pjsip.conf'), 'transport-udp')).toMatchObject({ type: 'transport', protocol: 'udp', bind: '10.1.2.3:5070' });
  });

  it('puts an IPv6 SIP bind address in brackets', () => {
    const files = renderAsteriskConfigs(loadConfig({ ASTERISK_BIND: '::1', ARI_URL: 'http://[::1]:8088' }, 'dev'));
    expect(section(file(files, 'pjsip.conf'), 'transport-udp').bind).toBe('[::1]:5060');
    expect(section(file(files, 'http.conf'), 'general').bindaddr).toBe('::1');
  });

  it('uses the configured ARI and AMI credentials and the ARI app', () => {
    const config = loadConfig(
      { ARI_USERNAME: 'ari-user', ARI_PASSWORD: 'ari-secret-1', AMI_USERNAME: 'ami.user', AMI_SECRET: 'ami-secret-2', ARI_APP: 'county-app' },
      'dev',
    );
    const files = renderAsteriskConfigs(config);
    expect(section(file(files, 'ari.conf'), 'ari-user')).toEqual({ type: 'user', read_only: 'no', password: 'ari-secret-1', password_format: 'plain' });
    const ami = section(file(files, 'manager.conf'), 'ami.user');
    expect(ami.secret).toBe('ami-secret-2');
    // Command, Reload, PJSIPShowEndpoints and Originate need these write classes.
    expect(ami.write?.split(',')).toEqual(expect.arrayContaining(['command', 'system', 'config', 'originate']));
    expect(file(files, 'extensions.conf')).toContain('Stasis(county-app,inbound,${EXTEN})');
    // The dev defaults must not leak into a config that overrides them.
    expect([...files.values()].join('\n')).not.toContain('liandong-dev-ari');
  });

  it('raises the HTTP session limit above the silent-hang default of 100', () => {
    expect(section(file(renderAsteriskConfigs(dev), 'http.conf'), 'general').sessionlimit).toBe('1000');
  });

  it('loads only listed modules, including ARI, PJSIP and real-time timing', () => {
    const modules = file(renderAsteriskConfigs(dev), 'modules.conf');
    expect(section(modules, 'modules').autoload).toBe('no');
    for (const m of ['res_ari.so', 'res_ari_channels.so', 'app_stasis.so', 'chan_pjsip.so', 'res_http_media_cache.so', 'res_timing_timerfd.so', 'app_senddtmf.so']) {
      expect(modules).toMatch(new RegExp(`^load => ${m.replace('.', '\\.')}`, 'm'));
    }
  });

  it('includes the sim-phones context only when simPhones is true', () => {
    const withSim = file(renderAsteriskConfigs(loadConfig({ LIANDONG_SIM_PHONES: 'true' }, 'dev')), 'extensions.conf');
    const without = file(renderAsteriskConfigs(loadConfig({ LIANDONG_SIM_PHONES: 'false' }, 'dev')), 'extensions.conf');
    expect(withSim).toMatch(/^\[sim-phones\]$/m);
    expect(withSim).toMatch(/^exten => _74X,1,/m);
    expect(without).not.toMatch(/^\[sim-phones\]$/m);
    expect(without).not.toMatch(/^exten => _74X,/m);
    for (const text of [withSim, without]) expect(text).toMatch(/^\[liandong-stasis\]$/m);
  });

  it('is pure: the same config renders the same text', () => {
    expect(renderAsteriskConfigs(dev)).toEqual(renderAsteriskConfigs(dev));
  });

  it('fails on an unknown placeholder, naming the file and placeholder', () => {
    const templates = loadTemplates();
    templates.set('rtp.conf', '[general]\nrtpstart = {{rtp_start}}\n');
    expect(() => renderAsteriskConfigs(dev, templates)).toThrow('rtp.conf: unknown placeholder {{rtp_start}}');
  });

  it('fails on a missing template', () => {
    const templates = loadTemplates();
    templates.delete('ari.conf');
    expect(() => renderAsteriskConfigs(dev, templates)).toThrow('ari.conf: template missing');
  });

  it('refuses a value containing a line break (it would inject config lines)', () => {
    // loadConfig already refuses such values, so build the Config by hand as a caller might.
    const evil: Config = { ...dev, ari: { ...dev.ari, password: 'secret123\n[admin]' } };
    expect(() => renderAsteriskConfigs(evil)).toThrow('ari.conf: the value of {{ari_password}} contains a line break or NUL');
    expect(() => renderTemplate('x.conf', 'a={{v}}', { v: 'one\rtwo' })).toThrow('x.conf: the value of {{v}}');
  });

  it('refuses malformed and empty placeholders', () => {
    expect(() => renderTemplate('x.conf', 'a={{ not valid }}', { v: '1' })).toThrow('x.conf: malformed placeholder');
    expect(() => renderTemplate('x.conf', 'a={{v}}', { v: '' })).toThrow('x.conf: placeholder {{v}} has no value');
    expect(renderTemplate('x.conf', 'a={{ v }} ${EXTEN}', { v: '1' })).toBe('a=1 ${EXTEN}');
  });
});

describe('liandong asterisk render --out', () => {
  it('writes the rendered files to the directory', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-render-'));
    const lines: string[] = [];
    try {
      expect(await runAsteriskCli(['render', '--out', dir], dev, (l) => lines.push(l))).toBe(0);
      const rendered = renderAsteriskConfigs(dev);
      expect(fs.readdirSync(dir).sort()).toEqual([...rendered.keys()].sort());
      expect(fs.readFileSync(path.join(dir, 'ari.conf'), 'utf8')).toBe(rendered.get('ari.conf'));
      expect(lines.join('\n')).toContain(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 with usage when --out is missing or the command is unknown', async () => {
    const lines: string[] = [];
    expect(await runAsteriskCli(['render'], dev, (l) => lines.push(l))).toBe(2);
    expect(lines[0]).toBe('error: render needs --out DIR');
    expect(await runAsteriskCli(['frobnicate'], dev, () => undefined)).toBe(2);
  });
});
