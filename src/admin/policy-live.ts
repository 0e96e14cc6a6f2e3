// Live dry run: the real Dispatcher (order machine, call effects, prompts, ARI) runs the plan in
// real time, but against a scratch in-memory SQLite store and with every party's number replaced by
// the sim-phones number that behaves as asked. Nothing reaches the real case records and no
// real duty phone rings; it needs the simulated phones (dev and staging, never production).
import { randomBytes } from 'node:crypto';
import type { Language } from '../config.js';
import { openStore } from '../db/store.js';
import { WriteQueue } from '../db/write-queue.js';
import type { Catalog } from '../departments/catalog.js';
import { DepartmentStore } from '../departments/store.js';
import { Dispatcher } from '../dispatch/dispatcher.js';
import type { Logger } from '../logging.js';
import { OrderRepository } from '../orders/order-repository.js';
import type { Prompts } from '../prompts/index.js';
import type { TelephonyPort } from '../telephony/port.js';
import { partyNames, phonesOf, simulateDryRun, type DryRunPlan, type DryRunReport } from './policy-dry-run.js';
import type { Behaviour } from './policy-simulation.js';
import { describeTimeline, type TimelineEntry } from './policy-timeline.js';

/** The sim-phones number (dialplans/sim-phones.conf) behaving like each behaviour. */
export const SIM_NUMBERS: Readonly<Record<Behaviour, string>> = {
  accept: '70511', // answers, presses 1 after 5 s
  dispute: '70513', // answers, presses 3 after 5 s
  repeat_then_accept: '705521', // presses 2 after 5 s, 1 five seconds later
  no_input: '710', // answers, never presses a key
  hangup: '725', // answers, hangs up after 5 s
  no_answer: '730', // rings until the ring timeout
  busy: '740',
  congestion: '750',
  unreachable: '760',
};

/** Longest live run accepted, seconds (as estimated by the simulation): it holds real channels. */
export const MAX_LIVE_SECONDS = 900;

export interface LiveRunDeps {
  readonly telephony: TelephonyPort;
  readonly prompts: Prompts;
  readonly logger: Logger;
  readonly language: Language;
  readonly timezone: string;
  /** The live catalog, copied into the scratch store. */
  readonly catalog: () => Catalog;
}

export interface LiveRun {
  readonly runId: string;
  readonly status: 'running' | 'finished' | 'failed';
  readonly estimatedSeconds: number;
  readonly startedAt: string;
  readonly report: DryRunReport | null;
  readonly reason?: string;
}

export class LiveDryRuns {
  private readonly runs = new Map<string, LiveRun>();
  private running = false;

  constructor(private readonly deps: LiveRunDeps) {}

  get(runId: string): LiveRun | undefined {
    return this.runs.get(runId);
  }

  /** Starts a run; throws with a reason when one is running or the estimate is too long. */
  async start(plan: DryRunPlan, onDone: (run: LiveRun) => void): Promise<LiveRun> {
    if (this.running) throw new LiveRunRefused('a live dry run is already in progress; wait for it to finish');
    const estimate = await simulateDryRun(plan);
    if (estimate.seconds > MAX_LIVE_SECONDS) {
      throw new LiveRunRefused(`it would take about ${Math.round(estimate.seconds)} s (the simulation says so); live runs are limited to ${MAX_LIVE_SECONDS} s: shorten the delays or use the simulation`);
    }
    const runId = `dr-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const run: LiveRun = { runId, status: 'running', estimatedSeconds: estimate.seconds, startedAt: new Date().toISOString(), report: null };
    this.runs.set(runId, run);
    this.running = true;
    this.execute(plan)
      .then(
        (report): LiveRun => ({ ...run, status: 'finished', report }),
        (err: unknown): LiveRun => ({ ...run, status: 'failed', reason: err instanceof Error ? err.message : String(err) }),
      )
      .then((done) => {
        this.running = false;
        this.runs.set(runId, done);
        onDone(done);
      })
      .catch((err: unknown) => {
        // Only onDone can throw here (execute's failure is the 'failed' run above).
        this.running = false;
        this.deps.logger.error({ runId, err: err instanceof Error ? err.message : String(err) }, 'live dry run: recording the result failed');
      });
    return run;
  }

  private async execute(plan: DryRunPlan): Promise<DryRunReport> {
    const { deps } = this;
    // The scratch store is always SQLite in memory, whatever engine the service runs on.
    const scratch = await openStore({ engine: 'sqlite', path: ':memory:' });
    const log = deps.logger.child({ component: 'policy-dry-run' });
    const writes = new WriteQueue((label, reason) => log.warn({ label, reason }, 'dry run: a write of the scratch order failed'));
    try {
      const base = deps.catalog();
      const store = await DepartmentStore.open(scratch, base);
      const sim = (id: string): string => SIM_NUMBERS[plan.phones.get(id) ?? 'no_answer'];
      const department = base.departmentsById.get(plan.departmentId);
      if (!department) throw new Error(`department ${plan.departmentId} disappeared`);
      await store.updateDepartment(
        plan.departmentId,
        {
          name: department.name,
          categories: department.categories,
          contacts: plan.contacts.map((c, i) => ({ id: c.id, name: c.name, number: sim(c.id), priority: i + 1 })),
          rosters: [],
        },
        plan.policy,
        'dry-run',
      );
      const endpoint = (id: string) => {
        const e = [base.commandCentre, ...base.leaders].find((x) => x.id === id);
        if (!e) throw new Error(`directory entry ${id} disappeared`);
        return { ...e, number: sim(id) };
      };
      await store.setDirectory({ commandCentre: endpoint(plan.commandCentre.id), leaders: plan.leaders.map((l) => endpoint(l.id)) }, 'dry-run');
      const repo = new OrderRepository(scratch);
      const dispatcher = new Dispatcher({
        repo,
        writes,
        departments: store,
        telephony: deps.telephony,
        prompts: deps.prompts,
        webhook: { notify: () => Promise.resolve({ ok: false, reason: 'dry run: no webhook' }) },
        logger: log,
        language: deps.language,
        timezone: deps.timezone,
      });
      const { row } = await repo.createOrder({
        externalId: `dry-run-${Date.now()}`,
        category: department.categories[0] ?? 'dry-run',
        departmentId: plan.departmentId,
        summary: '演练',
        address: '演练',
        reporterPhone: '70000',
        urgency: 'urgent',
        major: plan.major,
      });
      const started = Date.parse(row.created_at);
      await dispatcher.start(row);
      while (dispatcher.isLive(row.id)) await new Promise((r) => setTimeout(r, 250));
      await writes.drain(); // the machine's last writes are posted as it finishes
      const entries = await liveEntries(repo, row.id, started);
      const status = (await repo.getOrder(row.id))?.status ?? 'unknown';
      const last = entries[entries.length - 1]?.seconds ?? 0;
      return {
        mode: 'live',
        departmentId: plan.departmentId,
        departmentName: plan.departmentName,
        policy: plan.policy,
        phones: phonesOf(plan),
        status,
        seconds: last,
        calls: (await repo.attempts(row.id)).length,
        timeline: describeTimeline(entries, partyNames(plan), plan.policy),
      };
    } finally {
      await writes.drain();
      await scratch.close();
    }
  }
}

export class LiveRunRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LiveRunRefused';
  }
}

/** The stored attempts and case events of the scratch order, as timeline entries in time order. */
async function liveEntries(repo: OrderRepository, orderId: string, started: number): Promise<TimelineEntry[]> {
  const at = (iso: string): number => (Date.parse(iso) - started) / 1000;
  const entries: Array<TimelineEntry & { order: number }> = [];
  let order = 0;
  const push = (iso: string, kind: string, detail: Record<string, unknown>): void => void entries.push({ seconds: at(iso), kind, detail, order: order++ });
  for (const a of await repo.attempts(orderId)) {
    push(a.started_at, 'attempt_started', { attemptId: a.id, seq: a.seq, script: a.script, contactId: a.contact_id, number: a.number, attemptOnContact: a.attempt_on_contact, loop: a.chain_loop });
    if (a.answered_at) push(a.answered_at, 'answered', { attemptId: a.id });
    if (a.ended_at) push(a.ended_at, 'attempt_result', { attemptId: a.id, contactId: a.contact_id, result: a.result, causeCode: a.cause_code, reason: a.reason });
  }
  for (const e of await repo.events(orderId)) {
    if (e.kind === 'attempt_started' || e.kind === 'attempt_ended') continue;
    push(e.at, e.kind, JSON.parse(e.detail) as Record<string, unknown>);
  }
  return entries.sort((a, b) => a.seconds - b.seconds || a.order - b.order);
}
