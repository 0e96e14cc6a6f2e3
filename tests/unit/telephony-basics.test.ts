import { describe, expect, it } from 'vitest';
import { maskPhone } from '../../src/logging.js';
import { buildDialString } from '../../src/telephony/dial-string.js';
import { classifyHangup } from '../../src/telephony/hangup-causes.js';
import { TelephonyError } from '../../src/telephony/port.js';

describe('buildDialString', () => {
  it('puts validated digits into the template', () => {
    expect(buildDialString('PJSIP/{number}@carrier', '+8657712345')).toBe('PJSIP/+8657712345@carrier');
  });
  it.each(['1&PJSIP/2', '1@other', '1/2', '1,2', '1\n2', '１２３４'])('refuses %j', (n) => {
    expect(() => buildDialString('Local/{number}@sim-phones', n)).toThrow(TelephonyError);
  });
});

describe('classifyHangup', () => {
  it.each([
    [16, 'normal'], [17, 'busy'], [19, 'no_answer'], [21, 'rejected'], [34, 'congestion'], [1, 'unreachable'], [3, 'unreachable'], [99, 'unknown'],
  ] as const)('cause %d is %s', (code, kind) => {
    expect(classifyHangup(code, 'x').kind).toBe(kind);
  });
  it('treats a missing code as 0 unknown', () => {
    expect(classifyHangup(undefined, undefined)).toEqual({ code: 0, text: '', kind: 'unknown' });
  });
});

describe('maskPhone', () => {
  it('keeps only the prefix and last four digits', () => {
    expect(maskPhone('13812345678')).toBe('138****5678');
    expect(maskPhone('12345')).toBe('***45');
  });
});
