// One reminder round of 督查催办: the targets one after another (the contact who accepted, then
// the rest of the duty chain; or the leader contact; or the 110 command centre for a help
// alarm), each called once with the call-attempt machine, until one presses a key. The key is
// committed by the call machine's commitAcceptance (provided in src/reminders/) before the
// confirmation plays. Pure: effects are named actions given with .provide().
import { assign, setup, enqueueActions, type EventObject } from 'xstate';
import { callAttemptMachine, type CallAttemptInput, type CallAttemptOutput } from './call-attempt.machine.js';
import { clockNow } from './clock.js';
import { outputOf, type Ended } from './order.context.js';
import { answerOfKey, type ReminderAnswer } from './reminder.policy.js';

export interface ReminderTarget {
  id: string;
  number: string;
}

export interface ReminderRoundInput {
  orderId: string;
  /** Attempt (and channel) ids are `${orderId}-r${seq}`, seq counting up from here; never reused. */
  firstSeq: number;
  targets: ReminderTarget[];
  /** `reminder`: keys 1/2/3; `alarm`: the help alarm to the command centre, 1 confirms. */
  script: 'reminder' | 'alarm';
  ringTimeoutSeconds: number;
  maxReplays: number;
}

export interface ReminderRoundOutput {
  /** What the person pressed (for the help alarm: 'done' = confirmed), or null when nobody did. */
  answer: ReminderAnswer | null;
  attemptId: string | null;
  contactId: string | null;
  /** Calls placed in this round. */
  calls: number;
}

export interface RecordReminderStartedParams { orderId: string; attemptId: string; seq: number; contactId: string; number: string; script: 'reminder' | 'alarm' }
export interface RecordReminderResultParams { orderId: string; attemptId: string; contactId: string; output: CallAttemptOutput }

type RoundEvent = { type: 'CANCEL' };
type CallActor = { src: 'callAttempt'; logic: typeof callAttemptMachine; id: string | undefined };
type RecordResultAction = { type: 'recordReminderResult'; params: RecordReminderResultParams };

interface Current { attemptId: string; seq: number; contactId: string; number: string }
interface Context {
  input: ReminderRoundInput;
  index: number;
  seq: number;
  current: Current | null;
  answer: ReminderAnswer | null;
  answeredBy: Current | null;
  cancelled: boolean;
}

export const reminderAttemptIdOf = (orderId: string, seq: number): string => `${orderId}-r${seq}`;

const provide = (name: string) => (): never => {
  throw new Error(`provide ${name} with reminderRoundMachine.provide()`);
};

export const reminderRoundMachine = setup({
  types: { input: {} as ReminderRoundInput, context: {} as Context, events: {} as RoundEvent, output: {} as ReminderRoundOutput },
  actors: { callAttempt: callAttemptMachine },
  actions: {
    recordReminderStarted: (_, _p: RecordReminderStartedParams) => provide('recordReminderStarted')(),
    recordReminderResult: (_, _p: RecordReminderResultParams) => provide('recordReminderResult')(),
  },
  guards: {
    targetsLeft: ({ context }) => !context.cancelled && context.index < context.input.targets.length,
    answered: ({ context }) => context.answer !== null,
  },
}).extend({
  actions: {
    /** Records the call's result; a call whose key was committed (result accepted) answers the round. */
    finishCall: enqueueActions<Context, RoundEvent, Ended, RoundEvent, CallActor, RecordResultAction, never, never, EventObject>(({ context, enqueue, system }, ended) => {
      const output = outputOf(ended, clockNow(system));
      const current = context.current;
      if (!current) return;
      enqueue({ type: 'recordReminderResult', params: { orderId: context.input.orderId, attemptId: current.attemptId, contactId: current.contactId, output } });
      if (output.result !== 'accepted') return;
      const answer = context.input.script === 'alarm' ? 'done' : answerOfKey(output.digits.slice(-1));
      if (answer) enqueue.assign({ answer, answeredBy: current });
    }),
  },
}).createMachine({
  id: 'reminderRound',
  context: ({ input }) => ({ input, index: 0, seq: Math.max(1, Math.floor(input.firstSeq)), current: null, answer: null, answeredBy: null, cancelled: false }),
  initial: 'next',
  states: {
    next: { always: [{ guard: 'targetsLeft', target: 'calling' }, { target: 'unanswered' }] },
    calling: {
      entry: enqueueActions(({ context, enqueue }) => {
        const target = context.input.targets[context.index];
        if (!target) throw new Error(`reminder target ${context.index} does not exist`);
        const current: Current = { attemptId: reminderAttemptIdOf(context.input.orderId, context.seq), seq: context.seq, contactId: target.id, number: target.number };
        enqueue.assign({ current, index: context.index + 1, seq: context.seq + 1 });
        enqueue({
          type: 'recordReminderStarted',
          params: { orderId: context.input.orderId, attemptId: current.attemptId, seq: current.seq, contactId: current.contactId, number: current.number, script: context.input.script },
        });
      }),
      invoke: {
        id: 'reminderCall',
        src: 'callAttempt',
        input: ({ context }): CallAttemptInput => ({
          orderId: context.input.orderId,
          attemptId: context.current!.attemptId,
          contactId: context.current!.contactId,
          number: context.current!.number,
          script: context.input.script,
          ringTimeoutSeconds: context.input.ringTimeoutSeconds,
          maxReplays: context.input.maxReplays,
        }),
        onDone: { target: 'deciding', actions: { type: 'finishCall', params: ({ event }) => ({ output: event.output }) } },
        onError: { target: 'deciding', actions: { type: 'finishCall', params: ({ event }) => ({ error: event.error }) } },
      },
      // The feedback came in another way: the live call is asked to end (a key being committed still is).
      on: { CANCEL: { actions: [assign({ cancelled: true }), enqueueActions(({ enqueue }) => enqueue.sendTo('reminderCall', { type: 'CANCEL' }))] } },
    },
    deciding: { always: [{ guard: 'answered', target: 'answered' }, { target: 'next' }] },
    answered: { type: 'final' },
    unanswered: { type: 'final' },
  },
  on: { CANCEL: { actions: assign({ cancelled: true }) } },
  output: ({ context }) => ({
    answer: context.answer,
    attemptId: context.answeredBy?.attemptId ?? null,
    contactId: context.answeredBy?.contactId ?? null,
    calls: context.seq - Math.max(1, Math.floor(context.input.firstSeq)),
  }),
});
