// The telephony port against the real Asterisk 22 and the simulated phones in
// dialplans/sim-phones.conf (70DG<keys> press keys, 71D silent, 72D hang up, 73X ring,
// 74X busy, 75X congestion, 76X unreachable, other unallocated).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/composition.js';
import { AriTelephony } from '../../src/telephony/ari/ari-telephony.js';
import { TelephonyError, type MediaUri } from '../../src/telephony/port.js';
import { channelId, EventLog, startServices } from './support.js';

let s: Services;
let testCall: MediaUri[];
const COLLECT = { maxDigits: 1, firstDigitTimeoutMs: 3000, interDigitTimeoutMs: 2000 };

beforeAll(async () => {
  s = await startServices('telephony-port');
  testCall = await s.prompts.media('test-call');
});
afterAll(async () => {
  await s?.close();
});

async function call(number: string, ringTimeoutSeconds = 10) {
  const id = channelId();
  const log = new EventLog();
  await s.telephony.originate({ channelId: id, number, ringTimeoutSeconds }, log.listener);
  return { id, log };
}

describe('simulated phones through the port', () => {
  it('70111: answers, presses 1 during the Mandarin prompt (barge-in), we hang up normally', async () => {
    const { id, log } = await call('70111');
    await log.next('answered');
    const started = Date.now();
    const result = await s.telephony.prompt(id, testCall, COLLECT);
    const elapsed = Date.now() - started;
    expect(result).toEqual({ status: 'complete', digits: '1' });
    // The prompt lasts several seconds; the key arrives ~1 s after answer and stops it.
    expect(elapsed).toBeLessThan(4000);
    await s.telephony.hangup(id);
    const hangup = await log.next('hangup');
    expect(hangup.cause.kind).toBe('normal');
    expect(log.types()).toEqual(['answered', 'key:1', 'hangup']);
  });

  it('plays the whole rendered Mandarin prompt when no key is pressed, then the first-digit timeout fires', async () => {
    const { id, log } = await call('710');
    await log.next('answered');
    const played = await s.telephony.play(id, testCall);
    expect(played).toEqual({ status: 'finished' });
    const started = Date.now();
    const collected = await s.telephony.collect(id, { ...COLLECT, firstDigitTimeoutMs: 1500 });
    expect(collected).toEqual({ status: 'timeout', digits: '' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    await s.telephony.hangup(id);
    await log.next('hangup');
  });

  it('inter-digit timeout ends a multi-key entry', async () => {
    const { id, log } = await call('7011123');
    await log.next('answered');
    const result = await s.telephony.collect(id, { maxDigits: 6, firstDigitTimeoutMs: 5000, interDigitTimeoutMs: 2500 });
    expect(result).toEqual({ status: 'timeout', digits: '123' });
    await s.telephony.hangup(id);
  });

  it('702321: presses 2 (hear again) then 1, one prompt each', async () => {
    const { id, log } = await call('702321');
    await log.next('answered');
    expect(await s.telephony.prompt(id, testCall, { ...COLLECT, firstDigitTimeoutMs: 5000 })).toEqual({ status: 'complete', digits: '2' });
    expect(await s.telephony.prompt(id, testCall, { ...COLLECT, firstDigitTimeoutMs: 5000 })).toEqual({ status: 'complete', digits: '1' });
    await s.telephony.hangup(id);
  });

  it('721: hangs up during the prompt; play reports hangup', async () => {
    const { id, log } = await call('721');
    await log.next('answered');
    const played = await s.telephony.play(id, testCall);
    expect(played).toEqual({ status: 'hangup' });
    const hangup = await log.next('hangup');
    expect(hangup.cause.kind).toBe('normal');
    expect(await s.telephony.collect(id, COLLECT)).toEqual({ status: 'hangup', digits: '' });
  });

  it('730: rings and never answers; the ring timeout ends it as no answer', async () => {
    const started = Date.now();
    const { log } = await call('730', 2);
    const hangup = await log.next('hangup');
    expect(hangup.cause.kind).toBe('no_answer');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1800);
    expect(log.types()).not.toContain('answered');
  });

  it.each([
    ['740', 'busy', 17],
    ['750', 'congestion', 34],
    ['760', 'unreachable', 3],
    ['799', 'unreachable', 1],
  ] as const)('%s ends before answer as %s (cause %d)', async (number, kind, code) => {
    const { log } = await call(number);
    const hangup = await log.next('hangup');
    expect(hangup.cause).toMatchObject({ kind, code });
    expect(log.types()).not.toContain('answered');
  });
});

describe('originate guards', () => {
  it('refuses an injected number before anything reaches Asterisk', async () => {
    for (const number of ['70111&Local/74@sim-phones', '701@evil', '70/1', '70,1', '70\n1', '７０１１１']) {
      await expect(s.telephony.originate({ channelId: channelId(), number, ringTimeoutSeconds: 5 }, () => undefined)).rejects.toMatchObject({ code: 'invalid_number' });
    }
    expect((await s.telephony.listChannelIds()).filter((id) => id.startsWith('t-'))).toEqual([]);
  });

  it('a repeated channel id is refused, by us and by Asterisk itself (409)', async () => {
    const { id, log } = await call('71' + '5');
    await log.next('answered');
    await expect(s.telephony.originate({ channelId: id, number: '710', ringTimeoutSeconds: 5 }, () => undefined)).rejects.toMatchObject({ code: 'duplicate_channel' });
    // A second adapter has no memory of the id: Asterisk's own 409 must stop it.
    const other = new AriTelephony({ ari: { ...s.config.ari, app: 'liandong-second' }, dialTemplate: s.config.dialTemplate, callerId: '', logger: s.logger });
    other.start();
    try {
      await other.waitConnected(10_000);
      const refused = other.originate({ channelId: id, number: '710', ringTimeoutSeconds: 5 }, () => undefined);
      await expect(refused).rejects.toBeInstanceOf(TelephonyError);
      await expect(refused).rejects.toMatchObject({ code: 'duplicate_channel' });
    } finally {
      await other.close();
      await s.telephony.hangup(id);
    }
  });
});
