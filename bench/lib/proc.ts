// CPU time and memory of a process, from /proc (Linux): what the benchmark compares.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (usually 100). */
export const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

export interface CpuTimes {
  /** Seconds of CPU (user + system) of the process itself, all threads. */
  readonly self: number;
  /**
   * Seconds of CPU of its children: those that exited and were waited for, plus the live ones with
   * everything they waited for (the render helpers: bash loops whose espeak-ng and sox are theirs).
   */
  readonly children: number;
}

interface StatFields {
  readonly ppid: number;
  readonly self: number;
  readonly waited: number;
}

function readStat(pid: number): StatFields {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing ')' are plain.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  // After ')': state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17), here 0-based from field 3.
  const at = (field: number) => f[field - 3] ?? 0;
  return { ppid: at(4), self: (at(14) + at(15)) / TICKS_PER_SECOND, waited: (at(16) + at(17)) / TICKS_PER_SECOND };
}

export function cpuTimes(pid: number): CpuTimes {
  const own = readStat(pid);
  let live = 0;
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === pid) continue;
    try {
      const s = readStat(Number(name));
      if (s.ppid === pid) live += s.self + s.waited;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // exited meanwhile
    }
  }
  return { self: own.self, children: own.waited + live };
}

export function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** Samples a process's resident memory every `everyMs` and keeps the peak. */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  peakKb = 0;

  constructor(private readonly pid: number, everyMs = 200) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peakKb;
  }

  private sample(): void {
    try {
      this.peakKb = Math.max(this.peakKb, rssKb(this.pid));
    } catch {
      // the process ended: the peak stays what it was
      clearInterval(this.timer);
    }
  }
}

/** CPU seconds used between two readings. */
export function cpuBetween(a: CpuTimes, b: CpuTimes): CpuTimes {
  return { self: b.self - a.self, children: b.children - a.children };
}
