// Telecom admin tools against the real Asterisk 22 and a real SIP phone (baresip, Debian's
// package): check refuses a broken template and leaves the running dialplan alone; reload adds an
// extension without dropping a call in progress; `endpoints` shows baresip registered and
// reachable; a test call gets the key baresip sends; a live policy dry run dials the simulated
// phones. Reloads use the global setup's configuration (what `asterisk up` renders), and the
// last step puts the shipped configuration back, so the next `asterisk up` finds it unchanged.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/admin/audit.js';
import { adminCommand } from '../../src/admin/cli.js';
import { reloadDialplan } from '../../src/admin/dialplan-reload.js';
import type { EndpointStatus } from '../../src/admin/endpoints.js';
import type { LiveRun } from '../../src/admin/policy-live.js';
import type { TestCallReport } from '../../src/admin/test-call.js';
import { asteriskPaths } from '../../src/asterisk/types.js';
import type { Services } from '../../src/composition.js';
import { createAdminRoutes } from '../../src/http/admin.routes.js';
import { buildApp } from '../../src/http/app.js';
import { configFromProcess } from '../../src/config.js';
import { ARTIFACTS, channelId, EventLog, startServices } from './support.js';
import { healthyProbe } from '../support/health.js';

const ADMIN = { authorization: 'Bearer dev-admin-token' };
const EXTENSION = '8091';
const PASSWORD = `baresip-${process.pid}-secret`;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-admin-it-'));
const telephonyFile = path.join(scratch, 'telephony.json');
/** What the global setup gave `asterisk up` (the Stasis app of the shipped dialplan included), with a scratch database for the CLI. */
const base = configFromProcess('dev', { LIANDONG_DB: path.join(scratch, 'cli.db') });
const etcDir = asteriskPaths(base).etcDir;

let s: Services;
let phone: Baresip | undefined;
const lines: string[] = [];
/** Collects a command's output, and keeps it in tests/artifacts/admin-cli.log for reading. */
const out = (l: string): void => {
  lines.push(l);
  fs.appendFileSync(path.join(ARTIFACTS, 'admin-cli.log'), `${l}\n`);
};

beforeAll(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.writeFileSync(path.join(ARTIFACTS, 'admin-cli.log'), '');
  fs.writeFileSync(telephonyFile, JSON.stringify({
    trunk: null,
    extensions: [{ number: EXTENSION, departmentId: 'water-supply', label: 'baresip test phone', password: PASSWORD }],
    feedbackNumbers: ['96110'],
  }));
  // Outbound through liandong-outbound: extensions ring their phone, sim-phones numbers come next.
  s = await startServices('admin-telephony', { LIANDONG_DIAL_TEMPLATE: 'Local/{number}@liandong-outbound' });
}, 60_000);

afterAll(async () => {
  await phone?.stop();
  if (s) {
    // Back to the shipped config/telephony.json, as `asterisk up` renders it.
    const restored = await reloadDialplan(base, { ami: s.ami, audit: new AuditLog(s.store), actor: 'test:restore' });
    expect(['reloaded', 'unchanged'], restored.reason).toContain(restored.status);
    await s.close();
  }
  fs.rmSync(scratch, { recursive: true, force: true });
}, 60_000);

const api = <T>(method: 'GET' | 'POST', url: string, payload?: object) =>
  s.app.inject({ method, url, headers: ADMIN, ...(payload ? { payload } : {}) }).then((r) => ({ status: r.statusCode, body: r.json<T>() }));
const liveFiles = () => Object.fromEntries(['pjsip.conf', 'extensions.conf'].map((f) => [f, fs.readFileSync(path.join(etcDir, f), 'utf8')]));

describe('dialplan check and reload', () => {
  it('check refuses a broken template with file:line messages, and the running dialplan is untouched', async () => {
    const broken = path.join(scratch, 'dialplans');
    fs.cpSync('dialplans', broken, { recursive: true });
    const edit = (file: string, from: string, to: string) => {
      const p = path.join(broken, file);
      fs.writeFileSync(p, fs.readFileSync(p, 'utf8').replace(from, to));
    };
    edit('extensions.conf', ' same => n,Dial(PJSIP/{{ext_number}})', ' same => n,Dial(PJSIP/{{ext_number}}');
    edit('pjsip.conf', 'rewrite_contact = yes', 'rewrite_contakt = yes'); // only the running Asterisk's option list knows this one
    const filesBefore = liveFiles();
    const dialplanBefore = await s.ami.command('dialplan show liandong-outbound');

    lines.length = 0;
    expect(await adminCommand('dialplan')(['check', '--templates', broken, '--telephony', telephonyFile], base, out)).toBe(1);
    const lineOf = (file: string, needle: string) => fs.readFileSync(path.join(broken, file), 'utf8').split('\n').findIndex((l) => l.includes(needle)) + 1;
    const extLine = lineOf('extensions.conf', 'Dial(PJSIP/{{ext_number}}');
    expect(lines.find((l) => l.includes('closing'))).toMatch(new RegExp(`^error: ${broken}/extensions\\.conf:${extLine}: \\[liandong-outbound\\] same => n,Dial\\(PJSIP/8091: the closing "\\)" is missing \\(rendered extensions\\.conf:\\d+\\)$`));
    expect(lines).toContain(`error: ${path.join(broken, 'pjsip.conf')}:${lineOf('pjsip.conf', 'rewrite_contakt')}: [${EXTENSION}] type = endpoint: Asterisk has no option "rewrite_contakt" (did you mean rewrite_contact?) (rendered pjsip.conf:${/rendered pjsip\.conf:(\d+)/.exec(lines.join('\n'))?.[1] ?? '?'})`);

    // reload runs the same check first and installs nothing.
    const r = await reloadDialplan(base, { ami: s.ami, audit: new AuditLog(s.store), actor: 'test' }, { templatesDir: broken, telephonyFile });
    expect(r.status).toBe('refused');
    expect(r.check.problems.filter((p) => p.severity === 'error')).toHaveLength(2);
    expect(liveFiles()).toEqual(filesBefore);
    expect(await s.ami.command('dialplan show liandong-outbound')).toBe(dialplanBefore);
    expect(await s.ami.command(`pjsip show endpoint ${EXTENSION}`)).toContain('Unable to find object');
  });

  it('reload picks up a new extension through AMI, while a call in progress carries on', async () => {
    // A call up during the reload: the simulated phone 710 answers and stays silent.
    const live = channelId('admin-live');
    const events = new EventLog();
    await s.telephony.originate({ channelId: live, number: '710', ringTimeoutSeconds: 10 }, events.listener);
    await events.next('answered');

    const r = await reloadDialplan(base, { ami: s.ami, audit: new AuditLog(s.store), actor: 'cli:admin-test' }, { telephonyFile });
    expect(r).toMatchObject({ status: 'reloaded', endpointsAdded: [EXTENSION], endpointsRemoved: [], needsRestart: [] });
    expect(r.changed).toEqual(expect.arrayContaining(['pjsip.conf', 'extensions.conf']));
    expect(await s.ami.command(`pjsip show endpoint ${EXTENSION}`)).toMatch(new RegExp(`Endpoint:\\s+${EXTENSION}/`));
    expect(await s.ami.command(`dialplan show ${EXTENSION}@liandong-outbound`)).toContain(`Dial(PJSIP/${EXTENSION})`);

    expect(await s.telephony.listChannelIds()).toContain(live);
    expect(events.types()).not.toContain('hangup');
    await s.telephony.hangup(live);
    expect((await events.next('hangup')).cause.code).toBe(16);

    const audit = await api<{ entries: Array<{ actor: string; detail: Record<string, unknown> }> }>('GET', '/api/v1/admin/audit?action=dialplan.reload');
    expect(audit.body.entries[0]).toMatchObject({ actor: 'cli:admin-test', detail: { status: 'reloaded', endpointsAdded: [EXTENSION] } });
    expect(JSON.stringify(audit.body)).not.toContain(PASSWORD);
  });
});

describe('a real SIP phone on the extension', () => {
  it('endpoints shows the registered baresip as reachable', async () => {
    phone = await startBaresip(path.join(scratch, 'baresip'), EXTENSION, PASSWORD, sipTarget(base.asterisk.bindAddress, base.asterisk.sipPort));
    // Asterisk pings (OPTIONS) a contact as soon as it registers.
    // The admin routes as a site with its telephony config in another file would run them.
    const admin = await buildApp({
      config: s.config,
      logger: s.logger,
      health: healthyProbe(),
      apiRoutes: async (i) => i.register(createAdminRoutes({ telephonyFile }), { core: s }),
    });
    let row: EndpointStatus | undefined;
    await expect.poll(async () => {
      const res = await admin.inject({ method: 'GET', url: '/api/v1/admin/endpoints', headers: ADMIN });
      row = res.json<{ endpoints: EndpointStatus[] }>().endpoints.find((e) => e.name === EXTENSION);
      return row?.reachable;
    }, { timeout: 15_000, interval: 300 }).toBe(true);
    expect(row).toMatchObject({ kind: 'extension', departmentId: 'water-supply', registered: true, contacts: [{ status: 'Avail' }] });
    expect(row?.contacts[0]?.uri).toMatch(new RegExp(`^sip:${EXTENSION}.*@127\\.0\\.0\\.1:${phone.sipPort}`));
    expect(row?.contacts[0]?.rttMs).toBeGreaterThan(0);
    await admin.close();

    lines.length = 0;
    expect(await adminCommand('endpoints')(['--telephony', telephonyFile], base, out)).toBe(0);
    expect(lines.find((l) => l.startsWith(EXTENSION))).toMatch(/^8091\s+extension\s+water-supply\s+yes\s+yes\s+\d+\.\d ms\s/);
  });

  it('a test call to baresip gets the key it sends, with timings; a wrong key fails', async () => {
    if (!phone) throw new Error('baresip did not start');
    phone.answerWithKey('1');
    const passed = await api<TestCallReport>('POST', '/api/v1/admin/test-call', { target: EXTENSION, expectKey: '1' });
    expect(passed.status).toBe(200);
    expect(passed.body, JSON.stringify(passed.body)).toMatchObject({ result: 'passed', passed: true, key: '1', expectKey: '1', number: '**91' });
    const t = passed.body.timings;
    expect(t.answeredMs).toBeGreaterThan(0);
    expect(t.promptStartedMs).toBeGreaterThanOrEqual(t.answeredMs ?? 0);
    expect(t.keyAfterPromptMs).toBeGreaterThan(500); // baresip sends it 1 s after the call is up
    expect(t.totalMs).toBeGreaterThan((t.promptStartedMs ?? 0) + (t.keyAfterPromptMs ?? 0));

    // The command line goes through the running service (it owns the ARI connection).
    phone.answerWithKey('1');
    lines.length = 0;
    expect(await adminCommand('test-call')([EXTENSION, '--expect-key', '1'], s.config, out)).toBe(0);
    expect(lines[0]).toMatch(/^test call to \*\*91 \(channel testcall-[0-9a-z]+-[0-9a-f]+\): PASSED$/);

    phone.answerWithKey('1');
    const wrong = await api<TestCallReport>('POST', '/api/v1/admin/test-call', { target: EXTENSION, expectKey: '2' });
    expect(wrong.body).toMatchObject({ result: 'wrong_key', passed: false, key: '1', message: 'answered; key 1 pressed, 2 was expected' });

    const audit = await api<{ entries: Array<{ actor: string; detail: { result: string } }> }>('GET', '/api/v1/admin/audit?action=test_call');
    expect(audit.body.entries.map((e) => e.detail.result)).toEqual(['wrong_key', 'passed', 'passed']);
  }, 60_000);
});

describe('dispatch to the IP phone', () => {
  it('an order for a department whose contact is the extension rings baresip, and its 1 accepts', async () => {
    if (!phone) throw new Error('baresip did not start');
    const desk = { authorization: 'Bearer dev-desk-token' };
    const dept = (await s.app.inject({ method: 'GET', url: '/api/v1/departments', headers: desk })).json<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>()
      .departments.find((d) => d.id === 'gas-supply');
    const put = await s.app.inject({
      method: 'PUT', url: '/api/v1/departments/gas-supply', headers: ADMIN,
      payload: { name: dept?.name, categories: dept?.categories, contacts: [{ id: 'duty-ip', name: '值班室IP话机', number: EXTENSION, priority: 1 }], policy: { attemptsPerContact: 1, chainLoops: 0, ringTimeoutSeconds: 10 } },
    });
    expect(put.statusCode, put.body).toBe(200);
    phone.answerWithKey('1');
    const order = await s.app.inject({
      method: 'POST', url: '/api/v1/orders', headers: desk,
      payload: { externalId: `admin-it-${Date.now()}`, category: dept?.categories[0], departmentId: 'gas-supply', summary: '水管爆裂', address: '城关镇', reporterPhone: '13800138000', urgency: 'urgent' },
    });
    expect(order.statusCode, order.body).toBe(201);
    const id = order.json<{ id: string }>().id;
    await expect.poll(() => s.dispatcher.isLive(id), { timeout: 45_000, interval: 250 }).toBe(false);
    const record = (await s.app.inject({ method: 'GET', url: `/api/v1/orders/${id}`, headers: desk })).json<{ status: string; attempts: Array<{ contactId: string; result: string; digits: string }> }>();
    expect(record.status).toBe('accepted');
    expect(record.attempts).toEqual([expect.objectContaining({ contactId: 'duty-ip', result: 'accepted', digits: '1' })]);
  }, 60_000);
});

describe('policy dry run against the simulated phones', () => {
  it('a live run dials the sim-phones and ends as the simulation says', async () => {
    const payload = {
      departmentId: 'water-supply',
      policy: { attemptsPerContact: 1, chainLoops: 0, ringTimeoutSeconds: 3, retryDelaySeconds: 0 },
      phones: { 'duty-room': 'busy', backup: 'accept' },
    };
    const simulated = await api<{ status: string; calls: number }>('POST', '/api/v1/admin/policy/dry-run', payload);
    const started = await api<LiveRun>('POST', '/api/v1/admin/policy/dry-run', { ...payload, mode: 'live' });
    expect(started.status).toBe(202);
    let run = started.body;
    await expect.poll(async () => (run = (await api<LiveRun>('GET', `/api/v1/admin/policy/dry-run/${run.runId}`)).body).status, { timeout: 45_000, interval: 500 }).toBe('finished');
    expect(run.report, JSON.stringify(run)).toMatchObject({ mode: 'live', status: simulated.body.status, calls: simulated.body.calls });
    const texts = run.report?.timeline.map((l) => l.text) ?? [];
    expect(texts).toEqual(expect.arrayContaining(['call 1 ends: busy (cause 17)', '  备班值班员 presses 1: accepts', 'ORDER ACCEPTED by 备班值班员']));
    expect(texts.find((t) => t.startsWith('call 2 rings'))).toContain('(***11)'); // 70511, the sim phone that accepts
    // The scratch order never reached the real case records (only the IP-phone order above is there).
    const orders = (await s.app.inject({ method: 'GET', url: '/api/v1/orders', headers: { authorization: 'Bearer dev-desk-token' } })).json<{ orders: Array<{ externalId: string }> }>().orders;
    expect(orders.map((o) => o.externalId)).not.toContainEqual(expect.stringMatching(/^dry-run-/));
    expect(orders).toHaveLength(1);
  }, 60_000);
});

// ---- baresip: Debian's SIP phone, run with its own config folder and stopped afterwards ----

interface Baresip {
  readonly sipPort: number;
  /** Answer (auto) the next call, then press `key` (RFC 4733) one second after it is established. */
  answerWithKey(key: string): void;
  stop(): Promise<void>;
}

/**
 * Where a phone on this host reaches the test Asterisk's SIP transport (ASTERISK_BIND and
 * SIP_PORT of the test config): a wildcard bind is reached on loopback; IPv6 goes in brackets.
 */
function sipTarget(bindAddress: string, port: number): string {
  const host = bindAddress === '0.0.0.0' ? '127.0.0.1' : bindAddress === '::' ? '::1' : bindAddress;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

async function startBaresip(dir: string, user: string, password: string, asterisk: string): Promise<Baresip> {
  fs.mkdirSync(dir, { recursive: true });
  const [sipPort, ctrlPort] = [await freePort(), await freePort()];
  // baresip hangs up when its audio file ends: long enough to hear a whole order and confirmation.
  fs.writeFileSync(path.join(dir, 'silence.wav'), silentWav(60));
  fs.writeFileSync(path.join(dir, 'config'), [
    'poll_method epoll',
    `sip_listen 127.0.0.1:${sipPort}`,
    `audio_source aufile,${path.join(dir, 'silence.wav')}`,
    `audio_player aufile,${path.join(dir, 'played.wav')}`,
    `audio_alert aufile,${path.join(dir, 'alert.wav')}`,
    'module_path /usr/lib/baresip/modules',
    'module g711.so',
    'module aufile.so',
    'module_app account.so',
    'module_app menu.so', // provides the sndcode command
    'module_app ctrl_tcp.so',
    `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
    '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'accounts'), `<sip:${user}@${asterisk};transport=udp>;auth_pass=${password};answermode=auto;regint=60\n`);
  const log = fs.openSync(path.join(ARTIFACTS, 'baresip.log'), 'w');
  const proc: ChildProcess = spawn('baresip', ['-f', dir], { stdio: ['ignore', log, log] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const socket = await connectRetry(ctrlPort, 10_000);
  let pendingKey: string | undefined;
  let buffer = '';
  const send = (command: string, params: string): void => {
    const msg = JSON.stringify({ command, params, token: command });
    socket.write(`${Buffer.byteLength(msg)}:${msg},`);
  };
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    for (let m = /^(\d+):/.exec(buffer); m; m = /^(\d+):/.exec(buffer)) {
      const len = Number(m[1]);
      const start = (m[1] ?? '').length + 1;
      if (buffer.length < start + len + 1) break;
      const event = JSON.parse(buffer.slice(start, start + len)) as { type?: string };
      buffer = buffer.slice(start + len + 1);
      if (event.type === 'CALL_ESTABLISHED' && pendingKey !== undefined) {
        const key = pendingKey;
        pendingKey = undefined;
        setTimeout(() => send('sndcode', key), 1000);
      }
    }
  });
  return {
    sipPort,
    answerWithKey: (key) => void (pendingKey = key),
    async stop() {
      socket.destroy();
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
      fs.closeSync(log);
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function connectRetry(port: number, timeoutMs: number): Promise<net.Socket> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1', () => resolve(sock));
        sock.once('error', reject);
      });
    } catch (err) {
      if (Date.now() > until) throw new Error(`baresip's ctrl_tcp did not open port ${port}: ${(err as Error).message} (see tests/artifacts/baresip.log)`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** 8 kHz, 16-bit mono PCM WAV of silence (baresip's aufile source). */
function silentWav(seconds: number): Buffer {
  const data = 8000 * 2 * seconds;
  const b = Buffer.alloc(44 + data);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + data, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(8000, 24);
  b.writeUInt32LE(16000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(data, 40);
  return b;
}
