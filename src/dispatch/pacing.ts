// Outbound trunk pacing. A carrier sells a trunk with so many channels and so many call starts
// per second (CAPS); going over either gets calls refused as congestion, which would look like
// an unreachable duty room. Every call liandong places (dispatch, alarm, leader, survey) takes
// a line here first:
// - TrunkPacer grants lines in FIFO order, at most maxChannels held at once, none while Asterisk
//   is not connected (an originate then would only fail and burn an attempt of the escalation
//   policy), and at most callsPerSecond starts in any 1-s window, spaced evenly on a timeline
//   (a timer that fires late is caught up, within the window). A start counts from its grant
//   until Asterisk answered its originate, then from that answer: a slow Asterisk can never
//   receive a backlog of originates at once;
// - PacedTelephony is the TelephonyPort the call machines use: its originate holds the line
//   from the grant until the channel's hangup event (or the originate's failure);
// - pacedCall wraps a call machine so that it waits for its line *before* it starts: its ring
//   and call timers must not run while the call is still queued.
import { assign, fromCallback, fromPromise, sendTo, setup, type AnyStateMachine, type EventObject, type InputFrom, type OutputFrom } from 'xstate';
import type { Logger } from '../logging.js';
import {
  TelephonyError,
  type CallEvent,
  type CallEventListener,
  type CollectOptions,
  type CollectResult,
  type InboundCall,
  type MediaUri,
  type OriginateRequest,
  type PlayResult,
  type TelephonyHealth,
  type TelephonyPort,
  type Unsubscribe,
} from '../telephony/port.js';

export interface PacingLimits {
  /** Call starts per second, spaced evenly. */
  readonly callsPerSecond: number;
  /** Channels (calls) up at once on the trunk. */
  readonly maxChannels: number;
}

export interface PacerStats {
  /** Lines held now (calls placed or about to be). */
  readonly active: number;
  /** Calls waiting for a line. */
  readonly waiting: number;
  /** Lines granted since start. */
  readonly granted: number;
  /** Most lines held at once since start. */
  readonly peakActive: number;
}

interface Waiter {
  readonly id: string;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  readonly promise: Promise<void>;
}

/** Rejection of a wait for a line that was given up (the call was cancelled or stopped). */
export class LineWaitAborted extends Error {
  constructor(id: string) {
    super(`call ${id} stopped waiting for a free line`);
    this.name = 'LineWaitAborted';
  }
}

/** Milliseconds of lateness (a busy event loop) the timeline catches up; a longer stall or idle time starts it afresh. */
const CATCH_UP_MS = 100;
/** The rate window, ms. */
const WINDOW_MS = 1000;

interface Start {
  readonly id: string;
  /** When the start counts from: Infinity while under way (granted, Asterisk has not answered the originate), then the answer's time. */
  at: number;
}

export class TrunkPacer {
  private readonly held = new Set<string>();
  private readonly queue: Waiter[] = [];
  private readonly waiting = new Map<string, Waiter>();
  /** Milliseconds between two starts on the timeline. */
  private readonly spacingMs: number;
  /** When the next start is due on the timeline (monotonic ms). */
  private nextAt = Number.NEGATIVE_INFINITY;
  /** Starts that still count against the rate window. */
  private starts: Start[] = [];
  private timer: NodeJS.Timeout | undefined;
  private granted = 0;
  private peakActive = 0;

  constructor(
    readonly limits: PacingLimits,
    /** False while no call can be placed (Asterisk not connected): nobody gets a line then. */
    private readonly ready: () => boolean = () => true,
    /** Monotonic clock, ms. */
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(Number.isInteger(limits.callsPerSecond) && limits.callsPerSecond > 0 && Number.isInteger(limits.maxChannels) && limits.maxChannels > 0)) {
      throw new RangeError('pacing needs a whole callsPerSecond > 0 and a whole maxChannels > 0');
    }
    this.spacingMs = WINDOW_MS / limits.callsPerSecond;
  }

  /** True while `id` holds a line. */
  holds(id: string): boolean {
    return this.held.has(id);
  }

  /**
   * Resolves once `id` holds a line (at once if it already does). Aborting `signal` while
   * waiting gives the place in the queue up and rejects with LineWaitAborted.
   */
  acquire(id: string, signal?: AbortSignal): Promise<void> {
    if (this.held.has(id)) return Promise.resolve();
    const queued = this.waiting.get(id);
    const waiter = queued ?? this.enqueue(id);
    if (signal) {
      if (signal.aborted) this.abandon(id);
      else signal.addEventListener('abort', () => this.abandon(id), { once: true });
    }
    return waiter.promise;
  }

  /**
   * Asterisk answered the originate of `id` (or refused it, or it was never sent): from now on
   * its start counts from this moment. Until then it counts as happening now, so requests that
   * Asterisk is slow to take can never pile up and be created in a burst.
   */
  started(id: string): void {
    const start = this.starts.find((s) => s.id === id && s.at === Number.POSITIVE_INFINITY);
    if (!start) return;
    start.at = this.now();
    this.pump();
  }

  /** Frees `id`'s line (or its place in the queue). Idempotent. */
  release(id: string): void {
    this.started(id);
    if (this.held.delete(id)) this.pump();
    else this.abandon(id);
  }

  stats(): PacerStats {
    return { active: this.held.size, waiting: this.queue.length, granted: this.granted, peakActive: this.peakActive };
  }

  /** Grants lines while the limits allow; re-arms itself for the next start time. Call when `ready` may have changed. */
  pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0 && this.held.size < this.limits.maxChannels && this.ready()) {
      const now = this.now();
      // Late by a little (a busy event loop): catch up. Idle or stalled longer: start afresh, no burst.
      if (this.nextAt < now - CATCH_UP_MS) this.nextAt = now;
      // Never more than callsPerSecond starts in any window: those under way count as now.
      this.starts = this.starts.filter((s) => s.at > now - WINDOW_MS);
      let wait = this.nextAt - now;
      if (this.starts.length >= this.limits.callsPerSecond) {
        const oldest = Math.min(...this.starts.map((s) => s.at));
        if (oldest === Number.POSITIVE_INFINITY) return; // all under way: `started` pumps again
        wait = Math.max(wait, oldest + WINDOW_MS - now);
      }
      if (wait > 0) {
        this.timer = setTimeout(() => this.pump(), Math.ceil(wait));
        return;
      }
      const next = this.queue.shift() as Waiter;
      this.waiting.delete(next.id);
      this.held.add(next.id);
      this.starts.push({ id: next.id, at: Number.POSITIVE_INFINITY });
      this.nextAt += this.spacingMs;
      this.granted += 1;
      this.peakActive = Math.max(this.peakActive, this.held.size);
      next.resolve();
    }
  }

  /** Stops the timer; waiting calls are rejected (the service is stopping). */
  close(): void {
    clearTimeout(this.timer);
    for (const w of this.queue.splice(0)) w.reject(new LineWaitAborted(w.id));
    this.waiting.clear();
  }

  private enqueue(id: string): Waiter {
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Nobody may be listening when a wait is abandoned: that is not an unhandled failure.
    promise.catch(() => undefined);
    const waiter: Waiter = { id, resolve, reject, promise };
    this.queue.push(waiter);
    this.waiting.set(id, waiter);
    this.pump();
    return waiter;
  }

  private abandon(id: string): void {
    const waiter = this.waiting.get(id);
    if (!waiter) return;
    this.waiting.delete(id);
    this.queue.splice(this.queue.indexOf(waiter), 1);
    waiter.reject(new LineWaitAborted(id));
  }
}

/**
 * The TelephonyPort the call machines use: the real port, with every originate taking a line of
 * the trunk first and keeping it until the channel's hangup event.
 */
export class PacedTelephony implements TelephonyPort {
  readonly pacer: TrunkPacer;
  /** Lines whose channel was originated: they are freed by the channel's hangup, not by `settle`. */
  private readonly placed = new Set<string>();
  private readonly offHealth: Unsubscribe;
  /**
   * Cluster mode: the trunk's calls per second hold for all nodes together. Asked right before each
   * originate, after this node's own line; resolves when a start is granted cluster-wide, rejects
   * when this node may not place calls (it lost its leases). Unset: this node is alone.
   */
  clusterGate: ((channelId: string) => Promise<void>) | undefined;
  /** Cluster mode: the call's line is given back to the cluster (its channel hung up, or never made). */
  clusterRelease: ((channelId: string) => void) | undefined;
  /**
   * Resolves once what the service posted about the call so far is committed (set by the
   * composition root: the write queue's `committed`). Asked right before each originate: the
   * attempt's row, posted when the attempt started, is then durable before the phone rings, so a
   * restart after a kill finds every call left up (and hangs it up) and never reuses its id.
   */
  durable: (() => Promise<void>) | undefined;
  /** Told of each placed call's originate and events (set by the composition root: the metrics). */
  onCallEvent: (channelId: string, event: CallEvent | { readonly type: 'originating'; readonly at: Date }) => void = () => undefined;

  constructor(
    private readonly inner: TelephonyPort,
    limits: PacingLimits,
    private readonly logger: Logger,
  ) {
    this.pacer = new TrunkPacer(limits, () => inner.health().connected);
    this.offHealth = inner.onHealthChange((h) => {
      if (h.connected) this.pacer.pump();
    });
  }

  /** Waits for a free line for this channel id; the call machine starts only once it has one. */
  reserve(channelId: string, signal?: AbortSignal): Promise<void> {
    return this.pacer.acquire(channelId, signal);
  }

  /** The call machine ended: a line it never placed a call on is freed now. */
  settle(channelId: string): void {
    if (!this.placed.has(channelId)) this.pacer.release(channelId);
  }

  async originate(request: OriginateRequest, listener: CallEventListener): Promise<void> {
    const id = request.channelId;
    await this.pacer.acquire(id); // at once when reserved by pacedCall
    if (this.placed.has(id)) throw new TelephonyError('duplicate_channel', `channel ${id} was already placed`);
    this.placed.add(id);
    const free = (): void => {
      off();
      this.placed.delete(id);
      this.pacer.release(id);
      this.clusterRelease?.(id);
    };
    const off = this.inner.subscribe(id, (e) => {
      this.onCallEvent(id, e);
      if (e.type === 'hangup') free();
    });
    try {
      // Durable first: the cluster's call start (its per-second slot) is taken right before the originate.
      if (this.durable) await this.durable();
      if (this.clusterGate) await this.clusterGate(id);
      this.onCallEvent(id, { type: 'originating', at: new Date() });
      await this.inner.originate(request, listener);
    } catch (err) {
      // Refused: no channel was created, so the line is free again at once.
      free();
      throw err;
    } finally {
      this.pacer.started(id);
    }
  }

  health(): TelephonyHealth {
    return this.inner.health();
  }
  onHealthChange(listener: (health: TelephonyHealth) => void): Unsubscribe {
    return this.inner.onHealthChange(listener);
  }
  onInboundCall(listener: (call: InboundCall) => void): Unsubscribe {
    return this.inner.onInboundCall(listener);
  }
  answer(channelId: string): Promise<void> {
    return this.inner.answer(channelId);
  }
  subscribe(channelId: string, listener: CallEventListener): Unsubscribe {
    return this.inner.subscribe(channelId, listener);
  }
  play(channelId: string, media: readonly MediaUri[], options?: { readonly bargeIn?: boolean }): Promise<PlayResult> {
    return this.inner.play(channelId, media, options);
  }
  collect(channelId: string, options: CollectOptions): Promise<CollectResult> {
    return this.inner.collect(channelId, options);
  }
  prompt(channelId: string, media: readonly MediaUri[], options: CollectOptions): Promise<CollectResult> {
    return this.inner.prompt(channelId, media, options);
  }
  hangup(channelId: string, reason?: 'normal' | 'busy' | 'congestion'): Promise<void> {
    return this.inner.hangup(channelId, reason);
  }
  listChannelIds(): Promise<string[]> {
    return this.inner.listChannelIds();
  }
  /** Stops pacing; the inner port is closed by its owner (the composition root). */
  close(): Promise<void> {
    this.offHealth();
    const { waiting } = this.pacer.stats();
    if (waiting > 0) this.logger.warn({ waiting }, 'calls still waiting for a line at shutdown; the restart resumes their orders');
    this.pacer.close();
    return Promise.resolve();
  }
}

interface PacedInput {
  readonly attemptId: string;
}

/**
 * Work a call needs done before its phone rings (rendering every prompt of the attempt), run in
 * parallel with the wait for a line; the call starts once both are done. A failure ends the call
 * before it is placed with `whenFailed`'s output.
 */
export interface CallPreparation<T extends AnyStateMachine> {
  prepare(input: InputFrom<T>): Promise<void>;
  whenFailed(input: InputFrom<T>, endedAt: number, reason: string): OutputFrom<T>;
}

/**
 * `inner` (the call-attempt or survey-call machine), started only once its line is granted (and
 * its `preparation`, if any, is done: both run at once). Same input, events and output as
 * `inner`: events are forwarded to it, its output is the output; a CANCEL while still waiting
 * ends at once with `whenCancelled`'s output. With a port that does not pace, `inner` itself
 * (its effects then prepare what they need themselves).
 */
export function pacedCall<T extends AnyStateMachine>(
  telephony: TelephonyPort,
  inner: T,
  /** The output when the call ends before it got a line (cancelled, or the service stopping); endedAt in epoch ms. */
  whenCancelled: (input: InputFrom<T>, endedAt: number) => OutputFrom<T>,
  preparation?: CallPreparation<T>,
): T {
  if (!(telephony instanceof PacedTelephony)) return inner;
  const lines = telephony;
  const cancelledOutput = (input: PacedInput): unknown => whenCancelled(input as InputFrom<T>, Date.now());
  const failedOutput = (input: PacedInput, error: unknown): unknown =>
    preparation?.whenFailed(input as InputFrom<T>, Date.now(), error instanceof Error ? error.message : String(error));
  const wrapper = setup({
    types: {
      input: {} as PacedInput,
      context: {} as { input: PacedInput; output: unknown },
      events: {} as EventObject,
    },
    actors: {
      line: fromPromise<void, { attemptId: string }>(({ input, signal }) => lines.reserve(input.attemptId, signal)),
      prepare: fromPromise<void, PacedInput>(({ input }) => (preparation ? preparation.prepare(input as InputFrom<T>) : Promise.resolve())),
      // Frees an unused line whenever the wrapper ends (final state, or stopped by its parent).
      lineKeeper: fromCallback<EventObject, { attemptId: string }>(({ input }) => () => lines.settle(input.attemptId)),
      call: inner as AnyStateMachine,
    },
  }).createMachine({
    id: 'pacedCall',
    context: ({ input }) => ({ input, output: undefined }),
    invoke: { src: 'lineKeeper', input: ({ context }) => ({ attemptId: context.input.attemptId }) },
    initial: 'waitingForLine',
    states: {
      waitingForLine: {
        type: 'parallel',
        onDone: 'calling',
        states: {
          line: {
            initial: 'reserving',
            states: {
              reserving: {
                invoke: {
                  src: 'line',
                  input: ({ context }) => ({ attemptId: context.input.attemptId }),
                  onDone: 'reserved',
                  onError: {
                    target: '#pacedCall.done',
                    actions: assign({ output: ({ context }) => cancelledOutput(context.input) }),
                  },
                },
              },
              reserved: { type: 'final' },
            },
          },
          prompts: {
            initial: 'preparing',
            states: {
              preparing: {
                invoke: {
                  src: 'prepare',
                  input: ({ context }) => context.input,
                  onDone: 'prepared',
                  onError: {
                    target: '#pacedCall.done',
                    actions: assign({ output: ({ context, event }) => failedOutput(context.input, event.error) }),
                  },
                },
              },
              prepared: { type: 'final' },
            },
          },
        },
        on: {
          CANCEL: { target: 'done', actions: assign({ output: ({ context }) => cancelledOutput(context.input) }) },
        },
      },
      calling: {
        invoke: {
          id: 'call',
          src: 'call',
          input: ({ context }: { context: { input: PacedInput } }) => context.input,
          onDone: { target: 'done', actions: assign({ output: ({ event }) => event.output as unknown }) },
          onError: {
            actions: ({ event }) => {
              throw event.error;
            },
          },
        },
        on: { '*': { actions: sendTo('call', ({ event }) => event) } },
      },
      done: { type: 'final' },
    },
    output: ({ context }) => context.output,
  });
  return wrapper as unknown as T;
}
