// Trunk pacing: call starts per second and channels at once are never exceeded, lines are
// granted in order, nothing is granted while Asterisk is away, and a queued call machine starts
// (and starts its timers) only once it has a line.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, setup, assign } from 'xstate';
import { pino } from 'pino';
import { LineWaitAborted, PacedTelephony, TrunkPacer, pacedCall } from '../../src/dispatch/pacing.js';
import { TelephonyError, type CallEvent, type CallEventListener, type OriginateRequest, type TelephonyHealth, type TelephonyPort } from '../../src/telephony/port.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const clock = () => Date.now();

/** Most grants inside any half-open window of `windowMs` (times sorted ascending). */
function maxInWindow(times: number[], windowMs: number): number {
  let best = 0;
  let start = 0;
  for (let end = 0; end < times.length; end += 1) {
    while ((times[end] as number) - (times[start] as number) >= windowMs) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

describe('TrunkPacer', () => {
  it('spaces starts so no second holds more than callsPerSecond, in arrival order', async () => {
    const pacer = new TrunkPacer({ callsPerSecond: 10, maxChannels: 100 }, () => true, clock);
    const t0 = Date.now();
    const granted: Array<{ id: string; at: number }> = [];
    // Each originate is answered at once (`started`), as Asterisk does when it keeps up.
    for (let i = 0; i < 25; i += 1) {
      void pacer.acquire(`c${i}`).then(() => {
        granted.push({ id: `c${i}`, at: Date.now() - t0 });
        pacer.started(`c${i}`);
      });
    }
    await vi.advanceTimersByTimeAsync(5_000);
    expect(granted.map((g) => g.id)).toEqual(Array.from({ length: 25 }, (_, i) => `c${i}`));
    expect(maxInWindow(granted.map((g) => g.at), 1000)).toBe(10);
    // 25 starts 100 ms apart on the timeline: the last one 2.4 s after the first.
    expect(granted.at(-1)?.at).toBe(2400);
  });

  it('holds at most maxChannels lines; a release lets the next call start', async () => {
    const pacer = new TrunkPacer({ callsPerSecond: 1000, maxChannels: 3 }, () => true, clock);
    const granted: string[] = [];
    for (const id of ['a', 'b', 'c', 'd', 'e']) void pacer.acquire(id).then(() => granted.push(id));
    await vi.advanceTimersByTimeAsync(100);
    expect(granted).toEqual(['a', 'b', 'c']);
    expect(pacer.stats()).toMatchObject({ active: 3, waiting: 2 });
    pacer.release('b');
    pacer.release('b'); // idempotent: frees one line, not two
    await vi.advanceTimersByTimeAsync(100);
    expect(granted).toEqual(['a', 'b', 'c', 'd']);
    expect(pacer.stats()).toMatchObject({ active: 3, waiting: 1, peakActive: 3, granted: 4 });
    expect(pacer.holds('d')).toBe(true);
    expect(pacer.holds('b')).toBe(false);
  });

  it('grants nothing while not ready (Asterisk away), then resumes in order', async () => {
    let ready = false;
    const pacer = new TrunkPacer({ callsPerSecond: 100, maxChannels: 10 }, () => ready, clock);
    const granted: string[] = [];
    for (const id of ['x', 'y']) void pacer.acquire(id).then(() => granted.push(id));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(granted).toEqual([]);
    ready = true;
    pacer.pump();
    await vi.advanceTimersByTimeAsync(100);
    expect(granted).toEqual(['x', 'y']);
  });

  it('catches up a late timer on its timeline, but never beyond the window', async () => {
    // A clock the test moves: the pacer sees time pass without its timers having run (a busy
    // or paused event loop), then pumps late.
    let now = 0;
    const pacer = new TrunkPacer({ callsPerSecond: 10, maxChannels: 1000 }, () => true, () => now);
    const at: number[] = [];
    for (let i = 0; i < 40; i += 1) {
      void pacer.acquire(`k${i}`).then(() => {
        at.push(now);
        pacer.started(`k${i}`);
      });
    }
    await Promise.resolve();
    for (let step = 0; step < 400; step += 1) {
      // every 10 ms of test time; one long stall of 300 ms in the middle
      now += step === 100 ? 300 : 10;
      pacer.pump();
      await Promise.resolve();
    }
    pacer.close();
    expect(at.length).toBeGreaterThan(30);
    expect(maxInWindow(at, 1000)).toBeLessThanOrEqual(10);
    // Time lost to the stall beyond the catch-up is not made up with a burst: no two starts closer than 1 ms.
    expect(at.every((t, i) => i === 0 || t > (at[i - 1] as number))).toBe(true);
  });

  it('counts a start as happening until Asterisk has answered its originate: no backlog reaches it at once', async () => {
    const pacer = new TrunkPacer({ callsPerSecond: 5, maxChannels: 100 }, () => true, clock);
    const t0 = Date.now();
    const granted: number[] = [];
    for (let i = 0; i < 12; i += 1) void pacer.acquire(`s${i}`).then(() => granted.push(Date.now() - t0));
    // Asterisk takes none of the first five originates for 3 s: nobody else gets a line meanwhile.
    await vi.advanceTimersByTimeAsync(3_000);
    expect(granted).toEqual([0, 200, 400, 600, 800]);
    for (let i = 0; i < 5; i += 1) pacer.started(`s${i}`); // answered together at 3 s
    await vi.advanceTimersByTimeAsync(500);
    // Their answers count from 3 s: the next start waits a whole window after them.
    expect(granted).toHaveLength(5);
    await vi.advanceTimersByTimeAsync(600);
    expect(granted[5]).toBe(4000);
  });

  it('an aborted wait gives its place up and rejects; the others go on', async () => {
    const pacer = new TrunkPacer({ callsPerSecond: 1000, maxChannels: 1 }, () => true, clock);
    await pacer.acquire('first');
    const abort = new AbortController();
    const second = pacer.acquire('second', abort.signal);
    const third = pacer.acquire('third');
    abort.abort();
    await expect(second).rejects.toBeInstanceOf(LineWaitAborted);
    pacer.release('first');
    await vi.advanceTimersByTimeAsync(10);
    await expect(third).resolves.toBeUndefined();
    expect(pacer.holds('second')).toBe(false);
    expect(pacer.stats()).toMatchObject({ active: 1, waiting: 0 });
  });

  it('drains 10,000 queued calls at the set pace, never over it, none lost or reordered', async () => {
    const pacer = new TrunkPacer({ callsPerSecond: 200, maxChannels: 50 }, () => true, clock);
    const t0 = Date.now();
    const at: number[] = [];
    const order: number[] = [];
    let up = 0;
    let peak = 0;
    for (let i = 0; i < 10_000; i += 1) {
      void pacer.acquire(`o${i}`).then(() => {
        pacer.started(`o${i}`);
        at.push(Date.now() - t0);
        order.push(i);
        up += 1;
        peak = Math.max(peak, up);
        // each call lasts 200 ms: 40 lines busy at 200 calls/s, under the 50-channel cap
        setTimeout(() => {
          up -= 1;
          pacer.release(`o${i}`);
        }, 200);
      });
    }
    await vi.advanceTimersByTimeAsync(60_000);
    expect(order).toHaveLength(10_000);
    expect(order.every((v, i) => v === i)).toBe(true);
    expect(maxInWindow(at, 1000)).toBeLessThanOrEqual(200);
    expect(peak).toBeLessThanOrEqual(50);
    // 10,000 starts at 200/s: the last one at 49.995 s.
    expect(at.at(-1)).toBe(49_995);
  });
});

/** A port double that records originates and lets the test emit channel events. */
class FakePort implements TelephonyPort {
  readonly originated: string[] = [];
  private readonly listeners = new Map<string, Set<CallEventListener>>();
  private healthListeners = new Set<(h: TelephonyHealth) => void>();
  connected = true;
  refuse = false;

  health(): TelephonyHealth {
    return { connected: this.connected, since: new Date() };
  }
  onHealthChange(l: (h: TelephonyHealth) => void) {
    this.healthListeners.add(l);
    return () => this.healthListeners.delete(l);
  }
  setConnected(connected: boolean): void {
    this.connected = connected;
    for (const l of this.healthListeners) l(this.health());
  }
  originate(request: OriginateRequest): Promise<void> {
    if (this.refuse) return Promise.reject(new TelephonyError('asterisk_error', 'refused'));
    this.originated.push(request.channelId);
    return Promise.resolve();
  }
  emit(channelId: string, event: CallEvent): void {
    for (const l of [...(this.listeners.get(channelId) ?? [])]) l(event);
  }
  subscribe(channelId: string, listener: CallEventListener) {
    const set = this.listeners.get(channelId) ?? new Set();
    this.listeners.set(channelId, set);
    set.add(listener);
    return () => set.delete(listener);
  }
  onInboundCall() {
    return () => undefined;
  }
  answer = () => Promise.resolve();
  play = () => Promise.resolve({ status: 'finished' as const });
  collect = () => Promise.resolve({ status: 'timeout' as const, digits: '' });
  prompt = () => Promise.resolve({ status: 'timeout' as const, digits: '' });
  hangup = () => Promise.resolve();
  listChannelIds = () => Promise.resolve([]);
  close = () => Promise.resolve();
}

const silent = pino({ level: 'silent' });
const hangupEvent: CallEvent = { type: 'hangup', cause: { code: 16, text: 'Normal Clearing', kind: 'normal' }, at: new Date() };

describe('PacedTelephony', () => {
  it('holds a line from originate until the hangup event; a refused originate frees it at once', async () => {
    const port = new FakePort();
    const lines = new PacedTelephony(port, { callsPerSecond: 1000, maxChannels: 1 }, silent);
    await lines.originate({ channelId: 'a1', number: '70111', ringTimeoutSeconds: 5 }, () => undefined);
    let secondPlaced = false;
    const second = lines.originate({ channelId: 'a2', number: '70111', ringTimeoutSeconds: 5 }, () => undefined).then(() => (secondPlaced = true));
    await vi.advanceTimersByTimeAsync(100);
    expect(secondPlaced).toBe(false);
    lines.settle('a1'); // the machine ended, but the channel is still up: the line stays taken
    await vi.advanceTimersByTimeAsync(100);
    expect(secondPlaced).toBe(false);
    port.emit('a1', hangupEvent);
    await vi.advanceTimersByTimeAsync(10);
    await second;
    expect(port.originated).toEqual(['a1', 'a2']);
    port.emit('a2', hangupEvent);
    port.refuse = true;
    await expect(lines.originate({ channelId: 'a3', number: '70111', ringTimeoutSeconds: 5 }, () => undefined)).rejects.toThrow('refused');
    expect(lines.pacer.stats().active).toBe(0);
  });

  it('refuses to originate one channel id twice', async () => {
    const port = new FakePort();
    const lines = new PacedTelephony(port, { callsPerSecond: 1000, maxChannels: 5 }, silent);
    await lines.originate({ channelId: 'b1', number: '70111', ringTimeoutSeconds: 5 }, () => undefined);
    await expect(lines.originate({ channelId: 'b1', number: '70111', ringTimeoutSeconds: 5 }, () => undefined)).rejects.toMatchObject({ code: 'duplicate_channel' });
    expect(port.originated).toEqual(['b1']);
  });

  it('waits while Asterisk is not connected and places the calls when it is back', async () => {
    const port = new FakePort();
    port.connected = false;
    const lines = new PacedTelephony(port, { callsPerSecond: 1000, maxChannels: 5 }, silent);
    const placed = lines.originate({ channelId: 'c1', number: '70111', ringTimeoutSeconds: 5 }, () => undefined);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(port.originated).toEqual([]);
    port.setConnected(true);
    await placed;
    expect(port.originated).toEqual(['c1']);
  });
});

describe('pacedCall', () => {
  // A stand-in call machine: records when it started, ends after 1 s or on CANCEL.
  const started: Array<{ id: string; at: number }> = [];
  const inner = setup({
    types: { input: {} as { attemptId: string }, context: {} as { attemptId: string; result: string }, events: {} as { type: 'CANCEL' } },
  }).createMachine({
    context: ({ input }) => {
      started.push({ id: input.attemptId, at: Date.now() });
      return { attemptId: input.attemptId, result: 'pending' };
    },
    initial: 'talking',
    states: {
      talking: { after: { 1000: { target: 'ended', actions: assign({ result: 'finished' }) } }, on: { CANCEL: { target: 'ended', actions: assign({ result: 'cancelled by the call' }) } } },
      ended: { type: 'final' },
    },
    output: ({ context }) => ({ result: context.result }),
  });

  it('starts the call machine only once its line is granted, forwards events, frees unused lines', async () => {
    started.length = 0;
    const port = new FakePort();
    const lines = new PacedTelephony(port, { callsPerSecond: 1000, maxChannels: 1 }, silent);
    const paced = pacedCall(lines, inner, () => ({ result: 'cancelled while waiting' }));
    const first = createActor(paced, { input: { attemptId: 'p1' } }).start();
    const second = createActor(paced, { input: { attemptId: 'p2' } }).start();
    const third = createActor(paced, { input: { attemptId: 'p3' } }).start();
    await vi.advanceTimersByTimeAsync(10);
    expect(started.map((s) => s.id)).toEqual(['p1']);
    third.send({ type: 'CANCEL' });
    expect(third.getSnapshot().output).toEqual({ result: 'cancelled while waiting' });
    // p1 placed no call (the stand-in never originates): its line is freed when it ends, at 1 s.
    await vi.advanceTimersByTimeAsync(1_100);
    expect(first.getSnapshot().output).toEqual({ result: 'finished' });
    expect(started.map((s) => s.id)).toEqual(['p1', 'p2']);
    second.send({ type: 'CANCEL' });
    expect(second.getSnapshot().output).toEqual({ result: 'cancelled by the call' });
    expect(lines.pacer.stats()).toMatchObject({ active: 0, waiting: 0 });
  });

  it('prepares the prompts while the call waits for its line; the call starts once both are done', async () => {
    started.length = 0;
    const port = new FakePort();
    const lines = new PacedTelephony(port, { callsPerSecond: 1000, maxChannels: 1 }, silent);
    const preparing: Array<{ id: string; at: number }> = [];
    const renders = new Map<string, () => void>();
    const preparation = {
      prepare: (input: { attemptId: string }) => {
        preparing.push({ id: input.attemptId, at: Date.now() });
        return new Promise<void>((resolve) => renders.set(input.attemptId, resolve));
      },
      whenFailed: (_input: { attemptId: string }, _at: number, reason: string) => ({ result: `not prepared: ${reason}` }),
    };
    const paced = pacedCall(lines, inner, () => ({ result: 'cancelled while waiting' }), preparation);
    const t0 = Date.now();
    const first = createActor(paced, { input: { attemptId: 'q1' } }).start();
    const second = createActor(paced, { input: { attemptId: 'q2' } }).start();
    await vi.advanceTimersByTimeAsync(10);
    // Both render at once, the second while it still waits for the only line.
    expect(preparing.map((p) => [p.id, p.at - t0])).toEqual([['q1', 0], ['q2', 0]]);
    // q1 has its line but its prompts are not ready: no call yet.
    expect(started).toEqual([]);
    renders.get('q1')?.();
    renders.get('q2')?.();
    await vi.advanceTimersByTimeAsync(10);
    expect(started.map((s) => s.id)).toEqual(['q1']);
    // q2's prompts were ready long before its line: it starts the moment q1 frees the line.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(first.getSnapshot().output).toEqual({ result: 'finished' });
    expect(started.map((s) => s.id)).toEqual(['q1', 'q2']);
    expect((started[1]?.at ?? 0) - (started[0]?.at ?? 0)).toBeLessThanOrEqual(1_010);
    second.send({ type: 'CANCEL' });
  });

  it('a failed preparation ends the call before it is placed, with the reason, and frees the line', async () => {
    started.length = 0;
    const port = new FakePort();
    const lines = new PacedTelephony(port, { callsPerSecond: 1000, maxChannels: 1 }, silent);
    const paced = pacedCall(lines, inner, () => ({ result: 'cancelled while waiting' }), {
      prepare: () => Promise.reject(new Error('espeak-ng is not installed')),
      whenFailed: (_input, _at, reason) => ({ result: `not prepared: ${reason}` }),
    });
    const actor = createActor(paced, { input: { attemptId: 'r1' } }).start();
    await vi.advanceTimersByTimeAsync(10);
    expect(actor.getSnapshot().output).toEqual({ result: 'not prepared: espeak-ng is not installed' });
    expect(started).toEqual([]);
    expect(port.originated).toEqual([]);
    expect(lines.pacer.stats()).toMatchObject({ active: 0, waiting: 0 });
  });

  it('is the machine itself on a port that does not pace', () => {
    expect(pacedCall(new FakePort(), inner, () => ({ result: 'x' }))).toBe(inner);
  });
});
