// Reminder rounds cut short: by a restart of the single node (every call left open ended, every
// round placed again), or in a cluster by a node that stopped, one deadline at a time when another
// node takes its unit over. The channels left up are hung up, so no unit is left on the line.
import type { Logger } from '../logging.js';
import type { TelephonyPort } from '../telephony/port.js';
import type { ReminderAttemptRow, ReminderRepository } from './reminder-repository.js';

type CaseEvent = (orderId: string, kind: string, detail: Record<string, unknown>) => Promise<void>;

/** An open call's end: a committed answer stays (only its confirmation was cut), otherwise interrupted. */
function cutShort(a: ReminderAttemptRow, reason: string) {
  return { result: a.answer ? 'accepted' : 'interrupted', reason: a.answer ? 'confirmation interrupted' : reason, endedAt: Date.now() };
}

/** One node's restart: every open call ended, every round cut short due again now, the channels hung up once Asterisk answers. */
export async function recoverAfterRestart(reminders: ReminderRepository, telephony: TelephonyPort, event: CaseEvent, log: Logger): Promise<void> {
  const leftovers = await reminders.openAttempts();
  for (const a of leftovers) await reminders.endAttempt(a.id, cutShort(a, 'service restarted during the call'));
  for (const row of await reminders.reminding()) {
    await reminders.requeue(row.id);
    await event(row.order_id, 'reminder_resumed', { deadline: row.kind });
  }
  const hangUp = () => {
    for (const a of leftovers) telephony.hangup(a.id).catch((err: unknown) => log.warn({ channelId: a.id, err: String(err) }, 'could not hang up a reminder call left by a stopped service'));
  };
  if (leftovers.length > 0 && telephony.health().connected) hangUp();
  else if (leftovers.length > 0) {
    const off = telephony.onHealthChange((h) => {
      if (!h.connected) return;
      off();
      hangUp();
    });
  }
}

/**
 * One deadline whose node stopped (cluster takeover): its open calls hung up (hangUp) and ended,
 * and its round, if it was cut short while `reminding`, due again now. `repo`: on the unit's fenced store.
 */
export async function recoverDeadline(repo: ReminderRepository, deadlineId: string, hangUp: (channelId: string) => Promise<void>, event: CaseEvent): Promise<void> {
  for (const a of await repo.openAttempts(deadlineId)) {
    await hangUp(a.id);
    await repo.endAttempt(a.id, cutShort(a, 'the node placing the call stopped during it'));
  }
  const row = await repo.get(deadlineId);
  if (row?.status !== 'reminding') return; // met, overdue (its leader call is not placed again, as on a restart) or cancelled
  await repo.requeue(row.id);
  await event(row.order_id, 'reminder_resumed', { deadline: row.kind });
}
