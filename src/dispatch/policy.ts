// The escalation policy of a department: defaults, bounds and validation. The order machine
// reads these numbers as its named delays (retryDelay, loopDelay, ringTimeout).
import type { EscalationPolicy } from '../../machines/order.policy.js';

export interface DispatchPolicy extends EscalationPolicy {
  /** Seconds to wait for a key after the menu has been read. */
  keyTimeoutSeconds: number;
  /**
   * 督查催办 (see docs/reminders.md). Seconds from the acceptance to the arrival / completion
   * feedback before a reminder call; 0 = off; unset = the urgency default (REMINDER_DEFAULTS).
   */
  arrivalDeadlineSeconds?: number;
  completionDeadlineSeconds?: number;
  /** Unanswered or "still on the way" reminders before the leader contact is called and the order flagged overdue; unset = 2. */
  remindersBeforeEscalation?: number;
  /** Seconds between two reminder calls when nobody answered; unset = 600. */
  reminderIntervalSeconds?: number;
  /** Normal orders: seconds the department's platform has to acknowledge before it is phoned; unset = 600, 0 = phone at once. */
  platformAckSeconds?: number;
}

/** Default of platformAckSeconds (Li County: 一般事项通过网格化平台下达). */
export const DEFAULT_PLATFORM_ACK_SECONDS = 600;

/** Defaults for every department without its own policy. */
export const DEFAULT_POLICY: Readonly<DispatchPolicy> = Object.freeze({
  attemptsPerContact: 2,
  retryDelaySeconds: 60,
  ringTimeoutSeconds: 30,
  chainLoops: 1,
  loopDelaySeconds: 120,
  maxReplays: 2,
  keyTimeoutSeconds: 6,
});

/** [min, max] of each field: outside them a policy is refused with a clear message. */
export const POLICY_BOUNDS: Readonly<Record<keyof DispatchPolicy, readonly [number, number]>> = {
  attemptsPerContact: [1, 10],
  retryDelaySeconds: [0, 3600],
  ringTimeoutSeconds: [2, 120],
  chainLoops: [0, 10],
  loopDelaySeconds: [0, 7200],
  maxReplays: [0, 5],
  keyTimeoutSeconds: [2, 30],
  arrivalDeadlineSeconds: [0, 7 * 86_400],
  completionDeadlineSeconds: [0, 30 * 86_400],
  remindersBeforeEscalation: [1, 10],
  reminderIntervalSeconds: [30, 86_400],
  platformAckSeconds: [0, 86_400],
};

export function resolvePolicy(partial: Partial<DispatchPolicy> | undefined): DispatchPolicy {
  return { ...DEFAULT_POLICY, ...(partial ?? {}) };
}

/** Problems of a partial policy from a request body; empty when it is valid. */
export function policyProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['policy: must be an object'];
  const problems: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const bounds = POLICY_BOUNDS[key as keyof DispatchPolicy] as readonly [number, number] | undefined;
    if (!bounds) problems.push(`policy.${key}: unknown field (allowed: ${Object.keys(POLICY_BOUNDS).join(', ')})`);
    else if (!Number.isInteger(v) || (v as number) < bounds[0] || (v as number) > bounds[1]) problems.push(`policy.${key}: must be a whole number from ${bounds[0]} to ${bounds[1]}`);
  }
  return problems;
}
