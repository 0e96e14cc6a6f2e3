// The unanswered part of every outbound call, tested once: the call-attempt and survey-call
// machines invoke this machine and only check that they hand its result over (see their tests).
import { describe, expect, it, vi } from 'vitest';
import { SimulatedClock, createActor } from 'xstate';
import type { HangupKind } from '../src/telephony/port.js';
import { dialMachine, isDeadLineOriginateError, type DialInput, type HangUpParams, type OriginateInput } from './dial.machine.js';
import { deferred, flush, lineControls, ok, scripted, stateRecorder, type Step } from './test-support.js';

const INPUT: DialInput = { attemptId: 'o1-a1', number: '13800000001', ringTimeoutSeconds: 30 };

const cause = (kind: HangupKind, code = 16, text: string = kind) => ({ code, kind, text });

function start(originate: Array<Step<void>> = [ok(undefined)], input: Partial<DialInput> = {}) {
  const clock = new SimulatedClock();
  const log: string[] = [];
  const calls = { originate: [] as OriginateInput[], hangUp: [] as HangUpParams[] };
  const machine = dialMachine.provide({
    actors: { originate: scripted(originate, 'originate', (i: OriginateInput) => (log.push('originate'), calls.originate.push(i))) },
    actions: { hangUp: (_, p) => (log.push('hangUp'), calls.hangUp.push(p)) },
  });
  const recorder = stateRecorder();
  const actor = createActor(machine, { input: { ...INPUT, ...input }, clock, inspect: recorder.inspect });
  recorder.bind(actor);
  actor.start();
  // The calling machine forwards the channel's events; here the test sends them.
  const { answer, hangup } = lineControls((event) => actor.send(event), () => clock.now());
  return { actor, clock, log, calls, answer, hangup, states: recorder.states, output: () => actor.getSnapshot().output };
}

describe('dial: answered', () => {
  it('originates with our channel id, rings, and is done with the answer time on the answer', async () => {
    const t = start();
    await flush();
    expect(t.calls.originate).toEqual([{ attemptId: 'o1-a1', number: '13800000001', ringTimeoutSeconds: 30 }]);
    t.clock.increment(4000);
    await t.answer();
    expect(t.actor.getSnapshot().status).toBe('done');
    expect(t.output()).toEqual({ result: 'answered', answeredAt: 4000 });
    expect(t.calls.hangUp).toEqual([]);
    expect(t.states).toEqual(['calling.dialling', 'calling.ringing', 'answered']);
  });

  it('takes an answer that comes before the originate has resolved', async () => {
    const originate = deferred<void>();
    const t = start([originate]);
    await flush();
    t.clock.increment(1000);
    await t.answer();
    expect(t.output()).toEqual({ result: 'answered', answeredAt: 1000 });
  });
});

describe('dial: before the answer', () => {
  it('is busy on a busy hangup', async () => {
    const t = start();
    await flush();
    t.clock.increment(3000);
    await t.hangup('busy', 17, 'User busy');
    expect(t.output()).toEqual({ result: 'busy', endedAt: 3000, cause: cause('busy', 17, 'User busy') });
    expect(t.calls.hangUp).toEqual([]);
    expect(t.states).toEqual(['calling.dialling', 'calling.ringing', 'busy']);
  });

  it.each([
    ['no_answer', 19],
    ['normal', 16],
  ] as const)('is no_answer on a %s hangup before the answer', async (kind, code) => {
    const t = start();
    await flush();
    await t.hangup(kind, code);
    expect(t.output()).toMatchObject({ result: 'no_answer', cause: { kind, code } });
    expect(t.output()?.lineDead).toBeUndefined();
  });

  it.each([
    ['congestion', 34, 'Switching equipment congestion', true],
    ['unreachable', 1, 'Unallocated number', true],
    ['rejected', 21, 'Call rejected', false],
    ['unknown', 99, 'Strange', false],
  ] as const)('fails on %s with the cause text as reason (dead line: %s)', async (kind, code, text, dead) => {
    const t = start();
    await flush();
    await t.hangup(kind, code, text);
    expect(t.output()).toMatchObject({ result: 'failed', reason: text, cause: { kind, code, text } });
    expect(t.output()?.lineDead).toBe(dead ? true : undefined);
  });

  it('gives the cause code as reason when the cause has no text', async () => {
    const t = start();
    await flush();
    await t.hangup('rejected', 21, '');
    expect(t.output()).toMatchObject({ result: 'failed', reason: 'hangup cause 21' });
  });

  it('is interrupted when Asterisk goes away while ringing', async () => {
    const t = start();
    await flush();
    await t.hangup('lost', -1, 'channel vanished while disconnected from Asterisk');
    expect(t.output()).toMatchObject({ result: 'interrupted', cause: { kind: 'lost' } });
    expect(t.output()?.lineDead).toBeUndefined();
  });

  it('hangs up itself after the ring timeout plus grace when no hangup event comes', async () => {
    const t = start(undefined, { ringTimeoutSeconds: 30, ringGraceSeconds: 5 });
    await flush();
    expect(t.calls.originate).toEqual([{ attemptId: 'o1-a1', number: '13800000001', ringTimeoutSeconds: 30 }]);
    t.clock.increment(34_999);
    expect(t.actor.getSnapshot().status).toBe('active');
    t.clock.increment(1);
    expect(t.output()).toEqual({ result: 'no_answer', reason: 'no hangup event within the ring timeout and grace', endedAt: 35_000 });
    expect(t.calls.hangUp).toEqual([{ attemptId: 'o1-a1' }]);
    expect(t.states).toEqual(['calling.dialling', 'calling.ringing', 'noAnswer']);
  });

  it('uses a 5 s ring grace by default', async () => {
    const t = start(undefined, { ringTimeoutSeconds: 20 });
    await flush();
    t.clock.increment(24_999);
    expect(t.actor.getSnapshot().status).toBe('active');
    t.clock.increment(1);
    expect(t.output()).toMatchObject({ result: 'no_answer', endedAt: 25_000 });
  });

  it('fails with the reason when the originate is refused, without hanging up', async () => {
    const t = start([new Error('invalid_number: 12')]);
    await flush();
    expect(t.output()).toEqual({ result: 'failed', reason: 'invalid_number: 12', endedAt: 0 });
    expect(t.calls.hangUp).toEqual([]);
    expect(t.log).toEqual(['originate']);
  });

  it.each([
    ['invalid_number', true],
    ['asterisk_error', true],
    ['not_connected', false],
  ] as const)('classifies a refused originate with code %s as a dead line: %s', async (code, dead) => {
    const t = start([Object.assign(new Error(`refused: ${code}`), { code })]);
    await flush();
    expect(t.output()).toMatchObject({ result: 'failed', reason: `refused: ${code}` });
    expect(t.output()?.lineDead).toBe(dead ? true : undefined);
    expect(isDeadLineOriginateError({ code })).toBe(dead);
  });
});

describe('dial: cancelled', () => {
  it('is cancelled, and hangs up, on CANCEL while ringing', async () => {
    const t = start();
    await flush();
    t.actor.send({ type: 'CANCEL' });
    expect(t.output()).toMatchObject({ result: 'cancelled' });
    expect(t.calls.hangUp).toEqual([{ attemptId: 'o1-a1' }]);
    expect(t.states).toEqual(['calling.dialling', 'calling.ringing', 'cancelled']);
  });

  it('on CANCEL while the originate is in flight, waits for it and then hangs up', async () => {
    const originate = deferred<void>();
    const t = start([originate]);
    await flush();
    t.actor.send({ type: 'CANCEL' });
    expect(t.actor.getSnapshot().status).toBe('active');
    expect(t.calls.hangUp).toEqual([]);
    originate.resolve();
    await flush();
    expect(t.output()).toMatchObject({ result: 'cancelled' });
    expect(t.calls.hangUp).toHaveLength(1);
  });

  it('on CANCEL while the originate is in flight that then fails, is cancelled without hanging up', async () => {
    const originate = deferred<void>();
    const t = start([originate]);
    await flush();
    t.actor.send({ type: 'CANCEL' });
    originate.reject(new Error('not_connected'));
    await flush();
    expect(t.output()).toMatchObject({ result: 'cancelled' });
    expect(t.calls.hangUp).toEqual([]);
  });

  it('on CANCEL while the originate is in flight, an answer ends it cancelled and hangs up', async () => {
    const t = start([deferred<void>()]);
    await flush();
    t.actor.send({ type: 'CANCEL' });
    await t.answer();
    expect(t.output()).toMatchObject({ result: 'cancelled' });
    expect(t.output()?.answeredAt).toBeUndefined();
    expect(t.calls.hangUp).toEqual([{ attemptId: 'o1-a1' }]);
  });

  it('on CANCEL while the originate is in flight, the ring timeout still ends it cancelled', async () => {
    const t = start([deferred<void>()], { ringTimeoutSeconds: 30 });
    await flush();
    t.actor.send({ type: 'CANCEL' });
    t.clock.increment(35_000);
    expect(t.output()).toMatchObject({ result: 'cancelled', endedAt: 35_000 });
    expect(t.calls.hangUp).toHaveLength(1);
  });
});

describe('dial: forbidden paths', () => {
  it('ignores events after the final state', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const t = start();
    await flush();
    await t.hangup('busy', 17);
    const before = t.output();
    t.actor.send({ type: 'CALL.ANSWERED', at: 10 });
    t.actor.send({ type: 'CANCEL' });
    t.actor.send({ type: 'CALL.HANGUP', cause: cause('normal'), at: 20 });
    await flush();
    expect(t.output()).toEqual(before);
    expect(t.calls.hangUp).toEqual([]);
    warn.mockRestore();
  });

  it('fails loudly when an effect was not provided', async () => {
    const actor = createActor(dialMachine, { input: INPUT }).start();
    await flush();
    expect(actor.getSnapshot().output).toMatchObject({ result: 'failed', reason: 'provide originate with dialMachine.provide()' });
  });
});
