// Rendering of the carrier trunk, extensions and feedback numbers into pjsip.conf and
// extensions.conf, and the {{#section}} template syntax with its line origins.
import { describe, expect, it } from 'vitest';
import { parseConf, type ConfSection } from '../../src/admin/conf-parse.js';
import { validateTelephonyConfig, type TelephonyConfig } from '../../src/admin/telephony-config.js';
import { loadTemplates, renderAsteriskConfigs, renderAsteriskConfigsMapped, renderTemplate, renderTemplateMapped, TemplateError } from '../../src/asterisk/render.js';
import { loadConfig } from '../../src/config.js';

const dev = loadConfig({}, 'dev');
const prod = loadConfig(
  { ARI_USERNAME: 'liandong', ARI_PASSWORD: 'a-long-secret', AMI_USERNAME: 'liandong', AMI_SECRET: 'another-secret', LIANDONG_API_TOKENS: 'admin:admin-token-123456', LIANDONG_DIAL_TEMPLATE: 'Local/{number}@liandong-outbound' },
  'production',
);

function telephony(raw: unknown): TelephonyConfig {
  const r = validateTelephonyConfig(raw);
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.value;
}

const FULL = telephony({
  trunk: { id: 'carrier', mode: 'registration', host: 'sip.carrier.example.cn', username: '057788880110', password: 'trunk-pass-123' },
  extensions: [
    { number: '8001', departmentId: 'water-supply', label: 'a', password: 'ext-8001-password' },
    { number: '8002', departmentId: 'power-supply', label: 'b', password: 'ext-8002-password', codecs: ['ulaw'] },
  ],
  feedbackNumbers: ['057788880110', '96110'],
});

/** Options of the object [name] with type = `type`. */
function object(sections: readonly ConfSection[], name: string, type: string): Record<string, string> | undefined {
  const s = sections.find((x) => x.name === name && x.entries.some((e) => e.key === 'type' && e.value === type));
  return s ? Object.fromEntries(s.entries.map((e) => [e.key, e.value])) : undefined;
}

function rendered(config = prod, t = FULL) {
  const files = renderAsteriskConfigs(config, loadTemplates(), t);
  const pjsip = parseConf(files.get('pjsip.conf') ?? '');
  const extensions = parseConf(files.get('extensions.conf') ?? '');
  expect(pjsip.problems).toEqual([]);
  expect(extensions.problems).toEqual([]);
  return { pjsip: pjsip.sections, extensions: extensions.sections, text: files };
}

describe('template sections', () => {
  it('repeats the lines between {{#list}} and {{/list}} per item, dropping the tag lines', () => {
    const t = 'head\n; {{#items}}\n[{{name}}]\nx = {{v}} {{g}}\n; {{/items}}\ntail\n';
    expect(renderTemplate('x.conf', t, { g: 'G', items: [{ name: 'a', v: '1' }, { name: 'b', v: '2' }] })).toBe('head\n[a]\nx = 1 G\n[b]\nx = 2 G\ntail\n');
    expect(renderTemplate('x.conf', t, { g: 'G', items: [] })).toBe('head\ntail\n');
  });

  it('nests sections and keeps each rendered line\'s template line', () => {
    const t = '{{#outer}}\no {{a}}\n{{#inner}}\ni {{a}}{{b}}\n{{/inner}}\n{{/outer}}\nend';
    const r = renderTemplateMapped('n.conf', t, { outer: [{ a: '1' }, { a: '2' }], inner: [{ b: 'x' }] });
    expect(r.text).toBe('o 1\ni 1x\no 2\ni 2x\nend');
    expect(r.origins.map((o) => o?.line)).toEqual([2, 4, 2, 4, 7]);
  });

  it.each([
    ['an unclosed section', '{{#items}}\nx\n', '{{#items}} is never closed with {{/items}} (line 1)'],
    ['a close without an open', 'x\n{{/items}}\n', '{{/items}} closes no open section (line 2)'],
    ['a crossed close', '{{#items}}\n{{#other}}\n{{/items}}\n{{/other}}\n', '{{/items}} closes {{#other}}'],
    ['a tag in the middle of a line', 'x = 1 {{#items}}\n{{/items}}\n', 'must start its line'],
    ['an unknown section', '{{#nothing}}\n{{/nothing}}\n', 'unknown section {{#nothing}} (line 1)'],
    ['a list used as a value', 'x = {{items}}\n', '{{items}} is a list'],
  ])('refuses %s, naming the line', (_label, template, message) => {
    expect(() => renderTemplate('t.conf', template, { items: [{ v: '1' }], other: [] })).toThrow(message);
    expect(() => renderTemplate('t.conf', template, { items: [{ v: '1' }], other: [] })).toThrow(TemplateError);
  });
});

describe('carrier trunk, extensions and feedback numbers', () => {
  it('renders a registration trunk: registration, auth, endpoint and qualified aor', () => {
    const { pjsip } = rendered();
    expect(object(pjsip, 'carrier', 'registration')).toMatchObject({
      outbound_auth: 'carrier-auth', server_uri: 'sip:sip.carrier.example.cn:5060', client_uri: 'sip:057788880110@sip.carrier.example.cn:5060',
      contact_user: '057788880110', line: 'yes', endpoint: 'carrier', expiration: '3600',
    });
    expect(object(pjsip, 'carrier-auth', 'auth')).toMatchObject({ auth_type: 'digest', username: '057788880110', password: 'trunk-pass-123' });
    expect(object(pjsip, 'carrier', 'endpoint')).toMatchObject({
      context: 'liandong-inbound', aors: 'carrier', outbound_auth: 'carrier-auth', allow: 'alaw,ulaw', dtmf_mode: 'rfc4733', from_user: '057788880110',
    });
    expect(object(pjsip, 'carrier', 'aor')).toMatchObject({ contact: 'sip:sip.carrier.example.cn:5060', qualify_frequency: '60' });
    expect(object(pjsip, 'carrier', 'identify')).toBeUndefined();
  });

  it('renders an IP trunk: identify by the carrier\'s addresses, no registration and no password', () => {
    const { pjsip, text } = rendered(prod, telephony({ trunk: { id: 'telecom', mode: 'ip', host: '203.0.113.10', match: ['203.0.113.10', '203.0.113.64/28'], port: 5070 } }));
    expect(object(pjsip, 'telecom', 'identify')).toEqual({ type: 'identify', endpoint: 'telecom', match: '203.0.113.10,203.0.113.64/28' });
    expect(object(pjsip, 'telecom', 'endpoint')).toMatchObject({ context: 'liandong-inbound', aors: 'telecom' });
    expect(object(pjsip, 'telecom', 'endpoint')?.outbound_auth).toBeUndefined();
    expect(object(pjsip, 'telecom', 'aor')?.contact).toBe('sip:203.0.113.10:5070');
    expect(object(pjsip, 'telecom', 'registration')).toBeUndefined();
    expect(text.get('extensions.conf')).toMatch(/^ same => n,Dial\(PJSIP\/\$\{EXTEN\}@telecom\)$/m);
  });

  it('renders one endpoint, auth and aor per extension, named by its number', () => {
    const { pjsip } = rendered();
    expect(object(pjsip, '8001', 'endpoint')).toMatchObject({ context: 'liandong-extensions', aors: '8001', auth: '8001', allow: 'alaw,ulaw', dtmf_mode: 'rfc4733' });
    expect(object(pjsip, '8002', 'endpoint')?.allow).toBe('ulaw');
    expect(object(pjsip, '8002', 'auth')).toMatchObject({ username: '8002', password: 'ext-8002-password' });
    expect(object(pjsip, '8001', 'aor')).toMatchObject({ max_contacts: '1', qualify_frequency: '30' });
  });

  it('routes feedback numbers into Stasis from the trunk and the extensions, and nothing else', () => {
    const { extensions } = rendered();
    const lines = (context: string) => extensions.find((s) => s.name === context)?.entries.map((e) => `${e.key} => ${e.value}`) ?? [];
    for (const context of ['liandong-inbound', 'liandong-extensions']) {
      for (const n of ['057788880110', '96110']) expect(lines(context).some((l) => l.startsWith(`exten => ${n},1,`)), `${context} ${n}`).toBe(true);
      expect(lines(context).filter((l) => l === 'same => n,Goto(liandong-stasis,${EXTEN},1)')).toHaveLength(2);
      expect(lines(context)).toContain('same => n,Hangup(1)');
    }
    expect(lines('liandong-stasis')).toContain('same => n,Stasis(liandong,inbound,${EXTEN})');
  });

  it('sends an extension number to its phone, other numbers to the trunk, and includes sim-phones only when loaded', () => {
    const prodOut = rendered(prod).extensions.find((s) => s.name === 'liandong-outbound')?.entries.map((e) => e.value) ?? [];
    expect(prodOut).toEqual(expect.arrayContaining(['8001,1,NoOp(department extension 8001)', 'n,Dial(PJSIP/8001)', 'liandong-trunk']));
    expect(prodOut).not.toContain('sim-phones');
    const devOut = rendered(dev).extensions.find((s) => s.name === 'liandong-outbound')?.entries.map((e) => e.value) ?? [];
    expect(devOut.indexOf('sim-phones')).toBeLessThan(devOut.indexOf('liandong-trunk'));
    const noTrunk = rendered(prod, telephony({ extensions: [] })).extensions;
    expect(noTrunk.some((s) => s.name === 'liandong-trunk')).toBe(false);
  });

  it('points each rendered line back at its template line', () => {
    const files = renderAsteriskConfigsMapped(prod, loadTemplates(), FULL);
    const pjsip = files.get('pjsip.conf');
    const template = (loadTemplates().get('pjsip.conf') ?? '').split('\n');
    const at = pjsip?.text.split('\n').indexOf('[8002]') ?? -1;
    expect(at).toBeGreaterThan(0);
    const origin = pjsip?.origins[at];
    expect(origin?.template).toBe('pjsip.conf');
    expect(template[(origin?.line ?? 0) - 1]).toBe('[{{ext_number}}]');
    const ext = files.get('extensions.conf');
    expect(ext?.origins.filter((o) => o?.template === 'sim-phones.conf')).toEqual([]);
    const devExt = renderAsteriskConfigsMapped(dev, loadTemplates(), FULL).get('extensions.conf');
    expect(devExt?.origins[devExt.text.split('\n').indexOf('[sim-phones]')]?.template).toBe('sim-phones.conf');
  });
});
