// 督查催办 on a simulated clock: a reminder round with the real call-attempt machine and fake
// phones (answered 1/2/3, no answer → the next contact, nobody → unanswered), and the pure rules
// of what follows a round (new deadline, alert, escalation to the leader after N rounds).
import { describe, expect, it } from 'vitest';
import { SimulatedClock, createActor, fromCallback, fromPromise, type AnyActorRef } from 'xstate';
import { callAttemptMachine, type CallAttemptEvent, type CallAttemptInput, type CommitAcceptanceInput, type CommitAcceptanceOutput, type PromptForKeyInput, type PromptOutcome } from './call-attempt.machine.js';
import { dialMachine } from './dial.machine.js';
import { reminderRoundMachine, type RecordReminderResultParams, type RecordReminderStartedParams, type ReminderRoundInput } from './reminder-round.machine.js';
import { REMINDER_DEFAULTS, afterRound, reminderPolicyOf, type ReminderPolicy } from './reminder.policy.js';
import { flush } from './test-support.js';

type Phone = { key: string; answerAt: number } | { noAnswerAt: number };

function runRound(input: Partial<ReminderRoundInput>, phones: Record<string, Phone>) {
  const clock = new SimulatedClock();
  const committed: CommitAcceptanceInput[] = [];
  const prompts: PromptForKeyInput[] = [];
  const phoneOf = (contactId: string): Phone => phones[contactId] ?? { noAnswerAt: 30_000 };
  const fakeCall = callAttemptMachine.provide({
    actors: {
      callEvents: fromCallback(({ self, sendBack }: { self: AnyActorRef; sendBack: (e: CallAttemptEvent) => void }) => {
        const call = (self._parent!.getSnapshot() as { context: { input: CallAttemptInput } }).context.input;
        const phone = phoneOf(call.contactId);
        const t = 'key' in phone
          ? clock.setTimeout(() => sendBack({ type: 'CALL.ANSWERED', at: clock.now() }), phone.answerAt)
          : clock.setTimeout(() => sendBack({ type: 'CALL.HANGUP', cause: { code: 19, kind: 'no_answer', text: 'No answer' }, at: clock.now() }), phone.noAnswerAt);
        return () => clock.clearTimeout(t);
      }),
      dial: dialMachine.provide({ actors: { originate: fromPromise(() => Promise.resolve()) }, actions: { hangUp: () => undefined } }),
      promptForKey: fromPromise<PromptOutcome, PromptForKeyInput>(({ input: i }) => {
        prompts.push(i);
        const phone = phoneOf(started.find((s) => s.attemptId === i.attemptId)?.contactId ?? '');
        return Promise.resolve<PromptOutcome>('key' in phone ? { status: 'key', key: phone.key } : { status: 'timeout' });
      }),
      commitAcceptance: fromPromise<CommitAcceptanceOutput, CommitAcceptanceInput>(({ input: i }) => {
        committed.push(i);
        return Promise.resolve({ late: false });
      }),
      playConfirmation: fromPromise(() => Promise.resolve()),
    },
    actions: { hangUp: () => undefined, recordAnswered: () => undefined, recordKey: () => undefined },
  });
  const started: RecordReminderStartedParams[] = [];
  const results: RecordReminderResultParams[] = [];
  const machine = reminderRoundMachine.provide({
    actors: { callAttempt: fakeCall },
    actions: {
      recordReminderStarted: (_, p) => void started.push(p),
      recordReminderResult: (_, p) => void results.push(p),
    },
  });
  const actor = createActor(machine, {
    clock,
    input: {
      orderId: 'o1', firstSeq: 1, script: 'reminder', ringTimeoutSeconds: 30, maxReplays: 1,
      targets: [{ id: 'backup', number: '1002' }, { id: 'duty-room', number: '1001' }, { id: 'leader', number: '1003' }],
      ...input,
    },
  });
  actor.start();
  const advance = async (ms: number): Promise<void> => {
    await flush();
    for (let t = 0; t < ms; t += 1000) {
      clock.increment(Math.min(1000, ms - t));
      await flush();
    }
  };
  return { actor, started, results, committed, prompts, advance, output: () => actor.getSnapshot().output };
}

describe('reminder round (督查催办 call)', () => {
  it.each([
    ['1', 'done'],
    ['2', 'on_the_way'],
    ['3', 'need_help'],
  ] as const)('the accepting contact answers %s: the key is committed before the confirmation and answers the round (%s)', async (key, answer) => {
    const t = runRound({}, { backup: { key, answerAt: 2000 } });
    await t.advance(10_000);
    expect(t.output()).toEqual({ answer, attemptId: 'o1-r1', contactId: 'backup', calls: 1 });
    expect(t.committed).toEqual([expect.objectContaining({ attemptId: 'o1-r1', script: 'reminder', key })]);
    expect(t.started.map((s) => [s.attemptId, s.contactId, s.script])).toEqual([['o1-r1', 'backup', 'reminder']]);
    expect(t.results.map((r) => r.output.result)).toEqual(['accepted']);
  });

  it('no answer from the accepting contact: the rest of the duty chain at once, the first to answer counts', async () => {
    const t = runRound({ firstSeq: 4 }, { 'duty-room': { key: '1', answerAt: 1000 } });
    await t.advance(60_000);
    expect(t.started.map((s) => [s.attemptId, s.contactId])).toEqual([['o1-r4', 'backup'], ['o1-r5', 'duty-room']]);
    expect(t.results.map((r) => r.output.result)).toEqual(['no_answer', 'accepted']);
    expect(t.output()).toEqual({ answer: 'done', attemptId: 'o1-r5', contactId: 'duty-room', calls: 2 });
  });

  it('nobody answers: the round ends unanswered after every target was called once', async () => {
    const t = runRound({}, {});
    await t.advance(200_000);
    expect(t.started.map((s) => s.contactId)).toEqual(['backup', 'duty-room', 'leader']);
    expect(t.output()).toEqual({ answer: null, attemptId: null, contactId: null, calls: 3 });
    expect(t.committed).toEqual([]);
  });

  it('a key other than 1, 2, 3 is not an answer (the menu is read again, then no input)', async () => {
    const t = runRound({ targets: [{ id: 'backup', number: '1002' }] }, { backup: { key: '9', answerAt: 1000 } });
    await t.advance(20_000);
    expect(t.results.map((r) => r.output.result)).toEqual(['no_input']);
    expect(t.output()?.answer).toBeNull();
  });

  it('the help alarm to the command centre: 1 confirms', async () => {
    const t = runRound({ script: 'alarm', targets: [{ id: 'command-centre', number: '110' }] }, { 'command-centre': { key: '1', answerAt: 1000 } });
    await t.advance(10_000);
    expect(t.output()).toEqual({ answer: 'done', attemptId: 'o1-r1', contactId: 'command-centre', calls: 1 });
  });

  it('CANCEL (the feedback came another way) ends the round after the live call, no further targets', async () => {
    const t = runRound({}, {});
    await t.advance(5000);
    t.actor.send({ type: 'CANCEL' });
    await t.advance(60_000);
    expect(t.started).toHaveLength(1);
    expect(t.output()).toMatchObject({ answer: null, calls: 1 });
  });
});

describe('reminder rules: deadlines and what follows a round', () => {
  const policy: ReminderPolicy = { arrivalDeadlineSeconds: 1800, completionDeadlineSeconds: 86_400, remindersBeforeEscalation: 2, reminderIntervalSeconds: 600 };
  const arrival = { kind: 'arrival' as const, deadlineSeconds: 1800, unanswered: 0 };
  const now = 1_000_000;

  it('defaults by urgency (urgent and major 30 min / 24 h, normal 2 h / 72 h); a department value wins; 0 switches off', () => {
    expect(reminderPolicyOf({}, 'urgent', false)).toEqual({ ...REMINDER_DEFAULTS.urgent, remindersBeforeEscalation: 2, reminderIntervalSeconds: 600 });
    expect(reminderPolicyOf({}, 'normal', true).arrivalDeadlineSeconds).toBe(1800);
    expect(reminderPolicyOf({}, 'normal', false)).toMatchObject({ arrivalDeadlineSeconds: 7200, completionDeadlineSeconds: 259_200 });
    expect(reminderPolicyOf({ arrivalDeadlineSeconds: 0, remindersBeforeEscalation: 3 }, 'urgent', false)).toMatchObject({ arrivalDeadlineSeconds: 0, remindersBeforeEscalation: 3 });
  });

  it('1: the feedback is recorded, the deadline met', () => {
    expect(afterRound(arrival, 'done', policy, now)).toEqual({ kind: 'met', alert: false });
  });

  it('2: a new deadline of the same length, counted toward escalation', () => {
    expect(afterRound(arrival, 'on_the_way', policy, now)).toEqual({ kind: 'reschedule', dueAt: now + 1_800_000, unanswered: 1, alert: false });
  });

  it('3: an alert to the command centre and a new deadline, not counted toward escalation', () => {
    expect(afterRound({ ...arrival, unanswered: 1 }, 'need_help', policy, now)).toEqual({ kind: 'reschedule', dueAt: now + 1_800_000, unanswered: 1, alert: true });
  });

  it('nobody answered: again after the reminder interval', () => {
    expect(afterRound(arrival, null, policy, now)).toEqual({ kind: 'reschedule', dueAt: now + 600_000, unanswered: 1, alert: false });
  });

  it('after remindersBeforeEscalation unanswered or "still on the way" rounds: escalation to the leader (flag overdue)', () => {
    expect(afterRound({ ...arrival, unanswered: 1 }, null, policy, now)).toEqual({ kind: 'escalate', unanswered: 2, alert: false });
    expect(afterRound({ ...arrival, unanswered: 1 }, 'on_the_way', policy, now)).toEqual({ kind: 'escalate', unanswered: 2, alert: false });
    expect(afterRound(arrival, null, { ...policy, remindersBeforeEscalation: 1 }, now).kind).toBe('escalate');
  });
});
