import { describe, expect, it } from 'vitest';
import { AmiValueError, assertAmiSafe } from '../../src/telephony/ami.js';

describe('assertAmiSafe', () => {
  it('lets ordinary actions through', () => {
    expect(() => assertAmiSafe({ Action: 'Command', Command: 'pjsip show endpoints' })).not.toThrow();
  });
  it.each([
    ['CR in a value', { Action: 'Command', Command: 'core show version\rAction: Originate' }],
    ['LF in a value', { Action: 'Originate', Channel: 'PJSIP/1\nApplication: System' }],
    ['CRLF in a value', { Action: 'Command', Command: 'x\r\n\r\nAction: Logoff' }],
    ['NUL in a value', { Action: 'Ping', ActionID: 'a\0b' }],
    ['LF in a key', { 'Action\nX': 'Ping' }],
    ['a space in a key', { 'Bad Key': 'Ping' }],
  ])('refuses %s', (_label, action) => {
    expect(() => assertAmiSafe(action)).toThrow(AmiValueError);
  });
});
