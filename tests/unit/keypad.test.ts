import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChannelRegistry } from '../../src/telephony/channel-registry.js';
import { collectKeys, PLAYBACK_FAILURE_HANGUP_GRACE_MS, playWithBargeIn, type PlaybackControl } from '../../src/telephony/keypad.js';
import type { Key } from '../../src/telephony/port.js';

const at = new Date(0);
const OPTS = { maxDigits: 1, firstDigitTimeoutMs: 5000, interDigitTimeoutMs: 2000 };

function setup() {
  const registry = new ChannelRegistry();
  registry.register('ch1');
  const calls: string[] = [];
  const control: PlaybackControl = {
    start: (id) => { calls.push(`start ${id}`); return Promise.resolve(); },
    stop: (id) => { calls.push(`stop ${id}`); return Promise.resolve(); },
  };
  const key = (k: Key) => registry.dispatch('ch1', { type: 'key', key: k, at });
  const hangup = () => registry.dispatch('ch1', { type: 'hangup', cause: { code: 16, text: 'Normal Clearing', kind: 'normal' }, at });
  return { registry, calls, control, key, hangup };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('playWithBargeIn', () => {
  it('reports finished when the playback ends', async () => {
    const { registry, control, calls } = setup();
    const p = playWithBargeIn(registry, 'ch1', 'pb1', control, true, () => undefined);
    registry.dispatch('ch1', { type: 'playback_finished', playbackId: 'pb1', outcome: 'done', at });
    await expect(p).resolves.toEqual({ status: 'finished' });
    expect(calls).toEqual(['start pb1']);
  });

  it('stops the playback on a key and reports it; the key stays for collection', async () => {
    const { registry, control, calls, key } = setup();
    const p = playWithBargeIn(registry, 'ch1', 'pb1', control, true, () => undefined);
    key('2');
    await expect(p).resolves.toEqual({ status: 'interrupted', key: '2' });
    expect(calls).toEqual(['start pb1', 'stop pb1']);
    await expect(collectKeys(registry, 'ch1', OPTS)).resolves.toEqual({ status: 'complete', digits: '2' });
  });

  it('ignores keys without barge-in and ignores other playbacks; a failure is reported after the hangup grace', async () => {
    const { registry, control, key } = setup();
    const p = playWithBargeIn(registry, 'ch1', 'pb1', control, false, () => undefined);
    key('5');
    registry.dispatch('ch1', { type: 'playback_finished', playbackId: 'other', outcome: 'done', at });
    registry.dispatch('ch1', { type: 'playback_finished', playbackId: 'pb1', outcome: 'failed', at });
    await vi.advanceTimersByTimeAsync(PLAYBACK_FAILURE_HANGUP_GRACE_MS);
    await expect(p).resolves.toEqual({ status: 'failed', reason: 'playback failed' });
  });

  it('a failed playback followed by the hangup is a hangup (far end hung up mid-prompt)', async () => {
    const { registry, control, hangup } = setup();
    const p = playWithBargeIn(registry, 'ch1', 'pb1', control, true, () => undefined);
    registry.dispatch('ch1', { type: 'playback_finished', playbackId: 'pb1', outcome: 'failed', at });
    await vi.advanceTimersByTimeAsync(200);
    hangup();
    await expect(p).resolves.toEqual({ status: 'hangup' });
  });

  it('reports hangup during playback, and at once on an ended channel', async () => {
    const { registry, control, hangup } = setup();
    const p = playWithBargeIn(registry, 'ch1', 'pb1', control, true, () => undefined);
    hangup();
    await expect(p).resolves.toEqual({ status: 'hangup' });
    await expect(playWithBargeIn(registry, 'ch1', 'pb2', control, true, () => undefined)).resolves.toEqual({ status: 'hangup' });
  });

  it('turns a refused start into failed with the reason', async () => {
    const { registry } = setup();
    const control: PlaybackControl = { start: () => Promise.reject(new Error('media not found')), stop: () => Promise.resolve() };
    await expect(playWithBargeIn(registry, 'ch1', 'pb1', control, true, () => undefined)).resolves.toEqual({ status: 'failed', reason: 'media not found' });
  });
});

describe('collectKeys', () => {
  it('times out on the first-digit timeout with no keys', async () => {
    const { registry } = setup();
    const p = collectKeys(registry, 'ch1', OPTS);
    await vi.advanceTimersByTimeAsync(4999);
    let settled = false;
    void p.then(() => { settled = true; });
    await Promise.resolve();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await expect(p).resolves.toEqual({ status: 'timeout', digits: '' });
  });

  it('uses the inter-digit timeout once a key is in', async () => {
    const { registry, key } = setup();
    const p = collectKeys(registry, 'ch1', { ...OPTS, maxDigits: 4 });
    key('1');
    await vi.advanceTimersByTimeAsync(1500);
    key('2');
    await vi.advanceTimersByTimeAsync(2000);
    await expect(p).resolves.toEqual({ status: 'timeout', digits: '12' });
  });

  it('completes on max digits and on the terminator, which is not kept', async () => {
    const { registry, key } = setup();
    const p1 = collectKeys(registry, 'ch1', { ...OPTS, maxDigits: 3 });
    key('1'); key('2'); key('3');
    await expect(p1).resolves.toEqual({ status: 'complete', digits: '123' });
    const p2 = collectKeys(registry, 'ch1', { ...OPTS, maxDigits: 6, terminator: '#' });
    key('4'); key('#');
    await expect(p2).resolves.toEqual({ status: 'complete', digits: '4' });
  });

  it('reports hangup with the digits collected so far', async () => {
    const { registry, key, hangup } = setup();
    const p = collectKeys(registry, 'ch1', { ...OPTS, maxDigits: 4 });
    key('7');
    hangup();
    await expect(p).resolves.toEqual({ status: 'hangup', digits: '7' });
  });

  it('ignores keys that arrive after the hangup', async () => {
    const { registry, key, hangup } = setup();
    hangup();
    key('1');
    await expect(collectKeys(registry, 'ch1', OPTS)).resolves.toEqual({ status: 'hangup', digits: '' });
  });

  it('refuses nonsense options', () => {
    const { registry } = setup();
    expect(() => collectKeys(registry, 'ch1', { ...OPTS, maxDigits: 0 })).toThrow(RangeError);
  });
});
