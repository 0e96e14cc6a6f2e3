// Admission of order machines. Every unit of an order being dispatched here (its lead, each
// co-unit) runs an order machine of ~18 KB heap / ~30 KB RSS (bench/queued-memory.ts), most of a
// burst's machines only waiting for their call's line (pacing.ts): 10,000 orders posted at once
// held 10,000 machines. At most maxLive machines (LIANDONG_MAX_LIVE_ORDERS) run at once; a unit
// beyond waits here as the few fields its start needs, and is admitted when a machine ends:
// the more urgent first (a major incident, then an urgent order, then a normal one), then the
// first come. The admit function (dispatcher.ts) reads the unit's row again: one cancelled or
// accepted while it waited is not phoned. A unit being admitted (that read under way) still
// counts against maxLive, so a burst of ending machines never admits more than there is room for.
import type { Logger } from '../logging.js';
import type { OrderRow } from '../orders/order-repository.js';

/** What a waiting unit carries here; the dispatcher adds what its start needs (co-unit, resume point). */
export interface Admittee {
  /** unitKey(order id, co-unit): one entry per unit, never two. */
  readonly key: string;
  readonly orderId: string;
  /** rankOf(order): 0 is admitted first. */
  readonly rank: number;
  /** Queued past dispatching (a resume still calling leaders or the alarm): only a cancellation stops it. */
  readonly pastDispatching: boolean;
  /** Withdrawn (cancelled, abandoned, stopped) while its row was being read: it must not start. */
  withdrawn: boolean;
  /** Accepted another way (feedback, the API, another node) while it waited: recorded so, never phoned. */
  acceptedVia: 'http' | 'inbound' | undefined;
  /** Its row was read and its step decided: a mark set later changes nothing (it is live, or settled). */
  decided: boolean;
}

/**
 * What becomes of a unit whose turn came, from its row's status read then (undefined: no row):
 * `start` its machine; `skip` it (cancelled or withdrawn: who settled it wrote that); or it was
 * `accepted` another way while it waited (the dispatcher records that, as its machine would have).
 */
export function admissionStep(w: Admittee, status: string | undefined): 'start' | 'skip' | 'accepted' {
  if (status === undefined || w.withdrawn || status === 'cancelled') return 'skip';
  if (w.pastDispatching || (status === 'dispatching' && w.acceptedVia === undefined)) return 'start';
  // Unacknowledged needs a machine that exhausted its chain: not expected of a unit that never ran; never phoned twice.
  return status === 'unacknowledged' ? 'skip' : 'accepted';
}

/** Ranks, admitted in this order: a major incident, an urgent order, a normal one. */
const RANKS = 3;

/** The admission rank of an order: more urgent first, as the escalation policy ranks them (major, then urgent). */
export function rankOf(order: Pick<OrderRow, 'urgency' | 'major'>): number {
  if (order.major === 1) return 0;
  return order.urgency === 'urgent' ? 1 : 2;
}

export interface AdmissionOptions<T extends Admittee> {
  /** Most machines live at once. */
  readonly maxLive: number;
  /** Machines live now (the units being admitted are counted here apart). */
  readonly live: () => number;
  /** Reads the unit again and starts its machine, or does not (it was settled while it waited). */
  readonly admit: (entry: T) => Promise<void>;
  /** An admission ended, whatever it did (the unit is no longer held here). */
  readonly ended: (entry: T) => void;
  readonly log: Logger;
}

export class Admission<T extends Admittee> {
  /** Waiting units by rank; a Map keeps insertion order (first come first) and removes in O(1). */
  private readonly queues: Array<Map<string, T>> = Array.from({ length: RANKS }, () => new Map<string, T>());
  /** Units taken from the queue whose row is being read: the promise of their admission. */
  private readonly admitting = new Map<string, { entry: T; done: Promise<void> }>();
  /** Units held here per order (waiting or being admitted), so holdsOrder needs no scan. */
  private readonly perOrder = new Map<string, number>();
  private waiting = 0;
  /** Since when units wait (undefined: none), and how many waited at most, for the one log line when it clears. */
  private waitingSince: number | undefined;
  private peak = 0;
  private waited = 0;

  constructor(private readonly options: AdmissionOptions<T>) {
    if (!(Number.isInteger(options.maxLive) && options.maxLive > 0)) throw new RangeError('admission needs a whole maxLive > 0');
  }

  /** Units waiting in the queue (not counting those being admitted). */
  get size(): number {
    return this.waiting;
  }

  /** Units held here: waiting, or being admitted. */
  get held(): number {
    return this.waiting + this.admitting.size;
  }

  /** A unit may start at once: a machine is free and nobody waits before it. */
  hasRoom(): boolean {
    return this.waiting === 0 && this.options.live() + this.admitting.size < this.options.maxLive;
  }

  /** The unit's entry while it waits or is being admitted. */
  get(key: string): T | undefined {
    for (const q of this.queues) {
      const e = q.get(key);
      if (e) return e;
    }
    return this.admitting.get(key)?.entry;
  }

  holds(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** True while any unit of the order is held here. */
  holdsOrder(orderId: string): boolean {
    return this.perOrder.has(orderId);
  }

  /** Every unit held here: waiting (in admission order), then being admitted. */
  entries(): T[] {
    return [...this.queues.flatMap((q) => [...q.values()]), ...[...this.admitting.values()].map((a) => a.entry)];
  }

  /** Queues a unit (no-op for one held already); it starts when a machine ends and its turn comes. */
  wait(entry: T): void {
    if (this.holds(entry.key)) return;
    const rank = Math.min(RANKS - 1, Math.max(0, Math.floor(entry.rank)));
    this.queues[rank]?.set(entry.key, entry);
    this.waiting += 1;
    this.perOrder.set(entry.orderId, (this.perOrder.get(entry.orderId) ?? 0) + 1);
    this.waited += 1;
    this.peak = Math.max(this.peak, this.waiting);
    if (this.waitingSince === undefined) {
      this.waitingSince = Date.now();
      this.options.log.info({ maxLive: this.options.maxLive, live: this.options.live() }, 'order machines at their limit (LIANDONG_MAX_LIVE_ORDERS): new orders wait for admission');
    }
    this.pump();
  }

  /** Admits waiting units while machines are free; call when a machine ended. */
  pump(): void {
    while (this.waiting > 0 && this.options.live() + this.admitting.size < this.options.maxLive) {
      const entry = this.take();
      // Its promise never rejects: a failed admission is logged with its order.
      if (entry) void this.admit(entry);
    }
    this.clearedCheck();
  }

  /**
   * Admits the unit now, whatever the room (it was accepted elsewhere: its admission records that
   * and starts no dispatch). Resolves when its admission ended; at once if it is not held here.
   */
  admitNow(key: string): Promise<void> {
    const being = this.admitting.get(key);
    if (being) return being.done;
    for (const q of this.queues) {
      const entry = q.get(key);
      if (!entry) continue;
      q.delete(key);
      this.waiting -= 1;
      const done = this.admit(entry);
      this.clearedCheck();
      return done;
    }
    return Promise.resolve();
  }

  /**
   * Withdraws the units `which` picks: waiting ones leave the queue (returned), those being
   * admitted are marked withdrawn so that they do not start.
   */
  withdraw(which: (entry: T) => boolean): T[] {
    const removed: T[] = [];
    for (const q of this.queues) {
      for (const [key, entry] of q) {
        if (!which(entry)) continue;
        q.delete(key);
        this.waiting -= 1;
        this.forget(entry);
        removed.push(entry);
      }
    }
    for (const { entry } of this.admitting.values()) if (which(entry)) entry.withdrawn = true;
    this.clearedCheck();
    return removed;
  }

  /** Withdraws every unit (the service stops; the restart resumes them from the store). Returns how many waited. */
  clear(): number {
    return this.withdraw(() => true).length;
  }

  /** The first unit of the most urgent rank, taken from the queue (still counted in perOrder until admitted). */
  private take(): T | undefined {
    for (const q of this.queues) {
      const first = q.values().next();
      if (first.done === true) continue;
      q.delete(first.value.key);
      this.waiting -= 1;
      return first.value;
    }
    return undefined;
  }

  private admit(entry: T): Promise<void> {
    const slot = { entry, done: Promise.resolve() };
    // Held (as being admitted) before the admit function runs a single line.
    this.admitting.set(entry.key, slot);
    slot.done = this.options.admit(entry).then(
      () => undefined,
      (err: unknown) => this.options.log.error({ err, orderId: entry.orderId, key: entry.key }, 'a waiting order could not be admitted; it stays dispatching in the store and a restart resumes it'),
    ).finally(() => {
      this.admitting.delete(entry.key);
      this.forget(entry);
      this.options.ended(entry);
      this.pump();
    });
    return slot.done;
  }

  private forget(entry: T): void {
    const n = (this.perOrder.get(entry.orderId) ?? 1) - 1;
    if (n > 0) this.perOrder.set(entry.orderId, n);
    else this.perOrder.delete(entry.orderId);
  }

  /** One log line when the queue empties after units waited (not one per unit). */
  private clearedCheck(): void {
    if (this.waitingSince === undefined || this.waiting > 0) return;
    this.options.log.info({ waited: this.waited, peakWaiting: this.peak, seconds: Math.round((Date.now() - this.waitingSince) / 100) / 10 }, 'no order waits for admission any more');
    this.waitingSince = undefined;
    this.peak = 0;
    this.waited = 0;
  }
}
