// Real effects of the reminder rounds and of their reminder or help-alarm calls, given once (per
// reminder service) to the pure reminder-round machine and the same call-attempt machine the
// dispatch uses (one originate/call-events pair, the same pacing). Only what is said and what a
// key commits differ: the answer is committed (feedback, help request) before the confirmation.
// A round's live state is found by the attempt ids it may use (one per target, known when it
// starts): added before its machine starts, removed when it ends or is abandoned. Bookkeeping
// from the machines' actions (started, answered, keys, results) is posted to the shared write
// queue; the answer is awaited through it, so it lands after them and before the confirmation.
// Each call's end is one summary line at info; its per-step lines are at debug.
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
import { reminderRoundMachine } from '../../machines/reminder-round.machine.js';
import { answerOfKey, type DeadlineKind, type ReminderAnswer } from '../../machines/reminder.policy.js';
import { pacedCall } from '../dispatch/pacing.js';
import type { WriteQueue } from '../db/write-queue.js';
import type { Logger } from '../logging.js';
import type { Prompts } from '../prompts/index.js';
import { callEventsActor, dialActor, hangUpRequest } from '../telephony/call-actors.js';
import { CallTraces } from '../telephony/call-trace.js';
import type { MediaUri, TelephonyPort } from '../telephony/port.js';
import type { ReminderRepository, ReminderTargetKind } from './reminder-repository.js';

/** What one round's calls need while it runs. */
export interface ReminderRound {
  readonly orderId: string;
  readonly code: string;
  readonly departmentName: string;
  readonly deadlineId: string;
  readonly kind: DeadlineKind;
  /** The deadline's round number (its attempts are recorded under it). */
  readonly round: number;
  readonly target: ReminderTargetKind;
  readonly keyTimeoutSeconds: number;
  /** The deadline's repository (cluster: over its lease's fenced store). */
  readonly reminders: ReminderRepository;
  /** The deadline's calls up now (LiveRounds): the round adds and removes its own. */
  readonly calls: Set<string>;
  /** Commits what the key means (feedback, help request); awaited before the confirmation plays. */
  readonly commitAnswer: (attemptId: string, contactId: string, answer: ReminderAnswer) => Promise<void>;
}

export interface ReminderEffectDeps {
  readonly telephony: TelephonyPort;
  readonly prompts: Prompts;
  /** The service's logger; each call gets a child. */
  readonly logger: Logger;
  /** The service's ordered writes: actions post to it, the commit runs through it. */
  readonly writes: WriteQueue;
  /** Case events (order_events), shared with the dispatch. */
  readonly appendEvent: (orderId: string, actor: string, kind: string, detail: Record<string, unknown>) => Promise<void>;
}

/** Milliseconds between keys; the menus take one key. */
const INTER_DIGIT_TIMEOUT_MS = 3000;

export class ReminderCalls {
  /** The reminder-round machine with its calls and effects, provided once. */
  readonly machine: typeof reminderRoundMachine;
  /** Live rounds by the attempt ids they may use. */
  private readonly rounds = new Map<string, ReminderRound>();
  private readonly traces: CallTraces;

  constructor(private readonly deps: ReminderEffectDeps) {
    const { telephony, writes } = deps;
    this.traces = new CallTraces(deps.logger);
    const portOf = () => telephony;
    const hangUp = hangUpRequest(portOf, (attemptId) => this.traces.log(attemptId));
    const callAttempt = pacedCall(telephony, callAttemptMachine.provide({
      actors: {
        dial: dialActor(portOf, hangUp, (attemptId) => this.traces.originating(attemptId)),
        callEvents: callEventsActor<CallAttemptEvent>(portOf),
        promptForKey: fromPromise<PromptOutcome, PromptForKeyInput>(({ input }) => this.promptForKey(input)),
        commitAcceptance: fromPromise<CommitAcceptanceOutput, CommitAcceptanceInput>(({ input }) => this.commit(input)),
        playConfirmation: fromPromise<void, PlayConfirmationInput>(({ input }) => this.playConfirmation(input)),
      },
      actions: {
        hangUp: (_, p) => hangUp(p.attemptId),
        recordAnswered: (_, p) => {
          const { reminders } = this.roundOf(p.attemptId);
          this.traces.answered(p.attemptId, p.at);
          writes.post('reminder answered', () => reminders.markAnswered(p.attemptId, p.at));
          this.traces.log(p.attemptId).debug('reminder call answered');
        },
        recordKey: (_, p) => {
          const { reminders } = this.roundOf(p.attemptId);
          const k = p.keypad;
          if ('key' in k) {
            this.traces.keyed(p.attemptId);
            writes.post('reminder key', () => reminders.appendDigit(p.attemptId, k.key));
          }
          writes.post('reminder keypad event', () =>
            deps.appendEvent(p.orderId, 'phone', 'reminder_keypad', { attemptId: p.attemptId, replay: p.replay, result: k.kind, key: 'key' in k ? k.key : null }));
          this.traces.log(p.attemptId).debug({ keypad: k.kind, replay: p.replay }, 'reminder keypad');
        },
      },
    }), (_input, endedAt) => ({ result: 'cancelled' as const, reason: 'cancelled while waiting for a free line; no call was placed', digits: '', endedAt }), {
      // The reminder is rendered (or found in the cache) while the call waits for its line: at the
      // answer it plays at once, and a key pressed right away is not lost to silence.
      prepare: async (input) => {
        await this.messageOf(this.roundOf(input.attemptId), input.script);
      },
      whenFailed: (_input, endedAt, reason) => ({ result: 'failed' as const, reason: `prompts could not be rendered: ${reason}; no call was placed`, digits: '', endedAt }),
    });

    this.machine = reminderRoundMachine.provide({
      actors: { callAttempt },
      actions: {
        recordReminderStarted: (_, p) => {
          const round = this.roundOf(p.attemptId);
          round.calls.add(p.attemptId);
          this.traces.begin(p.attemptId, deps.logger.child({ orderId: p.orderId, deadlineId: round.deadlineId, attemptId: p.attemptId, channelId: p.attemptId }));
          writes.post('reminder attempt started', () =>
            round.reminders.startAttempt({ id: p.attemptId, orderId: p.orderId, deadlineId: round.deadlineId, seq: p.seq, round: round.round, target: round.target, contactId: p.contactId, number: p.number }));
          this.traces.log(p.attemptId).debug({ script: p.script, contactId: p.contactId, seq: p.seq }, 'reminder call started');
        },
        recordReminderResult: (_, p) => {
          const round = this.roundOf(p.attemptId);
          round.calls.delete(p.attemptId);
          const o = p.output;
          writes.post('reminder attempt ended', () => round.reminders.endAttempt(p.attemptId, { result: o.result, reason: o.reason, digits: o.digits, answeredAt: o.answeredAt, endedAt: o.endedAt, cause: o.cause }));
          writes.post('reminder call event', () => deps.appendEvent(p.orderId, 'liandong', 'reminder_call_ended', { attemptId: p.attemptId, target: round.target, contactId: p.contactId, result: o.result }));
          const log = this.traces.log(p.attemptId);
          const timings = this.traces.end(p.attemptId, o.endedAt);
          log.info({ deadline: round.kind, target: round.target, contactId: p.contactId, result: o.result, reason: o.reason, cause: o.cause, digits: o.digits, ...timings }, 'reminder call ended');
        },
      },
    });
  }

  /** A round starts: its state under every attempt id it may use (before its machine starts). */
  add(attemptIds: readonly string[], round: ReminderRound): void {
    for (const id of attemptIds) this.rounds.set(id, round);
  }

  /** The round ended or was abandoned: nothing of it is kept (traces of calls it left open included). */
  remove(attemptIds: readonly string[]): void {
    for (const id of attemptIds) {
      this.rounds.delete(id);
      this.traces.drop(id);
    }
  }

  /** Attempt ids of live rounds and calls traced (0 and 0 once every round has ended or been abandoned). */
  liveState(): { attemptIds: number; traces: number } {
    return { attemptIds: this.rounds.size, traces: this.traces.size };
  }

  private roundOf(attemptId: string): ReminderRound {
    const round = this.rounds.get(attemptId);
    if (!round) throw new Error(`no live reminder round for call ${attemptId}: its round has ended`);
    return round;
  }

  private async messageOf(round: ReminderRound, script: PromptForKeyInput['script']): Promise<MediaUri[]> {
    const { prompts } = this.deps;
    const vars = { code: round.code, department: round.departmentName };
    if (script === 'alarm') return prompts.media('help-alarm', vars);
    return prompts.media(round.kind === 'arrival' ? 'reminder-arrival' : 'reminder-completion', vars);
  }

  private async promptForKey(input: PromptForKeyInput): Promise<PromptOutcome> {
    const round = this.roundOf(input.attemptId);
    const { prompts, telephony } = this.deps;
    const invalid = input.part === 'invalid_then_message' ? await prompts.media('dispatch-invalid') : [];
    const message = await this.messageOf(round, input.script);
    const msAfterAnswer = this.traces.prompted(input.attemptId);
    if (msAfterAnswer !== undefined) this.traces.log(input.attemptId).debug({ msAfterAnswer }, 'first prompt requested');
    const result = await telephony.prompt(input.attemptId, [...invalid, ...message], {
      maxDigits: 1,
      firstDigitTimeoutMs: round.keyTimeoutSeconds * 1000,
      interDigitTimeoutMs: INTER_DIGIT_TIMEOUT_MS,
      // A key pressed between the answer and the first reading answers it (as on dispatch calls).
      keepKeysPressedBefore: input.replay === 0,
    });
    if (result.status === 'complete') return { status: 'key', key: result.digits.slice(0, 1) };
    if (result.status === 'timeout') return { status: 'timeout' };
    if (result.status === 'hangup') return { status: 'hangup' };
    throw new Error(`prompt failed: ${result.reason}`);
  }

  private async commit(input: CommitAcceptanceInput): Promise<CommitAcceptanceOutput> {
    const round = this.roundOf(input.attemptId);
    const answer: ReminderAnswer | null = input.script === 'alarm' ? 'done' : answerOfKey(input.key);
    if (!answer) throw new Error(`key ${input.key} is no reminder answer`);
    // Through the queue: after the attempt row and keys the actions posted. Idempotent: a
    // repeated commit of the same attempt changes nothing.
    if (await this.deps.writes.run(() => round.reminders.setAnswer(input.attemptId, answer))) await round.commitAnswer(input.attemptId, input.contactId, answer);
    return { late: false };
  }

  private async playConfirmation(input: PlayConfirmationInput): Promise<void> {
    const { reminders } = this.roundOf(input.attemptId);
    const { prompts, telephony } = this.deps;
    const answer = (await reminders.attempt(input.attemptId))?.answer ?? null;
    const media = input.script === 'alarm' ? await prompts.media('alarm-confirmed') : await prompts.media(answer === 'need_help' ? 'reminder-help' : 'reminder-recorded');
    const played = await telephony.play(input.attemptId, [...media, ...(await prompts.media('goodbye'))], { bargeIn: false });
    if (played.status === 'failed') throw new Error(`confirmation failed: ${played.reason}`);
  }
}
