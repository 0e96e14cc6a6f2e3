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
import type { WriteQueue } from '../db/write-queue.js';
import type { Logger } from '../logging.js';
import type { OrderRepository, OrderRow } from '../orders/order-repository.js';
import type { Prompts } from '../prompts/index.js';
import { pacedCall } from './pacing.js';
import { renderScript as renderOrderScript, type ScriptMedia } from './script-media.js';
import { callEventsActor, dialActor, hangUpRequest } from '../telephony/call-actors.js';
import type { TelephonyPort } from '../telephony/port.js';

export interface CallContext {
  readonly order: OrderRow;
  /** Spoken names of the order's category and department, in the call language. */
  readonly categoryName: string;
  readonly departmentName: string;
  readonly keyTimeoutSeconds: number;
  /** Set when the call is a co-unit's (several units on one order): its acceptance is that unit's. */
  readonly coUnit?: string;
}

export interface CallEffectDeps {
  readonly telephony: TelephonyPort;
  readonly prompts: Prompts;
  readonly repo: OrderRepository;
  readonly logger: Logger;
  /** Writes of the machine's actions, in the order they happened (shared with the dispatcher). */
  readonly writes: WriteQueue;
}

/** Milliseconds between keys of a multi-key entry; the menus here take one key. */
const INTER_DIGIT_TIMEOUT_MS = 3000;

export function provideCallAttempt(deps: CallEffectDeps, call: CallContext) {
  const { telephony, prompts, repo, writes } = deps;
  const orderId = call.order.id;
  const log = (attemptId: string) => deps.logger.child({ orderId, attemptId, channelId: attemptId });

  const renderScript = (script: CallScript): Promise<ScriptMedia> =>
    renderOrderScript(prompts, script, { ...call.order, categoryName: call.categoryName, departmentName: call.departmentName });

  // One render per script for all attempts of this order; a failed render is forgotten so the next attempt tries again.
  const prepared = new Map<CallScript, Promise<ScriptMedia>>();
  function mediaOf(script: CallScript): Promise<ScriptMedia> {
    let p = prepared.get(script);
    if (!p) {
      p = renderScript(script);
      prepared.set(script, p);
      p.then(undefined, (err: unknown) => {
        prepared.delete(script);
        deps.logger.warn({ orderId, script, reason: err instanceof Error ? err.message : String(err) }, 'prompts of the order could not be rendered; the attempt fails before dialling');
      });
    }
    return p;
  }
  // The duty calls of a new order start rendering now, before the first attempt waits for a line.
  void mediaOf('dispatch'); // a failure is logged in mediaOf and fails the attempt before it dials

  /** Epoch ms of each attempt's answer event, to measure answer → first prompt requested from Asterisk. */
  const answeredAt = new Map<string, number>();

  async function promptForKey(input: PromptForKeyInput): Promise<PromptOutcome> {
    const media = await mediaOf(input.script);
    const first = input.replay === 0;
    if (first) {
      const at = answeredAt.get(input.attemptId);
      answeredAt.delete(input.attemptId);
      if (at !== undefined) {
        const msAfterAnswer = Date.now() - at;
        // Posted, not awaited: the prompt is requested now, the event is written in its turn.
        writes.post('first_prompt event', () => repo.appendEvent(orderId, 'liandong', 'first_prompt', { attemptId: input.attemptId, msAfterAnswer }));
        log(input.attemptId).info({ msAfterAnswer }, 'first prompt requested');
      }
    }
    const invalid = input.part === 'invalid_then_message' ? media.invalid : [];
    const result = await telephony.prompt(input.attemptId, [...invalid, ...media.message], {
      maxDigits: 1,
      firstDigitTimeoutMs: call.keyTimeoutSeconds * 1000,
      interDigitTimeoutMs: INTER_DIGIT_TIMEOUT_MS,
      // A key pressed between the answer and the first prompt answers it (no key lost to silence).
      keepKeysPressedBefore: first,
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
    const media = await mediaOf(input.script);
    const confirmation = input.script === 'dispatch' && input.disputed ? media.disputed : media.accepted;
    const played = await telephony.play(input.attemptId, [...confirmation, ...media.goodbye], { bargeIn: false });
    if (played.status === 'failed') throw new Error(`confirmation failed: ${played.reason}`);
  }

  const hangUp = hangUpRequest(telephony, log);

  // Waits for a line of the trunk before the call (and its ring timer) starts.
  return pacedCall(telephony, callAttemptMachine.provide({
    actors: {
      dial: dialActor(telephony, hangUp),
      callEvents: callEventsActor<CallAttemptEvent>(telephony),
      promptForKey: fromPromise<PromptOutcome, PromptForKeyInput>(({ input }) => promptForKey(input)),
      // Committed before the confirmation is played, after the attempt's row and keys posted before it.
      commitAcceptance: fromPromise<CommitAcceptanceOutput, CommitAcceptanceInput>(({ input }) => {
        const { script } = input;
        if (script === 'reminder') return Promise.reject(new Error('reminder calls are placed by the reminder service'));
        return writes.run(() => repo.commitAcceptance({ orderId: input.orderId, attemptId: input.attemptId, contactId: input.contactId, script, disputed: input.disputed, via: 'phone', coUnit: call.coUnit }));
      }),
      playConfirmation: fromPromise<void, PlayConfirmationInput>(({ input }) => playConfirmation(input)),
    },
    actions: {
      hangUp: (_, p) => hangUp(p.attemptId),
      recordAnswered: (_, p) => {
        answeredAt.set(p.attemptId, p.at);
        writes.post('attempt answered', () => repo.markAnswered(p.attemptId, p.at));
        log(p.attemptId).info('answered');
      },
      recordKey: (_, p) => {
        const k = p.keypad;
        if ('key' in k) writes.post('attempt key', () => repo.appendDigit(p.attemptId, k.key));
        writes.post('keypad event', () => repo.appendEvent(orderId, 'phone', 'keypad', { attemptId: p.attemptId, replay: p.replay, result: k.kind, key: 'key' in k ? k.key : null }));
        log(p.attemptId).info({ keypad: k.kind, replay: p.replay }, 'keypad');
      },
    },
  }), (_input, endedAt) => ({ result: 'cancelled' as const, reason: 'cancelled while waiting for a free line; no call was placed', digits: '', endedAt }), {
    // Every prompt of the attempt is ready before the phone rings, rendered while the call waits for its line.
    prepare: (input) => mediaOf(input.script).then(() => undefined),
    whenFailed: (_input, endedAt, reason) => ({ result: 'failed' as const, reason: `prompts could not be rendered: ${reason}; no call was placed`, digits: '', endedAt }),
  });
}
