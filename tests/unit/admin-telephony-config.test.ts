import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadTelephonyConfig, TelephonyConfigError, validateTelephonyConfig } from '../../src/admin/telephony-config.js';

const EXTENSION = { number: '8001', departmentId: 'water-supply', label: '值班室', password: 'duty-room-pass-1' };
const REGISTRATION = { id: 'carrier', mode: 'registration', host: 'sip.carrier.example.cn', username: '057788880110', password: 'trunk-pass-123' };

function problems(raw: unknown): string[] {
  const r = validateTelephonyConfig(raw);
  return r.ok ? [] : r.problems;
}

describe('config/telephony.json validation', () => {
  it('accepts a registration trunk, extensions and feedback numbers, filling the defaults', () => {
    const r = validateTelephonyConfig({ trunk: REGISTRATION, extensions: [EXTENSION], feedbackNumbers: ['96110', '+8657788880110'] });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.trunk).toEqual({ ...REGISTRATION, port: 5060, codecs: ['alaw', 'ulaw'], qualifySeconds: 60, expirySeconds: 3600 });
    expect(r.value.extensions).toEqual([{ ...EXTENSION, codecs: ['alaw', 'ulaw'] }]);
  });

  it('accepts an IP-authenticated trunk; its host is the match unless addresses are listed', () => {
    const byIp = validateTelephonyConfig({ trunk: { id: 'carrier', mode: 'ip', host: '203.0.113.10' } });
    expect(byIp.ok && byIp.value.trunk).toMatchObject({ mode: 'ip', match: ['203.0.113.10'] });
    expect(problems({ trunk: { id: 'carrier', mode: 'ip', host: 'sip.example.cn' } })).toEqual([
      expect.stringMatching(/^trunk\.match: required when trunk\.host is a name/),
    ]);
    const listed = validateTelephonyConfig({ trunk: { id: 'carrier', mode: 'ip', host: 'sip.example.cn', match: ['203.0.113.0/28'] } });
    expect(listed.ok).toBe(true);
  });

  it('ships config/telephony.json valid, and the example valid once its placeholder passwords are replaced', () => {
    expect(() => loadTelephonyConfig()).not.toThrow();
    const example = JSON.parse(fs.readFileSync('config/telephony.example.json', 'utf8')) as Record<string, unknown>;
    const found = problems(example);
    expect(found).toHaveLength(3);
    expect(found.every((p) => p.endsWith("still the example's placeholder; set a real password"))).toBe(true);
    const filled = JSON.parse(JSON.stringify(example).replace(/CHANGE-ME-/g, 'Real-Secret-')) as unknown;
    expect(problems(filled)).toEqual([]);
  });

  it('lists every problem with its JSON path, and never echoes a password', () => {
    const found = problems({
      trunk: { ...REGISTRATION, mode: 'registration', password: 'bad pass;1', port: 70000, pasword: 'x' },
      extensions: [
        { ...EXTENSION, number: '80a1' },
        { ...EXTENSION, codecs: ['opus'] },
        EXTENSION,
        { ...EXTENSION, label: 'line\nbreak' },
      ],
      feedbackNumbers: ['8001', '12'],
      extra: true,
    });
    expect(found).toEqual(expect.arrayContaining([
      'extra: unknown field (allowed: trunk, extensions, feedbackNumbers)',
      expect.stringMatching(/^trunk\.pasword: unknown field/),
      'trunk.port: must be a whole number from 1 to 65535, got 70000',
      expect.stringMatching(/^trunk\.password: must be 8 to 128 printable ASCII characters/),
      'extensions[0].number: must be 3 to 8 digits, as a string, got "80a1"',
      expect.stringMatching(/^extensions\[1\]\.codecs: must be a list of distinct codecs/),
      'extensions[3].label: must be a name of 1 to 60 characters without control characters',
      'extensions: number 8001 is listed twice',
      'feedbackNumbers[1]: must be 3 to 20 digits with an optional leading +, as a string',
      'feedbackNumbers: 8001 is also an extension number; a number is either a phone or the feedback line',
    ]));
    expect(found.join('\n')).not.toContain('bad pass');
  });

  it.each([
    ['a value that would start a new config line', { trunk: { ...REGISTRATION, host: 'sip.example.cn\n[evil]' } }, 'trunk.host'],
    ['a password with a comment character', { extensions: [{ ...EXTENSION, password: 'abcdefghijk;l' }] }, 'extensions[0].password'],
    ['an all-digit trunk id (extension sections are named by number)', { trunk: { ...REGISTRATION, id: '8001' } }, 'trunk.id'],
    ['an unknown trunk mode', { trunk: { ...REGISTRATION, mode: 'sip' } }, 'trunk.mode'],
    ['a trunk option of the other mode', { trunk: { id: 'carrier', mode: 'ip', host: '203.0.113.1', username: 'x' } }, 'trunk.username: unknown field'],
  ])('refuses %s', (_label, raw, mentions) => {
    expect(problems(raw).join('\n')).toContain(mentions);
  });

  it('names the file when it cannot be read', () => {
    expect(() => loadTelephonyConfig('/nonexistent/telephony.json')).toThrow(TelephonyConfigError);
    expect(() => loadTelephonyConfig('/nonexistent/telephony.json')).toThrow('/nonexistent/telephony.json is not valid:\n  - file not found');
  });
});
