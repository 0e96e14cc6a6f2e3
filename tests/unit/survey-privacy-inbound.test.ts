// The register's privacy rows in CSV, and the port an inbound survey call runs on (its attempt id
// stands for the caller's channel; "placing the call" answers it). No Asterisk here.
import { describe, expect, it } from 'vitest';
import { PRIVACY_DISPOSITION, registerCsv, type RegisterRow } from '../../src/survey/callback-register.js';
import { inboundPort } from '../../src/survey/inbound-survey.js';
import type { CallEvent, CallEventListener, TelephonyPort } from '../../src/telephony/port.js';

const ROW: RegisterRow = {
  orderId: 'o1', orderCode: '596688', departmentId: 'tobacco-monopoly', department: '烟草专卖局', category: '涉烟违法',
  incidentAt: '2026-11-23T01:05:00.000Z', callbackAt: '2026-11-23T02:00:00.000Z', kind: 'callback', attempts: 0,
  attitude: null, speed: null, quality: null, disposition: PRIVACY_DISPOSITION, reporterPhone: '138****8000',
};

describe("register rows of cases not called back (informants' privacy)", () => {
  it('say so in both languages', () => {
    expect(registerCsv([ROW], 'zh-CN', 'Asia/Shanghai').split('\r\n')[1]).toBe('596688,烟草专卖局,涉烟违法,2026-11-23 09:05,2026-11-23 10:00,回访,0,,,,未回访（保护隐私）,138****8000');
    expect(registerCsv([ROW], 'en', 'Asia/Shanghai').split('\r\n')[1]).toContain(',0,,,,not called (privacy),');
  });
});

/** Records what reaches the real port. */
function recordingPort() {
  const calls: string[] = [];
  const listeners = new Map<string, CallEventListener>();
  const port = {
    answer: (c: string) => (calls.push(`answer ${c}`), Promise.resolve()),
    subscribe: (c: string, l: CallEventListener) => (calls.push(`subscribe ${c}`), listeners.set(c, l), () => calls.push(`unsubscribe ${c}`)),
    play: (c: string) => (calls.push(`play ${c}`), Promise.resolve({ status: 'finished' as const })),
    prompt: (c: string) => (calls.push(`prompt ${c}`), Promise.resolve({ status: 'complete' as const, digits: '1' })),
    collect: (c: string) => (calls.push(`collect ${c}`), Promise.resolve({ status: 'timeout' as const, digits: '' })),
    hangup: (c: string) => (calls.push(`hangup ${c}`), Promise.resolve()),
    originate: () => Promise.reject(new Error('must not originate on an inbound call')),
  } as unknown as TelephonyPort;
  return { port, calls, listeners };
}

describe('the inbound survey port', () => {
  it('answers instead of dialling, reports the answer, and maps the attempt id to the caller\'s channel', async () => {
    const real = recordingPort();
    const p = inboundPort(real.port, 's1-c2', 'caller-chan', false);
    const seen: CallEvent[] = [];
    const off = p.subscribe('s1-c2', (e) => seen.push(e));
    await p.originate({ channelId: 's1-c2', number: '740', ringTimeoutSeconds: 30 }, () => undefined);
    expect(seen.map((e) => e.type)).toEqual(['answered']);
    await p.play('s1-c2', ['sound:x']);
    await p.prompt('s1-c2', ['sound:x'], { maxDigits: 1, firstDigitTimeoutMs: 1000, interDigitTimeoutMs: 1000 });
    await p.hangup('s1-c2');
    off();
    expect(real.calls).toEqual(['subscribe caller-chan', 'answer caller-chan', 'play caller-chan', 'prompt caller-chan', 'hangup caller-chan', 'unsubscribe caller-chan']);
    // Events of the caller's channel reach the machine's listener.
    const hangup: CallEvent = { type: 'hangup', cause: { code: 16, text: 'Normal Clearing', kind: 'normal' }, at: new Date() };
    real.listeners.get('caller-chan')?.(hangup);
    expect(seen).toContain(hangup);
  });

  it('does not answer a channel the survey line already answered, and refuses to place any other call', async () => {
    const real = recordingPort();
    const p = inboundPort(real.port, 's1-c3', 'caller-chan', true);
    await p.originate({ channelId: 's1-c3', number: '740', ringTimeoutSeconds: 30 }, () => undefined);
    expect(real.calls).toEqual([]);
    await expect(p.originate({ channelId: 'other', number: '740', ringTimeoutSeconds: 30 }, () => undefined)).rejects.toThrow(/unexpected originate/);
  });
});
