// The live state of every unit of an order being dispatched on this node: what the effects of
// the order and call machines (built once: order-effects.ts, call-effects.ts) need for that unit
// — its repository, logger, what its calls say and the prompts rendered for them — and its
// machine. Found by order id and co-unit (the machines carry both in their inputs). Added when
// the unit's machine starts; removed when it ends, crashes, is stopped or abandoned, together
// with the traces of its calls still open, so nothing of an order outlives its machine.
import type { ActorRefFrom } from 'xstate';
import type { orderMachine } from '../../machines/order.machine.js';
import type { CallTraces } from '../telephony/call-trace.js';
import type { UnitCalls } from './call-effects.js';

export type OrderActor = ActorRefFrom<typeof orderMachine>;

export interface LiveUnit extends UnitCalls {
  /** unitKey(order id, co-unit). */
  readonly key: string;
  /** The unit's department: the order's (lead) or the co-unit's. */
  readonly departmentId: string;
  /** Attempts started and not ended yet: their traces go with the unit. */
  readonly attempts: Set<string>;
  /** Set right after the unit is added, before its machine starts. */
  actor: OrderActor | undefined;
}

/** The live unit of an order: the lead's under the order id, a co-unit's under id/department. */
export const unitKey = (orderId: string, coUnit?: string): string => (coUnit === undefined ? orderId : `${orderId}/${coUnit}`);
export const orderOfKey = (key: string): string => key.split('/')[0] as string;

export class LiveUnits {
  private readonly units = new Map<string, LiveUnit>();

  constructor(private readonly traces: CallTraces) {}

  add(unit: LiveUnit): void {
    this.units.set(unit.key, unit);
  }

  get(key: string): LiveUnit | undefined {
    return this.units.get(key);
  }

  has(key: string): boolean {
    return this.units.has(key);
  }

  /** The unit an effect is for; no effect of a unit can run after its machine ended, so a miss is a bug. */
  of(orderId: string, coUnit: string | undefined): LiveUnit {
    const unit = this.units.get(unitKey(orderId, coUnit));
    if (!unit) throw new Error(`no live dispatch of ${unitKey(orderId, coUnit)}: its machine has ended`);
    return unit;
  }

  /** True while any unit of the order runs here. */
  holdsOrder(orderId: string): boolean {
    for (const key of this.units.keys()) if (orderOfKey(key) === orderId) return true;
    return false;
  }

  /** Forgets the unit and its open calls' traces. Idempotent. */
  remove(key: string): void {
    const unit = this.units.get(key);
    if (!unit) return;
    this.units.delete(key);
    for (const attemptId of unit.attempts) this.traces.drop(attemptId);
  }

  keys(): string[] {
    return [...this.units.keys()];
  }

  values(): LiveUnit[] {
    return [...this.units.values()];
  }

  get size(): number {
    return this.units.size;
  }
}
