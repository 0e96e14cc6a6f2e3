// The leaders region's steps of the order machine (major incidents): every county leader called
// at once, each retried after retryDelay up to attemptsPerContact; a withdrawal ends them.
import { clockNow } from './clock.js';
import { callInput, outputOf, record, step, type Attempt, type Ended } from './order.context.js';
import { attemptIdOf, type LeaderProgress } from './order.policy.js';

const retryIdOf = (leaderId: string): string => `leader-retry:${leaderId}`;

/** Calls every pending leader at once, or only leader `only` (a retry). */
export const startLeaderCalls = step(({ context, enqueue }, p: { only?: number }) => {
  let seq = context.nextSeq;
  const started: Array<{ attempt: Attempt; attemptOnContact: number }> = [];
  const leaders = context.leaders.map((l, i): LeaderProgress => {
    const eligible = p.only === undefined ? l.phase === 'pending' : i === p.only && l.phase === 'waiting';
    if (!eligible) return l;
    const attempt: Attempt = { attemptId: attemptIdOf(context.orderId, seq), seq, script: 'major', contactId: l.id, number: l.number, cursor: null };
    started.push({ attempt, attemptOnContact: l.attempts });
    seq += 1;
    return { ...l, attempts: l.attempts + 1, phase: 'calling', attemptId: attempt.attemptId };
  });
  enqueue.assign({ leaders, nextSeq: seq });
  for (const s of started) {
    for (const a of record.started(context, s.attempt, s.attemptOnContact)) enqueue(a);
    enqueue.spawnChild('callAttempt', { id: s.attempt.attemptId, input: callInput(context, s.attempt) });
  }
});

export const finishLeaderAttempt = step(({ context, enqueue, system }, ended: Ended & { actorId: string }) => {
  const p = { actorId: ended.actorId, output: outputOf(ended, clockNow(system)) };
  const index = context.leaders.findIndex((l) => l.attemptId === p.actorId);
  const leader = context.leaders[index];
  if (!leader) return;
  for (const x of record.result(context, { attemptId: p.actorId, contactId: leader.id, script: 'major' }, p.output)) enqueue(x);
  let phase: LeaderProgress['phase'];
  if (p.output.result === 'accepted') {
    phase = 'confirmed';
    enqueue(record.event(context, 'leader_confirmed', { leaderId: leader.id, attemptId: p.actorId }));
  } else if (context.leadersCancelled) {
    phase = 'cancelled';
    enqueue(record.event(context, 'leader_cancelled', { leaderId: leader.id, attemptId: p.actorId }));
  } else if (leader.attempts < context.policy.attemptsPerContact) {
    phase = 'waiting';
    enqueue(record.event(context, 'leader_retry_scheduled', { leaderId: leader.id, delaySeconds: context.policy.retryDelaySeconds }));
    enqueue.raise({ type: 'LEADER.RETRY', leaderIndex: index }, { id: retryIdOf(leader.id), delay: 'retryDelay' });
  } else {
    phase = 'unconfirmed';
    enqueue(record.event(context, 'leader_unconfirmed', { leaderId: leader.id, attempts: leader.attempts }));
  }
  enqueue.assign({ leaders: context.leaders.map((l, i) => (i === index ? { ...l, phase } : l)) });
});

/** Order withdrawn: live leader calls are asked to end, pending retries dropped. */
export const cancelLeaderCalls = step(({ context, enqueue }) => {
  enqueue.assign({
    leadersCancelled: true,
    leaders: context.leaders.map((l) => (l.phase === 'waiting' || l.phase === 'pending' ? { ...l, phase: 'cancelled' as const } : l)),
  });
  for (const l of context.leaders) {
    if (l.phase === 'calling' && l.attemptId) enqueue.sendTo(l.attemptId, { type: 'CANCEL' });
    if (l.phase === 'waiting') {
      enqueue.cancel(retryIdOf(l.id));
      enqueue(record.event(context, 'leader_cancelled', { leaderId: l.id, attemptId: null }));
    }
  }
});
