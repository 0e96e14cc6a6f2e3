// `liandong policy dry-run <department>`: what a department's escalation chain would do, with a
// proposed policy, before the admin switches it on. Two ways: `simulated` (the real machines on
// a virtual clock, instant) and `live` (see policy-live.ts: real calls to simulated phones).
import type { Language } from '../config.js';
import { contactsOnDuty } from '../departments/catalog.js';
import type { DepartmentStore } from '../departments/store.js';
import { policyProblems, resolvePolicy, type DispatchPolicy } from '../dispatch/policy.js';
import { BEHAVIOURS, simulatePolicy, type Behaviour } from './policy-simulation.js';
import { clock, describeTimeline, type TimelineLine } from './policy-timeline.js';

export interface DryRunRequest {
  readonly departmentId: string;
  /** Proposed policy fields; the others are the department's current ones. */
  readonly policy?: Readonly<Record<string, unknown>>;
  /** Party id (contact id, command centre id, leader id) → behaviour; contacts default to no_answer. */
  readonly phones?: Readonly<Record<string, unknown>>;
  readonly major?: boolean;
  /** ISO time whose roster decides the order of the contacts (default: now). */
  readonly at?: string;
}

export interface Party {
  readonly id: string;
  readonly name: string;
  readonly number: string;
}

export interface DryRunPlan {
  readonly departmentId: string;
  readonly departmentName: string;
  readonly policy: DispatchPolicy;
  /** In calling order (on duty first, then priority). */
  readonly contacts: readonly Party[];
  readonly commandCentre: Party;
  readonly leaders: readonly Party[];
  readonly major: boolean;
  readonly phones: ReadonlyMap<string, Behaviour>;
}

export interface DryRunReport {
  readonly mode: 'simulated' | 'live';
  readonly departmentId: string;
  readonly departmentName: string;
  readonly policy: DispatchPolicy;
  readonly phones: Readonly<Record<string, Behaviour>>;
  /** accepted or unacknowledged. */
  readonly status: string;
  /** Seconds from the order to the end of dispatch. */
  readonly seconds: number;
  readonly calls: number;
  readonly timeline: readonly TimelineLine[];
}

export class DryRunError extends Error {
  constructor(
    readonly code: 'department_not_found' | 'invalid_request',
    message: string,
  ) {
    super(message);
    this.name = 'DryRunError';
  }
}

/** Validates the request against the live catalog; throws DryRunError naming every problem. */
export function planDryRun(store: DepartmentStore, req: DryRunRequest, language: Language, timezone: string): DryRunPlan {
  const catalog = store.current();
  const department = catalog.departmentsById.get(req.departmentId);
  if (!department) throw new DryRunError('department_not_found', `there is no member department "${req.departmentId}"`);
  const problems = req.policy === undefined ? [] : policyProblems(req.policy);
  const at = req.at === undefined ? new Date() : new Date(req.at);
  if (Number.isNaN(at.getTime())) problems.push(`at: not an ISO date-time: "${req.at}"`);
  const party = (e: { id: string; number: string }, name: string): Party => ({ id: e.id, name, number: e.number });
  const contacts = Number.isNaN(at.getTime()) ? [] : contactsOnDuty(department, at, timezone).map((c) => party(c, c.name));
  const commandCentre = party(catalog.commandCentre, catalog.commandCentre.name[language]);
  const leaders = catalog.leaders.map((l) => party(l, l.name[language]));
  const phones = new Map<string, Behaviour>();
  for (const c of contacts) phones.set(c.id, 'no_answer');
  for (const p of [commandCentre, ...leaders]) phones.set(p.id, 'accept');
  for (const [id, behaviour] of Object.entries(req.phones ?? {})) {
    if (!phones.has(id)) problems.push(`phones.${id}: not a contact of ${department.id}, the command centre or a county leader (known: ${[...phones.keys()].join(', ')})`);
    else if (!(BEHAVIOURS as readonly unknown[]).includes(behaviour)) problems.push(`phones.${id}: must be one of ${BEHAVIOURS.join(', ')}`);
    else phones.set(id, behaviour as Behaviour);
  }
  if (problems.length > 0) throw new DryRunError('invalid_request', problems.join('; '));
  const current = store.policyOf(department.id);
  return {
    departmentId: department.id,
    departmentName: department.name[language],
    policy: resolvePolicy({ ...current, ...(req.policy as Partial<DispatchPolicy> | undefined) }),
    contacts,
    commandCentre,
    leaders,
    major: req.major ?? false,
    phones,
  };
}

/** The behaviours that matter: county leaders are called only for a major incident. */
export function phonesOf(plan: DryRunPlan): Record<string, Behaviour> {
  return Object.fromEntries([...plan.phones].filter(([id]) => plan.major || !plan.leaders.some((l) => l.id === id)));
}

export function partyNames(plan: DryRunPlan): Map<string, string> {
  return new Map([...plan.contacts, plan.commandCentre, ...plan.leaders].map((p) => [p.id, p.name]));
}

export async function simulateDryRun(plan: DryRunPlan): Promise<DryRunReport> {
  const strip = (p: Party) => ({ id: p.id, number: p.number });
  const result = await simulatePolicy({
    orderId: 'dry-run',
    contacts: plan.contacts.map(strip),
    policy: plan.policy,
    major: plan.major,
    leaders: plan.leaders.map(strip),
    commandCentre: strip(plan.commandCentre),
    phones: plan.phones,
  });
  return {
    mode: 'simulated',
    departmentId: plan.departmentId,
    departmentName: plan.departmentName,
    policy: plan.policy,
    phones: phonesOf(plan),
    status: result.status,
    seconds: result.seconds,
    calls: result.calls,
    timeline: describeTimeline(result.entries, partyNames(plan), plan.policy),
  };
}

/** The report as the command line prints it. */
export function formatDryRun(r: DryRunReport): string[] {
  const p = r.policy;
  const lines = [
    `${r.mode === 'simulated' ? 'Simulated (time-compressed)' : 'Live, against simulated phones'} dry run: ${r.departmentId} (${r.departmentName})`,
    `policy: attemptsPerContact ${p.attemptsPerContact}, retryDelaySeconds ${p.retryDelaySeconds}, ringTimeoutSeconds ${p.ringTimeoutSeconds}, chainLoops ${p.chainLoops}, loopDelaySeconds ${p.loopDelaySeconds}, maxReplays ${p.maxReplays}, keyTimeoutSeconds ${p.keyTimeoutSeconds}`,
    `phones: ${Object.entries(r.phones).map(([id, b]) => `${id}=${b}`).join(', ')}`,
    '',
  ];
  return [...lines, ...r.timeline.map((l) => `${clock(l.seconds).padStart(9)}  ${l.text}`), '', `result: ${r.status} after ${clock(r.seconds).slice(1)} (${r.calls} call(s))`];
}

