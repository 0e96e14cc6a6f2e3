// Resuming an order machine past its dispatching (a restart or a cluster takeover): an accepted
// order only finishes its leader calls, an unacknowledged one only its alarm calls; what was
// written before the stop (status, chain_exhausted, webhook) is not written again.
import { describe, expect, it } from 'vitest';
import { resumePointOf } from './order.machine.js';
import type { OrderResume } from './order.policy.js';
import { LEADER_A, LEADER_B, POLICY, accept, noAnswer, start } from './order.test-support.js';

const CURSOR_DONE = { loop: 2, contactIndex: 0, attemptOnContact: 0 };

describe('order: resumed past dispatching', () => {
  it('accepted with a leader still pending: calls only that leader; no dispatch call, status, acceptance or webhook', async () => {
    const resume: OrderResume = {
      nextAttemptSeq: 5,
      cursor: { loop: 0, contactIndex: 1, attemptOnContact: 0 },
      leaders: [{ id: 'leader-a', attempts: 1, phase: 'confirmed' }, { id: 'leader-b', attempts: 1, phase: 'calling' }],
      status: 'accepted',
    };
    const t = start({ major: true, leaders: [LEADER_A, LEADER_B], resume }, () => accept);
    expect(resumePointOf(t.actor.getSnapshot().context)).toMatchObject({ status: 'accepted', leaders: [{ phase: 'confirmed' }, { phase: 'calling', attempts: 2 }] });
    await t.advance(30_000);
    expect(t.calls.map((c) => [c.attemptId, c.contactId, c.script])).toEqual([['o1-a5', 'leader-b', 'major']]);
    expect(t.log.statuses).toEqual([]);
    expect(t.log.webhooks).toEqual([]);
    expect(t.kinds()).not.toEqual(expect.arrayContaining(['dispatch_started']));
    expect(t.kinds().filter((k) => k === 'accepted')).toEqual([]);
    expect(t.kinds()).toEqual(['attempt_started', 'leaders_notified', 'attempt_ended', 'leader_confirmed', 'finished']);
    expect(t.output()).toEqual({ status: 'accepted', attempts: 1 });
  });

  it('accepted with every leader settled: finishes at once without a call', async () => {
    const resume: OrderResume = { nextAttemptSeq: 5, cursor: CURSOR_DONE, leaders: [{ id: 'leader-a', attempts: 2, phase: 'unconfirmed' }], status: 'accepted' };
    const t = start({ major: true, leaders: [LEADER_A], resume }, () => accept);
    await t.advance(1_000);
    expect(t.calls).toEqual([]);
    expect(t.log.statuses).toEqual([]);
    expect(t.output()).toEqual({ status: 'accepted', attempts: 0 });
  });

  it('unacknowledged after 1 of 3 alarm calls: at most 2 more, counted from the saved attempts; no chain_exhausted or webhook again', async () => {
    const policy = { ...POLICY, attemptsPerContact: 3 };
    const resume: OrderResume = { nextAttemptSeq: 8, cursor: CURSOR_DONE, leaders: [], status: 'unacknowledged', alarmAttempts: 1, alarmSettled: false };
    const t = start({ policy, resume }, () => noAnswer);
    expect(resumePointOf(t.actor.getSnapshot().context)).toMatchObject({ status: 'unacknowledged', alarmAttempts: 2, alarmSettled: false, nextAttemptSeq: 9 });
    await t.advance(600_000);
    expect(t.calls.map((c) => [c.attemptId, c.contactId, c.script, c.at])).toEqual([
      ['o1-a8', 'cc110', 'alarm', 0],
      ['o1-a9', 'cc110', 'alarm', 90_000],
    ]);
    expect(t.log.started.map((s) => s.attemptOnContact)).toEqual([1, 2]);
    expect(t.log.statuses).toEqual([]);
    expect(t.log.webhooks).toEqual([]);
    expect(t.kinds()).not.toEqual(expect.arrayContaining(['chain_exhausted']));
    expect(t.kinds()).not.toEqual(expect.arrayContaining(['dispatch_started']));
    expect(t.kinds()).toEqual(expect.arrayContaining(['alarm_retry_scheduled', 'alarm_unconfirmed', 'finished']));
    expect(t.output()).toEqual({ status: 'unacknowledged', attempts: 2 });
  });

  it('unacknowledged, the resumed alarm call confirms: one call, alarm_confirmed', async () => {
    const resume: OrderResume = { nextAttemptSeq: 8, cursor: CURSOR_DONE, status: 'unacknowledged', alarmAttempts: 1 };
    const t = start({ resume }, () => accept);
    await t.advance(60_000);
    expect(t.calls.map((c) => [c.attemptId, c.script])).toEqual([['o1-a8', 'alarm']]);
    expect(t.kinds()).toEqual(expect.arrayContaining(['alarm_confirmed']));
    expect(t.log.statuses).toEqual([]);
    expect(t.output()).toEqual({ status: 'unacknowledged', attempts: 1 });
  });

  it('unacknowledged with the alarm settled: finishes without a call or a write but `finished`', async () => {
    const resume: OrderResume = { nextAttemptSeq: 8, cursor: CURSOR_DONE, leaders: [], status: 'unacknowledged', alarmAttempts: 1, alarmSettled: true };
    const t = start({ resume }, () => accept);
    await t.advance(1_000);
    expect(t.calls).toEqual([]);
    expect(t.log.statuses).toEqual([]);
    expect(t.log.webhooks).toEqual([]);
    expect(t.kinds()).toEqual(['finished']);
    expect(t.output()).toEqual({ status: 'unacknowledged', attempts: 0 });
  });

  it('unacknowledged with every alarm attempt used (stopped during the last one): no call, alarm_unconfirmed', async () => {
    const resume: OrderResume = { nextAttemptSeq: 8, cursor: CURSOR_DONE, status: 'unacknowledged', alarmAttempts: POLICY.attemptsPerContact };
    const t = start({ resume }, () => accept);
    await t.advance(1_000);
    expect(t.calls).toEqual([]);
    expect(t.kinds()).toEqual(['alarm_unconfirmed', 'finished']);
  });

  it('a withdrawal during the resumed alarm cancels the order and its call', async () => {
    const resume: OrderResume = { nextAttemptSeq: 8, cursor: CURSOR_DONE, status: 'unacknowledged', alarmAttempts: 1 };
    const t = start({ resume }, () => ({ ring: 'forever' }));
    await t.advance(5_000);
    t.actor.send({ type: 'CANCEL', reason: 'desk' });
    await t.advance(5_000);
    expect(t.log.statuses).toEqual(['cancelled']);
    expect(t.output()).toMatchObject({ status: 'cancelled' });
  });

  it('a resume point without the new fields resumes dispatching as before', async () => {
    const t = start({ resume: { nextAttemptSeq: 4, cursor: { loop: 0, contactIndex: 1, attemptOnContact: 0 } } }, () => accept);
    await t.advance(10_000);
    expect(t.calls.map((c) => [c.attemptId, c.contactId, c.script])).toEqual([['o1-a4', 'backup', 'dispatch']]);
    expect(t.log.statuses).toEqual(['dispatching', 'accepted']);
    expect(t.kinds()[0]).toBe('dispatch_started');
    expect(t.output()).toEqual({ status: 'accepted', acceptedAttemptId: 'o1-a4', attempts: 1 });
  });

  it('the point saved while alarming resumes the alarm where it stood', async () => {
    const policy = { ...POLICY, attemptsPerContact: 1, chainLoops: 0 };
    const live = start({ policy, contacts: [{ id: 'duty', number: '1001' }] }, (c) => (c.script === 'alarm' ? { ring: 'forever' } : noAnswer));
    await live.advance(35_000);
    const point = resumePointOf(live.actor.getSnapshot().context);
    live.actor.stop();
    expect(point).toEqual({ nextAttemptSeq: 3, cursor: { loop: 1, contactIndex: 0, attemptOnContact: 0 }, leaders: [], status: 'unacknowledged', alarmAttempts: 1, alarmSettled: false });
    // Restarted with 2 alarm attempts allowed: the interrupted one counts, one more is placed.
    const resumed = start({ policy: { ...policy, attemptsPerContact: 2 }, contacts: [{ id: 'duty', number: '1001' }], resume: point }, () => accept);
    await resumed.advance(10_000);
    expect(resumed.calls.map((c) => [c.attemptId, c.script])).toEqual([['o1-a3', 'alarm']]);
    expect(resumed.log.statuses).toEqual([]);
    expect(resumed.output()).toEqual({ status: 'unacknowledged', attempts: 1 });
  });
});
