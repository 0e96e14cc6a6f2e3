// Real effects of one call attempt, given to the pure call-attempt machine with .provide():
// the telephony port for the call, prompts for what is said, the repository for what is kept.
import { fromPromise } from 'xstate';
import {
  callAttemptMachine,
  type CallAttemptEvent,
  type CallScript,
  type CommitAcceptanceInput,
  type CommitAcceptanceOutput,
  type PlayConfirmationInput,
  type PromptForKeyInput,
  type PromptOutcome,
} from '../../machines/call-attempt.machine.js';
import type { Logger } from '../logging.js';
import type { OrderRepository, OrderRow } from '../orders/order-repository.js';
import type { Prompts } from '../prompts/index.js';
import { pacedCall } from './pacing.js';
import { callEventsActor, originateActor } from '../telephony/call-actors.js';
import type { MediaUri, TelephonyPort } from '../telephony/port.js';

export interface CallContext {
  readonly order: OrderRow;
  /** Spoken names of the order's category and department, in the call language. */
  readonly categoryName: string;
  readonly departmentName: string;
  readonly keyTimeoutSeconds: number;
}

export interface CallEffectDeps {
  readonly telephony: TelephonyPort;
  readonly prompts: Prompts;
  readonly repo: OrderRepository;
  readonly logger: Logger;
}

/** Milliseconds between keys of a multi-key entry; the menus here take one key. */
const INTER_DIGIT_TIMEOUT_MS = 3000;

export function provideCallAttempt(deps: CallEffectDeps, call: CallContext) {
  const { telephony, prompts, repo } = deps;
  const orderId = call.order.id;
  const log = (attemptId: string) => deps.logger.child({ orderId, attemptId, channelId: attemptId });

  async function messageOf(script: CallScript): Promise<MediaUri[]> {
    const o = call.order;
    if (script === 'dispatch') {
      // The spoken order says 重大 / 紧急 first when it is (a normal order is read as before).
      const level = o.major === 1 ? await prompts.media('dispatch-major') : o.urgency === 'urgent' ? await prompts.media('dispatch-urgent') : [];
      const order = await prompts.media('dispatch-order', { code: o.code, category: call.categoryName, address: o.address, summary: o.summary });
      return [...level, ...order, ...(await prompts.media('dispatch-menu'))];
    }
    if (script === 'alarm') return prompts.media('alarm-unacknowledged', { code: o.code, department: call.departmentName });
    return prompts.media('major-notify', { code: o.code, category: call.categoryName, address: o.address });
  }

  async function promptForKey(input: PromptForKeyInput): Promise<PromptOutcome> {
    const message = await messageOf(input.script);
    const invalid = input.part === 'invalid_then_message' ? await prompts.media(input.script === 'dispatch' ? 'dispatch-invalid' : 'survey-invalid') : [];
    const result = await telephony.prompt(input.attemptId, [...invalid, ...message], {
      maxDigits: 1,
      firstDigitTimeoutMs: call.keyTimeoutSeconds * 1000,
      interDigitTimeoutMs: INTER_DIGIT_TIMEOUT_MS,
    });
    switch (result.status) {
      case 'complete':
        return { status: 'key', key: result.digits.slice(0, 1) };
      case 'timeout':
        return { status: 'timeout' };
      case 'hangup':
        return { status: 'hangup' };
      case 'failed':
        throw new Error(`prompt failed: ${result.reason}`);
    }
  }

  async function playConfirmation(input: PlayConfirmationInput): Promise<void> {
    const code = call.order.code;
    const media =
      input.script === 'dispatch'
        ? await prompts.media(input.disputed ? 'dispatch-disputed' : 'dispatch-accepted', { code })
        : await prompts.media(input.script === 'alarm' ? 'alarm-confirmed' : 'major-confirmed');
    const played = await telephony.play(input.attemptId, [...media, ...(await prompts.media('goodbye'))], { bargeIn: false });
    if (played.status === 'failed') throw new Error(`confirmation failed: ${played.reason}`);
  }

  // Waits for a line of the trunk before the call (and its ring timer) starts.
  return pacedCall(telephony, callAttemptMachine.provide({
    actors: {
      originate: originateActor(telephony),
      callEvents: callEventsActor<CallAttemptEvent>(telephony),
      promptForKey: fromPromise<PromptOutcome, PromptForKeyInput>(({ input }) => promptForKey(input)),
      // Synchronous SQLite commit: it is durable before the confirmation is played.
      commitAcceptance: fromPromise<CommitAcceptanceOutput, CommitAcceptanceInput>(({ input }) => {
        const { script } = input;
        if (script === 'reminder') return Promise.reject(new Error('reminder calls are placed by the reminder service'));
        return Promise.resolve(repo.commitAcceptance({ orderId: input.orderId, attemptId: input.attemptId, contactId: input.contactId, script, disputed: input.disputed, via: 'phone' }));
      }),
      playConfirmation: fromPromise<void, PlayConfirmationInput>(({ input }) => playConfirmation(input)),
    },
    actions: {
      hangUp: (_, p) => {
        telephony.hangup(p.attemptId).catch((err: unknown) => log(p.attemptId).warn({ err: String(err) }, 'hangup request failed; the ring or call limit will end the attempt'));
      },
      recordAnswered: (_, p) => {
        repo.markAnswered(p.attemptId, p.at);
        log(p.attemptId).info('answered');
      },
      recordKey: (_, p) => {
        const k = p.keypad;
        if ('key' in k) repo.appendDigit(p.attemptId, k.key);
        repo.appendEvent(orderId, 'phone', 'keypad', { attemptId: p.attemptId, replay: p.replay, result: k.kind, key: 'key' in k ? k.key : null });
        log(p.attemptId).info({ keypad: k.kind, replay: p.replay }, 'keypad');
      },
    },
  }), (_input, endedAt) => ({ result: 'cancelled' as const, reason: 'cancelled while waiting for a free line; no call was placed', digits: '', endedAt }));
}
