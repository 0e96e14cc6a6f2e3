// Real effects of the order machine, given once (per dispatcher) to the pure machine: every action
// finds the live unit it is for (repository, logger, department) from the machine's context —
// its order id and co-unit — through LiveUnits. Actions cannot await: their writes are posted to
// the queue, which keeps their order (an attempt's row before its end, a status before the hook
// that reads it). Each attempt's end is logged as one summary line at info (who, result, cause,
// timings); the per-step lines of a call are at debug.
import type { callAttemptMachine } from '../../machines/call-attempt.machine.js';
import type { OrderContext } from '../../machines/order.context.js';
import { orderMachine } from '../../machines/order.machine.js';
import type { WriteQueue } from '../db/write-queue.js';
import type { CallTraces } from '../telephony/call-trace.js';
import type { LiveUnit, LiveUnits } from './live-units.js';
import type { Webhook } from './webhook.js';

export interface OrderEffectDeps {
  readonly writes: WriteQueue;
  readonly webhook: Webhook;
  readonly units: LiveUnits;
  readonly traces: CallTraces;
  /** The call-attempt machine of every call (call-effects.ts), built once. */
  readonly callAttempt: typeof callAttemptMachine;
  /** An order reached `accepted`; run after its status is written. */
  readonly onAccepted: (orderId: string) => void | Promise<void>;
}

export function provideOrderMachine(deps: OrderEffectDeps) {
  const { writes, units, traces } = deps;
  const unitOf = (c: OrderContext): LiveUnit => units.of(c.orderId, c.coUnit ?? undefined);

  return orderMachine.provide({
    actors: { callAttempt: deps.callAttempt },
    actions: {
      recordAttemptStarted: ({ context }, p) => {
        const unit = unitOf(context);
        unit.attempts.add(p.attemptId);
        const log = unit.log.child({ attemptId: p.attemptId, channelId: p.attemptId });
        traces.begin(p.attemptId, log);
        writes.post('attempt started', () => unit.repo.startAttempt({ orderId: p.orderId, attemptId: p.attemptId, seq: p.seq, script: p.script, contactId: p.contactId, number: p.number, attemptOnContact: p.attemptOnContact, cursor: p.cursor, departmentId: unit.departmentId }));
        log.debug({ script: p.script, contactId: p.contactId, seq: p.seq }, 'attempt started');
      },
      recordAttemptResult: ({ context }, p) => {
        const unit = unitOf(context);
        const o = p.output;
        writes.post('attempt ended', () => unit.repo.endAttempt(p.attemptId, { result: o.result, reason: o.reason, digits: o.digits, answeredAt: o.answeredAt, endedAt: o.endedAt, cause: o.cause }));
        const log = traces.log(p.attemptId);
        const timings = traces.end(p.attemptId, o.endedAt);
        unit.attempts.delete(p.attemptId);
        // The attempt's one line at info: who was called (never the number), how it ended, how long each step took.
        log.info({ script: p.script, contactId: p.contactId, result: o.result, reason: o.reason, cause: o.cause, digits: o.digits, ...timings }, 'attempt ended');
      },
      recordStatus: ({ context }, p) => {
        const unit = unitOf(context);
        if (unit.coUnit !== undefined) {
          const coUnit = unit.coUnit;
          writes.post('unit status', () => unit.repo.advanceUnitStatus(p.orderId, coUnit, p.status));
          return;
        }
        writes.post('order status', () => unit.repo.advanceStatus(p.orderId, p.status));
        // Alone: the hook arms the reminder scheduler, which must not join a group's transaction.
        if (p.status === 'accepted') writes.post('order accepted hook', async () => deps.onAccepted(p.orderId), { alone: true });
      },
      // A co-unit's events name it; the lead's read as before.
      recordEvent: ({ context }, p) => {
        const unit = unitOf(context);
        writes.post(`${p.kind} event`, () => unit.repo.appendEvent(p.orderId, 'liandong', p.kind, unit.coUnit !== undefined ? { ...p.detail, departmentId: unit.departmentId } : p.detail));
      },
      // The webhook event is stored (outbox) in its turn, after the status it announces; alone,
      // because notify catches a failed store (on PostgreSQL a group's transaction would stay
      // aborted for the event that reports it) and wakes the delivery worker.
      notifyWebhook: ({ context }, p) => {
        const unit = unitOf(context);
        writes.post('webhook', async () => {
          const outcome = await deps.webhook.notify({ orderId: p.orderId, code: unit.order.code, departmentId: unit.departmentId, status: p.status, attempts: p.attempts });
          await unit.repo.appendEvent(p.orderId, 'liandong', outcome.ok ? 'webhook_queued' : 'webhook_failed', outcome.ok ? { eventId: outcome.eventId, deliveries: outcome.deliveries } : { reason: outcome.reason });
        }, { alone: true });
      },
    },
  });
}
