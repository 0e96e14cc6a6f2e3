import { describe, expect, it, vi } from 'vitest';
import { SimulatedClock, createActor, fromCallback } from 'xstate';
import {
  classifyFeedbackKey,
  classifyKindOutcome,
  feedbackIvrMachine,
  type AnswerInput,
  type CodePromptOutcome,
  type CommitFeedbackInput,
  type FeedbackIvrEvent,
  type FeedbackIvrInput,
  type FindOrderInput,
  type FindOrderOutput,
  type HangUpParams,
  type KindPromptOutcome,
  type PlayGoodbyeInput,
  type PlayRecordedInput,
  type PromptForCodeInput,
  type PromptForKindInput,
  type PromptForPinInput,
  type RecordRefusalParams,
  type VerifyPinInput,
} from './feedback-ivr.machine.js';
import { callEventFeed, deferred, flush, ok, scripted, stateRecorder, type Step } from './test-support.js';

const INPUT: FeedbackIvrInput = { channelId: 'in-1', callerNumber: '05770001234', maxTries: 3 };
const ORDER: FindOrderOutput = { found: true, orderId: 'o1', code: '123456', caller: 'contact' };

interface Script {
  answer?: Array<Step<void>>;
  codes?: Array<Step<CodePromptOutcome>>;
  lookups?: Array<Step<FindOrderOutput>>;
  keys?: Array<Step<KindPromptOutcome>>;
  commit?: Array<Step<void>>;
  recorded?: Array<Step<void>>;
  goodbye?: Array<Step<void>>;
  pins?: Array<Step<CodePromptOutcome>>;
  verifies?: Array<Step<{ ok: boolean }>>;
}

const code = (digits: string): { value: CodePromptOutcome } => ({ value: { status: 'digits', digits } });
const key = (k: string): { value: KindPromptOutcome } => ({ value: { status: 'key', key: k } });
const timeout = { value: { status: 'timeout' } } as const;
const hungUp = { value: { status: 'hangup' } } as const;
const found = ok(ORDER);
const unknown = ok<FindOrderOutput>({ found: false });

function start(script: Script = {}, input: Partial<FeedbackIvrInput> = {}) {
  const clock = new SimulatedClock();
  const log: string[] = [];
  const calls = {
    answer: [] as AnswerInput[],
    codes: [] as PromptForCodeInput[],
    lookups: [] as FindOrderInput[],
    keys: [] as PromptForKindInput[],
    commits: [] as CommitFeedbackInput[],
    recorded: [] as PlayRecordedInput[],
    goodbye: [] as PlayGoodbyeInput[],
    hangUp: [] as HangUpParams[],
    pins: [] as PromptForPinInput[],
    verifies: [] as VerifyPinInput[],
    refusals: [] as RecordRefusalParams[],
  };
  const feed = callEventFeed<FeedbackIvrEvent>(log);
  const answer = script.answer ?? [ok(undefined)];
  const codes = script.codes ?? [];
  const lookups = script.lookups ?? [];
  const keys = script.keys ?? [];
  const commit = script.commit ?? [ok(undefined)];
  const recorded = script.recorded ?? [ok(undefined)];
  const goodbye = script.goodbye ?? [ok(undefined)];
  const machine = feedbackIvrMachine.provide({
    actors: {
      callEvents: fromCallback(feed.subscribe),
      answer: scripted(answer, 'answer', (i: AnswerInput) => (log.push('answer'), calls.answer.push(i))),
      promptForCode: scripted(codes, 'promptForCode', (i: PromptForCodeInput) => (log.push(`code:${i.part}`), calls.codes.push(i))),
      findOrder: scripted(lookups, 'findOrder', (i: FindOrderInput) => (log.push(`find:${i.digits}`), calls.lookups.push(i))),
      promptForKind: scripted(keys, 'promptForKind', (i: PromptForKindInput) => (log.push(`kind:${i.part}`), calls.keys.push(i))),
      commitFeedback: scripted(commit, 'commitFeedback', (i: CommitFeedbackInput) => (log.push(`commit:${i.kind}`), calls.commits.push(i))),
      playRecorded: scripted(recorded, 'playRecorded', (i: PlayRecordedInput) => (log.push('recorded'), calls.recorded.push(i))),
      playGoodbye: scripted(goodbye, 'playGoodbye', (i: PlayGoodbyeInput) => (log.push(`goodbye:${i.after}`), calls.goodbye.push(i))),
      promptForPin: scripted(script.pins ?? [], 'promptForPin', (i: PromptForPinInput) => (log.push(`pin:${i.part}`), calls.pins.push(i))),
      verifyPin: scripted(script.verifies ?? [], 'verifyPin', (i: VerifyPinInput) => (log.push(`verify:${i.digits}`), calls.verifies.push(i))),
    },
    actions: {
      hangUp: (_, p) => (log.push('hangUp'), calls.hangUp.push(p)),
      recordRefusal: (_, p) => (log.push(`refusal:${p.reason}`), calls.refusals.push(p)),
    },
  });
  const recorder = stateRecorder();
  const actor = createActor(machine, { input: { ...INPUT, ...input }, clock, inspect: recorder.inspect });
  recorder.bind(actor);
  actor.start();
  const hangup = async (): Promise<void> => {
    feed.emit({ type: 'CALL.HANGUP' });
    await flush();
  };
  return { actor, clock, log, calls, hangup, states: recorder.states, output: () => actor.getSnapshot().output, status: () => actor.getSnapshot().status };
}

describe('menu keys', () => {
  it.each([
    ['1', { kind: 'feedback', key: '1', feedback: 'arrived' }],
    ['2', { kind: 'feedback', key: '2', feedback: 'progress' }],
    ['3', { kind: 'feedback', key: '3', feedback: 'completed' }],
    ['4', { kind: 'invalid', key: '4' }],
    ['0', { kind: 'invalid', key: '0' }],
    ['#', { kind: 'invalid', key: '#' }],
    ['*', { kind: 'invalid', key: '*' }],
    ['toString', { kind: 'invalid', key: 'toString' }],
  ] as const)('key %s', (k, expected) => {
    expect(classifyFeedbackKey(k)).toEqual(expected);
  });
  it('maps timeouts and hangups to their own kinds', () => {
    expect(classifyKindOutcome({ status: 'timeout' })).toEqual({ kind: 'timeout' });
    expect(classifyKindOutcome({ status: 'hangup' })).toEqual({ kind: 'hangup' });
  });
});

describe('feedback line: recorded', () => {
  it.each([
    ['1', 'arrived'],
    ['2', 'progress'],
    ['3', 'completed'],
  ] as const)('key %s records %s: committed before "recorded" is played, then hangs up', async (k, kind) => {
    const commit = deferred<void>();
    const t = start({ codes: [code('123456')], lookups: [found], keys: [key(k)], commit: [commit] });
    await flush();
    // "Recorded" must wait for the database.
    expect(t.log).toEqual(['callEvents.subscribe', 'answer', 'code:welcome', 'find:123456', 'kind:menu', `commit:${kind}`]);
    expect(t.calls.recorded).toEqual([]);
    commit.resolve();
    await flush();
    expect(t.status()).toBe('done');
    expect(t.output()).toEqual({ result: 'recorded', orderId: 'o1', code: '123456', kind });
    expect(t.log.slice(6)).toEqual(['recorded', 'hangUp', 'callEvents.unsubscribe']);
    expect(t.calls.answer).toEqual([{ channelId: 'in-1' }]);
    expect(t.calls.codes).toEqual([{ channelId: 'in-1', part: 'welcome', attempt: 1 }]);
    expect(t.calls.lookups).toEqual([{ channelId: 'in-1', digits: '123456', callerNumber: '05770001234' }]);
    expect(t.calls.keys).toEqual([{ channelId: 'in-1', orderId: 'o1', code: '123456', part: 'menu', attempt: 1 }]);
    expect(t.calls.commits).toEqual([{ channelId: 'in-1', orderId: 'o1', kind, callerNumber: '05770001234' }]);
    expect(t.calls.recorded).toEqual([{ channelId: 'in-1', orderId: 'o1', code: '123456', kind }]);
    expect(t.calls.hangUp).toEqual([{ channelId: 'in-1' }]);
    expect(t.calls.goodbye).toEqual([]);
    expect(t.states).toEqual([
      'session.answering', 'session.code.prompting', 'session.code.deciding', 'session.code.looking',
      'session.kind.prompting', 'session.kind.deciding', 'committing', 'confirming', 'recorded',
    ]);
  });

  it('passes a withheld caller number on as empty', async () => {
    const t = start({ codes: [code('123456')], lookups: [found], keys: [key('1')] }, { callerNumber: '' });
    await flush();
    expect(t.calls.commits).toEqual([{ channelId: 'in-1', orderId: 'o1', kind: 'arrived', callerNumber: '' }]);
    expect(t.output()).toMatchObject({ result: 'recorded' });
  });

  it('unknown code, then the right one: "unknown order" + welcome again, then the menu', async () => {
    const t = start({ codes: [code('000000'), code('123456')], lookups: [unknown, found], keys: [key('3')] });
    await flush();
    expect(t.output()).toEqual({ result: 'recorded', orderId: 'o1', code: '123456', kind: 'completed' });
    expect(t.calls.codes.map((c) => [c.part, c.attempt])).toEqual([['welcome', 1], ['unknown_then_welcome', 2]]);
    expect(t.calls.lookups.map((l) => l.digits)).toEqual(['000000', '123456']);
    // The menu has its own tries, counted from 1.
    expect(t.calls.keys.map((k) => [k.part, k.attempt])).toEqual([['menu', 1]]);
  });

  it('no code at first, then a code: the welcome again', async () => {
    const t = start({ codes: [timeout, code('123456')], lookups: [found], keys: [key('2')] });
    await flush();
    expect(t.output()).toMatchObject({ result: 'recorded', kind: 'progress' });
    expect(t.calls.codes.map((c) => c.part)).toEqual(['welcome', 'welcome_again']);
  });

  it('an empty entry (# alone) is no code: no lookup, the welcome again', async () => {
    const t = start({ codes: [code(''), code('123456')], lookups: [found], keys: [key('1')] });
    await flush();
    expect(t.output()).toMatchObject({ result: 'recorded' });
    expect(t.calls.lookups.map((l) => l.digits)).toEqual(['123456']);
    expect(t.calls.codes.map((c) => c.part)).toEqual(['welcome', 'welcome_again']);
  });

  it('invalid key: "invalid" + menu again, then a valid key', async () => {
    const t = start({ codes: [code('123456')], lookups: [found], keys: [key('9'), key('1')] });
    await flush();
    expect(t.output()).toEqual({ result: 'recorded', orderId: 'o1', code: '123456', kind: 'arrived' });
    expect(t.calls.keys.map((k) => [k.part, k.attempt])).toEqual([['menu', 1], ['invalid_then_menu', 2]]);
    expect(t.calls.commits).toHaveLength(1);
  });

  it('no key in the menu: the menu again, then a valid key', async () => {
    const t = start({ codes: [code('123456')], lookups: [found], keys: [timeout, key('3')] });
    await flush();
    expect(t.output()).toMatchObject({ result: 'recorded', kind: 'completed' });
    expect(t.calls.keys.map((k) => k.part)).toEqual(['menu', 'menu_again']);
  });
});

describe('feedback line: giving up', () => {
  it('no code after maxTries prompts: no_input, goodbye, hang up, nothing looked up', async () => {
    const t = start({ codes: [timeout, timeout, timeout, code('123456')] });
    await flush();
    expect(t.output()).toEqual({ result: 'no_input', reason: 'no order code keyed after 3 prompts' });
    expect(t.calls.codes.map((c) => [c.part, c.attempt])).toEqual([['welcome', 1], ['welcome_again', 2], ['welcome_again', 3]]);
    expect(t.calls.lookups).toEqual([]);
    expect(t.calls.goodbye).toEqual([{ channelId: 'in-1', after: 'no_input' }]);
    expect(t.log.slice(-3)).toEqual(['goodbye:no_input', 'hangUp', 'callEvents.unsubscribe']);
    expect(t.states.at(-1)).toBe('noInput');
  });

  it('allows 3 prompts when maxTries is not given', async () => {
    const t = start({ codes: [timeout, timeout, timeout] }, { maxTries: undefined });
    await flush();
    expect(t.output()).toMatchObject({ result: 'no_input' });
    expect(t.calls.codes).toHaveLength(3);
  });

  it('honours a smaller maxTries', async () => {
    const t = start({ codes: [code('000000')], lookups: [unknown] }, { maxTries: 1 });
    await flush();
    expect(t.output()).toEqual({ result: 'unknown_order', reason: 'no order with code 000000 (1 prompts)' });
    expect(t.calls.codes).toHaveLength(1);
  });

  it('unknown codes every time: unknown_order, "unknown order" + goodbye, hang up, nothing committed', async () => {
    const t = start({ codes: [code('000000'), code('111111'), code('222222')], lookups: [unknown, unknown, unknown] });
    await flush();
    expect(t.output()).toEqual({ result: 'unknown_order', reason: 'no order with code 222222 (3 prompts)' });
    expect(t.calls.codes.map((c) => c.part)).toEqual(['welcome', 'unknown_then_welcome', 'unknown_then_welcome']);
    expect(t.calls.goodbye).toEqual([{ channelId: 'in-1', after: 'unknown_order' }]);
    expect(t.calls.keys).toEqual([]);
    expect(t.calls.commits).toEqual([]);
    expect(t.calls.hangUp).toHaveLength(1);
    expect(t.states.at(-1)).toBe('unknownOrder');
  });

  it('an unknown code, then silence: still unknown_order', async () => {
    const t = start({ codes: [code('000000'), timeout, timeout], lookups: [unknown] });
    await flush();
    expect(t.output()).toEqual({ result: 'unknown_order', reason: 'no order with code 000000 (3 prompts)' });
    expect(t.calls.codes.map((c) => c.part)).toEqual(['welcome', 'unknown_then_welcome', 'welcome_again']);
    expect(t.calls.goodbye).toEqual([{ channelId: 'in-1', after: 'unknown_order' }]);
  });

  it('invalid keys and silence in the menu count toward maxTries: no_input, the order kept, nothing committed', async () => {
    const t = start({ codes: [code('123456')], lookups: [found], keys: [key('7'), timeout, key('#'), key('1')] });
    await flush();
    expect(t.output()).toEqual({ result: 'no_input', orderId: 'o1', code: '123456', reason: 'no valid key after 3 menu prompts' });
    expect(t.calls.keys.map((k) => [k.part, k.attempt])).toEqual([['menu', 1], ['invalid_then_menu', 2], ['menu_again', 3]]);
    expect(t.calls.commits).toEqual([]);
    expect(t.calls.goodbye).toEqual([{ channelId: 'in-1', after: 'no_input' }]);
    expect(t.calls.hangUp).toHaveLength(1);
  });

  it('still hangs up when the goodbye cannot be played', async () => {
    const t = start({ codes: [timeout, timeout, timeout], goodbye: [new Error('playback failed')] });
    await flush();
    expect(t.output()).toMatchObject({ result: 'no_input' });
    expect(t.calls.hangUp).toHaveLength(1);
  });

  it('keeps the result when the caller hangs up during the goodbye', async () => {
    const t = start({ codes: [code('000000'), code('000000'), code('000000')], lookups: [unknown, unknown, unknown], goodbye: [deferred<void>()] });
    await flush();
    expect(t.states.at(-1)).toBe('closing');
    await t.hangup();
    expect(t.output()).toMatchObject({ result: 'unknown_order' });
    expect(t.calls.hangUp).toEqual([]);
  });
});

describe('feedback line: hangups', () => {
  it('hangup during the welcome (reported by the prompt): hangup, nothing looked up', async () => {
    const t = start({ codes: [hungUp] });
    await flush();
    expect(t.output()).toEqual({ result: 'hangup' });
    expect(t.calls.lookups).toEqual([]);
    expect(t.calls.hangUp).toEqual([]);
    expect(t.log.at(-1)).toBe('callEvents.unsubscribe');
  });

  it('hangup event during the code prompt ends the call at once; a late result is ignored', async () => {
    const prompt = deferred<CodePromptOutcome>();
    const t = start({ codes: [prompt] });
    await flush();
    await t.hangup();
    prompt.resolve({ status: 'digits', digits: '123456' });
    await flush();
    expect(t.output()).toEqual({ result: 'hangup' });
    expect(t.calls.lookups).toEqual([]);
    expect(t.calls.hangUp).toEqual([]);
  });

  it('hangup during the lookup', async () => {
    const t = start({ codes: [code('123456')], lookups: [deferred<FindOrderOutput>()] });
    await flush();
    await t.hangup();
    expect(t.output()).toEqual({ result: 'hangup' });
  });

  it('hangup in the menu keeps the order found so far, commits nothing', async () => {
    const t = start({ codes: [code('123456')], lookups: [found], keys: [deferred<KindPromptOutcome>()] });
    await flush();
    await t.hangup();
    expect(t.output()).toEqual({ result: 'hangup', orderId: 'o1', code: '123456' });
    expect(t.calls.commits).toEqual([]);
    expect(t.calls.hangUp).toEqual([]);
  });

  it('hangup reported by the menu prompt after an invalid key', async () => {
    const t = start({ codes: [code('123456')], lookups: [found], keys: [key('5'), hungUp] });
    await flush();
    expect(t.output()).toEqual({ result: 'hangup', orderId: 'o1', code: '123456' });
  });

  it('hangup while committing: the feedback is still committed, "recorded" is not played', async () => {
    const commit = deferred<void>();
    const t = start({ codes: [code('123456')], lookups: [found], keys: [key('1')], commit: [commit] });
    await flush();
    await t.hangup();
    expect(t.status()).toBe('active');
    commit.resolve();
    await flush();
    expect(t.output()).toEqual({ result: 'recorded', orderId: 'o1', code: '123456', kind: 'arrived' });
    expect(t.calls.recorded).toEqual([]);
    expect(t.calls.hangUp).toEqual([]);
  });

  it('hangup during "recorded": still recorded', async () => {
    const t = start({ codes: [code('123456')], lookups: [found], keys: [key('2')], recorded: [deferred<void>()] });
    await flush();
    expect(t.states.at(-1)).toBe('confirming');
    await t.hangup();
    expect(t.output()).toEqual({ result: 'recorded', orderId: 'o1', code: '123456', kind: 'progress' });
    expect(t.calls.hangUp).toEqual([]);
  });
});

describe('feedback line: failures', () => {
  it('a failed commit: failed with the reason, no "recorded", hang up', async () => {
    const t = start({ codes: [code('123456')], lookups: [found], keys: [key('3')], commit: [new Error('order 123456 was cancelled')] });
    await flush();
    expect(t.output()).toEqual({ result: 'failed', orderId: 'o1', code: '123456', kind: 'completed', reason: 'commit failed: order 123456 was cancelled' });
    expect(t.calls.recorded).toEqual([]);
    expect(t.calls.hangUp).toHaveLength(1);
    expect(t.states.slice(-2)).toEqual(['committing', 'failed']);
  });

  it('a failed commit after the caller left: failed, no second hangup', async () => {
    const commit = deferred<void>();
    const t = start({ codes: [code('123456')], lookups: [found], keys: [key('1')], commit: [commit] });
    await flush();
    await t.hangup();
    commit.reject(new Error('disk I/O error'));
    await flush();
    expect(t.output()).toMatchObject({ result: 'failed', reason: 'commit failed: disk I/O error' });
    expect(t.calls.hangUp).toEqual([]);
  });

  it('stays recorded, with the reason, when "recorded" cannot be played', async () => {
    const t = start({ codes: [code('123456')], lookups: [found], keys: [key('1')], recorded: [new Error('playback failed')] });
    await flush();
    expect(t.output()).toEqual({ result: 'recorded', orderId: 'o1', code: '123456', kind: 'arrived', reason: 'confirmation failed: playback failed' });
    expect(t.calls.hangUp).toHaveLength(1);
  });

  it.each<[string, Script, string]>([
    ['answer', { answer: [new Error('no_such_channel')] }, 'answer failed: no_such_channel'],
    ['the code prompt', { codes: [new Error('sound file missing')] }, 'prompt failed: sound file missing'],
    ['the lookup', { codes: [code('123456')], lookups: [new Error('database is locked')] }, 'order lookup failed: database is locked'],
    ['the menu prompt', { codes: [code('123456')], lookups: [found], keys: [new Error('tts failed')] }, 'prompt failed: tts failed'],
  ])('fails with the reason when %s fails, and hangs up', async (_label, script, reason) => {
    const t = start(script);
    await flush();
    expect(t.output()).toMatchObject({ result: 'failed', reason });
    expect(t.calls.hangUp).toHaveLength(1);
    expect(t.calls.commits).toEqual([]);
  });

  it('caps a call that never ends with the callLimit delay', async () => {
    const t = start({ codes: [code('123456')], lookups: [found], keys: [deferred<KindPromptOutcome>()] }, { callLimitSeconds: 120 });
    await flush();
    t.clock.increment(119_999);
    expect(t.status()).toBe('active');
    t.clock.increment(1);
    expect(t.output()).toEqual({ result: 'failed', orderId: 'o1', code: '123456', reason: 'call limit reached before feedback was given' });
    expect(t.calls.hangUp).toHaveLength(1);
  });

  it('uses a 300 s call limit by default', async () => {
    const t = start({ codes: [deferred<CodePromptOutcome>()] });
    await flush();
    t.clock.increment(299_999);
    expect(t.status()).toBe('active');
    t.clock.increment(1);
    expect(t.output()).toMatchObject({ result: 'failed' });
  });

  it('a commit that outlasts the call limit: hang up, but keep the feedback', async () => {
    const commit = deferred<void>();
    const t = start({ codes: [code('123456')], lookups: [found], keys: [key('1')], commit: [commit] }, { callLimitSeconds: 60 });
    await flush();
    t.clock.increment(60_000);
    expect(t.calls.hangUp).toHaveLength(1);
    expect(t.status()).toBe('active');
    commit.resolve();
    await flush();
    expect(t.output()).toMatchObject({ result: 'recorded', kind: 'arrived' });
    expect(t.calls.recorded).toEqual([]);
  });

  it('caps a "recorded" prompt that never ends', async () => {
    const t = start({ codes: [code('123456')], lookups: [found], keys: [key('1')], recorded: [deferred<void>()] }, { callLimitSeconds: 60 });
    await flush();
    t.clock.increment(60_000);
    expect(t.output()).toMatchObject({ result: 'recorded' });
    expect(t.calls.hangUp).toHaveLength(1);
  });

  it('fails loudly when an effect was not provided', () => {
    const actor = createActor(feedbackIvrMachine, { input: INPUT });
    const errors: unknown[] = [];
    actor.subscribe({ error: (err) => errors.push(err) });
    actor.start();
    expect(actor.getSnapshot().status).toBe('error');
    expect(String(errors[0])).toMatch(/provide callEvents/);
  });

  it('ignores events after the final state', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const t = start({ codes: [hungUp] });
    await flush();
    const before = t.output();
    t.actor.send({ type: 'CALL.HANGUP' });
    await flush();
    expect(t.output()).toEqual(before);
    expect(t.calls.hangUp).toEqual([]);
    warn.mockRestore();
  });
});

describe('feedback line: who may give feedback', () => {
  const needsPin = ok<FindOrderOutput>({ found: true, orderId: 'o1', code: '123456', caller: 'pin' });
  const right = ok({ ok: true });
  const wrong = ok({ ok: false });

  it('a caller who is not a contact keys the PIN; the right PIN opens the menu and the feedback is recorded', async () => {
    const t = start({ codes: [code('123456')], lookups: [needsPin], pins: [code('2468')], verifies: [right], keys: [key('1')] });
    await flush();
    expect(t.log).toEqual(['callEvents.subscribe', 'answer', 'code:welcome', 'find:123456', 'pin:pin', 'verify:2468', 'kind:menu', 'commit:arrived', 'recorded', 'hangUp', 'callEvents.unsubscribe']);
    expect(t.calls.verifies[0]).toEqual({ channelId: 'in-1', orderId: 'o1', digits: '2468', callerNumber: '05770001234', wrongSoFar: 0 });
    expect(t.output()).toEqual({ result: 'recorded', orderId: 'o1', code: '123456', kind: 'arrived' });
  });

  it('a wrong PIN is asked again ("wrong" first); the third wrong entry ends the call refused, recorded as a refusal', async () => {
    const t = start({ codes: [code('123456')], lookups: [needsPin], pins: [code('1111'), code('2222'), code('3333')], verifies: [wrong, wrong, wrong] });
    await flush();
    expect(t.log).toEqual([
      'callEvents.subscribe', 'answer', 'code:welcome', 'find:123456',
      'pin:pin', 'verify:1111', 'pin:wrong_then_pin', 'verify:2222', 'pin:wrong_then_pin', 'verify:3333',
      'refusal:wrong PIN 3 times', 'goodbye:refused', 'hangUp', 'callEvents.unsubscribe',
    ]);
    expect(t.calls.verifies.map((v) => v.wrongSoFar)).toEqual([0, 1, 2]);
    expect(t.calls.commits).toEqual([]);
    expect(t.output()).toEqual({ result: 'refused', orderId: 'o1', code: '123456', reason: 'wrong PIN 3 times' });
  });

  it('two wrong entries, then the right one: recorded', async () => {
    const t = start({ codes: [code('123456')], lookups: [needsPin], pins: [code('1'), code('2'), code('2468')], verifies: [wrong, wrong, right], keys: [key('3')] });
    await flush();
    expect(t.output()).toMatchObject({ result: 'recorded', kind: 'completed' });
  });

  it('no PIN keyed after the tries: refused and recorded', async () => {
    const t = start({ codes: [code('123456')], lookups: [needsPin], pins: [timeout, timeout, timeout] });
    await flush();
    expect(t.log.slice(4)).toEqual(['pin:pin', 'pin:pin_again', 'pin:pin_again', 'refusal:no PIN keyed after 3 prompts', 'goodbye:refused', 'hangUp', 'callEvents.unsubscribe']);
    expect(t.output()).toMatchObject({ result: 'refused', reason: 'no PIN keyed after 3 prompts' });
  });

  it('refused at once when the lookup refuses (no PIN set): no PIN prompt, no menu', async () => {
    const refused = ok<FindOrderOutput>({ found: true, orderId: 'o1', code: '123456', caller: 'refused', refusal: 'caller is not a contact and the unit has no PIN' });
    const t = start({ codes: [code('123456')], lookups: [refused] });
    await flush();
    expect(t.log).toEqual(['callEvents.subscribe', 'answer', 'code:welcome', 'find:123456', 'goodbye:refused', 'hangUp', 'callEvents.unsubscribe']);
    expect(t.calls.pins).toEqual([]);
    expect(t.output()).toEqual({ result: 'refused', orderId: 'o1', code: '123456', reason: 'caller is not a contact and the unit has no PIN' });
  });

  it('a hangup while the PIN is asked: hangup, nothing recorded', async () => {
    const t = start({ codes: [code('123456')], lookups: [needsPin], pins: [hungUp] });
    await flush();
    expect(t.output()).toMatchObject({ result: 'hangup' });
    expect(t.calls.commits).toEqual([]);
  });
});
