// `dialplan check` without Asterisk: the .conf reader, the pjsip.conf and extensions.conf checks,
// the parsers of Asterisk's own help output, and the whole check on a broken template copy.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closest, parseApplications, parseConfigOptions, parseFunctions, type AsteriskCatalog } from '../../src/admin/asterisk-catalog.js';
import { parseConf } from '../../src/admin/conf-parse.js';
import { checkDialplan, formatProblem } from '../../src/admin/dialplan-check.js';
import { dialplanContexts, lintDialplan, splitTop } from '../../src/admin/dialplan-lint.js';
import { lintPjsip } from '../../src/admin/pjsip-lint.js';
import { validateTelephonyConfig } from '../../src/admin/telephony-config.js';
import { templatesDir } from '../../src/asterisk/render.js';
import { loadConfig } from '../../src/config.js';

const dev = loadConfig({}, 'dev');

/** Real Asterisk 22 output, shortened. */
const APPS = `    -= Registered Asterisk Applications =-
                Answer: Answer a channel if ringing.
                  Dial: Attempt to connect to another device or endpoint and bridge the call.
              SendDTMF: Sends arbitrary DTMF digits
    -= 3 Applications Registered =-`;
const FUNCS = `Installed Custom Functions:
--------------------------------------------------------------------------------
CALLERID              CALLERID(datatype[,CID])             Gets or sets Caller*ID data on the channel.
LEN                   LEN(string)                          Return the length of the string given.
2 custom functions installed.`;
const HELP = `[Synopsis]
Endpoint

[Config Options]
100rel                    -- Allow support for RFC3262 provisional ACK tags
allow                     -- Media Codec(s) to allow
aors                      -- AoR(s) to be used with the endpoint
`;

/** A catalog that knows what the shipped templates use (names checked against a real Asterisk in the integration tests). */
function catalog(extra: Partial<Record<string, string[]>> = {}): AsteriskCatalog {
  const apps = ['NoOp', 'Stasis', 'Hangup', 'Goto', 'GotoIf', 'Dial', 'Answer', 'Wait', 'Set', 'Verbose', 'SendDTMF', 'Ringing'];
  const options: Record<string, string[]> = {
    global: ['type', 'user_agent', 'endpoint_identifier_order'],
    transport: ['type', 'protocol', 'bind'],
    endpoint: ['type', 'transport', 'context', 'aors', 'auth', 'outbound_auth', 'disallow', 'allow', 'dtmf_mode', 'direct_media', 'rtp_symmetric', 'force_rport', 'rewrite_contact', 'callerid', 'send_pai', 'trust_id_outbound', 'from_user', 'from_domain'],
    auth: ['type', 'auth_type', 'username', 'password'],
    aor: ['type', 'contact', 'max_contacts', 'remove_existing', 'qualify_frequency', 'qualify_timeout'],
    registration: ['type', 'transport', 'outbound_auth', 'server_uri', 'client_uri', 'contact_user', 'expiration', 'retry_interval', 'forbidden_retry_interval', 'max_retries', 'line', 'endpoint'],
    identify: ['type', 'endpoint', 'match'],
    ...extra,
  };
  return {
    applications: new Map(apps.map((a) => [a.toLowerCase(), a])),
    functions: new Set(['callerid', 'len']),
    pjsipOptions: new Map(Object.entries(options).map(([t, o]) => [t, new Set(o ?? [])])),
  };
}

const telephony = (() => {
  const r = validateTelephonyConfig({
    trunk: { id: 'carrier', mode: 'registration', host: 'sip.example.cn', username: 'county', password: 'trunk-pass-123' },
    extensions: [{ number: '8001', departmentId: 'water-supply', label: 'x', password: 'ext-8001-password' }],
    feedbackNumbers: ['96110'],
  });
  if (!r.ok) throw new Error(r.problems.join());
  return r.value;
})();

const scratch: string[] = [];
afterAll(() => scratch.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A copy of dialplans/ with `edit` applied to one template. */
function brokenTemplates(file: string, edit: (text: string) => string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-tpl-'));
  scratch.push(dir);
  fs.cpSync(templatesDir(), dir, { recursive: true });
  const p = path.join(dir, file);
  const before = fs.readFileSync(p, 'utf8');
  const after = edit(before);
  if (after === before) throw new Error(`the edit changed nothing in ${file}`);
  fs.writeFileSync(p, after);
  return dir;
}

/** The 1-based line of `needle` in a template of the folder. */
function lineOf(dir: string, file: string, needle: string): number {
  return fs.readFileSync(path.join(dir, file), 'utf8').split('\n').findIndex((l) => l.includes(needle)) + 1;
}

describe('.conf reader', () => {
  it('reads sections, templates, both arrows, comments and block comments', () => {
    const c = parseConf('[a](!)\nx = 1 ; note\n;-- block\n[hidden]\n--;\n[b](a)\nexten => 1,1,NoOp(\\;x)\n');
    expect(c.problems).toEqual([]);
    expect(c.sections.map((s) => [s.name, s.isTemplate, s.inherits])).toEqual([['a', true, []], ['b', false, ['a']]]);
    expect(c.sections[1]?.entries[0]).toEqual({ key: 'exten', value: '1,1,NoOp(\\;x)', arrow: true, line: 7 });
  });

  it('reports unreadable lines, lines before any section, includes and unclosed block comments', () => {
    const c = parseConf('x = 1\n[a]\nthis is not a setting\n#include other.conf\n[broken\n;-- never closed\n');
    expect(c.problems.map((p) => p.line)).toEqual([1, 3, 4, 5, 6]);
    expect(c.problems[2]?.message).toContain('#include is not allowed');
  });
});

describe('pjsip.conf checks', () => {
  const lint = (text: string, contexts = ['liandong-extensions']) => lintPjsip(parseConf(text), new Set(contexts), catalog()).findings;

  it('accepts consistent objects', () => {
    expect(lint('[t]\ntype = transport\nbind = 0.0.0.0:5060\n[8001]\ntype = endpoint\ncontext = liandong-extensions\naors = 8001\nauth = 8001\n[8001]\ntype = aor\n[8001]\ntype = auth\npassword = x\n')).toEqual([]);
  });

  it.each([
    ['a missing type', '[x]\nallow = alaw\n', 1, '[x] has no "type = …"'],
    ['an unknown type', '[x]\ntype = endpiont\n', 2, 'unknown type "endpiont" (did you mean endpoint?)'],
    ['an option Asterisk does not have', '[x]\ntype = aor\nqualify_frequncy = 30\n', 3, 'Asterisk has no option "qualify_frequncy" (did you mean qualify_frequency?)'],
    ['an object defined twice', '[x]\ntype = aor\n[x]\ntype = aor\n', 3, 'defined twice (first on line 1)'],
    ['a reference to a missing aor', '[x]\ntype = endpoint\ncontext = liandong-extensions\naors = nope\n', 4, 'aors = nope: there is no [nope] with type = aor'],
    ['a context that extensions.conf lacks', '[x]\ntype = endpoint\ncontext = from-phones\n', 3, 'extensions.conf has no [from-phones] context'],
    ['an auth without password', '[x]\ntype = auth\nusername = u\n', 1, 'has no password'],
    ['a registration without server_uri', '[r]\ntype = registration\nclient_uri = sip:a@b\n', 1, 'needs server_uri'],
  ])('reports %s with its line', (_label, text, line, message) => {
    const found = lint(text);
    expect(found).toContainEqual({ line, message: expect.stringContaining(message) as string });
  });
});

describe('extensions.conf checks', () => {
  const lint = (text: string, endpoints = ['8001']) => lintDialplan(parseConf(text), new Set(endpoints), catalog());

  it('accepts the shipped sim-phones dialplan', () => {
    const sim = fs.readFileSync(path.join(templatesDir(), 'sim-phones.conf'), 'utf8');
    expect(lint(sim)).toEqual([]);
  });

  it.each([
    ['a missing closing parenthesis', '[c]\nexten => 1,1,Dial(PJSIP/8001\n', 'the closing ")" is missing'],
    ['a misspelt application', '[c]\nexten => 1,1,Dail(PJSIP/8001)\n', 'no application "Dail" (did you mean Dial?)'],
    ['an unknown function', '[c]\nexten => 1,1,NoOp(${CALERID(num)})\n', 'no function CALERID()'],
    ['an unbalanced ${', '[c]\nexten => 1,1,NoOp(${EXTEN)\n', 'unbalanced ${…} expressions'],
    ['priority n before 1', '[c]\nexten => 1,n,NoOp()\n', 'priority n before any priority 1'],
    ['"same" without "exten"', '[c]\n same => n,NoOp()\n', 'needs an "exten =>" line before it'],
    ['a priority used twice', '[c]\nexten => 1,1,NoOp()\nexten => 1,1,NoOp()\n', 'priority 1 of 1 is used twice'],
    ['an extension defined twice', '[c]\nexten => 1,1,NoOp()\nexten => 2,1,NoOp()\nexten => 1,1,NoOp()\n', 'extension 1 already starts on line 2'],
    ['an include of a missing context', '[c]\ninclude => nowhere\n', 'there is no context [nowhere] to include'],
    ['a Goto to a missing context', '[c]\nexten => 1,1,Goto(nowhere,s,1)\n', 'goes to context [nowhere]'],
    ['a Dial to an undefined endpoint', '[c]\nexten => 1,1,Dial(PJSIP/9999)\n', 'Dial to PJSIP endpoint "9999"'],
    ['a Dial over an undefined trunk', '[c]\nexten => _X!,1,Dial(PJSIP/${EXTEN}@carier)\n', 'Dial to PJSIP endpoint "carier"'],
    ['a bad extension pattern', '[c]\nexten => 1 2,1,NoOp()\n', 'is not a valid extension'],
    ['an unknown statement', '[c]\nexen => 1,1,NoOp()\n', '"exen" is not a dialplan statement'],
  ])('reports %s', (_label, text, message) => {
    expect(lint(text).map((f) => f.message).join('\n')).toContain(message);
  });

  it('splits arguments on top-level commas only', () => {
    expect(splitTop('a,$[${X} = 1]?b,c', 99)).toEqual(['a', '$[${X} = 1]?b', 'c']);
    expect(splitTop('1,1,Set(A=${B:1,2})', 3)).toEqual(['1', '1', 'Set(A=${B:1,2})']);
    expect(dialplanContexts(parseConf('[general]\n[globals]\n[a]\n[b]\n'))).toEqual(new Set(['a', 'b']));
  });
});

describe('Asterisk help parsers', () => {
  it('reads applications, functions and option names from the CLI output', () => {
    expect([...parseApplications(APPS).values()]).toEqual(['Answer', 'Dial', 'SendDTMF']);
    expect([...parseFunctions(FUNCS)]).toEqual(['callerid', 'len']);
    expect([...parseConfigOptions(HELP)]).toEqual(['100rel', 'allow', 'aors']);
    expect(parseConfigOptions('Unknown configuration type x').size).toBe(0);
  });

  it('suggests a close name only when it is close', () => {
    expect(closest('Dail', ['Dial', 'Wait'])).toBe('Dial');
    expect(closest('rewrite_contakt', ['rewrite_contact', 'contact'])).toBe('rewrite_contact');
    expect(closest('Foo', ['Goto', 'Dial'])).toBeUndefined();
  });
});

describe('checkDialplan', () => {
  it('passes the shipped templates with a trunk and an extension', async () => {
    const r = await checkDialplan(dev, { telephony, catalog: () => Promise.resolve(catalog()), departmentIds: new Set(['water-supply']) });
    expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.asteriskChecked).toBe(true);
    expect(r.pjsipObjects.filter((o) => o.type === 'endpoint').map((o) => o.name).sort()).toEqual(['8001', 'carrier']);
    expect(r.scratchDir).toBeNull();
  });

  it('refuses a broken template, pointing at the template line and the rendered line', async () => {
    const dir = brokenTemplates('extensions.conf', (t) => t.replace(' same => n,Dial(PJSIP/{{ext_number}})', ' same => n,Dial(PJSIP/{{ext_number}}'));
    const r = await checkDialplan(dev, { telephony, templatesDir: dir, catalog: () => Promise.resolve(catalog()) });
    expect(r.ok).toBe(false);
    const errors = r.problems.filter((p) => p.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: path.join(dir, 'extensions.conf'), line: lineOf(dir, 'extensions.conf', 'Dial(PJSIP/{{ext_number}}'), rendered: { file: 'extensions.conf' } });
    expect(formatProblem(errors[0] as (typeof errors)[0])).toMatch(/^error: .*extensions\.conf:\d+: \[liandong-outbound\] same => n,Dial\(PJSIP\/8001: the closing "\)" is missing \(rendered extensions\.conf:\d+\)$/);
  });

  it('refuses an unknown placeholder before rendering anything', async () => {
    const dir = brokenTemplates('pjsip.conf', (t) => t.replace('allow = {{ext_codecs}}', 'allow = {{ext_codec}}'));
    const r = await checkDialplan(dev, { telephony, templatesDir: dir });
    expect(r.problems.filter((p) => p.severity === 'error')).toEqual([{ severity: 'error', file: path.join(dir, 'pjsip.conf'), line: lineOf(dir, 'pjsip.conf', '{{ext_codec}}'), message: 'unknown placeholder {{ext_codec}}' }]);
    expect(r.rendered.size).toBe(0);
  });

  it('reports telephony config problems by field, and unknown departments', async () => {
    const bad = await checkDialplan(dev, { telephonyFile: '/nonexistent.json' });
    expect(bad.problems).toEqual([{ severity: 'error', file: '/nonexistent.json', message: 'file not found' }]);
    const unknownDept = await checkDialplan(dev, { telephony, departmentIds: new Set(['tourism']) });
    expect(unknownDept.problems.map(formatProblem)).toContain('error: config/telephony.json: extensions[0].departmentId: there is no member department "water-supply"');
  });

  it('warns, without failing, when Asterisk cannot be asked or the dial template bypasses the extensions', async () => {
    const r = await checkDialplan(dev, { telephony, catalog: () => Promise.reject(new Error('AMI connect ECONNREFUSED')) });
    expect(r.ok).toBe(true);
    expect(r.asteriskChecked).toBe(false);
    const warnings = r.problems.map(formatProblem);
    expect(warnings).toContain('warning: asterisk: the running Asterisk did not answer (AMI connect ECONNREFUSED); application, function and PJSIP option names were not checked');
    expect(warnings.some((w) => w.startsWith('warning: LIANDONG_DIAL_TEMPLATE: is "Local/{number}@sim-phones"'))).toBe(true);
  });

  it('keeps the scratch folder, private, only when asked', async () => {
    const r = await checkDialplan(dev, { telephony, keepScratch: true });
    expect(r.scratchDir).not.toBeNull();
    const dir = r.scratchDir as string;
    scratch.push(dir);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.readFileSync(path.join(dir, 'pjsip.conf'), 'utf8')).toBe(r.rendered.get('pjsip.conf'));
  });
});
