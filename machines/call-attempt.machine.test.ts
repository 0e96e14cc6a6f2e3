import { describe, expect, it, vi } from 'vitest';
import { SimulatedClock, createActor, fromCallback } from 'xstate';
import type { HangupKind } from '../src/telephony/port.js';
import {
  callAttemptMachine,
  classifyKey,
  classifyPromptOutcome,
  type CallAttemptEvent,
  type CallAttemptInput,
  type CommitAcceptanceInput,
  type CommitAcceptanceOutput,
  type HangUpParams,
  type PlayConfirmationInput,
  type PromptForKeyInput,
  type PromptOutcome,
  type RecordAnsweredParams,
  type RecordKeyParams,
} from './call-attempt.machine.js';
import { dialMachine, type OriginateInput } from './dial.machine.js';
import { callEventFeed, deferred, flush, lineControls, ok, scripted, stateRecorder, type Step } from './test-support.js';

const INPUT: CallAttemptInput = {
  orderId: 'o1',
  attemptId: 'o1-a1',
  contactId: 'c-duty',
  number: '13800000001',
  script: 'dispatch',
  ringTimeoutSeconds: 30,
  maxReplays: 2,
};

interface Script {
  originate?: Array<Step<void>>;
  prompts?: Array<Step<PromptOutcome>>;
  commit?: Array<Step<CommitAcceptanceOutput>>;
  confirm?: Array<Step<void>>;
}

const key = (k: string): { value: PromptOutcome } => ({ value: { status: 'key', key: k } });
const noKey = { value: { status: 'timeout' } } as const;
const cause = (kind: HangupKind, code = 16, text: string = kind) => ({ code, kind, text });

function start(script: Script = {}, input: Partial<CallAttemptInput> = {}) {
  const clock = new SimulatedClock();
  const log: string[] = [];
  const calls = {
    originate: [] as OriginateInput[],
    prompts: [] as PromptForKeyInput[],
    commits: [] as CommitAcceptanceInput[],
    confirmations: [] as PlayConfirmationInput[],
    hangUp: [] as HangUpParams[],
    recordAnswered: [] as RecordAnsweredParams[],
    recordKey: [] as RecordKeyParams[],
  };
  const feed = callEventFeed<CallAttemptEvent>(log);
  const originate = script.originate ?? [ok(undefined)];
  const prompts = script.prompts ?? [];
  const commit = script.commit ?? [ok({ late: false })];
  const confirm = script.confirm ?? [ok(undefined)];
  const machine = callAttemptMachine.provide({
    actors: {
      // The real dial machine, with the same fake originate and hangUp.
      dial: dialMachine.provide({
        actors: { originate: scripted(originate, 'originate', (i: OriginateInput) => (log.push('originate'), calls.originate.push(i))) },
        actions: { hangUp: (_, p) => (log.push('hangUp'), calls.hangUp.push(p)) },
      }),
      callEvents: fromCallback(feed.subscribe),
      promptForKey: scripted(prompts, 'prompt', (i: PromptForKeyInput) => (log.push(`prompt:${i.part}`), calls.prompts.push(i))),
      commitAcceptance: scripted(commit, 'commit', (i: CommitAcceptanceInput) => (log.push('commit'), calls.commits.push(i))),
      playConfirmation: scripted(confirm, 'confirm', (i: PlayConfirmationInput) => (log.push('confirm'), calls.confirmations.push(i))),
    },
    actions: {
      hangUp: (_, p) => (log.push('hangUp'), calls.hangUp.push(p)),
      recordAnswered: (_, p) => (log.push('recordAnswered'), calls.recordAnswered.push(p)),
      recordKey: (_, p) => (log.push(`recordKey:${p.keypad.kind}`), calls.recordKey.push(p)),
    },
  });
  const recorder = stateRecorder();
  const actor = createActor(machine, { input: { ...INPUT, ...input }, clock, inspect: recorder.inspect });
  recorder.bind(actor);
  actor.start();
  const { emit } = feed;
  const { answer, hangup } = lineControls(emit, () => clock.now());
  return { actor, clock, log, calls, emit, answer, hangup, states: recorder.states, output: () => actor.getSnapshot().output };
}

describe('key classification', () => {
  it.each([
    ['dispatch', '1', { kind: 'accepted', key: '1', disputed: false }],
    ['dispatch', '3', { kind: 'accepted', key: '3', disputed: true }],
    ['dispatch', '2', { kind: 'repeat', key: '2' }],
    ['dispatch', '*', { kind: 'repeat', key: '*' }],
    ['dispatch', '9', { kind: 'invalid', key: '9' }],
    ['dispatch', '#', { kind: 'invalid', key: '#' }],
    ['alarm', '1', { kind: 'accepted', key: '1', disputed: false }],
    ['alarm', '3', { kind: 'invalid', key: '3' }],
    ['major', '2', { kind: 'repeat', key: '2' }],
    ['major', '3', { kind: 'invalid', key: '3' }],
  ] as const)('%s: key %s', (script, k, expected) => {
    expect(classifyKey(script, k)).toEqual(expected);
  });
  it('maps timeouts and hangups to their own kinds', () => {
    expect(classifyPromptOutcome('dispatch', { status: 'timeout' })).toEqual({ kind: 'timeout' });
    expect(classifyPromptOutcome('alarm', { status: 'hangup' })).toEqual({ kind: 'hangup' });
  });
});

describe('call attempt: answered paths', () => {
  it('accepts on 1: commits, then confirms, then hangs up', async () => {
    const commit = deferred<CommitAcceptanceOutput>();
    const t = start({ prompts: [key('1')], commit: [commit] });
    await flush();
    expect(t.log.slice(0, 2)).toEqual(['callEvents.subscribe', 'originate']); // subscribed before the originate
    t.clock.increment(4000);
    await t.answer();
    // The confirmation must wait for the database.
    expect(t.calls.confirmations).toEqual([]);
    expect(t.calls.commits).toEqual([{ orderId: 'o1', attemptId: 'o1-a1', contactId: 'c-duty', script: 'dispatch', disputed: false, key: '1' }]);
    commit.resolve({ late: false });
    await flush();
    expect(t.actor.getSnapshot().status).toBe('done');
    expect(t.output()).toEqual({ result: 'accepted', digits: '1', answeredAt: 4000, endedAt: 4000, disputed: false, late: false });
    expect(t.calls.confirmations).toEqual([{ orderId: 'o1', attemptId: 'o1-a1', script: 'dispatch', disputed: false, late: false }]);
    expect(t.log).toEqual([
      'callEvents.subscribe', 'originate', 'recordAnswered', 'prompt:message', 'recordKey:accepted', 'commit', 'confirm', 'hangUp', 'callEvents.unsubscribe',
    ]);
    expect(t.calls.recordAnswered).toEqual([{ orderId: 'o1', attemptId: 'o1-a1', at: 4000 }]);
    expect(t.calls.recordKey).toEqual([{ orderId: 'o1', attemptId: 'o1-a1', replay: 0, keypad: { kind: 'accepted', key: '1', disputed: false } }]);
    expect(t.calls.hangUp).toEqual([{ attemptId: 'o1-a1' }]);
    expect(t.states).toEqual([
      'unanswered', 'answered.menu.prompting', 'answered.menu.deciding', 'answered.committing', 'answered.confirming', 'accepted',
    ]);
  });

  it("names the order and the co-unit in every effect's input, so the effects need nothing else", async () => {
    const t = start({ prompts: [key('1')] }, { coUnit: 'fire-rescue' });
    await flush();
    await t.answer();
    expect(t.output()).toMatchObject({ result: 'accepted' });
    const ref = { orderId: 'o1', coUnit: 'fire-rescue', attemptId: 'o1-a1' };
    for (const effect of [t.calls.recordAnswered, t.calls.prompts, t.calls.recordKey, t.calls.commits, t.calls.confirmations]) {
      expect(effect).toHaveLength(1);
      expect(effect[0]).toMatchObject(ref);
    }
  });

  it('replays on *, like 2, then accepts', async () => {
    const t = start({ prompts: [key('*'), key('1')] });
    await flush();
    await t.answer();
    expect(t.output()).toMatchObject({ result: 'accepted', digits: '*1' });
    expect(t.calls.prompts.map((p) => [p.part, p.replay])).toEqual([['message', 0], ['message_again', 1]]);
    expect(t.calls.recordKey.map((r) => [r.keypad.kind, r.replay])).toEqual([['repeat', 0], ['accepted', 1]]);
  });

  it('replays on 2, then accepts', async () => {
    const t = start({ prompts: [key('2'), key('1')] });
    await flush();
    await t.answer();
    expect(t.output()).toMatchObject({ result: 'accepted', digits: '21' });
    expect(t.calls.prompts.map((p) => [p.part, p.replay])).toEqual([['message', 0], ['message_again', 1]]);
    expect(t.calls.recordKey.map((r) => [r.keypad.kind, r.replay])).toEqual([['repeat', 0], ['accepted', 1]]);
  });

  it('accepts with a jurisdiction dispute on 3', async () => {
    const t = start({ prompts: [key('3')] });
    await flush();
    await t.answer();
    expect(t.output()).toMatchObject({ result: 'accepted', digits: '3', disputed: true, late: false });
    expect(t.calls.commits[0]).toMatchObject({ disputed: true, key: '3' });
    expect(t.calls.confirmations[0]).toMatchObject({ disputed: true });
  });

  it('says "invalid key" and replays, then accepts', async () => {
    const t = start({ prompts: [key('7'), key('1')] });
    await flush();
    await t.answer();
    expect(t.output()).toMatchObject({ result: 'accepted', digits: '71' });
    expect(t.calls.prompts.map((p) => p.part)).toEqual(['message', 'invalid_then_message']);
    expect(t.calls.recordKey.map((r) => r.keypad.kind)).toEqual(['invalid', 'accepted']);
  });

  it('gives up with no_input after maxReplays + 1 readings without a key', async () => {
    const t = start({ prompts: [noKey, noKey, noKey, key('1')] });
    await flush();
    await t.answer();
    expect(t.output()).toMatchObject({ result: 'no_input', digits: '' });
    expect(t.calls.prompts.map((p) => [p.part, p.replay])).toEqual([['message', 0], ['message_again', 1], ['message_again', 2]]);
    expect(t.calls.recordKey.map((r) => r.keypad.kind)).toEqual(['timeout', 'timeout', 'timeout']);
    expect(t.calls.commits).toEqual([]);
    expect(t.calls.hangUp).toHaveLength(1);
    expect(t.states.at(-1)).toBe('noInput');
  });

  it('allows 2 replays when maxReplays is not given', async () => {
    const t = start({ prompts: [noKey, noKey, noKey] }, { maxReplays: undefined });
    await flush();
    await t.answer();
    expect(t.output()).toMatchObject({ result: 'no_input' });
    expect(t.calls.prompts).toHaveLength(3);
  });

  it('counts repeats and invalid keys toward the replay limit', async () => {
    const t = start({ prompts: [key('2'), key('9'), key('2')] }, { maxReplays: 2 });
    await flush();
    await t.answer();
    expect(t.output()).toMatchObject({ result: 'no_input', digits: '292' });
    expect(t.calls.prompts).toHaveLength(3);
  });

  it('does not accept 3 on the alarm script; 1 confirms it', async () => {
    const t = start({ prompts: [key('3'), key('1')] }, { script: 'alarm' });
    await flush();
    await t.answer();
    expect(t.output()).toMatchObject({ result: 'accepted', digits: '31', disputed: false });
    expect(t.calls.recordKey.map((r) => r.keypad.kind)).toEqual(['invalid', 'accepted']);
    expect(t.calls.commits[0]).toMatchObject({ script: 'alarm' });
  });

  it('ends with hangup when the callee hangs up during the prompt, and ignores the key that comes after', async () => {
    const prompt = deferred<PromptOutcome>();
    const t = start({ prompts: [prompt] });
    await flush();
    t.clock.increment(2000);
    await t.answer();
    t.clock.increment(3000);
    await t.hangup('normal');
    prompt.resolve({ status: 'key', key: '1' });
    await flush();
    expect(t.output()).toEqual({ result: 'hangup', digits: '', answeredAt: 2000, endedAt: 5000, cause: cause('normal') });
    expect(t.calls.recordKey).toEqual([]);
    expect(t.calls.commits).toEqual([]);
    expect(t.calls.hangUp).toEqual([]); // the line is already down
  });

  it('waits briefly for the hangup event when the prompt reports the hangup first', async () => {
    const t = start({ prompts: [{ value: { status: 'hangup' } }] });
    await flush();
    await t.answer();
    expect(t.states.at(-1)).toBe('answered.menu.awaitingHangupEvent');
    t.clock.increment(500);
    await t.hangup('lost', -1, 'channel vanished');
    expect(t.output()).toMatchObject({ result: 'interrupted', cause: cause('lost', -1, 'channel vanished'), endedAt: 500 });
    expect(t.calls.recordKey.map((r) => r.keypad.kind)).toEqual(['hangup']);
  });

  it('ends with hangup and hangs up itself when no hangup event follows the prompt', async () => {
    const t = start({ prompts: [{ value: { status: 'hangup' } }] });
    await flush();
    await t.answer();
    t.clock.increment(1999);
    expect(t.actor.getSnapshot().status).toBe('active');
    t.clock.increment(1);
    expect(t.output()).toEqual({ result: 'hangup', digits: '', answeredAt: 0, endedAt: 2000 });
    expect(t.calls.hangUp).toHaveLength(1);
  });

  it('ends interrupted when Asterisk is lost during the prompt', async () => {
    const t = start({ prompts: [deferred<PromptOutcome>()] });
    await flush();
    await t.answer();
    await t.hangup('lost', -1, 'gone');
    expect(t.output()).toMatchObject({ result: 'interrupted', cause: { kind: 'lost' } });
  });

  it('fails with the reason when the prompt cannot be played, and hangs up', async () => {
    const t = start({ prompts: [new Error('sound file missing')] });
    await flush();
    await t.answer();
    expect(t.output()).toMatchObject({ result: 'failed', reason: 'prompt failed: sound file missing' });
    expect(t.calls.hangUp).toHaveLength(1);
  });

  it('caps a menu that never ends with the answeredCallLimit delay', async () => {
    const t = start({ prompts: [deferred<PromptOutcome>()] }, { answeredCallLimitSeconds: 60 });
    await flush();
    await t.answer();
    t.clock.increment(59_999);
    expect(t.actor.getSnapshot().status).toBe('active');
    t.clock.increment(1);
    expect(t.output()).toMatchObject({ result: 'failed', reason: 'answered call limit reached in the menu', endedAt: 60_000 });
    expect(t.calls.hangUp).toHaveLength(1);
  });
});

describe('call attempt: committing and confirming', () => {
  it('keeps the acceptance when the callee hangs up while committing, and plays no confirmation', async () => {
    const commit = deferred<CommitAcceptanceOutput>();
    const t = start({ prompts: [key('1')], commit: [commit] });
    await flush();
    await t.answer();
    t.clock.increment(1000);
    await t.hangup('normal');
    expect(t.actor.getSnapshot().status).toBe('active');
    commit.resolve({ late: false });
    await flush();
    expect(t.output()).toEqual({ result: 'accepted', digits: '1', answeredAt: 0, endedAt: 1000, cause: cause('normal'), disputed: false, late: false });
    expect(t.calls.confirmations).toEqual([]);
    expect(t.calls.hangUp).toEqual([]);
  });

  it('fails with the reason when the commit fails: no confirmation, hang up', async () => {
    const t = start({ prompts: [key('1')], commit: [new Error('database is locked')] });
    await flush();
    await t.answer();
    expect(t.output()).toMatchObject({ result: 'failed', reason: 'commit failed: database is locked', digits: '1', disputed: false });
    expect(t.calls.confirmations).toEqual([]);
    expect(t.calls.hangUp).toHaveLength(1);
  });

  it('fails without hanging up again when the commit fails after the callee left', async () => {
    const commit = deferred<CommitAcceptanceOutput>();
    const t = start({ prompts: [key('1')], commit: [commit] });
    await flush();
    await t.answer();
    await t.hangup('normal');
    commit.reject(new Error('disk full'));
    await flush();
    expect(t.output()).toMatchObject({ result: 'failed', reason: 'commit failed: disk full' });
    expect(t.calls.hangUp).toEqual([]);
  });

  it('finishes the commit on CANCEL and tells the caller it was late', async () => {
    const commit = deferred<CommitAcceptanceOutput>();
    const t = start({ prompts: [key('1')], commit: [commit] });
    await flush();
    await t.answer();
    t.actor.send({ type: 'CANCEL' });
    expect(t.actor.getSnapshot().value).toEqual({ answered: 'committing' });
    commit.resolve({ late: true });
    await flush();
    expect(t.output()).toMatchObject({ result: 'accepted', late: true });
    expect(t.calls.confirmations).toEqual([{ orderId: 'o1', attemptId: 'o1-a1', script: 'dispatch', disputed: false, late: true }]);
  });

  it('hangs up a commit that outlasts the call limit but still keeps the acceptance', async () => {
    const commit = deferred<CommitAcceptanceOutput>();
    const t = start({ prompts: [key('1')], commit: [commit] }, { answeredCallLimitSeconds: 60 });
    await flush();
    await t.answer();
    t.clock.increment(60_000);
    expect(t.calls.hangUp).toHaveLength(1);
    commit.resolve({ late: false });
    await flush();
    expect(t.output()).toMatchObject({ result: 'accepted', endedAt: 60_000 });
    expect(t.calls.confirmations).toEqual([]);
  });

  it('stays accepted when the callee hangs up during the confirmation', async () => {
    const t = start({ prompts: [key('1')], confirm: [deferred<void>()] });
    await flush();
    await t.answer();
    expect(t.states.at(-1)).toBe('answered.confirming');
    t.actor.send({ type: 'CANCEL' }); // ignored: already accepted
    t.clock.increment(1500);
    await t.hangup('normal');
    expect(t.output()).toMatchObject({ result: 'accepted', endedAt: 1500 });
    expect(t.calls.hangUp).toEqual([]);
  });

  it('stays accepted, with the reason, when the confirmation cannot be played', async () => {
    const t = start({ prompts: [key('1')], confirm: [new Error('playback failed')] });
    await flush();
    await t.answer();
    expect(t.output()).toMatchObject({ result: 'accepted', reason: 'confirmation failed: playback failed' });
    expect(t.calls.hangUp).toHaveLength(1);
  });

  it('caps a confirmation that never ends', async () => {
    const t = start({ prompts: [key('1')], confirm: [deferred<void>()] }, { answeredCallLimitSeconds: 60 });
    await flush();
    await t.answer();
    t.clock.increment(60_000);
    expect(t.output()).toMatchObject({ result: 'accepted' });
    expect(t.calls.hangUp).toHaveLength(1);
  });
});

// Dialling, ringing and every hangup cause before the answer are the dial machine's (dial.machine.test.ts);
// here: the call attempt invokes it, hands the channel's events and CANCEL to it, and keeps its result.
describe('call attempt: before the answer (the dial machine)', () => {
  it('is busy on a busy hangup, with the time and cause the dial machine reports', async () => {
    const t = start();
    await flush();
    t.clock.increment(3000);
    await t.hangup('busy', 17, 'User busy');
    expect(t.output()).toEqual({ result: 'busy', digits: '', endedAt: 3000, cause: cause('busy', 17, 'User busy') });
    expect(t.calls.hangUp).toEqual([]);
    expect(t.states).toEqual(['unanswered', 'busy']);
  });

  it.each([
    ['no_answer', 'no_answer', 19],
    ['interrupted', 'lost', -1],
  ] as const)('is %s on a %s hangup before the answer', async (result, kind, code) => {
    const t = start();
    await flush();
    await t.hangup(kind, code);
    expect(t.output()).toMatchObject({ result, cause: { kind, code } });
    expect(t.calls.prompts).toEqual([]);
  });

  it.each([
    ['unreachable', 1, 'Unallocated number', true],
    ['rejected', 21, 'Call rejected', false],
  ] as const)('fails on %s with the cause text as reason, said to be a dead line: %s', async (kind, code, text, dead) => {
    const t = start();
    await flush();
    await t.hangup(kind, code, text);
    expect(t.output()).toMatchObject({ result: 'failed', reason: dead ? `line dead: ${text}` : text, cause: { kind, code, text } });
    expect(t.output()?.lineDead).toBe(dead ? true : undefined);
    expect(t.calls.prompts).toEqual([]);
  });

  it('fails as a dead line when the originate is refused for the number', async () => {
    const t = start({ originate: [Object.assign(new Error('invalid number'), { code: 'invalid_number' })] });
    await flush();
    expect(t.output()).toEqual({ result: 'failed', reason: 'line dead: invalid number', digits: '', endedAt: 0, lineDead: true });
  });

  it('hangs up itself after the ring timeout plus grace when no hangup event comes', async () => {
    const t = start({}, { ringTimeoutSeconds: 30, ringGraceSeconds: 5 });
    await flush();
    expect(t.calls.originate).toEqual([{ attemptId: 'o1-a1', number: '13800000001', ringTimeoutSeconds: 30 }]);
    t.clock.increment(34_999);
    expect(t.actor.getSnapshot().status).toBe('active');
    t.clock.increment(1);
    expect(t.output()).toEqual({ result: 'no_answer', reason: 'no hangup event within the ring timeout and grace', digits: '', endedAt: 35_000 });
    expect(t.calls.hangUp).toEqual([{ attemptId: 'o1-a1' }]);
    expect(t.states).toEqual(['unanswered', 'noAnswer']);
  });

  it('fails with the reason when the originate is refused, without hanging up', async () => {
    const t = start({ originate: [new Error('invalid_number: 12')] });
    await flush();
    expect(t.output()).toEqual({ result: 'failed', reason: 'invalid_number: 12', digits: '', endedAt: 0 });
    expect(t.calls.hangUp).toEqual([]);
    expect(t.log).toEqual(['callEvents.subscribe', 'originate', 'callEvents.unsubscribe']);
  });

  it('keeps a hangup that comes in the same tick as the answer: the dial machine has handed over first', async () => {
    const t = start({ prompts: [deferred<PromptOutcome>()] });
    await flush();
    t.clock.increment(2000);
    t.emit({ type: 'CALL.ANSWERED', at: 2000 });
    t.emit({ type: 'CALL.HANGUP', cause: cause('normal'), at: 2000 });
    await flush();
    expect(t.output()).toEqual({ result: 'hangup', digits: '', answeredAt: 2000, endedAt: 2000, cause: cause('normal') });
    expect(t.calls.recordAnswered).toEqual([{ orderId: 'o1', attemptId: 'o1-a1', at: 2000 }]);
  });

  it('is cancelled, and hangs up, on CANCEL while ringing', async () => {
    const t = start();
    await flush();
    t.actor.send({ type: 'CANCEL' });
    expect(t.output()).toMatchObject({ result: 'cancelled' });
    expect(t.calls.hangUp).toEqual([{ attemptId: 'o1-a1' }]);
    expect(t.states).toEqual(['unanswered', 'cancelled']);
  });

  it('is cancelled, and hangs up, on CANCEL during the menu', async () => {
    const t = start({ prompts: [deferred<PromptOutcome>()] });
    await flush();
    await t.answer();
    t.actor.send({ type: 'CANCEL' });
    expect(t.output()).toMatchObject({ result: 'cancelled', answeredAt: 0 });
    expect(t.calls.hangUp).toHaveLength(1);
  });
});

describe('call attempt: forbidden paths', () => {
  it('ignores keys and events after the final state', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const t = start();
    await flush();
    await t.hangup('busy', 17);
    const before = t.output();
    t.emit({ type: 'CALL.ANSWERED', at: 10 });
    t.actor.send({ type: 'CANCEL' });
    t.actor.send({ type: 'CALL.HANGUP', cause: cause('normal'), at: 20 });
    await flush();
    expect(t.output()).toEqual(before);
    expect(t.calls.recordAnswered).toEqual([]);
    expect(t.calls.hangUp).toEqual([]);
    warn.mockRestore();
  });

  it('does not answer a second time or prompt again after an answer', async () => {
    const prompt = deferred<PromptOutcome>();
    const t = start({ prompts: [prompt] });
    await flush();
    await t.answer();
    await t.answer();
    expect(t.calls.recordAnswered).toHaveLength(1);
    expect(t.calls.prompts).toHaveLength(1);
  });

  it('fails loudly when an effect was not provided', () => {
    const actor = createActor(callAttemptMachine, { input: INPUT });
    const errors: unknown[] = [];
    actor.subscribe({ error: (err) => errors.push(err) });
    actor.start();
    expect(actor.getSnapshot().status).toBe('error');
    expect(String(errors[0])).toMatch(/provide callEvents/);
  });
});
