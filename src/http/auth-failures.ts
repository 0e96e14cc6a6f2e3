// Failed-authentication limit per client address: after `max` refused tokens (missing, unknown,
// malformed) within a minute, every request from that address that needs a token gets 429 until
// the minute is over, whatever token it carries — so a right guess cannot be told from a wrong
// one while blocked, and guessing runs at `max` tries a minute at best. Known tokens are not
// counted. Fixed one-minute windows per address; the table is bounded so a flood of spoofed
// addresses cannot grow it without limit.

/** Addresses tracked at once; beyond this the oldest windows are dropped first. */
const MAX_TRACKED_ADDRESSES = 10_000;

export class FailedAuthLimiter {
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(
    /** Refused tokens allowed per address per window. */
    readonly max: number,
    /** Window length, ms. */
    readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until `address` may try again, or 0 when it is not blocked. */
  blockedFor(address: string): number {
    const w = this.current(address);
    return w && w.failures >= this.max ? Math.max(1, Math.ceil((w.start + this.windowMs - this.now()) / 1000)) : 0;
  }

  /** Counts one refused token from `address`. */
  recordFailure(address: string): void {
    const w = this.current(address);
    if (w) {
      w.failures += 1;
      return;
    }
    if (this.windows.size >= MAX_TRACKED_ADDRESSES) this.prune();
    this.windows.set(address, { start: this.now(), failures: 1 });
  }

  private current(address: string): { start: number; failures: number } | undefined {
    const w = this.windows.get(address);
    if (w && this.now() - w.start >= this.windowMs) {
      this.windows.delete(address);
      return undefined;
    }
    return w;
  }

  private prune(): void {
    const t = this.now();
    for (const [address, w] of this.windows) if (t - w.start >= this.windowMs) this.windows.delete(address);
    // Still full (a flood within one minute): drop the oldest insertions.
    for (const address of this.windows.keys()) {
      if (this.windows.size < MAX_TRACKED_ADDRESSES) break;
      this.windows.delete(address);
    }
  }
}
