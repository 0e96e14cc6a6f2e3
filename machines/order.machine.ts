// The escalation policy of one order. Two parallel regions:
// - dispatch: the contacts one at a time (retries, next contact, loops over the chain) until one
//   accepts; when the chain is exhausted, status `unacknowledged`, webhook and an alarm call to
//   the 110 command centre;
// - leaders: for a major incident, a notification call to every county leader at once, retried
//   per leader; their "1" confirms receipt and never accepts the order.
// Resumed (input.resume) past dispatching, it does not write again what was written before the
// stop: `accepted` leaves only the leaders region to run, `unacknowledged` only the alarm calls left.
// Each call is the call-attempt machine, child actor source `callAttempt`. Pure: effects are named
// actions/actors provided in src/; timers are named delays; the context is plain JSON.
// Ordering note: after the first macrostep, recordAttemptStarted runs before its call starts.
// Inside actor.start() xstate starts the initial children first and then runs the deferred
// actions (statelyai/xstate#5219); all of them still run synchronously inside start(), so before
// any promise or telephony event can reach the machines.
import { setup } from 'xstate';
import { callAttemptMachine } from './call-attempt.machine.js';
import { cancelLeaderCalls, finishLeaderAttempt, startLeaderCalls } from './order.leaders.js';
import { clockNow } from './clock.js';
import {
  TERMINAL,
  callInput,
  initialContext,
  outputOf,
  record,
  step,
  type AnyOrderEvent,
  type Attempt,
  type Ended,
  type NotifyWebhookParams,
  type OrderContext,
  type OrderEventKind,
  type EventDetail,
  type OrderOutput,
  type RecordAttemptResultParams,
  type RecordAttemptStartedParams,
  type RecordEventParams,
  type RecordStatusParams,
} from './order.context.js';
import { FIRST_CURSOR, advanceCursor, attemptIdOf, isExhausted, skipContact, stepBetween, type OrderInput, type OrderStatus } from './order.policy.js';

export { resumePointOf } from './order.context.js';
export type * from './order.context.js';
export type * from './order.policy.js';

// An acceptance (HTTP API, inbound line) that came after the order was settled: record it only.
const lateAcceptance = event('late_acceptance', ({ context, event: e }) => ({
  via: e.type === 'ACCEPTED_ELSEWHERE' ? e.source : null,
  attemptId: e.type === 'ACCEPTED_ELSEWHERE' ? (e.acceptedAttemptId ?? null) : null,
  status: context.status,
}));
const cancelIgnored = event('cancel_ignored', ({ context }) => ({ status: context.status }));
const provide = (name: string) => (): never => {
  throw new Error(`provide ${name} with orderMachine.provide()`);
};

export const orderMachine = setup({
  types: {
    input: {} as OrderInput,
    context: {} as OrderContext,
    events: {} as AnyOrderEvent,
    output: {} as OrderOutput,
  },
  actors: { callAttempt: callAttemptMachine },
  actions: {
    recordAttemptStarted: (_, _p: RecordAttemptStartedParams) => provide('recordAttemptStarted')(),
    recordAttemptResult: (_, _p: RecordAttemptResultParams) => provide('recordAttemptResult')(),
    recordStatus: (_, _p: RecordStatusParams) => provide('recordStatus')(),
    recordEvent: (_, _p: RecordEventParams) => provide('recordEvent')(),
    notifyWebhook: (_, _p: NotifyWebhookParams) => provide('notifyWebhook')(),
  },
  guards: {
    statusIs: ({ context }, p: { status: OrderStatus[] }) => p.status.includes(context.status),
    lastAccepted: ({ context }, p: { late?: boolean }) =>
      context.lastOutput?.result === 'accepted' && (p.late === undefined || (context.lastOutput.late ?? false) === p.late),
    chainExhausted: ({ context }) => isExhausted(context.next, context.policy, context.contacts.length),
    nextStepIs: ({ context }, p: { step: ReturnType<typeof stepBetween> }) =>
      stepBetween(context.current?.cursor ?? FIRST_CURSOR, context.next, context.policy, context.contacts.length) === p.step,
    hasCommandCentre: ({ context }) => context.commandCentre !== null,
    alarmAttemptsLeft: ({ context }) => context.alarmAttempts < context.policy.attemptsPerContact,
    alarmSettled: ({ context }) => context.alarmSettled,
    /** Resumed while alarming: another alarm call is still due. */
    alarmDue: ({ context }) => !context.alarmSettled && context.commandCentre !== null && context.alarmAttempts < context.policy.attemptsPerContact,
    leadersSettled: ({ context }) => context.leaders.every((l) => TERMINAL.includes(l.phase)),
    isLeaderCall: ({ context }, p: { actorId: string }) => context.leaders.some((l) => l.attemptId === p.actorId && l.phase === 'calling'),
    leaderWaiting: ({ context }, p: { leaderIndex: number }) => context.leaders[p.leaderIndex]?.phase === 'waiting',
  },
  delays: {
    retryDelay: ({ context }) => context.policy.retryDelaySeconds * 1000,
    loopDelay: ({ context }) => context.policy.loopDelaySeconds * 1000,
  },
}).extend({
  // Composite steps built from the named effects above.
  actions: {
    setStatus: step(({ context, enqueue }, p: { status: OrderStatus }) => {
      enqueue.assign({ status: p.status });
      enqueue(record.status(context, p.status));
    }),
    acceptCurrentAttempt: step(({ context, enqueue }) => {
      const a = context.current;
      enqueue.assign({ status: 'accepted', acceptedAttemptId: a?.attemptId ?? null });
      enqueue(record.status(context, 'accepted'));
      enqueue(record.event(context, 'accepted', { via: 'call', attemptId: a?.attemptId ?? null, contactId: a?.contactId ?? null, disputed: context.lastOutput?.disputed ?? false }));
    }),
    acceptElsewhere: step(({ context, event, enqueue }) => {
      if (event.type !== 'ACCEPTED_ELSEWHERE') return;
      enqueue.assign({ status: 'accepted', acceptedAttemptId: event.acceptedAttemptId ?? null });
      enqueue(record.status(context, 'accepted'));
      enqueue(record.event(context, 'accepted', { via: event.source, attemptId: event.acceptedAttemptId ?? null }));
    }),
    cancelOrder: step(({ context, event, enqueue }) => {
      enqueue.assign({ status: 'cancelled' });
      enqueue(record.status(context, 'cancelled'));
      enqueue(record.event(context, 'cancelled', { reason: event.type === 'CANCEL' ? (event.reason ?? null) : null, previousStatus: context.status }));
    }),
    settleAlarm: step(({ enqueue }) => {
      enqueue.assign({ alarmSettled: true });
    }),
    /** Asks a live call to end; it reports back through its done event. */
    cancelCall: step(({ enqueue }, p: { id: string }) => {
      enqueue.sendTo(p.id, { type: 'CANCEL' });
    }),
    startDispatchAttempt: step(({ context, enqueue }) => {
      const cursor = context.next;
      const contact = context.contacts[cursor.contactIndex];
      if (!contact) throw new Error(`dispatch cursor ${JSON.stringify(cursor)} points at no contact`);
      const seq = context.nextSeq;
      const attempt: Attempt = { attemptId: attemptIdOf(context.orderId, seq), seq, script: 'dispatch', contactId: contact.id, number: contact.number, cursor };
      enqueue.assign({ nextSeq: seq + 1, next: advanceCursor(cursor, context.policy, context.contacts.length), current: attempt, lastOutput: null });
      for (const a of record.started(context, attempt, cursor.attemptOnContact)) enqueue(a);
    }),
    startAlarmAttempt: step(({ context, enqueue }) => {
      const target = context.commandCentre;
      if (!target) throw new Error('no command centre to call');
      const seq = context.nextSeq;
      const attempt: Attempt = { attemptId: attemptIdOf(context.orderId, seq), seq, script: 'alarm', contactId: target.id, number: target.number, cursor: null };
      enqueue.assign({ nextSeq: seq + 1, alarmAttempts: context.alarmAttempts + 1, current: attempt, lastOutput: null });
      for (const a of record.started(context, attempt, context.alarmAttempts)) enqueue(a);
    }),
    finishAttempt: step(({ context, enqueue, system }, ended: Ended) => {
      const a = context.current;
      if (!a) throw new Error('an attempt ended that was never started');
      const output = outputOf(ended, clockNow(system));
      enqueue.assign({ lastOutput: output });
      for (const x of record.result(context, a, output)) enqueue(x);
      // A dead line is not a busy officer: no retry delay, the next contact at once; this one is
      // tried again on the next pass over the chain.
      if (a.script === 'dispatch' && output.lineDead === true && a.cursor && context.status === 'dispatching') {
        enqueue.assign({ next: skipContact(a.cursor, context.policy, context.contacts.length) });
        enqueue(record.event(context, 'dead_line', { attemptId: a.attemptId, contactId: a.contactId, reason: output.reason ?? null }));
      }
      // Someone else (or the desk's withdrawal) settled the order first; commitAcceptance said so.
      if (a.script === 'dispatch' && output.result === 'accepted' && (output.late === true || context.status !== 'dispatching')) {
        enqueue(record.event(context, 'late_acceptance', { via: 'call', attemptId: a.attemptId, late: output.late ?? false, status: context.status }));
      }
    }),
    startLeaderCalls,
    finishLeaderAttempt,
    cancelLeaderCalls,
  },
}).createMachine({
  id: 'order',
  context: ({ input }) => initialContext(input),
  initial: 'starting',
  states: {
    starting: {
      always: [
        {
          guard: { type: 'statusIs', params: { status: ['dispatching'] } },
          target: 'active',
          actions: [
            { type: 'recordStatus', params: ({ context }) => ({ orderId: context.orderId, status: 'dispatching' as const }) },
            event('dispatch_started', ({ context }) => ({ major: context.major, nextSeq: context.nextSeq, ...context.next })),
          ],
        },
        // Resumed past its chain (accepted, or alarming): its status and events are written already.
        { target: 'active' },
      ],
    },
    active: {
      type: 'parallel',
      onDone: 'finished',
      states: {
        dispatch: {
          initial: 'starting',
          on: {
            ACCEPTED_ELSEWHERE: [
              { guard: { type: 'statusIs', params: { status: ['dispatching'] } }, target: '.accepted', actions: 'acceptElsewhere' },
              { actions: lateAcceptance },
            ],
            CANCEL: [
              { guard: { type: 'statusIs', params: { status: ['dispatching', 'unacknowledged'] } }, target: '.cancelled', actions: 'cancelOrder' },
              { actions: cancelIgnored },
            ],
          },
          states: {
            starting: {
              always: [
                // Resumed after the order was settled: the leaders alone go on, or the alarm.
                { guard: { type: 'statusIs', params: { status: ['accepted'] } }, target: 'accepted' },
                { guard: { type: 'statusIs', params: { status: ['unacknowledged'] } }, target: 'unacknowledged.resumed' },
                { guard: 'chainExhausted', target: 'unacknowledged' },
                { target: 'calling' },
              ],
            },
            calling: {
              entry: 'startDispatchAttempt',
              invoke: {
                id: 'dispatchCall',
                src: 'callAttempt',
                input: ({ context }) => callInput(context, context.current!),
                onDone: { target: 'deciding', actions: { type: 'finishAttempt', params: ({ event: e }) => ({ output: e.output }) } },
                onError: { target: 'deciding', actions: { type: 'finishAttempt', params: ({ event: e }) => ({ error: e.error }) } },
              },
              // The call must end on its own (it may be committing an acceptance): ask it to, and wait.
              on: {
                ACCEPTED_ELSEWHERE: [
                  {
                    guard: { type: 'statusIs', params: { status: ['dispatching'] } },
                    actions: ['acceptElsewhere', { type: 'cancelCall', params: { id: 'dispatchCall' } }],
                  },
                  { actions: lateAcceptance },
                ],
                CANCEL: [
                  {
                    guard: { type: 'statusIs', params: { status: ['dispatching'] } },
                    actions: ['cancelOrder', { type: 'cancelCall', params: { id: 'dispatchCall' } }],
                  },
                  { actions: cancelIgnored },
                ],
              },
            },
            deciding: {
              always: [
                { guard: { type: 'statusIs', params: { status: ['accepted'] } }, target: 'accepted' },
                { guard: { type: 'statusIs', params: { status: ['cancelled'] } }, target: 'cancelled' },
                { guard: { type: 'lastAccepted', params: { late: false } }, target: 'accepted', actions: 'acceptCurrentAttempt' },
                // The database says the order was settled before this acceptance (another channel, or
                // withdrawn); the ACCEPTED_ELSEWHERE or CANCEL that settled it is on its way.
                {
                  guard: { type: 'lastAccepted', params: { late: true } },
                  target: 'awaitingSettlement',
                  actions: event('awaiting_settlement', ({ context }) => ({ attemptId: context.current?.attemptId ?? null })),
                },
                { guard: 'chainExhausted', target: 'unacknowledged' },
                {
                  guard: { type: 'nextStepIs', params: { step: 'retry' } },
                  target: 'waitingRetry',
                  actions: event('retry_scheduled', ({ context }) => ({ contactId: context.current?.contactId ?? null, delaySeconds: context.policy.retryDelaySeconds })),
                },
                {
                  guard: { type: 'nextStepIs', params: { step: 'next_loop' } },
                  target: 'waitingLoop',
                  actions: event('loop_scheduled', ({ context }) => ({ loop: context.next.loop, delaySeconds: context.policy.loopDelaySeconds })),
                },
                { target: 'calling', actions: event('next_contact', ({ context }) => ({ contactId: context.contacts[context.next.contactIndex]?.id ?? null })) },
              ],
            },
            waitingRetry: { after: { retryDelay: 'calling' } },
            waitingLoop: { after: { loopDelay: 'calling' } },
            awaitingSettlement: {},
            accepted: { type: 'final' },
            cancelled: { type: 'final' },
            unacknowledged: {
              initial: 'choosingTarget',
              states: {
                // The chain was just exhausted (a resumed machine enters `resumed` instead: these
                // were written before the restart).
                choosingTarget: {
                  entry: [
                    { type: 'setStatus', params: { status: 'unacknowledged' } },
                    event('chain_exhausted', ({ context }) => ({ attempts: context.nextSeq - context.firstSeq })),
                    {
                      type: 'notifyWebhook',
                      params: ({ context }) => ({ orderId: context.orderId, status: 'unacknowledged' as const, attempts: context.nextSeq - context.firstSeq }),
                    },
                  ],
                  always: [{ guard: 'hasCommandCentre', target: 'alarmCalling' }, { target: 'noTarget' }],
                },
                // Resumed while alarming: the saved alarm attempts count toward attemptsPerContact.
                resumed: {
                  always: [
                    { guard: 'alarmSettled', target: 'settledBefore' },
                    { guard: 'alarmDue', target: 'alarmCalling' },
                    { guard: 'hasCommandCentre', target: 'alarmUnconfirmed', actions: event('alarm_unconfirmed', ({ context }) => ({ attempts: context.alarmAttempts })) },
                    { target: 'noTarget' },
                  ],
                },
                settledBefore: { type: 'final' },
                noTarget: { type: 'final', entry: ['settleAlarm', event('alarm_target_missing', () => ({}))] },
                alarmCalling: {
                  entry: 'startAlarmAttempt',
                  invoke: {
                    id: 'alarmCall',
                    src: 'callAttempt',
                    input: ({ context }) => callInput(context, context.current!),
                    onDone: { target: 'alarmDeciding', actions: { type: 'finishAttempt', params: ({ event: e }) => ({ output: e.output }) } },
                    onError: { target: 'alarmDeciding', actions: { type: 'finishAttempt', params: ({ event: e }) => ({ error: e.error }) } },
                  },
                  on: {
                    CANCEL: [
                      {
                        guard: { type: 'statusIs', params: { status: ['unacknowledged'] } },
                        actions: ['cancelOrder', { type: 'cancelCall', params: { id: 'alarmCall' } }],
                      },
                      { actions: cancelIgnored },
                    ],
                  },
                },
                alarmDeciding: {
                  always: [
                    { guard: { type: 'statusIs', params: { status: ['cancelled'] } }, target: '#order.active.dispatch.cancelled' },
                    {
                      guard: { type: 'lastAccepted', params: {} },
                      target: 'alarmConfirmed',
                      actions: event('alarm_confirmed', ({ context }) => ({ attemptId: context.current?.attemptId ?? null })),
                    },
                    {
                      guard: 'alarmAttemptsLeft',
                      target: 'alarmWaiting',
                      actions: event('alarm_retry_scheduled', ({ context }) => ({ delaySeconds: context.policy.retryDelaySeconds })),
                    },
                    { target: 'alarmUnconfirmed', actions: event('alarm_unconfirmed', ({ context }) => ({ attempts: context.alarmAttempts })) },
                  ],
                },
                alarmWaiting: { after: { retryDelay: 'alarmCalling' } },
                alarmConfirmed: { type: 'final', entry: 'settleAlarm' },
                alarmUnconfirmed: { type: 'final', entry: 'settleAlarm' },
              },
              onDone: 'alarmDone',
            },
            alarmDone: { type: 'final' },
          },
        },
        leaders: {
          initial: 'starting',
          states: {
            starting: { always: [{ guard: 'leadersSettled', target: 'done' }, { target: 'calling' }] },
            calling: {
              entry: [{ type: 'startLeaderCalls', params: {} }, event('leaders_notified', ({ context }) => ({ count: context.leaders.length }))],
              always: { guard: 'leadersSettled', target: 'done' },
              on: {
                'xstate.done.actor.*': {
                  guard: { type: 'isLeaderCall', params: ({ event: e }) => ({ actorId: e.actorId }) },
                  actions: { type: 'finishLeaderAttempt', params: ({ event: e }) => ({ actorId: e.actorId, output: e.output }) },
                },
                'xstate.error.actor.*': {
                  guard: { type: 'isLeaderCall', params: ({ event: e }) => ({ actorId: e.actorId }) },
                  actions: { type: 'finishLeaderAttempt', params: ({ event: e }) => ({ actorId: e.actorId, error: e.error }) },
                },
                'LEADER.RETRY': {
                  guard: { type: 'leaderWaiting', params: ({ event: e }) => ({ leaderIndex: e.leaderIndex }) },
                  actions: { type: 'startLeaderCalls', params: ({ event: e }) => ({ only: e.leaderIndex }) },
                },
                CANCEL: { actions: 'cancelLeaderCalls' },
              },
            },
            done: { type: 'final' },
          },
        },
      },
    },
    finished: { type: 'final', entry: event('finished', ({ context }) => ({ status: context.status })) },
  },
  output: ({ context }) => ({
    status: context.status,
    ...(context.acceptedAttemptId !== null ? { acceptedAttemptId: context.acceptedAttemptId } : {}),
    attempts: context.nextSeq - context.firstSeq,
  }),
});

/** A `recordEvent` action whose detail is computed from the transition's context and event. */
function event(kind: OrderEventKind, detail: (args: { context: OrderContext; event: AnyOrderEvent }) => EventDetail) {
  return {
    type: 'recordEvent',
    params: (args: { context: OrderContext; event: AnyOrderEvent }): RecordEventParams => ({ orderId: args.context.orderId, kind, detail: detail(args) }),
  } as const;
}
