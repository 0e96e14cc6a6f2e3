// The feedback line's caller check and commits, as the feedback machine's effects (inbound-line.ts
// provides them): which order a code names, whether the caller may give feedback on it (a contact
// of one of its units, or that unit's PIN; caller-check.ts), and the feedback itself. Everything
// the check depends on is in the database, so it holds whichever node takes the call: a wrong PIN
// is committed before the caller may key the next one, and the lock counts every node's.
import type {
  CommitFeedbackInput,
  FindOrderInput,
  FindOrderOutput,
  RecordRefusalParams,
  VerifyPinInput,
} from '../../machines/feedback-ivr.machine.js';
import type { Store } from '../db/store.js';
import type { WriteQueue } from '../db/write-queue.js';
import type { DepartmentStore } from '../departments/store.js';
import type { Logger } from '../logging.js';
import type { OrderRepository } from '../orders/order-repository.js';
import type { OrderService } from '../orders/order-service.js';
import { isContactOf, PIN_LOCK_WINDOW_MS, PIN_LOCK_WRONG, wrongPinsSince } from './caller-check.js';
import type { UnitPins } from './unit-pins.js';

/** Order codes are six digits (OrderRepository.freeCode). */
export const ORDER_CODE_DIGITS = 6;

export interface CallerEffectsDeps {
  readonly orders: OrderService;
  readonly repo: OrderRepository;
  /** The units' contacts, to recognise a caller. */
  readonly departments: DepartmentStore;
  readonly pins: UnitPins;
  /** For counting a unit's recent wrong PIN entries (case events, written by any node). */
  readonly store: Store;
  /** Case events and the feedback, in order with the call's other writes. */
  readonly writes: WriteQueue;
}

export interface CallerEffects {
  readonly findOrder: (input: FindOrderInput) => Promise<FindOrderOutput>;
  readonly verifyPin: (input: VerifyPinInput) => Promise<{ ok: boolean }>;
  /** Resolves once the feedback is committed. */
  readonly commitFeedback: (input: CommitFeedbackInput) => Promise<void>;
  /** For the machine's action, which cannot wait: the refusal event is posted to the write queue. */
  readonly postRefusal: (p: RecordRefusalParams) => void;
  /** The call ended: the unit it was checked for is forgotten. */
  readonly forget: (channelId: string) => void;
}

/**
 * The effects of every call, built once (`logOf`: a call's logger, by channel id); they remember
 * which unit each live call's caller was checked for until the call is forgotten.
 */
export function callerEffects(deps: CallerEffectsDeps, logOf: (channelId: string) => Logger): CallerEffects {
  const { orders, repo, departments, pins, store, writes } = deps;
  const actorOf = (callerNumber: string) => `phone:${callerNumber || 'unknown'}`;
  /** The unit the caller was verified for (contact number or PIN), by channel id. */
  const unitOfCall = new Map<string, string>();

  /**
   * A refusal is a case event (actor: the caller, kept in full; the case record masks it). Awaited
   * through the write queue: a wrong PIN must be in the database before the caller can key the
   * next one, or the lock (counted there) could miss it.
   */
  async function recordRefusal(p: RecordRefusalParams & { wrongPin?: { units: string[] } }): Promise<void> {
    await writes.run(async () => {
      await repo.appendEvent(p.orderId, actorOf(p.callerNumber), 'feedback_refused', { reason: p.reason, ...(p.wrongPin ? { wrongPin: 1, units: p.wrongPin.units } : {}) });
    });
    logOf(p.channelId).warn({ orderId: p.orderId, reason: p.reason }, 'feedback caller refused');
  }

  /** The machine's action cannot wait: the same event, posted (a failure is reported by the queue). */
  function postRefusal(p: RecordRefusalParams): void {
    writes.post('feedback_refused', async () => {
      await repo.appendEvent(p.orderId, actorOf(p.callerNumber), 'feedback_refused', { reason: p.reason });
    });
    logOf(p.channelId).warn({ orderId: p.orderId, reason: p.reason }, 'feedback caller refused');
  }

  async function findOrder(input: FindOrderInput): Promise<FindOrderOutput> {
    const log = logOf(input.channelId);
    const code = input.digits;
    const row = new RegExp(`^[0-9]{${ORDER_CODE_DIGITS}}$`).test(code) ? await repo.getOrderByCode(code) : undefined;
    // A cancelled order takes no feedback (OrderService refuses it): it is unknown to the caller.
    if (!row || row.status === 'cancelled') {
      log.debug({ code, status: row?.status ?? null }, 'unknown order code');
      return { found: false };
    }
    log.debug({ code, orderId: row.id, status: row.status }, 'order found');
    // Several units on one order: the caller's number (or, below, the PIN keyed) names the unit
    // whose feedback it is; the lead is tried first.
    const units = await orders.departmentsOf(row.id);
    const catalog = departments.current();
    const unit = units.find((u) => isContactOf(input.callerNumber, catalog.departmentsById.get(u)?.contacts.map((c) => c.number) ?? []));
    if (unit !== undefined) {
      unitOfCall.set(input.channelId, unit);
      log.debug({ orderId: row.id, unit }, 'caller is a contact of the unit');
      return { found: true, orderId: row.id, code: row.code, caller: 'contact' };
    }
    const refuse = async (refusal: string): Promise<FindOrderOutput> => {
      await recordRefusal({ channelId: input.channelId, orderId: row.id, callerNumber: input.callerNumber, reason: refusal });
      return { found: true, orderId: row.id, code: row.code, caller: 'refused', refusal };
    };
    const withPin = await unitsWithPin(units);
    if (withPin.length === 0) return refuse('caller is not a contact of the unit and the unit has no PIN');
    const since = new Date(Date.now() - PIN_LOCK_WINDOW_MS).toISOString();
    for (const u of withPin) {
      if ((await wrongPinsSince(store.db, u, since)) >= PIN_LOCK_WRONG) return refuse(`PIN locked: ${PIN_LOCK_WRONG} wrong entries for a unit's PIN within an hour`);
    }
    return { found: true, orderId: row.id, code: row.code, caller: 'pin' };
  }

  async function unitsWithPin(units: readonly string[]): Promise<string[]> {
    const has = await Promise.all(units.map((u) => pins.has(u)));
    return units.filter((_, i) => has[i]);
  }

  async function verifyPin(input: VerifyPinInput): Promise<{ ok: boolean }> {
    const withPin = await unitsWithPin(await orders.departmentsOf(input.orderId));
    let unit: string | undefined;
    for (const u of withPin) {
      if (await pins.verify(u, input.digits)) {
        unit = u;
        break;
      }
    }
    if (unit !== undefined) {
      unitOfCall.set(input.channelId, unit);
      await writes.run(async () => {
        await repo.appendEvent(input.orderId, actorOf(input.callerNumber), 'feedback_caller_verified', { by: 'pin' });
      });
      logOf(input.channelId).debug({ orderId: input.orderId, unit }, 'PIN accepted');
      return { ok: true };
    }
    await recordRefusal({ channelId: input.channelId, orderId: input.orderId, callerNumber: input.callerNumber, reason: `wrong PIN (entry ${input.wrongSoFar + 1})`, wrongPin: { units: withPin } });
    return { ok: false };
  }

  async function commitFeedback(input: CommitFeedbackInput): Promise<void> {
    // Through the write queue: after this call's posted events, and awaited, so the feedback is
    // durable before the caller hears "recorded".
    const row = await writes.run(async () => await orders.feedback(input.orderId, input.kind, null, 'phone', actorOf(input.callerNumber), unitOfCall.get(input.channelId)));
    logOf(input.channelId).debug({ orderId: input.orderId, kind: input.kind, feedbackId: row.id }, 'feedback committed');
  }

  return { findOrder, verifyPin, commitFeedback, postRefusal, forget: (channelId) => void unitOfCall.delete(channelId) };
}
