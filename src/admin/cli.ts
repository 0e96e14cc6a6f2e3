// The telecom admin commands: `liandong dialplan render|check|reload`, `liandong endpoints`,
// `liandong test-call`, `liandong policy dry-run`, `liandong audit`. They work on the files and
// over AMI directly (the service need not run), except the ones that place calls: those ask the
// running service (its admin API), which owns the ARI connection and serves the prompt audio.
// Exit codes: 0 ok; 1 failed (problems printed); 2 usage.
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { openStore } from '../db/store.js';
import { loadCatalog } from '../departments/catalog.js';
import { DepartmentStore } from '../departments/store.js';
import { createLogger } from '../logging.js';
import { AmiClient } from '../telephony/ami.js';
import { loadAsteriskCatalog } from './asterisk-catalog.js';
import { AuditLog, cliActor } from './audit.js';
import { checkDialplan, formatProblem } from './dialplan-check.js';
import { reloadDialplan } from './dialplan-reload.js';
import { formatEndpoints, listEndpoints } from './endpoints.js';
import { adminApi, formatTestCall, runLiveDryRunViaService } from './cli-service.js';
import { formatDryRun, planDryRun, simulateDryRun, DryRunError } from './policy-dry-run.js';
import { redactSecrets } from './render-view.js';
import { loadTelephonyConfig, TelephonyConfigError } from './telephony-config.js';
import type { TestCallReport } from './test-call.js';

type Out = (line: string) => void;
type Command = (args: string[], config: Config, out: Out) => Promise<number>;

const USAGE: Readonly<Record<string, string[]>> = {
  dialplan: [
    'usage: liandong dialplan <command>   (templates in dialplans/, values from config/telephony.json)',
    '  render [--file NAME] [--out DIR]   show the rendered files (passwords masked), or write them to DIR (real passwords, mode 0640)',
    '  check [--templates DIR] [--telephony FILE] [--keep]',
    '                                     render into a scratch folder and validate; exit 1 with file:line problems',
    '  reload [--etc DIR]                 check, install the changed files and reload them through AMI (calls in progress continue)',
  ],
  endpoints: ['usage: liandong endpoints [--telephony FILE] [--json]   trunk and extensions: registration, reachability, round-trip time'],
  'test-call': [
    'usage: liandong test-call <number | department/contact | directory id> [--expect-key K] [--ring SECONDS] [--json]',
    '  rings the target through the running service, plays a short test prompt and reports the key and the timings',
  ],
  policy: [
    'usage: liandong policy dry-run <department> [--policy field=value,...] [--phone contact=behaviour ...] [--major] [--at ISO-TIME] [--live] [--json]',
    '  behaviours: accept, dispute, repeat_then_accept, no_input, hangup, no_answer (default for contacts), busy, congestion, unreachable',
    '  simulated (default): the real order machine on a virtual clock, instant; --live: real calls to the simulated phones through the running service',
  ],
  audit: ['usage: liandong audit [--action NAME|PREFIX.*] [--actor WHO] [--limit N] [--json]   admin changes, newest first'],
};

export function adminCommand(name: string): Command {
  return async (args, config, out) => {
    try {
      switch (name) {
        case 'dialplan':
          return await dialplan(args, config, out);
        case 'endpoints':
          return await endpoints(args, config, out);
        case 'test-call':
          return await testCall(args, config, out);
        case 'policy':
          return await policy(args, config, out);
        case 'audit':
          return await audit(args, config, out);
        default:
          return usage(out, name, `unknown command "${name}"`);
      }
    } catch (err) {
      out(`error: ${err instanceof Error ? err.message : String(err)}`);
      return 1;
    }
  };
}

/** `--name value` and `--flag` options, and the positional arguments. */
export function parseArgs(args: readonly string[], valued: readonly string[]): { positional: string[]; options: Map<string, string[]>; flags: Set<string> } {
  const positional: string[] = [];
  const options = new Map<string, string[]>();
  const flags = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (!a.startsWith('--')) positional.push(a);
    else if (valued.includes(a)) {
      const v = args[i + 1];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      options.set(a, [...(options.get(a) ?? []), v]);
      i += 1;
    } else flags.add(a);
  }
  return { positional, options, flags };
}

class UsageError extends Error {}

function usage(out: Out, name: string, problem?: string): number {
  if (problem) out(`error: ${problem}`);
  for (const l of USAGE[name] ?? []) out(l);
  return 2;
}

/** The service's store (SQLite in WAL or PostgreSQL: safe next to the running service) for the whole of `fn`. */
async function withStore<T>(config: Config, fn: (departments: DepartmentStore, audit: AuditLog) => T | Promise<T>): Promise<T> {
  const store = await openStore(config.database);
  try {
    return await fn(await DepartmentStore.open(store, loadCatalog()), new AuditLog(store));
  } finally {
    await store.close();
  }
}

async function withAmi<T>(config: Config, fn: (ami: AmiClient) => Promise<T>): Promise<T> {
  const ami = new AmiClient({ ...config.ami, logger: createLogger('silent') });
  try {
    return await fn(ami);
  } finally {
    ami.close();
  }
}

async function dialplan(args: string[], config: Config, out: Out): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(args, ['--out', '--file', '--templates', '--telephony', '--etc']);
  } catch (err) {
    return usage(out, 'dialplan', (err as Error).message);
  }
  const { positional, options, flags } = parsed;
  const sources = { templatesDir: options.get('--templates')?.[0], telephonyFile: options.get('--telephony')?.[0] };
  const departmentIds = await withStore(config, (store) => new Set(store.current().departments.map((d) => d.id)));
  switch (positional[0]) {
    case 'render': {
      const report = await checkDialplan(config, { ...sources, departmentIds });
      if (report.rendered.size === 0) return printProblems(report.problems, out);
      const dir = options.get('--out')?.[0];
      if (dir) {
        fs.mkdirSync(dir, { recursive: true });
        for (const [name, text] of report.rendered) fs.writeFileSync(path.join(dir, name), text, { mode: 0o640 });
        out(`dialplan: wrote ${[...report.rendered.keys()].join(' ')} to ${path.resolve(dir)} (they hold passwords: keep them private)`);
        return 0;
      }
      const only = options.get('--file')?.[0];
      for (const [name, text] of report.rendered) {
        if (only !== undefined ? name !== only : name !== 'pjsip.conf' && name !== 'extensions.conf') continue;
        out(`;;;;;;;;;; ${name} ;;;;;;;;;;`);
        for (const line of redactSecrets(text).split('\n')) out(line);
      }
      return 0;
    }
    case 'check': {
      const report = await withAmi(config, (ami) => checkDialplan(config, { ...sources, departmentIds, keepScratch: flags.has('--keep'), catalog: () => loadAsteriskCatalog((c) => ami.command(c)) }));
      const code = printProblems(report.problems, out);
      if (report.scratchDir) out(`rendered files kept in ${report.scratchDir} (they hold passwords; remove the folder when done)`);
      if (code === 0) {
        const endpointCount = report.pjsipObjects.filter((o) => o.type === 'endpoint').length;
        out(`check passed: ${report.rendered.size} files rendered, ${endpointCount} PJSIP endpoint(s); names ${report.asteriskChecked ? 'checked against the running Asterisk' : 'NOT checked (Asterisk unreachable)'}`);
      }
      return code;
    }
    case 'reload': {
      const r = await withAmi(config, (ami) =>
        withStore(config, (_store, auditLog) => reloadDialplan(config, { ami, audit: auditLog, actor: cliActor(), departmentIds }, { ...sources, etcDir: options.get('--etc')?.[0] })),
      );
      for (const p of r.check.problems) out(formatProblem(p));
      if (r.status === 'refused' || r.status === 'rolled_back') {
        out(`dialplan: NOT reloaded (${r.status}): ${r.reason ?? ''}`);
        out('the running Asterisk keeps its current configuration');
        return 1;
      }
      out(r.status === 'unchanged' ? 'dialplan: nothing changed; nothing reloaded' : `dialplan: reloaded ${r.changed.join(', ')} in ${r.ms} ms (calls in progress continue)`);
      if (r.endpointsAdded.length) out(`  endpoints added: ${r.endpointsAdded.join(', ')}`);
      if (r.endpointsRemoved.length) out(`  endpoints removed: ${r.endpointsRemoved.join(', ')}`);
      if (r.needsRestart.length) out(`  changed but not reloadable: ${r.needsRestart.join(', ')} — apply with \`liandong asterisk up\` (restarts Asterisk and drops calls)`);
      return 0;
    }
    default:
      return usage(out, 'dialplan', positional[0] === undefined || positional[0] === 'help' ? undefined : `unknown command "${positional[0]}"`);
  }
}

function printProblems(problems: readonly { severity: string }[], out: Out): number {
  for (const p of problems) out(formatProblem(p as Parameters<typeof formatProblem>[0]));
  return problems.some((p) => p.severity === 'error') ? 1 : 0;
}

async function endpoints(args: string[], config: Config, out: Out): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(args, ['--telephony']);
  } catch (err) {
    return usage(out, 'endpoints', (err as Error).message);
  }
  let telephony;
  try {
    telephony = loadTelephonyConfig(parsed.options.get('--telephony')?.[0]);
  } catch (err) {
    if (!(err instanceof TelephonyConfigError)) throw err;
    out(`warning: ${err.message}`);
    telephony = { trunk: null, extensions: [], feedbackNumbers: [] };
  }
  const rows = await withAmi(config, (ami) => listEndpoints(ami, telephony));
  if (parsed.flags.has('--json')) out(JSON.stringify(rows, null, 2));
  else for (const line of formatEndpoints(rows)) out(line);
  return 0;
}

async function testCall(args: string[], config: Config, out: Out): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(args, ['--expect-key', '--ring']);
  } catch (err) {
    return usage(out, 'test-call', (err as Error).message);
  }
  const target = parsed.positional[0];
  if (target === undefined || parsed.positional.length > 1) return usage(out, 'test-call', 'give one target');
  const body: Record<string, unknown> = { target };
  const expectKey = parsed.options.get('--expect-key')?.[0];
  if (expectKey !== undefined) body.expectKey = expectKey;
  const ring = parsed.options.get('--ring')?.[0];
  if (ring !== undefined) body.ringTimeoutSeconds = Number(ring);
  const report = await adminApi<TestCallReport>(config, 'POST', '/api/v1/admin/test-call', body);
  if (parsed.flags.has('--json')) out(JSON.stringify(report, null, 2));
  else for (const line of formatTestCall(report)) out(line);
  return report.passed ? 0 : 1;
}

async function policy(args: string[], config: Config, out: Out): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(args, ['--policy', '--phone', '--at']);
  } catch (err) {
    return usage(out, 'policy', (err as Error).message);
  }
  const [sub, departmentId] = parsed.positional;
  if (sub !== 'dry-run' || departmentId === undefined) return usage(out, 'policy', sub === undefined || sub === 'help' ? undefined : 'expected: policy dry-run <department>');
  const pairs = (values: readonly string[], what: string): Record<string, string> => {
    const o: Record<string, string> = {};
    for (const item of values.flatMap((v) => v.split(','))) {
      const [k, v] = item.split('=');
      if (!k || v === undefined) throw new UsageError(`${what}: expected name=value, got "${item}"`);
      o[k.trim()] = v.trim();
    }
    return o;
  };
  let request;
  try {
    const policyFields = Object.fromEntries(Object.entries(pairs(parsed.options.get('--policy') ?? [], '--policy')).map(([k, v]) => [k, /^-?[0-9]+$/.test(v) ? Number(v) : v]));
    request = {
      departmentId,
      ...(parsed.options.has('--policy') ? { policy: policyFields } : {}),
      ...(parsed.options.has('--phone') ? { phones: pairs(parsed.options.get('--phone') ?? [], '--phone') } : {}),
      ...(parsed.flags.has('--major') ? { major: true } : {}),
      ...(parsed.options.has('--at') ? { at: parsed.options.get('--at')?.[0] } : {}),
    };
  } catch (err) {
    return usage(out, 'policy', (err as Error).message);
  }
  if (parsed.flags.has('--live')) return runLiveDryRunViaService(config, request, parsed.flags.has('--json'), out);
  try {
    const report = await withStore(config, async (store, auditLog) => {
      const plan = planDryRun(store, request, config.language, config.timezone);
      const r = await simulateDryRun(plan);
      await auditLog.record(cliActor(), 'policy.dry_run', { departmentId: plan.departmentId, mode: 'simulated', policy: plan.policy, phones: r.phones, major: plan.major, status: r.status, seconds: r.seconds, calls: r.calls });
      return r;
    });
    if (parsed.flags.has('--json')) out(JSON.stringify(report, null, 2));
    else for (const line of formatDryRun(report)) out(line);
    return 0;
  } catch (err) {
    if (err instanceof DryRunError) {
      out(`error: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

async function audit(args: string[], config: Config, out: Out): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(args, ['--action', '--actor', '--limit']);
  } catch (err) {
    return usage(out, 'audit', (err as Error).message);
  }
  const limit = Number(parsed.options.get('--limit')?.[0] ?? 30);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) return usage(out, 'audit', '--limit must be 1 to 500');
  const action = parsed.options.get('--action')?.[0];
  const actor = parsed.options.get('--actor')?.[0];
  const { entries } = await withStore(config, (_s, log) => log.list({ limit, ...(action ? { action } : {}), ...(actor ? { actor } : {}) }));
  if (parsed.flags.has('--json')) out(JSON.stringify(entries, null, 2));
  else if (entries.length === 0) out('audit: no entries');
  else for (const e of entries) out(`${e.at}  ${e.actor.padEnd(16)}  ${e.action.padEnd(20)}  ${JSON.stringify(e.detail)}`);
  return 0;
}
