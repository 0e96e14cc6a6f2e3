// The admission queue of order machines (src/dispatch/admission.ts) on its own: at most maxLive
// machines, the more urgent first and then first come, a unit settled while it waited never
// started and its place given to the next at once, one entry per unit, withdrawal, and one log
// line when units start to wait and one when none waits any more.
import { describe, expect, it } from 'vitest';
import { capturedLogger } from './captured-log.js';
import { Admission, admissionStep, rankOf, type Admittee } from '../../src/dispatch/admission.js';
import { createLogger, type Logger } from '../../src/logging.js';

interface Unit extends Admittee {
  readonly label: string;
}

const unit = (label: string, rank: number, orderId = label, extra: Partial<Unit> = {}): Unit => ({
  key: label, orderId, rank, label, pastDispatching: false, withdrawn: false, acceptedVia: undefined, decided: false, ...extra,
});

/** A promise and its resolve, to hold an admission (its row being read) until the test lets it go. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A queue over a counted set of live machines: admitting a unit starts its "machine" (live + 1)
 * unless `settled` names it; `end(label)` ends a machine and pumps, as the dispatcher does.
 */
function harness(maxLive: number, options: { settled?: Set<string>; hold?: Map<string, Promise<void>>; logger?: Logger } = {}) {
  const live = new Set<string>();
  const started: string[] = [];
  const ended: string[] = [];
  const admission = new Admission<Unit>({
    maxLive,
    live: () => live.size,
    admit: async (u) => {
      await (options.hold?.get(u.label) ?? Promise.resolve());
      u.decided = true;
      if (u.withdrawn || options.settled?.has(u.label)) return;
      live.add(u.label);
      started.push(u.label);
    },
    ended: (u) => ended.push(u.label),
    log: options.logger ?? createLogger('silent'),
  });
  const end = (label: string) => {
    live.delete(label);
    admission.pump();
  };
  /** Starts a unit as the dispatcher does: now if there is room, else it waits. */
  const start = (u: Unit) => {
    if (live.has(u.key) || admission.holds(u.key)) return;
    if (admission.hasRoom()) {
      live.add(u.label);
      started.push(u.label);
    } else admission.wait(u);
  };
  /** Lets every admission under way finish (each is a few promise turns). */
  const settle = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  return { admission, live, started, ended, end, start, settle };
}


describe('rankOf', () => {
  it('ranks a major incident first, then an urgent order, then a normal one', () => {
    expect(rankOf({ major: 1, urgency: 'normal' })).toBe(0);
    expect(rankOf({ major: 1, urgency: 'urgent' })).toBe(0);
    expect(rankOf({ major: 0, urgency: 'urgent' })).toBe(1);
    expect(rankOf({ major: 0, urgency: 'normal' })).toBe(2);
  });
});

describe('admissionStep: what a unit whose turn came does, from its row read then', () => {
  it('starts a unit still dispatching; skips one cancelled, withdrawn or gone; records one accepted while it waited', () => {
    expect(admissionStep(unit('a', 2), 'dispatching')).toBe('start');
    expect(admissionStep(unit('a', 2), 'cancelled')).toBe('skip');
    expect(admissionStep(unit('a', 2), undefined)).toBe('skip');
    expect(admissionStep(unit('a', 2, 'a', { withdrawn: true }), 'dispatching')).toBe('skip');
    expect(admissionStep(unit('a', 2), 'accepted')).toBe('accepted');
    expect(admissionStep(unit('a', 2), 'arrived')).toBe('accepted');
    // Marked accepted before its committed acceptance could be read: accepted all the same.
    expect(admissionStep(unit('a', 2, 'a', { acceptedVia: 'http' }), 'dispatching')).toBe('accepted');
    // A unit that never ran cannot have exhausted its chain: never phoned on that.
    expect(admissionStep(unit('a', 2), 'unacknowledged')).toBe('skip');
  });

  it('a unit queued past dispatching (a resume still calling leaders or the alarm) is stopped only by a cancellation', () => {
    const past = unit('a', 0, 'a', { pastDispatching: true });
    expect(admissionStep(past, 'accepted')).toBe('start');
    expect(admissionStep(past, 'unacknowledged')).toBe('start');
    expect(admissionStep(past, 'cancelled')).toBe('skip');
  });
});

describe('Admission', () => {
  it('never runs more than maxLive machines; the rest wait and are admitted as machines end', async () => {
    const h = harness(2);
    for (const label of ['a', 'b', 'c', 'd']) h.start(unit(label, 2));
    expect(h.started).toEqual(['a', 'b']);
    expect(h.admission.size).toBe(2);
    expect(h.admission.hasRoom()).toBe(false);

    h.end('a');
    // Being admitted (its row read) counts against the limit: a second end before it finishes admits only one more.
    expect(h.admission.held).toBe(2);
    expect(h.admission.size).toBe(1);
    await h.settle();
    expect(h.started).toEqual(['a', 'b', 'c']);
    expect(h.live.size).toBe(2);
    h.end('b');
    h.end('c');
    await h.settle();
    expect(h.started).toEqual(['a', 'b', 'c', 'd']);
    expect(h.admission.held).toBe(0);
    expect(h.ended).toEqual(['c', 'd']);
  });

  it('counts a unit being admitted against the limit: many machines ending at once admit no more than there is room for', async () => {
    const gate = deferred();
    const h = harness(3, { hold: new Map(['w1', 'w2', 'w3', 'w4', 'w5'].map((l) => [l, gate.promise])) });
    for (const label of ['l1', 'l2', 'l3', 'w1', 'w2', 'w3', 'w4', 'w5']) h.start(unit(label, 2));
    h.end('l1');
    h.end('l2');
    // Two machines ended, two units being admitted; a pump while they read admits nobody else.
    h.admission.pump();
    expect(h.admission.held).toBe(5);
    expect(h.admission.size).toBe(3);
    gate.resolve();
    await h.settle();
    expect(h.live.size).toBe(3);
    expect(h.started).toEqual(['l1', 'l2', 'l3', 'w1', 'w2']);
  });

  it('admits the more urgent first (major, urgent, normal), and in arrival order within a rank', async () => {
    const h = harness(1);
    h.start(unit('running', 2));
    const arrivals: Array<[string, number]> = [['n1', 2], ['u1', 1], ['n2', 2], ['m1', 0], ['u2', 1], ['m2', 0], ['n3', 2]];
    for (const [label, rank] of arrivals) h.start(unit(label, rank));
    const order: string[] = [];
    let current = 'running';
    while (h.admission.held > 0) {
      h.end(current);
      await h.settle();
      current = h.started.at(-1) as string;
      order.push(current);
    }
    expect(order).toEqual(['m1', 'm2', 'u1', 'u2', 'n1', 'n2', 'n3']);
  });

  it('a unit settled while it waited is not started, and its place goes to the next one at once', async () => {
    const h = harness(1, { settled: new Set(['cancelled-1', 'cancelled-2']) });
    for (const label of ['running', 'cancelled-1', 'cancelled-2', 'next']) h.start(unit(label, 2));
    h.end('running');
    await h.settle();
    expect(h.started).toEqual(['running', 'next']);
    expect(h.ended).toEqual(['cancelled-1', 'cancelled-2', 'next']);
    expect(h.admission.held).toBe(0);
  });

  it('holds one entry per unit: a unit waiting or being admitted is not queued again', async () => {
    const gate = deferred();
    const h = harness(1, { hold: new Map([['b', gate.promise]]) });
    h.start(unit('a', 2));
    h.start(unit('b', 2));
    h.start(unit('b', 2));
    h.admission.wait(unit('b', 0));
    expect(h.admission.size).toBe(1);
    h.end('a');
    expect(h.admission.holds('b')).toBe(true);
    h.start(unit('b', 2));
    h.admission.wait(unit('b', 2));
    expect(h.admission.held).toBe(1);
    gate.resolve();
    await h.settle();
    expect(h.started).toEqual(['a', 'b']);
  });

  it('knows which orders it holds, by any of their units', () => {
    const h = harness(1);
    h.start(unit('o1', 2));
    h.start(unit('o2', 2, 'o2'));
    h.start(unit('o2/civil', 2, 'o2'));
    expect(h.admission.holdsOrder('o2')).toBe(true);
    expect(h.admission.holdsOrder('o1')).toBe(false);
    h.admission.withdraw((u) => u.key === 'o2');
    expect(h.admission.holdsOrder('o2')).toBe(true);
    h.admission.withdraw((u) => u.orderId === 'o2');
    expect(h.admission.holdsOrder('o2')).toBe(false);
  });

  it('withdraws waiting units (returned) and marks one being admitted so that it does not start; clear withdraws all', async () => {
    const gate = deferred();
    const h = harness(1, { hold: new Map([['b', gate.promise]]) });
    for (const label of ['a', 'b', 'c', 'd']) h.start(unit(label, 2));
    h.end('a'); // b is being admitted
    expect(h.admission.withdraw((u) => u.label === 'b' || u.label === 'c').map((u) => u.label)).toEqual(['c']);
    gate.resolve();
    await h.settle();
    expect(h.started).toEqual(['a', 'd']);
    h.start(unit('e', 2));
    h.start(unit('f', 2));
    expect(h.admission.clear()).toBe(2);
    h.end('d');
    await h.settle();
    expect(h.started).toEqual(['a', 'd']);
    expect(h.admission.held).toBe(0);
  });

  it('admits a unit now, whatever the room, when asked (it was accepted while it waited); resolves when that admission ended', async () => {
    const h = harness(1, { settled: new Set(['accepted']) });
    for (const label of ['a', 'b', 'accepted']) h.start(unit(label, 2));
    await h.admission.admitNow('accepted');
    expect(h.ended).toEqual(['accepted']);
    expect(h.started).toEqual(['a']);
    expect(h.admission.size).toBe(1);
    await h.admission.admitNow('not-held');
    expect(h.admission.size).toBe(1);
  });

  it('logs one line when units start to wait and one when none waits any more, not one per unit', async () => {
    const log = capturedLogger('info');
    const h = harness(1, { logger: log.logger });
    for (let i = 0; i < 50; i++) h.start(unit(`u${i}`, 2));
    expect(log.messages()).toEqual(['order machines at their limit (LIANDONG_MAX_LIVE_ORDERS): new orders wait for admission']);
    for (let i = 0; i < 49; i++) {
      h.end(`u${i}`);
      await h.settle();
    }
    expect(h.started).toHaveLength(50);
    expect(log.messages()).toEqual(['order machines at their limit (LIANDONG_MAX_LIVE_ORDERS): new orders wait for admission', 'no order waits for admission any more']);
  });

  it('refuses a limit that is not a whole number above 0', () => {
    const options = { live: () => 0, admit: () => Promise.resolve(), ended: () => undefined, log: createLogger('silent') };
    expect(() => new Admission({ ...options, maxLive: 0 })).toThrow(RangeError);
    expect(() => new Admission({ ...options, maxLive: 2.5 })).toThrow(RangeError);
  });
});
