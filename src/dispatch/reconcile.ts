// Ending the calls a stopped process left open (a restart, or a cluster takeover): each channel is
// hung up where it lives and its attempt ends `interrupted` — or `accepted` when the acceptance was
// committed before the stop (the call only lost its confirmation; the record must say what the
// acknowledgement says). Those attempt ids are never placed again: the order goes on with new ones.
import type { AttemptRow, OrderRepository } from '../orders/order-repository.js';

/** Hangs a channel up; true if it was still up. */
export type HangUpLeft = (channelId: string) => Promise<boolean>;

export async function reconcileOpenAttempts(repo: OrderRepository, open: readonly AttemptRow[], hangUp: HangUpLeft, reason: string): Promise<void> {
  for (const attempt of open) {
    const channelStillUp = await hangUp(attempt.id);
    const committed = await repo.hasAcknowledgement(attempt.id);
    await repo.endAttempt(attempt.id, {
      result: committed ? 'accepted' : 'interrupted',
      reason: committed ? 'confirmation interrupted' : reason,
      digits: attempt.digits,
      endedAt: Date.now(),
    });
    await repo.appendEvent(attempt.order_id, 'liandong', committed ? 'confirmation_interrupted' : 'attempt_interrupted', { attemptId: attempt.id, channelStillUp });
  }
}
