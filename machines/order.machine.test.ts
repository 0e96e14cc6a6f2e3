import { describe, expect, it, vi } from 'vitest';
import { SimulatedClock, createActor, fromCallback, fromPromise } from 'xstate';
import { callAttemptMachine, type CommitAcceptanceOutput } from './call-attempt.machine.js';
import { dialMachine, type OriginateInput } from './dial.machine.js';
import { orderMachine, resumePointOf } from './order.machine.js';
import { FIRST_CURSOR, advanceCursor, firstSeqOfUnit, isExhausted, normalizeCursor, stepBetween } from './order.policy.js';
import { BACKUP, BASE, DUTY, LEADER_A, LEADER_B, POLICY, accept, busy, noAnswer, start } from './order.test-support.js';
import { deferred, flush } from './test-support.js';

describe('escalation policy helpers', () => {
  const p = { ...POLICY, attemptsPerContact: 2, chainLoops: 1 };
  it('advances within a contact, to the next contact, to the next loop, then is exhausted', () => {
    expect(advanceCursor({ loop: 0, contactIndex: 0, attemptOnContact: 0 }, p, 2)).toEqual({ loop: 0, contactIndex: 0, attemptOnContact: 1 });
    expect(advanceCursor({ loop: 0, contactIndex: 0, attemptOnContact: 1 }, p, 2)).toEqual({ loop: 0, contactIndex: 1, attemptOnContact: 0 });
    expect(advanceCursor({ loop: 0, contactIndex: 1, attemptOnContact: 1 }, p, 2)).toEqual({ loop: 1, contactIndex: 0, attemptOnContact: 0 });
    const last = advanceCursor({ loop: 1, contactIndex: 1, attemptOnContact: 1 }, p, 2);
    expect(isExhausted(last, p, 2)).toBe(true);
    expect(stepBetween({ loop: 1, contactIndex: 1, attemptOnContact: 1 }, last, p, 2)).toBe('exhausted');
  });
  it('names the step between two attempts', () => {
    expect(stepBetween({ loop: 0, contactIndex: 0, attemptOnContact: 0 }, { loop: 0, contactIndex: 0, attemptOnContact: 1 }, p, 2)).toBe('retry');
    expect(stepBetween({ loop: 0, contactIndex: 0, attemptOnContact: 1 }, { loop: 0, contactIndex: 1, attemptOnContact: 0 }, p, 2)).toBe('next_contact');
    expect(stepBetween({ loop: 0, contactIndex: 1, attemptOnContact: 1 }, { loop: 1, contactIndex: 0, attemptOnContact: 0 }, p, 2)).toBe('next_loop');
  });
  it('normalizes an overflowing or broken resume cursor', () => {
    expect(normalizeCursor({ loop: 0, contactIndex: 1, attemptOnContact: 2 }, p, 3)).toEqual({ loop: 0, contactIndex: 2, attemptOnContact: 0 });
    expect(normalizeCursor({ loop: -1, contactIndex: 9, attemptOnContact: 0 }, p, 3)).toEqual({ loop: 1, contactIndex: 0, attemptOnContact: 0 });
    expect(isExhausted({ loop: 0, contactIndex: 0, attemptOnContact: 0 }, p, 0)).toBe(true);
  });
});

describe('order: dispatch chain', () => {
  it('calls the duty room twice with the retry delay, then the backup, who accepts', async () => {
    const t = start({}, (_c, n) => (n < 2 ? noAnswer : accept));
    await t.advance(200_000);
    expect(t.output()).toEqual({ status: 'accepted', acceptedAttemptId: 'o1-a3', attempts: 3 });
    // a1 at 0 s, no answer at 30 s; retry delay 60 s → a2 at 90 s; no answer at 120 s; backup at once.
    expect(t.calls.map((c) => [c.attemptId, c.contactId, c.at, c.script])).toEqual([
      ['o1-a1', 'duty', 0, 'dispatch'],
      ['o1-a2', 'duty', 90_000, 'dispatch'],
      ['o1-a3', 'backup', 120_000, 'dispatch'],
    ]);
    expect(t.calls[0]).toMatchObject({ orderId: 'o1', number: '1001', ringTimeoutSeconds: 30, maxReplays: 2 });
    expect(t.log.started.map((s) => [s.attemptId, s.seq, s.cursor])).toEqual([
      ['o1-a1', 1, { loop: 0, contactIndex: 0, attemptOnContact: 0 }],
      ['o1-a2', 2, { loop: 0, contactIndex: 0, attemptOnContact: 1 }],
      ['o1-a3', 3, { loop: 0, contactIndex: 1, attemptOnContact: 0 }],
    ]);
    expect(t.log.results.map((r) => [r.attemptId, r.output.result])).toEqual([['o1-a1', 'no_answer'], ['o1-a2', 'no_answer'], ['o1-a3', 'accepted']]);
    expect(t.log.statuses).toEqual(['dispatching', 'accepted']);
    expect(t.kinds()).toEqual([
      'dispatch_started',
      'attempt_started', 'attempt_ended', 'retry_scheduled',
      'attempt_started', 'attempt_ended', 'next_contact',
      'attempt_started', 'attempt_ended', 'accepted',
      'finished',
    ]);
    expect(t.states).toEqual(expect.arrayContaining(['active.dispatch.waitingRetry | active.leaders.done', 'active.dispatch.accepted | active.leaders.done', 'finished']));
    expect(t.log.webhooks).toEqual([]);
  });

  it('loops the chain after the loop delay, then is unacknowledged: webhook, then alarm call to the command centre', async () => {
    const t = start({ contacts: [DUTY, BACKUP], policy: { ...POLICY, attemptsPerContact: 1, chainLoops: 1 } }, (c) => (c.script === 'alarm' ? accept : busy));
    await t.advance(400_000);
    expect(t.output()).toEqual({ status: 'unacknowledged', attempts: 5 });
    expect(t.calls.map((c) => [c.attemptId, c.contactId, c.at, c.script])).toEqual([
      ['o1-a1', 'duty', 0, 'dispatch'],
      ['o1-a2', 'backup', 5_000, 'dispatch'],
      ['o1-a3', 'duty', 310_000, 'dispatch'], // loop delay 300 s after the end of the first pass
      ['o1-a4', 'backup', 315_000, 'dispatch'],
      ['o1-a5', 'cc110', 320_000, 'alarm'],
    ]);
    expect(t.log.statuses).toEqual(['dispatching', 'unacknowledged']);
    expect(t.log.webhooks).toEqual([{ orderId: 'o1', status: 'unacknowledged', attempts: 4 }]);
    expect(t.kinds()).toEqual(expect.arrayContaining(['loop_scheduled', 'chain_exhausted', 'alarm_confirmed', 'finished']));
    expect(t.kinds().indexOf('chain_exhausted')).toBeLessThan(t.kinds().lastIndexOf('attempt_started'));
  });

  it('retries the alarm call with the retry delay until it is confirmed', async () => {
    const t = start({ contacts: [DUTY], policy: { ...POLICY, attemptsPerContact: 2, chainLoops: 0 } }, (c, n) =>
      c.script === 'alarm' && n === 3 ? accept : noAnswer,
    );
    await t.advance(400_000);
    expect(t.calls.map((c) => [c.attemptId, c.script, c.at])).toEqual([
      ['o1-a1', 'dispatch', 0],
      ['o1-a2', 'dispatch', 90_000],
      ['o1-a3', 'alarm', 120_000],
      ['o1-a4', 'alarm', 210_000],
    ]);
    expect(t.output()).toEqual({ status: 'unacknowledged', attempts: 4 });
    expect(t.kinds().filter((k) => k.startsWith('alarm_'))).toEqual(['alarm_retry_scheduled', 'alarm_confirmed']);
  });

  it('gives up the alarm after attemptsPerContact calls and records it', async () => {
    const t = start({ contacts: [DUTY], policy: { ...POLICY, attemptsPerContact: 1, chainLoops: 0 } }, () => busy);
    await t.advance(100_000);
    expect(t.output()).toEqual({ status: 'unacknowledged', attempts: 2 });
    expect(t.kinds()).toContain('alarm_unconfirmed');
  });

  it('records that no alarm target is configured', async () => {
    const t = start({ contacts: [DUTY], commandCentre: null, policy: { ...POLICY, attemptsPerContact: 1, chainLoops: 0 } }, () => busy);
    await t.advance(10_000);
    expect(t.output()).toEqual({ status: 'unacknowledged', attempts: 1 });
    expect(t.kinds()).toEqual(['dispatch_started', 'attempt_started', 'attempt_ended', 'chain_exhausted', 'alarm_target_missing', 'finished']);
    expect(t.log.webhooks).toHaveLength(1);
  });

  it('is unacknowledged at once without contacts', async () => {
    const t = start({ contacts: [], commandCentre: null }, () => busy);
    await t.advance(1000);
    expect(t.output()).toEqual({ status: 'unacknowledged', attempts: 0 });
  });

  it('moves on when a call fails (originate refused) or crashes, with the reason', async () => {
    const t = start({ policy: { ...POLICY, attemptsPerContact: 1 } }, (_c, n) => (n === 0 ? { refuse: 'invalid_number' } : n === 1 ? { crashAt: 1000 } : accept));
    await t.advance(60_000);
    expect(t.log.results.map((r) => [r.attemptId, r.output.result, r.output.reason])).toEqual([
      ['o1-a1', 'failed', 'invalid_number'],
      ['o1-a2', 'failed', 'call attempt crashed: recordAnswered exploded'],
      ['o1-a3', 'accepted', undefined],
    ]);
    expect(t.output()).toEqual({ status: 'accepted', acceptedAttemptId: 'o1-a3', attempts: 3 });
  });
});

describe('order: dead lines (no waiting on a line that cannot ring)', () => {
  const dead = (kind: 'unreachable' | 'congestion') => ({ hangup: kind, at: 1000 }) as const;

  it('an unallocated number moves to the backup at once, not after the retry delay', async () => {
    const t = start({ contacts: [DUTY, BACKUP] }, (c) => (c.contactId === 'duty' ? dead('unreachable') : accept));
    await t.advance(20_000);
    expect(t.calls.map((c) => [c.attemptId, c.contactId, c.at])).toEqual([
      ['o1-a1', 'duty', 0],
      ['o1-a2', 'backup', 1000], // the instant the duty line's hangup came
    ]);
    expect(t.log.results[0]?.output).toMatchObject({ result: 'failed', lineDead: true, reason: 'line dead: unreachable' });
    expect(t.kinds()).toEqual([
      'dispatch_started', 'attempt_started', 'attempt_ended', 'dead_line', 'next_contact', 'attempt_started', 'attempt_ended', 'accepted', 'finished',
    ]);
    expect(t.output()).toEqual({ status: 'accepted', acceptedAttemptId: 'o1-a2', attempts: 2 });
  });

  it('congestion counts as a dead line too', async () => {
    const t = start({ contacts: [DUTY, BACKUP] }, (c) => (c.contactId === 'duty' ? dead('congestion') : accept));
    await t.advance(20_000);
    expect(t.calls.map((c) => [c.contactId, c.at])).toEqual([['duty', 0], ['backup', 1000]]);
  });

  it('an originate Asterisk refuses (endpoint unavailable) moves on at once; Asterisk being down keeps the retry delay', async () => {
    const refused = start({ contacts: [DUTY, BACKUP] }, (c) => (c.contactId === 'duty' ? { refuse: 'originate failed: Allocation failed', code: 'asterisk_error' } : accept));
    await refused.advance(20_000);
    expect(refused.calls.map((c) => [c.contactId, c.at])).toEqual([['duty', 0], ['backup', 0]]);
    expect(refused.log.results[0]?.output).toMatchObject({ result: 'failed', lineDead: true, reason: 'line dead: originate failed: Allocation failed' });

    const down = start({ contacts: [DUTY, BACKUP] }, (_c, n) => (n === 0 ? { refuse: 'Asterisk ARI is not connected', code: 'not_connected' } : accept));
    await down.advance(100_000);
    expect(down.calls.map((c) => [c.contactId, c.at])).toEqual([['duty', 0], ['duty', 60_000]]);
    expect(down.log.results[0]?.output.lineDead).toBeUndefined();
    expect(down.kinds()).toContain('retry_scheduled');
  });

  it('the dead contact is tried again on the next pass; busy keeps the retry delay', async () => {
    const t = start({ contacts: [DUTY, BACKUP], policy: { ...POLICY, attemptsPerContact: 2, chainLoops: 1 }, commandCentre: null }, (c) =>
      c.contactId === 'duty' ? dead('unreachable') : busy,
    );
    await t.advance(800_000);
    expect(t.calls.map((c) => [c.attemptId, c.contactId, c.at])).toEqual([
      ['o1-a1', 'duty', 0],
      ['o1-a2', 'backup', 1000], // at once
      ['o1-a3', 'backup', 66_000], // busy at 6 s + retry delay 60 s
      ['o1-a4', 'duty', 371_000], // busy at 71 s + loop delay 300 s: the dead contact again, once
      ['o1-a5', 'backup', 372_000],
      ['o1-a6', 'backup', 437_000],
    ]);
    expect(t.output()).toEqual({ status: 'unacknowledged', attempts: 6 });
    expect(t.kinds().filter((k) => k === 'dead_line')).toHaveLength(2);
  });

  it('a dead line as the last contact of the last pass exhausts the chain at once', async () => {
    const t = start({ contacts: [DUTY], policy: { ...POLICY, attemptsPerContact: 3, chainLoops: 0 }, commandCentre: null }, () => dead('unreachable'));
    await t.advance(5_000);
    expect(t.calls).toHaveLength(1);
    expect(t.output()).toEqual({ status: 'unacknowledged', attempts: 1 });
  });
});

describe('order: settling', () => {
  it('ACCEPTED_ELSEWHERE cancels the live call, waits for it to end, and places no more calls', async () => {
    const t = start({}, () => ({ ring: 'forever' }));
    await t.advance(10_000);
    const child = t.actor.getSnapshot().children.dispatchCall;
    expect(child?.getSnapshot().context.input).toEqual({
      orderId: 'o1', attemptId: 'o1-a1', contactId: 'duty', number: '1001', script: 'dispatch', ringTimeoutSeconds: 30, maxReplays: 2,
    });
    t.actor.send({ type: 'ACCEPTED_ELSEWHERE', source: 'http', acceptedAttemptId: 'o1-in1' });
    await t.advance(600_000);
    expect(t.hungUp).toEqual([{ attemptId: 'o1-a1', at: 10_000 }]);
    expect(t.log.results.map((r) => r.output.result)).toEqual(['cancelled']);
    expect(t.output()).toEqual({ status: 'accepted', acceptedAttemptId: 'o1-in1', attempts: 1 });
    expect(t.log.statuses).toEqual(['dispatching', 'accepted']);
  });

  it('ACCEPTED_ELSEWHERE during the retry delay cancels the pending retry', async () => {
    const t = start({}, () => noAnswer);
    await t.advance(40_000);
    expect(t.states.at(-1)).toBe('active.dispatch.waitingRetry | active.leaders.done');
    t.actor.send({ type: 'ACCEPTED_ELSEWHERE', source: 'inbound' });
    await t.advance(600_000);
    expect(t.calls).toHaveLength(1);
    expect(t.output()).toEqual({ status: 'accepted', attempts: 1 });
  });

  it('CANCEL hangs up the live call and the order is cancelled', async () => {
    const t = start({}, () => ({ ring: 'forever' }));
    await t.advance(3000);
    t.actor.send({ type: 'CANCEL', reason: 'desk withdrew' });
    await t.advance(600_000);
    expect(t.hungUp).toHaveLength(1);
    expect(t.output()).toEqual({ status: 'cancelled', attempts: 1 });
    expect(t.log.statuses).toEqual(['dispatching', 'cancelled']);
    expect(t.log.events.find((e) => e.kind === 'cancelled')?.detail).toEqual({ reason: 'desk withdrew', previousStatus: 'dispatching' });
  });

  it('CANCEL during the loop delay drops the timer', async () => {
    const t = start({ contacts: [DUTY], policy: { ...POLICY, attemptsPerContact: 1 } }, () => busy);
    await t.advance(10_000);
    expect(t.states.at(-1)).toBe('active.dispatch.waitingLoop | active.leaders.done');
    t.actor.send({ type: 'CANCEL' });
    await t.advance(600_000);
    expect(t.calls).toHaveLength(1);
    expect(t.output()).toEqual({ status: 'cancelled', attempts: 1 });
  });

  it('a call committing an acceptance when CANCEL comes finishes it; the late acceptance is recorded, status stays cancelled', async () => {
    const commit = deferred<CommitAcceptanceOutput>();
    const t = start({}, () => ({ answerAt: 1000, key: '1', commit }));
    await t.advance(2000);
    t.actor.send({ type: 'CANCEL' });
    await t.advance(1000);
    expect(t.actor.getSnapshot().status).toBe('active');
    commit.resolve({ late: true });
    await t.advance(1000);
    expect(t.log.results.map((r) => [r.output.result, r.output.late])).toEqual([['accepted', true]]);
    expect(t.output()).toEqual({ status: 'cancelled', attempts: 1 });
    expect(t.kinds()).toContain('late_acceptance');
  });

  it('a late call acceptance waits for the settlement on its way', async () => {
    const t = start({}, () => ({ answerAt: 1000, key: '1', late: true }));
    await t.advance(5000);
    expect(t.states.at(-1)).toBe('active.dispatch.awaitingSettlement | active.leaders.done');
    expect(t.log.statuses).toEqual(['dispatching']);
    t.actor.send({ type: 'ACCEPTED_ELSEWHERE', source: 'http', acceptedAttemptId: 'o1-h1' });
    await flush();
    expect(t.output()).toEqual({ status: 'accepted', acceptedAttemptId: 'o1-h1', attempts: 1 });
  });

  it('an acceptance after the order is unacknowledged is recorded without changing the status', async () => {
    const t = start({ contacts: [DUTY], policy: { ...POLICY, attemptsPerContact: 1, chainLoops: 0 } }, (c) => (c.script === 'alarm' ? { ring: 'forever' } : busy));
    await t.advance(10_000);
    t.actor.send({ type: 'ACCEPTED_ELSEWHERE', source: 'http' });
    await flush();
    expect(t.log.statuses).toEqual(['dispatching', 'unacknowledged']);
    expect(t.log.events.at(-1)).toMatchObject({ kind: 'late_acceptance', detail: { via: 'http', status: 'unacknowledged' } });
    expect(t.actor.getSnapshot().status).toBe('active'); // the alarm call goes on
  });

  it('CANCEL after acceptance changes nothing', async () => {
    const t = start({}, () => accept);
    await t.advance(10_000);
    expect(t.output()).toEqual({ status: 'accepted', acceptedAttemptId: 'o1-a1', attempts: 1 });
    t.actor.send({ type: 'CANCEL' });
    expect(t.log.statuses).toEqual(['dispatching', 'accepted']);
  });
});

describe('order: forbidden paths', () => {
  it('a second CANCEL, and an acceptance after CANCEL, are recorded and change nothing', async () => {
    const commit = deferred<CommitAcceptanceOutput>();
    const t = start({}, () => ({ answerAt: 1000, key: '1', commit })); // the call stays up, committing
    await t.advance(2000);
    t.actor.send({ type: 'CANCEL' });
    t.actor.send({ type: 'CANCEL' });
    t.actor.send({ type: 'ACCEPTED_ELSEWHERE', source: 'http' });
    commit.resolve({ late: true });
    await t.advance(1000);
    expect(t.log.statuses).toEqual(['dispatching', 'cancelled']);
    expect(t.log.events.filter((e) => ['cancel_ignored', 'late_acceptance'].includes(e.kind)).map((e) => [e.kind, e.detail])).toEqual([
      ['cancel_ignored', { status: 'cancelled' }],
      ['late_acceptance', { via: 'http', attemptId: null, status: 'cancelled' }],
      ['late_acceptance', { via: 'call', attemptId: 'o1-a1', late: true, status: 'cancelled' }],
    ]);
    expect(t.output()).toEqual({ status: 'cancelled', attempts: 1 });
  });

  it('ignores events once finished', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const t = start({}, () => accept);
    await t.advance(10_000);
    const events = t.log.events.length;
    t.actor.send({ type: 'ACCEPTED_ELSEWHERE', source: 'http' });
    t.actor.send({ type: 'CANCEL' });
    await t.advance(600_000);
    expect(t.log.events).toHaveLength(events);
    expect(t.calls).toHaveLength(1);
    warn.mockRestore();
  });

  it('does not let a stray LEADER.RETRY call a leader who is not waiting', async () => {
    const t = start({ major: true, leaders: [LEADER_A] }, () => ({ ring: 'forever' }));
    await t.advance(1000);
    t.actor.send({ type: 'LEADER.RETRY', leaderIndex: 0 });
    t.actor.send({ type: 'LEADER.RETRY', leaderIndex: 5 });
    await t.advance(1000);
    expect(t.calls).toHaveLength(2);
  });

  it('has run every record action of the first attempt when start() returns', () => {
    const started: string[] = [];
    const statuses: string[] = [];
    const never = new Promise<never>(() => undefined);
    const machine = orderMachine.provide({
      actors: {
        callAttempt: callAttemptMachine.provide({
          actors: { callEvents: fromCallback(() => undefined), dial: dialMachine.provide({ actors: { originate: fromPromise<void, OriginateInput>(() => never) } }) },
        }),
      },
      actions: {
        recordAttemptStarted: (_, p) => void started.push(p.attemptId),
        recordAttemptResult: () => undefined,
        recordStatus: (_, p) => void statuses.push(p.status),
        recordEvent: () => undefined,
        notifyWebhook: () => undefined,
      },
    });
    const actor = createActor(machine, { input: BASE, clock: new SimulatedClock() }).start();
    expect(started).toEqual(['o1-a1']);
    expect(statuses).toEqual(['dispatching']);
    actor.stop();
  });
});

describe('order: major incident', () => {
  const major = { major: true, leaders: [LEADER_A, LEADER_B] };

  it('calls every leader at once, beside the dispatch chain, each recorded and retried on its own', async () => {
    const t = start(major, (c) => {
      if (c.contactId === 'leader-b' && c.attemptId === 'o1-a3') return noAnswer;
      if (c.script === 'major') return { answerAt: 8000, key: '1' };
      return accept;
    });
    await t.advance(10_000);
    expect(t.calls.map((c) => [c.attemptId, c.contactId, c.script, c.at])).toEqual([
      ['o1-a1', 'duty', 'dispatch', 0],
      ['o1-a2', 'leader-a', 'major', 0],
      ['o1-a3', 'leader-b', 'major', 0],
    ]);
    // The order is accepted by the duty room; the leaders' confirmations do not decide it.
    expect(t.log.statuses).toEqual(['dispatching', 'accepted']);
    expect(t.actor.getSnapshot().status).toBe('active'); // leader B still to be confirmed
    await t.advance(200_000);
    expect(t.calls.map((c) => [c.attemptId, c.contactId, c.at])).toContainEqual(['o1-a4', 'leader-b', 90_000]);
    expect(t.log.results.filter((r) => r.script === 'major').map((r) => [r.attemptId, r.contactId, r.output.result])).toEqual([
      ['o1-a2', 'leader-a', 'accepted'],
      ['o1-a3', 'leader-b', 'no_answer'],
      ['o1-a4', 'leader-b', 'accepted'],
    ]);
    expect(t.log.started.filter((s) => s.script === 'major').map((s) => [s.contactId, s.attemptOnContact, s.cursor])).toEqual([
      ['leader-a', 0, null], ['leader-b', 0, null], ['leader-b', 1, null],
    ]);
    expect(t.kinds().filter((k) => k.startsWith('leader'))).toEqual(['leaders_notified', 'leader_confirmed', 'leader_retry_scheduled', 'leader_confirmed']);
    expect(t.output()).toEqual({ status: 'accepted', acceptedAttemptId: 'o1-a1', attempts: 4 });
  });

  it('a leader confirming does not accept the order', async () => {
    const t = start({ ...major, leaders: [LEADER_A] }, (c) => (c.script === 'major' ? accept : { ring: 'forever' }));
    await t.advance(10_000);
    expect(t.log.statuses).toEqual(['dispatching']);
    expect(t.kinds()).toContain('leader_confirmed');
    expect(t.states.at(-1)).toBe('active.dispatch.calling | active.leaders.done');
  });

  it('gives up on a leader after attemptsPerContact calls', async () => {
    const t = start({ ...major, leaders: [LEADER_A], policy: { ...POLICY, attemptsPerContact: 1 } }, (c) => (c.script === 'major' ? busy : accept));
    await t.advance(10_000);
    expect(t.kinds()).toContain('leader_unconfirmed');
    expect(t.output()).toMatchObject({ status: 'accepted', attempts: 2 });
  });

  it('CANCEL ends the leader calls too: the live one hung up, the pending retry dropped', async () => {
    const t = start(major, (c) => (c.contactId === 'leader-a' ? busy : { ring: 'forever' }));
    await t.advance(10_000); // leader A busy, waiting for its retry; leader B and duty ringing
    t.actor.send({ type: 'CANCEL' });
    await t.advance(600_000);
    expect(t.calls).toHaveLength(3);
    expect(t.hungUp.map((h) => h.attemptId).sort()).toEqual(['o1-a1', 'o1-a3']);
    expect(t.output()).toEqual({ status: 'cancelled', attempts: 3 });
    expect(t.kinds().filter((k) => k === 'leader_cancelled')).toHaveLength(2);
  });
});

describe('order: resume and persistence', () => {
  it('continues after a restart with the right contact and attempt seq', async () => {
    const t = start({ resume: { nextAttemptSeq: 7, cursor: { loop: 0, contactIndex: 1, attemptOnContact: 1 } } }, (c) =>
      c.contactId === 'chief' ? accept : noAnswer,
    );
    await t.advance(60_000);
    expect(t.calls.map((c) => [c.attemptId, c.contactId, c.at])).toEqual([
      ['o1-a7', 'backup', 0],
      ['o1-a8', 'chief', 30_000],
    ]);
    expect(t.log.started[0]).toMatchObject({ seq: 7, cursor: { loop: 0, contactIndex: 1, attemptOnContact: 1 } });
    expect(t.output()).toEqual({ status: 'accepted', acceptedAttemptId: 'o1-a8', attempts: 2 });
  });

  it('keeps the leaders that were done before the restart', async () => {
    const t = start(
      {
        major: true,
        leaders: [LEADER_A, LEADER_B],
        resume: { nextAttemptSeq: 4, cursor: { loop: 0, contactIndex: 0, attemptOnContact: 1 }, leaders: [{ id: 'leader-a', attempts: 1, phase: 'confirmed' }] },
      },
      () => accept,
    );
    await t.advance(10_000);
    expect(t.calls.map((c) => [c.attemptId, c.contactId])).toEqual([['o1-a4', 'duty'], ['o1-a5', 'leader-b']]);
  });

  it('has a plain-JSON context and a resume point that continues where it stands', async () => {
    const t = start({}, () => noAnswer);
    await t.advance(40_000);
    const context = t.actor.getSnapshot().context;
    expect(JSON.parse(JSON.stringify(context))).toEqual(context);
    expect(resumePointOf(context)).toEqual({ nextAttemptSeq: 2, cursor: { loop: 0, contactIndex: 0, attemptOnContact: 1 }, leaders: [] });
  });

  it('fails loudly when an effect was not provided', () => {
    const actor = createActor(orderMachine, { input: BASE });
    actor.subscribe({ error: () => undefined });
    actor.start();
    expect(actor.getSnapshot().status).toBe('error');
    expect(String(actor.getSnapshot().error)).toMatch(/provide recordStatus/);
  });
});

// Several units on one order: each unit's chain is its own order machine (the dispatcher runs
// them side by side, keyed by order id + unit); co-unit n numbers its attempts from n × 1000 + 1.
describe('order: several units on one order (co-dispatch)', () => {
  const FIRE = { id: 'fire-duty', number: '3001' };
  const FIRE_BACKUP = { id: 'fire-backup', number: '3002' };

  it('runs the units in parallel on one clock: the lead accepts, the co-unit is unacknowledged and alarmed, attempt ids never meet', async () => {
    const clock = new SimulatedClock();
    const policy = { ...POLICY, attemptsPerContact: 1, chainLoops: 0 };
    const lead = start({ policy }, (c) => (c.contactId === 'duty' ? accept : noAnswer), clock);
    const co = start(
      { coUnit: 'fire-rescue', contacts: [FIRE, FIRE_BACKUP], policy, leaders: [], resume: { nextAttemptSeq: firstSeqOfUnit(1), cursor: FIRST_CURSOR } },
      (c) => (c.script === 'alarm' ? accept : noAnswer),
      clock,
    );
    await lead.advance(120_000);
    expect(lead.output()).toEqual({ status: 'accepted', acceptedAttemptId: 'o1-a1', attempts: 1 });
    expect(lead.log.statuses).toEqual(['dispatching', 'accepted']);
    // The co-unit's chain started at the same instant as the lead's and went on after the lead accepted.
    expect(co.calls.map((c) => [c.attemptId, c.contactId, c.at, c.script])).toEqual([
      ['o1-u1-a1001', 'fire-duty', 0, 'dispatch'],
      ['o1-u1-a1002', 'fire-backup', 30_000, 'dispatch'],
      ['o1-u1-a1003', 'cc110', 60_000, 'alarm'],
    ]);
    // Every call of the co-unit names it (its effects find the unit's live state by it); the lead's name none.
    expect(co.calls.map((c) => c.coUnit)).toEqual(['fire-rescue', 'fire-rescue', 'fire-rescue']);
    expect(lead.calls.map((c) => 'coUnit' in c)).toEqual([false]);
    expect(co.output()).toEqual({ status: 'unacknowledged', attempts: 3 });
    expect(co.log.statuses).toEqual(['dispatching', 'unacknowledged']);
    expect(co.log.webhooks).toEqual([{ orderId: 'o1', status: 'unacknowledged', attempts: 2 }]);
    expect(co.kinds()).toEqual(expect.arrayContaining(['chain_exhausted', 'alarm_confirmed', 'finished']));
    const ids = [...lead.log.started, ...co.log.started].map((s) => s.attemptId);
    expect(new Set(ids).size).toBe(ids.length);
    // No id is a prefix of another unit's (Asterisk refuses such a channel id while the other is up).
    for (const a of lead.log.started) for (const b of co.log.started) expect([b.attemptId.startsWith(a.attemptId), a.attemptId.startsWith(b.attemptId)]).toEqual([false, false]);
    expect(co.log.started.map((s) => s.seq)).toEqual([1001, 1002, 1003]);
  });

  it('an acceptance elsewhere (the co-unit acknowledged on the API) settles that unit only', async () => {
    const clock = new SimulatedClock();
    const lead = start({}, () => ({ ring: 'forever' }), clock);
    const co = start({ contacts: [FIRE], leaders: [], resume: { nextAttemptSeq: firstSeqOfUnit(1), cursor: FIRST_CURSOR } }, () => ({ ring: 'forever' }), clock);
    await lead.advance(5_000);
    co.actor.send({ type: 'ACCEPTED_ELSEWHERE', source: 'http' });
    await lead.advance(40_000);
    expect(co.output()).toEqual({ status: 'accepted', attempts: 1 });
    expect(co.log.statuses).toEqual(['dispatching', 'accepted']);
    expect(lead.actor.getSnapshot().status).toBe('active');
    expect(lead.log.statuses).toEqual(['dispatching']);
    lead.actor.stop();
  });

  it('a co-unit resumes in its own block of attempt ids from its own resume point', async () => {
    const t = start(
      { contacts: [FIRE, FIRE_BACKUP], leaders: [], resume: { nextAttemptSeq: 1004, cursor: { loop: 0, contactIndex: 1, attemptOnContact: 0 } } },
      () => accept,
    );
    await t.advance(10_000);
    expect(t.calls.map((c) => [c.attemptId, c.contactId])).toEqual([['o1-u1-a1004', 'fire-backup']]);
    expect(resumePointOf(t.actor.getSnapshot().context).nextAttemptSeq).toBe(1005);
    expect(t.output()).toEqual({ status: 'accepted', acceptedAttemptId: 'o1-u1-a1004', attempts: 1 });
  });
});
