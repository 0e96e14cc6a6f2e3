// Where a unit's order machine resumes from after a restart or a takeover: which units had a
// machine running (dispatching, or still calling leaders or the alarm past it), and the saved
// point corrected by what the store says happened since it was saved.
import type { OrderResume } from '../../machines/order.policy.js';
import type { AcknowledgementRow, OrderRepository } from '../orders/order-repository.js';

/** A unit whose machine was running when its process stopped: dispatching, or calling past it (a resume point left). */
export const resumable = (u: { status: string; resume: string | null }): boolean => u.status === 'dispatching' || ((u.status === 'accepted' || u.status === 'unacknowledged') && u.resume !== null);

/** The unit's acknowledgements (a co-unit's carry its department; the lead's, or older ones without one, the lead's). */
export async function ownAcks(repo: OrderRepository, orderId: string, departmentId: string, leadDepartmentId: string): Promise<AcknowledgementRow[]> {
  return (await repo.acknowledgements(orderId)).filter((k) => (k.department_id ?? leadDepartmentId) === departmentId);
}

/** The event detail naming the status a unit resumed in, when past dispatching (older details unchanged). */
export const pastDispatching = (p: OrderResume): { status?: string } => (p.status !== undefined && p.status !== 'dispatching' ? { status: p.status } : {});

/**
 * The point a unit resumes from. Its row's status rules (a stop between the status write and the
 * next saved point leaves the previous one). A confirmation committed during a call the stop
 * interrupted (the reconciliation ended that attempt `accepted`) settles the alarm, or that leader.
 */
export function settledPoint(point: OrderResume, status: string, acks: readonly AcknowledgementRow[]): OrderResume {
  const confirmedLeaders = new Set(acks.filter((k) => k.script === 'major').map((k) => k.contact_id));
  const leaders = point.leaders?.map((l) => (confirmedLeaders.has(l.id) ? { ...l, phase: 'confirmed' as const } : l));
  const withLeaders = { ...point, ...(leaders ? { leaders } : {}) };
  if (status !== 'accepted' && status !== 'unacknowledged') return withLeaders;
  const alarmConfirmed = acks.some((k) => k.script === 'alarm');
  return {
    ...withLeaders,
    status,
    ...(status === 'unacknowledged' ? { alarmAttempts: point.alarmAttempts ?? 0, alarmSettled: point.alarmSettled === true || alarmConfirmed } : {}),
  };
}
