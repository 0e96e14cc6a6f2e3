// Webhook retry schedule: the wait after the n-th failed try doubles from `firstMs`, capped at
// `maxMs`; tries stop once the next one would fall more than `forMs` after the event.
export interface RetryPolicy {
  readonly firstMs: number;
  readonly maxMs: number;
  readonly forMs: number;
}

/** Wait after failed try number `attempt` (1-based), ms. */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  const exp = Math.min(attempt - 1, 30); // 2^30 × anything is past any cap
  return Math.min(policy.firstMs * 2 ** exp, policy.maxMs);
}

/** The whole schedule (offsets of every try after the first, ms), for the docs and dry runs. */
export function retryOffsetsMs(policy: RetryPolicy): number[] {
  const out: number[] = [];
  let at = 0;
  for (let attempt = 1; ; attempt += 1) {
    at += backoffMs(policy, attempt);
    if (at > policy.forMs) return out;
    out.push(at);
  }
}
