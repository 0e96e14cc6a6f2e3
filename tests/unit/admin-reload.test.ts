// `dialplan reload` against a folder and a fake Asterisk whose answers come from the files it
// was told to reload — the paths the real one cannot be made to take: refusal, nothing to do,
// a reload that does not take (rolled back), files that need a restart.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/admin/audit.js';
import { parseConf } from '../../src/admin/conf-parse.js';
import { dialplanContexts } from '../../src/admin/dialplan-lint.js';
import { reloadDialplan, type AmiPort } from '../../src/admin/dialplan-reload.js';
import { lintPjsip } from '../../src/admin/pjsip-lint.js';
import { validateTelephonyConfig, type TelephonyConfig } from '../../src/admin/telephony-config.js';
import { renderAsteriskConfigs, templatesDir } from '../../src/asterisk/render.js';
import { loadConfig } from '../../src/config.js';
import type { Store } from '../../src/db/store.js';
import { openTestStore } from '../support/engines.js';

const dev = loadConfig({}, 'dev');
const dirs: string[] = [];
const stores: Store[] = [];
afterEach(async () => {
  dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
  for (const store of stores.splice(0)) await store.close();
});

/** An audit log of its own; reload is not about the engine, so SQLite (the repository runs on both in admin-api). */
async function auditLog(): Promise<AuditLog> {
  const store = await openTestStore('sqlite');
  stores.push(store);
  return new AuditLog(store);
}

function tmp(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

function telephony(extensions: string[]): TelephonyConfig {
  const r = validateTelephonyConfig({ extensions: extensions.map((n) => ({ number: n, departmentId: 'water-supply', label: n, password: `password-${n}-ok` })) });
  if (!r.ok) throw new Error(r.problems.join());
  return r.value;
}

/** An Asterisk stand-in: what it "loaded" is what the etc folder held at its last reload. */
function fakeAsterisk(etc: string, opts: { forget?: string } = {}) {
  const reloads: string[] = [];
  let endpoints: string[] = [];
  let contexts: string[] = [];
  const load = () => {
    const pjsip = lintPjsip(parseConf(fs.readFileSync(path.join(etc, 'pjsip.conf'), 'utf8')), new Set());
    endpoints = pjsip.objects.filter((o) => o.type === 'endpoint' && o.name !== opts.forget).map((o) => o.name);
    contexts = [...dialplanContexts(parseConf(fs.readFileSync(path.join(etc, 'extensions.conf'), 'utf8')))];
  };
  const ami: AmiPort = {
    action: (a) => {
      reloads.push(a.Module ?? '');
      load();
      return Promise.resolve({ response: 'Success' });
    },
    command: (c) => {
      if (c === 'pjsip show endpoints') return Promise.resolve(endpoints.length ? endpoints.map((e) => ` Endpoint:  ${e}   Unavailable   0 of inf`).join('\n') : 'No objects found.\n');
      if (c === 'dialplan show') return Promise.resolve(contexts.map((x) => `[ Context '${x}' created by 'pbx_config' ]`).join('\n'));
      return Promise.reject(new Error(`no answer to ${c}`)); // the catalog: names are not checked here
    },
  };
  return { ami, reloads };
}

/** An etc folder holding what `asterisk up` would have installed for `t`. */
function liveEtc(t: TelephonyConfig): string {
  const etc = tmp('liandong-etc-');
  for (const [name, text] of renderAsteriskConfigs(dev, undefined, t)) fs.writeFileSync(path.join(etc, name), text);
  return etc;
}

const snapshot = (etc: string) => Object.fromEntries(fs.readdirSync(etc).map((f) => [f, fs.readFileSync(path.join(etc, f), 'utf8')]));

describe('reloadDialplan', () => {
  it('installs the changed files, reloads their modules, and logs who added what', async () => {
    const etc = liveEtc(telephony([]));
    const asterisk = fakeAsterisk(etc);
    const audit = await auditLog();
    const r = await reloadDialplan(dev, { ami: asterisk.ami, audit, actor: 'cli:tester' }, { etcDir: etc, telephony: telephony(['8091']) });
    expect(r).toMatchObject({ status: 'reloaded', changed: ['pjsip.conf', 'extensions.conf'], needsRestart: [], endpointsAdded: ['8091'], endpointsRemoved: [] });
    expect(asterisk.reloads).toEqual(['res_pjsip.so', 'res_pjsip_outbound_registration.so', 'res_pjsip_endpoint_identifier_ip.so', 'pbx_config']);
    expect(fs.readFileSync(path.join(etc, 'pjsip.conf'), 'utf8')).toMatch(/^\[8091\]$/m);
    expect(fs.statSync(path.join(etc, 'pjsip.conf')).mode & 0o777).toBe(0o640);
    const [entry] = (await audit.list()).entries;
    expect(entry).toMatchObject({ actor: 'cli:tester', action: 'dialplan.reload', detail: { status: 'reloaded', endpointsAdded: ['8091'], extensions: 1 } });
    expect(JSON.stringify(entry)).not.toContain('password-8091-ok');
  });

  it('does nothing when the files are already live', async () => {
    const etc = liveEtc(telephony(['8091']));
    const asterisk = fakeAsterisk(etc);
    const r = await reloadDialplan(dev, { ami: asterisk.ami, audit: await auditLog(), actor: 't' }, { etcDir: etc, telephony: telephony(['8091']) });
    expect(r.status).toBe('unchanged');
    expect(asterisk.reloads).toEqual([]);
  });

  it('refuses a broken template and leaves every live file as it was', async () => {
    const etc = liveEtc(telephony([]));
    const before = snapshot(etc);
    const broken = tmp('liandong-tpl-');
    fs.cpSync(templatesDir(), broken, { recursive: true });
    const file = path.join(broken, 'extensions.conf');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('include => liandong-trunk', 'include => liandong-trunc'));
    const asterisk = fakeAsterisk(etc);
    const audit = await auditLog();
    const r = await reloadDialplan(dev, { ami: asterisk.ami, audit, actor: 't' }, { etcDir: etc, templatesDir: broken, telephony: { ...telephony(['8091']), trunk: { id: 'carrier', mode: 'ip', host: '203.0.113.1', port: 5060, match: ['203.0.113.1'], codecs: ['alaw'], qualifySeconds: 60 } } });
    expect(r.status).toBe('refused');
    expect(r.check.problems.filter((p) => p.severity === 'error').map((p) => p.message)).toEqual(['[liandong-outbound] include => liandong-trunc: there is no context [liandong-trunc] to include']);
    expect(snapshot(etc)).toEqual(before);
    expect(asterisk.reloads).toEqual([]);
    expect((await audit.list()).entries[0]?.detail).toMatchObject({ status: 'refused', errors: [expect.stringContaining('include => liandong-trunc')] });
  });

  it('puts the previous files back when Asterisk does not show the new objects', async () => {
    const etc = liveEtc(telephony([]));
    const before = snapshot(etc);
    const asterisk = fakeAsterisk(etc, { forget: '8092' });
    const r = await reloadDialplan(dev, { ami: asterisk.ami, audit: await auditLog(), actor: 't' }, { etcDir: etc, telephony: telephony(['8091', '8092']) });
    expect(r.status).toBe('rolled_back');
    expect(r.reason).toBe('after the reload Asterisk does not list the endpoint(s) 8092; the previous files were put back and reloaded');
    expect(snapshot(etc)).toEqual(before);
    expect(asterisk.reloads.filter((m) => m === 'res_pjsip.so')).toHaveLength(2);
  });

  it('leaves files that only a restart applies for `asterisk up`', async () => {
    const etc = liveEtc(telephony([]));
    fs.writeFileSync(path.join(etc, 'http.conf'), '; older http.conf\n');
    const r = await reloadDialplan(dev, { ami: fakeAsterisk(etc).ami, audit: await auditLog(), actor: 't' }, { etcDir: etc, telephony: telephony(['8091']) });
    expect(r).toMatchObject({ status: 'reloaded', changed: ['pjsip.conf', 'extensions.conf'], needsRestart: ['http.conf'] });
    expect(fs.readFileSync(path.join(etc, 'http.conf'), 'utf8')).toBe('; older http.conf\n');
  });
});
