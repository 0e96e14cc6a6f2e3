// Real effects of one reminder or help-alarm call, given to the same call-attempt machine the
// dispatch uses (one originate/call-events pair, the same pacing). Only what is said and what a
// key commits differ: the answer is committed (feedback, help request) before the confirmation.
// Bookkeeping from the machine's actions (answered, keys, events) is posted to the shared write
// queue; the answer is awaited through it, so it lands after them and before the confirmation.
import { fromPromise } from 'xstate';
import {
  callAttemptMachine,
  type CallAttemptEvent,
  type CommitAcceptanceInput,
  type CommitAcceptanceOutput,
  type PlayConfirmationInput,
  type PromptForKeyInput,
  type PromptOutcome,
} from '../../machines/call-attempt.machine.js';
import { answerOfKey, type DeadlineKind, type ReminderAnswer } from '../../machines/reminder.policy.js';
import { pacedCall } from '../dispatch/pacing.js';
import type { WriteQueue } from '../db/write-queue.js';
import type { Logger } from '../logging.js';
import type { Prompts } from '../prompts/index.js';
import { callEventsActor, dialActor, hangUpRequest } from '../telephony/call-actors.js';
import type { MediaUri, TelephonyPort } from '../telephony/port.js';
import type { ReminderRepository } from './reminder-repository.js';

export interface ReminderCallContext {
  readonly orderId: string;
  readonly code: string;
  readonly departmentName: string;
  readonly kind: DeadlineKind;
  readonly keyTimeoutSeconds: number;
  /** Commits what the key means (feedback, help request); awaited before the confirmation plays. */
  readonly commitAnswer: (attemptId: string, contactId: string, answer: ReminderAnswer) => Promise<void>;
}

export interface ReminderEffectDeps {
  readonly telephony: TelephonyPort;
  readonly prompts: Prompts;
  readonly reminders: ReminderRepository;
  readonly logger: Logger;
  /** The service's ordered writes: actions post to it, the commit runs through it. */
  readonly writes: WriteQueue;
  /** Case events (order_events), shared with the dispatch. */
  readonly appendEvent: (orderId: string, actor: string, kind: string, detail: Record<string, unknown>) => Promise<void>;
}

/** Milliseconds between keys; the menus take one key. */
const INTER_DIGIT_TIMEOUT_MS = 3000;

export function provideReminderCall(deps: ReminderEffectDeps, call: ReminderCallContext) {
  const { telephony, prompts, reminders, writes } = deps;
  const log = (attemptId: string) => deps.logger.child({ orderId: call.orderId, attemptId, channelId: attemptId });

  async function messageOf(script: PromptForKeyInput['script']): Promise<MediaUri[]> {
    const vars = { code: call.code, department: call.departmentName };
    if (script === 'alarm') return prompts.media('help-alarm', vars);
    return prompts.media(call.kind === 'arrival' ? 'reminder-arrival' : 'reminder-completion', vars);
  }

  async function promptForKey(input: PromptForKeyInput): Promise<PromptOutcome> {
    const invalid = input.part === 'invalid_then_message' ? await prompts.media('dispatch-invalid') : [];
    const result = await telephony.prompt(input.attemptId, [...invalid, ...(await messageOf(input.script))], {
      maxDigits: 1,
      firstDigitTimeoutMs: call.keyTimeoutSeconds * 1000,
      interDigitTimeoutMs: INTER_DIGIT_TIMEOUT_MS,
    });
    if (result.status === 'complete') return { status: 'key', key: result.digits.slice(0, 1) };
    if (result.status === 'timeout') return { status: 'timeout' };
    if (result.status === 'hangup') return { status: 'hangup' };
    throw new Error(`prompt failed: ${result.reason}`);
  }

  async function commit(input: CommitAcceptanceInput): Promise<CommitAcceptanceOutput> {
    const answer: ReminderAnswer | null = input.script === 'alarm' ? 'done' : answerOfKey(input.key);
    if (!answer) throw new Error(`key ${input.key} is no reminder answer`);
    // Through the queue: after the attempt row and keys the actions posted. Idempotent: a
    // repeated commit of the same attempt changes nothing.
    if (await writes.run(() => reminders.setAnswer(input.attemptId, answer))) await call.commitAnswer(input.attemptId, input.contactId, answer);
    return { late: false };
  }

  async function playConfirmation(input: PlayConfirmationInput): Promise<void> {
    const answer = (await reminders.attempt(input.attemptId))?.answer ?? null;
    const media = input.script === 'alarm' ? await prompts.media('alarm-confirmed') : await prompts.media(answer === 'need_help' ? 'reminder-help' : 'reminder-recorded');
    const played = await telephony.play(input.attemptId, [...media, ...(await prompts.media('goodbye'))], { bargeIn: false });
    if (played.status === 'failed') throw new Error(`confirmation failed: ${played.reason}`);
  }

  const hangUp = hangUpRequest(() => telephony, log);

  return pacedCall(telephony, callAttemptMachine.provide({
    actors: {
      dial: dialActor(() => telephony, hangUp),
      callEvents: callEventsActor<CallAttemptEvent>(() => telephony),
      promptForKey: fromPromise<PromptOutcome, PromptForKeyInput>(({ input }) => promptForKey(input)),
      commitAcceptance: fromPromise<CommitAcceptanceOutput, CommitAcceptanceInput>(({ input }) => commit(input)),
      playConfirmation: fromPromise<void, PlayConfirmationInput>(({ input }) => playConfirmation(input)),
    },
    actions: {
      hangUp: (_, p) => hangUp(p.attemptId),
      recordAnswered: (_, p) => {
        writes.post('reminder answered', () => reminders.markAnswered(p.attemptId, p.at));
        log(p.attemptId).info('reminder call answered');
      },
      recordKey: (_, p) => {
        const k = p.keypad;
        if ('key' in k) writes.post('reminder key', () => reminders.appendDigit(p.attemptId, k.key));
        writes.post('reminder keypad event', () =>
          deps.appendEvent(call.orderId, 'phone', 'reminder_keypad', { attemptId: p.attemptId, replay: p.replay, result: k.kind, key: 'key' in k ? k.key : null }));
      },
    },
  }), (_input, endedAt) => ({ result: 'cancelled' as const, reason: 'cancelled while waiting for a free line; no call was placed', digits: '', endedAt }));
}
