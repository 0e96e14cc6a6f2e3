// What one summary line per call needs, kept from the call's start to its end: the call's child
// logger and the times of its steps (epoch ms). The call effects note the steps as they happen;
// the owner of the call (dispatcher, survey service, reminder service) takes the timings when the
// call ends and logs the one `info` line, so per-step lines can stay at `debug`.
import type { Logger } from '../logging.js';

/** Milliseconds between a call's steps; a step that never happened is left out. */
export interface CallTimings {
  /** Call started → originate requested: the wait for a trunk line (and its prompts). */
  readonly queuedMs?: number;
  /** Originate requested → answered. */
  readonly ringMs?: number;
  /** Answered → first prompt requested from Asterisk. */
  readonly firstPromptMs?: number;
  /** Answered → first key read. */
  readonly keyMs?: number;
  /** Call started → ended. */
  readonly totalMs: number;
}

interface Trace {
  log: Logger | undefined;
  startedAt: number;
  originateAt?: number;
  answeredAt?: number;
  firstPromptAt?: number;
  firstKeyAt?: number;
}

export class CallTraces {
  private readonly traces = new Map<string, Trace>();

  constructor(private readonly logger: Logger) {}

  /**
   * The call (attempt id) starts now, `log` its child logger. A step noted before (a call machine
   * may start its originate inside the same start() as the action that records the call) is kept.
   */
  begin(attemptId: string, log: Logger, at = Date.now()): void {
    const trace = this.traces.get(attemptId);
    if (trace) {
      trace.log = log;
      trace.startedAt = Math.min(trace.startedAt, at);
    } else this.traces.set(attemptId, { log, startedAt: at });
  }

  /** The call's child logger (one made from the root with its ids when the call has no trace). */
  log(attemptId: string): Logger {
    return this.traces.get(attemptId)?.log ?? this.logger.child({ attemptId, channelId: attemptId });
  }

  originating(attemptId: string, at = Date.now()): void {
    const trace = this.traceOf(attemptId, at);
    trace.originateAt ??= at;
  }

  answered(attemptId: string, at: number): void {
    this.traceOf(attemptId, at).answeredAt ??= at;
  }

  /** Notes a prompt request; for the call's first one, returns the ms since the answer (if it was answered). */
  prompted(attemptId: string, at = Date.now()): number | undefined {
    const trace = this.traceOf(attemptId, at);
    if (trace.firstPromptAt !== undefined) return undefined;
    trace.firstPromptAt = at;
    return trace.answeredAt === undefined ? undefined : at - trace.answeredAt;
  }

  keyed(attemptId: string, at = Date.now()): void {
    this.traceOf(attemptId, at).firstKeyAt ??= at;
  }

  /** The call ended at `endedAt` (epoch ms): its timings, and its trace is dropped. */
  end(attemptId: string, endedAt = Date.now()): CallTimings {
    const t = this.traces.get(attemptId);
    this.traces.delete(attemptId);
    if (!t) return { totalMs: 0 };
    const since = (from: number | undefined, to: number | undefined) => (from === undefined || to === undefined ? undefined : Math.max(0, Math.round(to - from)));
    const steps = {
      queuedMs: since(t.startedAt, t.originateAt),
      ringMs: since(t.originateAt, t.answeredAt),
      firstPromptMs: since(t.answeredAt, t.firstPromptAt),
      keyMs: since(t.answeredAt, t.firstKeyAt),
    };
    const timings = Object.fromEntries(Object.entries(steps).filter(([, ms]) => ms !== undefined)) as Omit<CallTimings, 'totalMs'>;
    return { ...timings, totalMs: since(t.startedAt, endedAt) ?? 0 };
  }

  /** Forgets a call that will not end here (its machine was stopped or abandoned). */
  drop(attemptId: string): void {
    this.traces.delete(attemptId);
  }

  /** Calls traced now (for tests and health: 0 once every call has ended or been dropped). */
  get size(): number {
    return this.traces.size;
  }

  private traceOf(attemptId: string, at: number): Trace {
    let trace = this.traces.get(attemptId);
    if (!trace) {
      trace = { log: undefined, startedAt: at };
      this.traces.set(attemptId, trace);
    }
    return trace;
  }
}
