// Real effects of the dispatch calls (duty, alarm, leader), given once to the pure call-attempt
// machine: the telephony port for the call, prompts for what is said, the repository for what is
// kept. Built once per dispatcher; each effect finds the live state of the order's unit it is for
// (what its calls say, its repository, its prompts rendered) from the orderId and coUnit in its
// input, through `unitOf` (the dispatcher's LiveUnits).
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
import type { CallTraces } from '../telephony/call-trace.js';
import type { TelephonyPort } from '../telephony/port.js';

/** What the calls of one unit of an order need, live while its machine runs. */
export interface UnitCalls {
  readonly order: OrderRow;
  /** Spoken names of the order's category and the unit's department, in the call language. */
  readonly categoryName: string;
  readonly departmentName: string;
  readonly keyTimeoutSeconds: number;
  /** Set when the unit is a co-unit (several units on one order): its acceptance is that unit's. */
  readonly coUnit: string | undefined;
  /** The order's repository (over its lease's fenced store in a cluster). */
  readonly repo: OrderRepository;
  /** The unit's child logger (orderId, and departmentId for a co-unit). */
  readonly log: Logger;
  /** One render per script for all attempts of the unit; a failed render is forgotten so the next attempt tries again. */
  readonly media: Map<CallScript, Promise<ScriptMedia>>;
}

export interface CallEffectDeps {
  readonly telephony: TelephonyPort;
  readonly prompts: Prompts;
  /** Writes of the machine's actions, in the order they happened (shared with the dispatcher). */
  readonly writes: WriteQueue;
  /** Each call's logger and step times, for its summary line (logged by the dispatcher at its end). */
  readonly traces: CallTraces;
  /** The live unit a call is for; throws when its machine has ended (no effect of it can run then). */
  readonly unitOf: (orderId: string, coUnit: string | undefined) => UnitCalls;
}

/** Milliseconds between keys of a multi-key entry; the menus here take one key. */
const INTER_DIGIT_TIMEOUT_MS = 3000;

/** The call-attempt machine of every dispatch call, built once, and the unit's prompt cache. */
export function dispatchCalls(deps: CallEffectDeps) {
  const { telephony, prompts, writes, traces, unitOf } = deps;
  const portOf = () => telephony;

  function mediaOf(unit: UnitCalls, script: CallScript): Promise<ScriptMedia> {
    let p = unit.media.get(script);
    if (!p) {
      p = renderOrderScript(prompts, script, { ...unit.order, categoryName: unit.categoryName, departmentName: unit.departmentName });
      unit.media.set(script, p);
      p.then(undefined, (err: unknown) => {
        unit.media.delete(script);
        unit.log.warn({ script, reason: err instanceof Error ? err.message : String(err) }, 'prompts of the order could not be rendered; the attempt fails before dialling');
      });
    }
    return p;
  }

  async function promptForKey(input: PromptForKeyInput): Promise<PromptOutcome> {
    const unit = unitOf(input.orderId, input.coUnit);
    const media = await mediaOf(unit, input.script);
    const first = input.replay === 0;
    if (first) {
      const msAfterAnswer = traces.prompted(input.attemptId);
      if (msAfterAnswer !== undefined) {
        // Posted, not awaited: the prompt is requested now, the event is written in its turn.
        writes.post('first_prompt event', () => unit.repo.appendEvent(input.orderId, 'liandong', 'first_prompt', { attemptId: input.attemptId, msAfterAnswer }));
        traces.log(input.attemptId).debug({ msAfterAnswer }, 'first prompt requested');
      }
    }
    const invalid = input.part === 'invalid_then_message' ? media.invalid : [];
    const result = await telephony.prompt(input.attemptId, [...invalid, ...media.message], {
      maxDigits: 1,
      firstDigitTimeoutMs: unit.keyTimeoutSeconds * 1000,
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
    const media = await mediaOf(unitOf(input.orderId, input.coUnit), input.script);
    const confirmation = input.script === 'dispatch' && input.disputed ? media.disputed : media.accepted;
    const played = await telephony.play(input.attemptId, [...confirmation, ...media.goodbye], { bargeIn: false });
    if (played.status === 'failed') throw new Error(`confirmation failed: ${played.reason}`);
  }

  async function commitAcceptance(input: CommitAcceptanceInput): Promise<CommitAcceptanceOutput> {
    const { script } = input;
    if (script === 'reminder') throw new Error('reminder calls are placed by the reminder service');
    const unit = unitOf(input.orderId, input.coUnit);
    // Committed before the confirmation is played, after the attempt's row and keys posted before it.
    return writes.run(() => unit.repo.commitAcceptance({ orderId: input.orderId, attemptId: input.attemptId, contactId: input.contactId, script, disputed: input.disputed, via: 'phone', coUnit: unit.coUnit }));
  }

  const hangUp = hangUpRequest(portOf, (attemptId) => traces.log(attemptId));

  // Waits for a line of the trunk before the call (and its ring timer) starts.
  const machine = pacedCall(telephony, callAttemptMachine.provide({
    actors: {
      dial: dialActor(portOf, hangUp, (attemptId) => traces.originating(attemptId)),
      callEvents: callEventsActor<CallAttemptEvent>(portOf),
      promptForKey: fromPromise<PromptOutcome, PromptForKeyInput>(({ input }) => promptForKey(input)),
      commitAcceptance: fromPromise<CommitAcceptanceOutput, CommitAcceptanceInput>(({ input }) => commitAcceptance(input)),
      playConfirmation: fromPromise<void, PlayConfirmationInput>(({ input }) => playConfirmation(input)),
    },
    actions: {
      hangUp: (_, p) => hangUp(p.attemptId),
      recordAnswered: (_, p) => {
        const { repo } = unitOf(p.orderId, p.coUnit);
        traces.answered(p.attemptId, p.at);
        writes.post('attempt answered', () => repo.markAnswered(p.attemptId, p.at));
        traces.log(p.attemptId).debug('answered');
      },
      recordKey: (_, p) => {
        const { repo } = unitOf(p.orderId, p.coUnit);
        const k = p.keypad;
        if ('key' in k) {
          traces.keyed(p.attemptId);
          writes.post('attempt key', () => repo.appendDigit(p.attemptId, k.key));
        }
        writes.post('keypad event', () => repo.appendEvent(p.orderId, 'phone', 'keypad', { attemptId: p.attemptId, replay: p.replay, result: k.kind, key: 'key' in k ? k.key : null }));
        traces.log(p.attemptId).debug({ keypad: k.kind, replay: p.replay }, 'keypad');
      },
    },
  }), (_input, endedAt) => ({ result: 'cancelled' as const, reason: 'cancelled while waiting for a free line; no call was placed', digits: '', endedAt }), {
    // Every prompt of the attempt is ready before the phone rings, rendered while the call waits for its line.
    prepare: async (input) => {
      await mediaOf(unitOf(input.orderId, input.coUnit), input.script);
    },
    whenFailed: (_input, endedAt, reason) => ({ result: 'failed' as const, reason: `prompts could not be rendered: ${reason}; no call was placed`, digits: '', endedAt }),
  });

  return {
    machine,
    /** The duty calls of a new unit start rendering now, before the first attempt waits for a line. */
    renderAhead: (unit: UnitCalls): void => {
      void mediaOf(unit, 'dispatch'); // a failure is logged in mediaOf and fails the attempt before it dials
    },
  };
}
