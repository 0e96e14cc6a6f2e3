import { describe, expect, it, vi } from 'vitest';
import { SimulatedClock, createActor, fromCallback } from 'xstate';
import type { HangupKind } from '../src/telephony/port.js';
import {
  classifySurveyKey,
  decideGreeting,
  decideQuestion,
  openQuestions,
  surveyCallMachine,
  type AskQuestionInput,
  type CommitAnswerInput,
  type CommitOptOutInput,
  type GreetingOutcome,
  type HangUpParams,
  type PlayClosingInput,
  type PlayGreetingInput,
  type QuestionOutcome,
  type RecordAnsweredParams,
  type RecordSurveyKeyParams,
  type SurveyCallEvent,
  type SurveyCallInput,
} from './survey-call.machine.js';
import { dialMachine, type OriginateInput } from './dial.machine.js';
import { callEventFeed, deferred, flush, lineControls, ok, scripted, stateRecorder, type Step } from './test-support.js';

const INPUT: SurveyCallInput = {
  surveyId: 's1',
  attemptId: 's1-a1',
  number: '13900000001',
  ringTimeoutSeconds: 30,
  answered: {},
};

interface Script {
  originate?: Array<Step<void>>;
  greeting?: Array<Step<GreetingOutcome>>;
  questions?: Array<Step<QuestionOutcome>>;
  commit?: Array<Step<void>>;
  optOut?: Array<Step<void>>;
  closing?: Array<Step<void>>;
}

const done = ok(undefined);
const finished = ok<GreetingOutcome>({ status: 'finished' });
const greetKey = (k: string) => ok<GreetingOutcome>({ status: 'key', key: k });
const key = (k: string) => ok<QuestionOutcome>({ status: 'key', key: k });
const noKey = ok<QuestionOutcome>({ status: 'timeout' });
const cause = (kind: HangupKind, code = 16, text: string = kind) => ({ code, kind, text });

function start(script: Script = {}, input: Partial<SurveyCallInput> = {}) {
  const clock = new SimulatedClock();
  const log: string[] = [];
  const calls = {
    originate: [] as OriginateInput[],
    greeting: [] as PlayGreetingInput[],
    questions: [] as AskQuestionInput[],
    commits: [] as CommitAnswerInput[],
    optOuts: [] as CommitOptOutInput[],
    closings: [] as PlayClosingInput[],
    hangUp: [] as HangUpParams[],
    recordAnswered: [] as RecordAnsweredParams[],
    recordKey: [] as RecordSurveyKeyParams[],
  };
  const feed = callEventFeed<SurveyCallEvent>(log);
  const originate = script.originate ?? [done];
  const greeting = script.greeting ?? [finished];
  const questions = script.questions ?? [];
  // Commits succeed unless the test scripts them.
  const commit = script.commit ?? [done, done, done];
  const optOut = script.optOut ?? [done];
  const closing = script.closing ?? [done];
  const machine = surveyCallMachine.provide({
    actors: {
      // The real dial machine, with the same fake originate and hangUp.
      dial: dialMachine.provide({
        actors: { originate: scripted(originate, 'originate', (i: OriginateInput) => (log.push('originate'), calls.originate.push(i))) },
        actions: { hangUp: (_, p) => (log.push('hangUp'), calls.hangUp.push(p)) },
      }),
      callEvents: fromCallback(feed.subscribe),
      playGreeting: scripted(greeting, 'greeting', (i: PlayGreetingInput) => (log.push('greeting'), calls.greeting.push(i))),
      askQuestion: scripted(questions, 'question', (i: AskQuestionInput) => (log.push(`ask:${i.question}:${i.part}`), calls.questions.push(i))),
      commitAnswer: scripted(commit, 'commit', (i: CommitAnswerInput) => (log.push(`commit:${i.question}=${i.answer}`), calls.commits.push(i))),
      commitOptOut: scripted(optOut, 'optOut', (i: CommitOptOutInput) => (log.push('optOut'), calls.optOuts.push(i))),
      playClosing: scripted(closing, 'closing', (i: PlayClosingInput) => (log.push(`closing:${i.kind}`), calls.closings.push(i))),
    },
    actions: {
      hangUp: (_, p) => (log.push('hangUp'), calls.hangUp.push(p)),
      recordAnswered: (_, p) => (log.push('recordAnswered'), calls.recordAnswered.push(p)),
      recordKey: (_, p) => (log.push(`key:${p.question ?? '-'}:${p.key}:${p.meaning}`), calls.recordKey.push(p)),
    },
  });
  const recorder = stateRecorder();
  const actor = createActor(machine, { input: { ...INPUT, ...input }, clock, inspect: recorder.inspect });
  recorder.bind(actor);
  actor.start();
  const { emit } = feed;
  const { answer, hangup } = lineControls(emit, () => clock.now());
  const asked = (): string[] => calls.questions.map((q) => `${q.question}:${q.part}`);
  return { actor, clock, log, calls, emit, answer, hangup, asked, states: recorder.states, output: () => actor.getSnapshot().output };
}

describe('survey keys and steps', () => {
  it.each([
    ['1', 'satisfied'],
    ['2', 'unsatisfied'],
    ['9', 'opt_out'],
    ['3', 'invalid'],
    ['0', 'invalid'],
    ['#', 'invalid'],
    ['*', 'repeat'],
  ] as const)('key %s means %s', (k, meaning) => {
    expect(classifySurveyKey(k)).toBe(meaning);
  });

  it('asks again once after a wrong key or no key, then gives no_answer', () => {
    expect(decideQuestion({ status: 'key', key: '1' }, 0)).toEqual({ kind: 'answer', answer: 'satisfied' });
    expect(decideQuestion({ status: 'key', key: '2' }, 1)).toEqual({ kind: 'answer', answer: 'unsatisfied' });
    expect(decideQuestion({ status: 'key', key: '9' }, 1)).toEqual({ kind: 'opt_out' });
    expect(decideQuestion({ status: 'key', key: '5' }, 0)).toEqual({ kind: 'ask', part: 'invalid_then_question' });
    expect(decideQuestion({ status: 'key', key: '5' }, 1)).toEqual({ kind: 'answer', answer: 'no_answer' });
    expect(decideQuestion({ status: 'timeout' }, 0)).toEqual({ kind: 'ask', part: 'again' });
    expect(decideQuestion({ status: 'timeout' }, 1)).toEqual({ kind: 'answer', answer: 'no_answer' });
    expect(decideQuestion({ status: 'hangup' }, 0)).toEqual({ kind: 'hangup' });
  });

  it('repeats the question on *, also after a miss (a repeat is not a miss)', () => {
    expect(decideQuestion({ status: 'key', key: '*' }, 0)).toEqual({ kind: 'ask', part: 'repeat' });
    expect(decideQuestion({ status: 'key', key: '*' }, 1)).toEqual({ kind: 'ask', part: 'repeat' });
    expect(decideGreeting({ status: 'key', key: '*' })).toEqual({ kind: 'ask', part: 'repeat' });
  });

  it('reads a key during the greeting as the first reading of the first open question', () => {
    expect(decideGreeting({ status: 'finished' })).toEqual({ kind: 'ask', part: 'question' });
    expect(decideGreeting({ status: 'key', key: '1' })).toEqual({ kind: 'answer', answer: 'satisfied' });
    expect(decideGreeting({ status: 'key', key: '9' })).toEqual({ kind: 'opt_out' });
    expect(decideGreeting({ status: 'key', key: '7' })).toEqual({ kind: 'ask', part: 'invalid_then_question' });
    expect(decideGreeting({ status: 'hangup' })).toEqual({ kind: 'hangup' });
  });

  it('lists the open questions in order', () => {
    expect(openQuestions({})).toEqual(['attitude', 'speed', 'quality']);
    expect(openQuestions({ speed: 'no_answer' })).toEqual(['attitude', 'quality']);
    expect(openQuestions({ attitude: 'satisfied', speed: 'unsatisfied', quality: 'no_answer' })).toEqual([]);
  });
});

describe('survey call: answered paths', () => {
  it('answers 1, 2, 1: commits each answer before the next question, thanks, hangs up, completed', async () => {
    const t = start({ questions: [key('1'), key('2'), key('1')] });
    await flush();
    expect(t.log.slice(0, 2)).toEqual(['callEvents.subscribe', 'originate']); // subscribed before the originate
    t.clock.increment(4000);
    await t.answer();
    expect(t.output()).toEqual({
      result: 'completed',
      answers: { attitude: 'satisfied', speed: 'unsatisfied', quality: 'satisfied' },
      answeredAt: 4000,
      endedAt: 4000,
    });
    expect(t.log).toEqual([
      'callEvents.subscribe', 'originate', 'recordAnswered', 'greeting',
      'ask:attitude:question', 'key:attitude:1:satisfied', 'commit:attitude=satisfied',
      'ask:speed:question', 'key:speed:2:unsatisfied', 'commit:speed=unsatisfied',
      'ask:quality:question', 'key:quality:1:satisfied', 'commit:quality=satisfied',
      'closing:thanks', 'hangUp', 'callEvents.unsubscribe',
    ]);
    expect(t.calls.commits).toEqual([
      { surveyId: 's1', attemptId: 's1-a1', question: 'attitude', answer: 'satisfied' },
      { surveyId: 's1', attemptId: 's1-a1', question: 'speed', answer: 'unsatisfied' },
      { surveyId: 's1', attemptId: 's1-a1', question: 'quality', answer: 'satisfied' },
    ]);
    expect(t.calls.originate).toEqual([{ attemptId: 's1-a1', number: '13900000001', ringTimeoutSeconds: 30 }]);
    expect(t.calls.greeting).toEqual([{ attemptId: 's1-a1' }]);
    expect(t.calls.questions[0]).toEqual({ attemptId: 's1-a1', question: 'attitude', part: 'question', keyTimeoutSeconds: 6 });
    expect(t.calls.closings).toEqual([{ attemptId: 's1-a1', kind: 'thanks' }]);
    expect(t.calls.recordAnswered).toEqual([{ attemptId: 's1-a1', at: 4000 }]);
    expect(t.calls.hangUp).toEqual([{ attemptId: 's1-a1' }]);
    expect(t.states).toEqual([
      'call.unanswered',
      'call.answered.greeting', 'call.answered.deciding', 'call.answered.asking', 'call.answered.deciding', 'call.answered.committing', 'call.answered.committed',
      'call.answered.asking', 'call.answered.deciding', 'call.answered.committing', 'call.answered.committed',
      'call.answered.asking', 'call.answered.deciding', 'call.answered.committing', 'call.answered.committed',
      'call.answered.closing', 'concluding', 'completed',
    ]);
  });

  it('asks the next question only once the commit has resolved', async () => {
    const commit = deferred<void>();
    const t = start({ questions: [key('1'), deferred<QuestionOutcome>()], commit: [commit] });
    await flush();
    await t.answer();
    expect(t.calls.commits).toHaveLength(1);
    expect(t.asked()).toEqual(['attitude:question']); // speed waits for the database
    t.clock.increment(10_000);
    await flush();
    expect(t.asked()).toEqual(['attitude:question']);
    commit.resolve();
    await flush();
    expect(t.asked()).toEqual(['attitude:question', 'speed:question']);
  });

  it('says "invalid key" and asks again after a wrong key, then takes the right one', async () => {
    const t = start({ questions: [key('5'), key('2'), key('1'), key('1')] });
    await flush();
    await t.answer();
    expect(t.asked()).toEqual(['attitude:question', 'attitude:invalid_then_question', 'speed:question', 'quality:question']);
    expect(t.calls.recordKey.slice(0, 2)).toEqual([
      { attemptId: 's1-a1', question: 'attitude', key: '5', meaning: 'invalid' },
      { attemptId: 's1-a1', question: 'attitude', key: '2', meaning: 'unsatisfied' },
    ]);
    expect(t.output()).toMatchObject({ result: 'completed', answers: { attitude: 'unsatisfied', speed: 'satisfied', quality: 'satisfied' } });
  });

  it('counts two wrong keys as no_answer and goes on to the next question', async () => {
    const t = start({ questions: [key('1'), key('7'), key('#'), key('2')] });
    await flush();
    await t.answer();
    expect(t.asked()).toEqual(['attitude:question', 'speed:question', 'speed:invalid_then_question', 'quality:question']);
    expect(t.calls.commits.map((c) => `${c.question}=${c.answer}`)).toEqual(['attitude=satisfied', 'speed=no_answer', 'quality=unsatisfied']);
    expect(t.output()).toMatchObject({ result: 'completed', answers: { attitude: 'satisfied', speed: 'no_answer', quality: 'unsatisfied' } });
  });

  it('counts no key twice as no_answer: the question is read again once', async () => {
    const t = start({ questions: [noKey, noKey, noKey, noKey, noKey, noKey] });
    await flush();
    await t.answer();
    expect(t.asked()).toEqual(['attitude:question', 'attitude:again', 'speed:question', 'speed:again', 'quality:question', 'quality:again']);
    expect(t.calls.recordKey).toEqual([]);
    expect(t.output()).toMatchObject({ result: 'completed', answers: { attitude: 'no_answer', speed: 'no_answer', quality: 'no_answer' } });
    expect(t.calls.closings).toEqual([{ attemptId: 's1-a1', kind: 'thanks' }]);
  });

  it('counts no key then a wrong key as no_answer', async () => {
    const t = start({ questions: [noKey, key('4'), key('1'), key('1')] });
    await flush();
    await t.answer();
    expect(t.asked().slice(0, 3)).toEqual(['attitude:question', 'attitude:again', 'speed:question']);
    expect(t.calls.commits[0]).toMatchObject({ question: 'attitude', answer: 'no_answer' });
  });

  it('* then 1, 2, 1: the first question is read twice, each answer committed once', async () => {
    const t = start({ questions: [key('*'), key('1'), key('2'), key('1')] });
    await flush();
    await t.answer();
    expect(t.asked()).toEqual(['attitude:question', 'attitude:repeat', 'speed:question', 'quality:question']);
    expect(t.calls.recordKey[0]).toEqual({ attemptId: 's1-a1', question: 'attitude', key: '*', meaning: 'repeat' });
    expect(t.calls.commits.map((c) => `${c.question}=${c.answer}`)).toEqual(['attitude=satisfied', 'speed=unsatisfied', 'quality=satisfied']);
    expect(t.output()).toMatchObject({ result: 'completed', answers: { attitude: 'satisfied', speed: 'unsatisfied', quality: 'satisfied' } });
  });

  it('a * is not a miss: *, then no key, still reads the question once more before no_answer', async () => {
    const t = start({ questions: [key('*'), noKey, noKey, key('2'), key('1')] });
    await flush();
    await t.answer();
    expect(t.asked()).toEqual(['attitude:question', 'attitude:repeat', 'attitude:again', 'speed:question', 'quality:question']);
    expect(t.calls.commits.map((c) => `${c.question}=${c.answer}`)).toEqual(['attitude=no_answer', 'speed=unsatisfied', 'quality=satisfied']);
  });

  it('passes the configured key timeout to askQuestion', async () => {
    const t = start({ questions: [deferred<QuestionOutcome>()] }, { keyTimeoutSeconds: 10 });
    await flush();
    await t.answer();
    expect(t.calls.questions).toEqual([{ attemptId: 's1-a1', question: 'attitude', part: 'question', keyTimeoutSeconds: 10 }]);
  });
});

describe('survey call: keys during the greeting', () => {
  it('opts out on 9 during the greeting: commits the opt-out, says so, hangs up; no question is asked', async () => {
    const t = start({ greeting: [greetKey('9')] });
    await flush();
    await t.answer();
    expect(t.output()).toEqual({ result: 'opted_out', answers: {}, answeredAt: 0, endedAt: 0 });
    expect(t.calls.questions).toEqual([]);
    expect(t.calls.commits).toEqual([]);
    expect(t.calls.optOuts).toEqual([{ surveyId: 's1', attemptId: 's1-a1' }]);
    expect(t.calls.recordKey).toEqual([{ attemptId: 's1-a1', question: null, key: '9', meaning: 'opt_out' }]);
    expect(t.log.slice(2)).toEqual(['recordAnswered', 'greeting', 'key:-:9:opt_out', 'optOut', 'closing:opted_out', 'hangUp', 'callEvents.unsubscribe']);
  });

  it('takes 1 or 2 during the greeting as the answer to the first question', async () => {
    const t = start({ greeting: [greetKey('2')], questions: [key('1'), key('1')] });
    await flush();
    await t.answer();
    expect(t.calls.recordKey[0]).toEqual({ attemptId: 's1-a1', question: 'attitude', key: '2', meaning: 'unsatisfied' });
    expect(t.asked()).toEqual(['speed:question', 'quality:question']);
    expect(t.output()).toMatchObject({ result: 'completed', answers: { attitude: 'unsatisfied', speed: 'satisfied', quality: 'satisfied' } });
  });

  it('takes a wrong key during the greeting as the first wrong key for the first question', async () => {
    const t = start({ greeting: [greetKey('3')], questions: [key('3'), key('1'), key('1')] });
    await flush();
    await t.answer();
    expect(t.asked()).toEqual(['attitude:invalid_then_question', 'speed:question', 'quality:question']);
    expect(t.calls.commits[0]).toMatchObject({ question: 'attitude', answer: 'no_answer' });
  });
});

describe('survey call: opting out and hanging up part way', () => {
  it('opts out on 9 during question 2 and keeps answer 1', async () => {
    const t = start({ questions: [key('1'), key('9')] });
    await flush();
    await t.answer();
    expect(t.output()).toMatchObject({ result: 'opted_out', answers: { attitude: 'satisfied' } });
    expect(t.calls.commits.map((c) => c.question)).toEqual(['attitude']);
    expect(t.calls.recordKey[1]).toEqual({ attemptId: 's1-a1', question: 'speed', key: '9', meaning: 'opt_out' });
    expect(t.log.slice(-5)).toEqual(['key:speed:9:opt_out', 'optOut', 'closing:opted_out', 'hangUp', 'callEvents.unsubscribe']);
  });

  it('opts out on 9 after a wrong key too', async () => {
    const t = start({ questions: [key('8'), key('9')] });
    await flush();
    await t.answer();
    expect(t.output()).toMatchObject({ result: 'opted_out', answers: {} });
    expect(t.calls.commits).toEqual([]);
  });

  it('is opted_out without the closing when the citizen hangs up while the opt-out is committed', async () => {
    const optOut = deferred<void>();
    const t = start({ questions: [key('9')], optOut: [optOut] });
    await flush();
    await t.answer();
    await t.hangup('normal');
    expect(t.actor.getSnapshot().status).toBe('active');
    optOut.resolve();
    await flush();
    expect(t.output()).toMatchObject({ result: 'opted_out', cause: cause('normal') });
    expect(t.calls.closings).toEqual([]);
    expect(t.calls.hangUp).toEqual([]);
  });

  it('is partial, keeping the first answer, when the citizen hangs up during question 2', async () => {
    const t = start({ questions: [key('1'), deferred<QuestionOutcome>()] });
    await flush();
    t.clock.increment(1000);
    await t.answer();
    t.clock.increment(20_000);
    await t.hangup('normal');
    expect(t.output()).toEqual({
      result: 'partial',
      answers: { attitude: 'satisfied' },
      answeredAt: 1000,
      endedAt: 21_000,
      cause: cause('normal'),
    });
    expect(t.calls.hangUp).toEqual([]); // the line is already down
    expect(t.calls.closings).toEqual([]);
    expect(t.log.at(-1)).toBe('callEvents.unsubscribe');
  });

  it('is hangup when the citizen hangs up before any answer', async () => {
    const t = start({ greeting: [deferred<GreetingOutcome>()] });
    await flush();
    await t.answer();
    t.clock.increment(3000);
    await t.hangup('normal');
    expect(t.output()).toEqual({ result: 'hangup', answers: {}, answeredAt: 0, endedAt: 3000, cause: cause('normal') });
    expect(t.calls.questions).toEqual([]);
    expect(t.calls.hangUp).toEqual([]);
  });

  it('lets a commit in flight finish when the citizen hangs up, then ends partial without asking on', async () => {
    const commit = deferred<void>();
    const t = start({ questions: [key('2'), key('1')], commit: [commit] });
    await flush();
    await t.answer();
    await t.hangup('normal');
    expect(t.actor.getSnapshot().status).toBe('active');
    commit.resolve();
    await flush();
    expect(t.output()).toMatchObject({ result: 'partial', answers: { attitude: 'unsatisfied' } });
    expect(t.asked()).toEqual(['attitude:question']);
  });

  it('is completed when the citizen hangs up while the last answer is committed', async () => {
    const last = deferred<void>();
    const t = start({ questions: [key('1'), key('1'), key('2')], commit: [done, done, last] });
    await flush();
    await t.answer();
    await t.hangup('normal');
    last.resolve();
    await flush();
    expect(t.output()).toMatchObject({ result: 'completed', answers: { attitude: 'satisfied', speed: 'satisfied', quality: 'unsatisfied' } });
    expect(t.calls.closings).toEqual([]);
  });

  it('is completed when the citizen hangs up during the thanks', async () => {
    const t = start({ questions: [key('1'), key('1'), key('1')], closing: [deferred<void>()] });
    await flush();
    await t.answer();
    expect(t.states.at(-1)).toBe('call.answered.closing');
    t.clock.increment(1500);
    await t.hangup('normal');
    expect(t.output()).toMatchObject({ result: 'completed', endedAt: 1500 });
    expect(t.calls.hangUp).toEqual([]);
  });

  it('waits briefly for the hangup event when a question reports the hangup first', async () => {
    const t = start({ questions: [key('1'), ok<QuestionOutcome>({ status: 'hangup' })] });
    await flush();
    await t.answer();
    expect(t.states.at(-1)).toBe('call.answered.awaitingHangupEvent');
    t.clock.increment(500);
    await t.hangup('normal');
    expect(t.output()).toMatchObject({ result: 'partial', endedAt: 500, cause: cause('normal') });
    expect(t.calls.hangUp).toEqual([]);
  });

  it('hangs up itself when no hangup event follows the greeting seeing one', async () => {
    const t = start({ greeting: [ok<GreetingOutcome>({ status: 'hangup' })] });
    await flush();
    await t.answer();
    t.clock.increment(1999);
    expect(t.actor.getSnapshot().status).toBe('active');
    t.clock.increment(1);
    expect(t.output()).toEqual({ result: 'hangup', answers: {}, answeredAt: 0, endedAt: 2000 });
    expect(t.calls.hangUp).toHaveLength(1);
  });

  it('is interrupted when Asterisk is lost part way, keeping the answers', async () => {
    const t = start({ questions: [key('1'), deferred<QuestionOutcome>()] });
    await flush();
    await t.answer();
    await t.hangup('lost', -1, 'channel vanished');
    expect(t.output()).toMatchObject({ result: 'interrupted', answers: { attitude: 'satisfied' }, cause: cause('lost', -1, 'channel vanished') });
  });
});

describe('survey call: resuming an earlier, partial survey', () => {
  it('asks only speed and quality when attitude was answered before', async () => {
    const t = start({ questions: [key('2'), key('1')] }, { answered: { attitude: 'unsatisfied' } });
    await flush();
    await t.answer();
    expect(t.asked()).toEqual(['speed:question', 'quality:question']);
    expect(t.calls.commits.map((c) => c.question)).toEqual(['speed', 'quality']);
    expect(t.output()).toMatchObject({ result: 'completed', answers: { attitude: 'unsatisfied', speed: 'unsatisfied', quality: 'satisfied' } });
  });

  it('takes a key during the greeting as the answer to the first open question', async () => {
    const t = start({ greeting: [greetKey('1')], questions: [key('2')] }, { answered: { attitude: 'satisfied', speed: 'no_answer' } });
    await flush();
    await t.answer();
    expect(t.calls.recordKey[0]).toMatchObject({ question: 'quality', key: '1' });
    expect(t.calls.questions).toEqual([]);
    expect(t.output()).toMatchObject({ result: 'completed', answers: { attitude: 'satisfied', speed: 'no_answer', quality: 'satisfied' } });
  });

  it('is partial when the citizen hangs up at once but answers were committed before', async () => {
    const t = start({ greeting: [deferred<GreetingOutcome>()] }, { answered: { attitude: 'satisfied' } });
    await flush();
    await t.answer();
    await t.hangup('normal');
    expect(t.output()).toMatchObject({ result: 'partial', answers: { attitude: 'satisfied' } });
  });

  it('does not call at all when every question was answered before', async () => {
    const answered = { attitude: 'satisfied', speed: 'satisfied', quality: 'unsatisfied' } as const;
    const t = start({}, { answered });
    await flush();
    expect(t.output()).toEqual({ result: 'completed', reason: 'all questions already answered: no call placed', answers: answered, endedAt: 0 });
    expect(t.log).toEqual([]);
  });

  it('does not change the input answers object', async () => {
    const answered = { attitude: 'satisfied' as const };
    const t = start({ questions: [key('1'), key('1')] }, { answered });
    await flush();
    await t.answer();
    expect(answered).toEqual({ attitude: 'satisfied' });
  });
});

// Dialling, ringing and every hangup cause before the answer are the dial machine's (dial.machine.test.ts);
// here: the survey call invokes it, hands the channel's events to it, and keeps its result.
describe('survey call: before the answer (the dial machine)', () => {
  it('is busy on a busy hangup, keeping the earlier answers, with the time and cause the dial machine reports', async () => {
    const t = start({}, { answered: { attitude: 'satisfied' } });
    await flush();
    t.clock.increment(3000);
    await t.hangup('busy', 17, 'User busy');
    expect(t.output()).toEqual({ result: 'busy', answers: { attitude: 'satisfied' }, endedAt: 3000, cause: cause('busy', 17, 'User busy') });
    expect(t.calls.hangUp).toEqual([]);
    expect(t.states).toEqual(['call.unanswered', 'busy']);
  });

  it.each([
    ['no_answer', 'no_answer', 19],
    ['interrupted', 'lost', -1],
  ] as const)('is %s on a %s hangup before the answer', async (result, kind, code) => {
    const t = start();
    await flush();
    await t.hangup(kind, code);
    expect(t.output()).toMatchObject({ result, answers: {}, cause: { kind, code } });
    expect(t.calls.greeting).toEqual([]);
  });

  it('fails on an unallocated number with the cause text as reason (a survey does not speak of dead lines)', async () => {
    const t = start();
    await flush();
    await t.hangup('unreachable', 1, 'Unallocated number');
    expect(t.output()).toEqual({ result: 'failed', reason: 'Unallocated number', answers: {}, endedAt: 0, cause: cause('unreachable', 1, 'Unallocated number') });
    expect(t.calls.greeting).toEqual([]);
  });

  it('hangs up itself after the ring timeout plus grace when no hangup event comes', async () => {
    const t = start({}, { ringTimeoutSeconds: 30, ringGraceSeconds: 5 });
    await flush();
    t.clock.increment(34_999);
    expect(t.actor.getSnapshot().status).toBe('active');
    t.clock.increment(1);
    expect(t.output()).toEqual({ result: 'no_answer', reason: 'no hangup event within the ring timeout and grace', answers: {}, endedAt: 35_000 });
    expect(t.calls.hangUp).toEqual([{ attemptId: 's1-a1' }]);
    expect(t.states).toEqual(['call.unanswered', 'noAnswer']);
  });

  it('keeps a hangup that comes in the same tick as the answer: the dial machine has handed over first', async () => {
    const t = start({ greeting: [deferred<GreetingOutcome>()] });
    await flush();
    t.clock.increment(2000);
    t.emit({ type: 'CALL.ANSWERED', at: 2000 });
    t.emit({ type: 'CALL.HANGUP', cause: cause('normal'), at: 2000 });
    await flush();
    expect(t.output()).toEqual({ result: 'hangup', answers: {}, answeredAt: 2000, endedAt: 2000, cause: cause('normal') });
    expect(t.calls.recordAnswered).toEqual([{ attemptId: 's1-a1', at: 2000 }]);
  });

  it('fails with the reason when the originate is refused, without hanging up', async () => {
    const t = start({ originate: [new Error('invalid_number: 12')] });
    await flush();
    expect(t.output()).toEqual({ result: 'failed', reason: 'invalid_number: 12', answers: {}, endedAt: 0 });
    expect(t.calls.hangUp).toEqual([]);
    expect(t.log).toEqual(['callEvents.subscribe', 'originate', 'callEvents.unsubscribe']);
  });
});

describe('survey call: failures and limits', () => {
  it('fails when an answer cannot be committed: the next question is not asked, hang up', async () => {
    const t = start({ questions: [key('1'), key('2')], commit: [done, new Error('database is locked')] });
    await flush();
    await t.answer();
    expect(t.output()).toMatchObject({ result: 'failed', reason: 'commit failed: database is locked', answers: { attitude: 'satisfied' } });
    expect(t.asked()).toEqual(['attitude:question', 'speed:question']);
    expect(t.calls.closings).toEqual([]);
    expect(t.calls.hangUp).toHaveLength(1);
    expect(t.log.slice(-3)).toEqual(['commit:speed=unsatisfied', 'hangUp', 'callEvents.unsubscribe']);
  });

  it('fails without hanging up again when the commit fails after the citizen left', async () => {
    const commit = deferred<void>();
    const t = start({ questions: [key('1')], commit: [commit] });
    await flush();
    await t.answer();
    await t.hangup('normal');
    commit.reject(new Error('disk full'));
    await flush();
    expect(t.output()).toMatchObject({ result: 'failed', reason: 'commit failed: disk full', answers: {} });
    expect(t.calls.hangUp).toEqual([]);
  });

  it('fails when the opt-out cannot be committed', async () => {
    const t = start({ greeting: [greetKey('9')], optOut: [new Error('database is locked')] });
    await flush();
    await t.answer();
    expect(t.output()).toMatchObject({ result: 'failed', reason: 'opt-out commit failed: database is locked' });
    expect(t.calls.closings).toEqual([]);
    expect(t.calls.hangUp).toHaveLength(1);
  });

  it('fails with the reason when the greeting cannot be played', async () => {
    const t = start({ greeting: [new Error('sound file missing')] });
    await flush();
    await t.answer();
    expect(t.output()).toMatchObject({ result: 'failed', reason: 'greeting failed: sound file missing' });
    expect(t.calls.hangUp).toHaveLength(1);
  });

  it('fails with the reason when a question cannot be played, keeping earlier answers', async () => {
    const t = start({ questions: [key('1'), new Error('playback failed')] });
    await flush();
    await t.answer();
    expect(t.output()).toMatchObject({ result: 'failed', reason: 'question failed: playback failed', answers: { attitude: 'satisfied' } });
    expect(t.calls.hangUp).toHaveLength(1);
  });

  it('stays completed, with the reason, when the thanks cannot be played', async () => {
    const t = start({ questions: [key('1'), key('1'), key('1')], closing: [new Error('playback failed')] });
    await flush();
    await t.answer();
    expect(t.output()).toMatchObject({ result: 'completed', reason: 'closing failed: playback failed' });
    expect(t.calls.hangUp).toHaveLength(1);
  });

  it('caps the answered call with the answeredCallLimit delay (5 min by default)', async () => {
    const t = start({ questions: [key('1'), deferred<QuestionOutcome>()] });
    await flush();
    await t.answer();
    t.clock.increment(299_999);
    expect(t.actor.getSnapshot().status).toBe('active');
    t.clock.increment(1);
    expect(t.output()).toMatchObject({ result: 'failed', reason: 'answered call limit reached', answers: { attitude: 'satisfied' }, endedAt: 300_000 });
    expect(t.calls.hangUp).toHaveLength(1);
  });

  it('at the call limit, hangs up but lets a commit in flight finish', async () => {
    const commit = deferred<void>();
    const t = start({ questions: [key('1')], commit: [commit] }, { answeredCallLimitSeconds: 60 });
    await flush();
    await t.answer();
    t.clock.increment(60_000);
    expect(t.calls.hangUp).toHaveLength(1);
    expect(t.actor.getSnapshot().status).toBe('active');
    commit.resolve();
    await flush();
    expect(t.output()).toMatchObject({ result: 'partial', reason: 'answered call limit reached', answers: { attitude: 'satisfied' }, endedAt: 60_000 });
    expect(t.asked()).toEqual(['attitude:question']);
  });

  it('at the call limit, ends a closing that never finishes with the result it has', async () => {
    const t = start({ greeting: [greetKey('9')], closing: [deferred<void>()] }, { answeredCallLimitSeconds: 60 });
    await flush();
    await t.answer();
    t.clock.increment(60_000);
    expect(t.output()).toMatchObject({ result: 'opted_out', endedAt: 60_000 });
    expect(t.calls.hangUp).toHaveLength(1);
  });
});

describe('survey call: forbidden paths', () => {
  it('ignores events after the final state', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const t = start();
    await flush();
    await t.hangup('busy', 17);
    const before = t.output();
    t.emit({ type: 'CALL.ANSWERED', at: 10 });
    t.actor.send({ type: 'CALL.HANGUP', cause: cause('normal'), at: 20 });
    await flush();
    expect(t.output()).toEqual(before);
    expect(t.calls.recordAnswered).toEqual([]);
    expect(t.calls.greeting).toEqual([]);
    warn.mockRestore();
  });

  it('does not greet twice on a second answer event', async () => {
    const t = start({ greeting: [deferred<GreetingOutcome>()] });
    await flush();
    await t.answer();
    await t.answer();
    expect(t.calls.recordAnswered).toHaveLength(1);
    expect(t.calls.greeting).toHaveLength(1);
  });

  it('ignores a question that resolves after the citizen hung up', async () => {
    const question = deferred<QuestionOutcome>();
    const t = start({ questions: [question] });
    await flush();
    await t.answer();
    await t.hangup('normal');
    question.resolve({ status: 'key', key: '1' });
    await flush();
    expect(t.output()).toMatchObject({ result: 'hangup', answers: {} });
    expect(t.calls.recordKey).toEqual([]);
    expect(t.calls.commits).toEqual([]);
  });

  it('fails loudly when an effect was not provided', () => {
    const actor = createActor(surveyCallMachine, { input: INPUT });
    const errors: unknown[] = [];
    actor.subscribe({ error: (err) => errors.push(err) });
    actor.start();
    expect(actor.getSnapshot().status).toBe('error');
    expect(String(errors[0])).toMatch(/provide callEvents with surveyCallMachine.provide\(\)/);
  });
});
