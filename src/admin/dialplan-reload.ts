// `liandong dialplan reload`: check, then install only the changed files and reload their
// modules through AMI (res_pjsip, pbx_config), which leaves calls in progress alone. A file that
// fails the check is never installed; if Asterisk does not show the new objects after the
// reload, the previous files are put back and reloaded. Every run lands in the audit log.
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { asteriskPaths } from '../asterisk/types.js';
import { loadAsteriskCatalog } from './asterisk-catalog.js';
import type { AuditLog } from './audit.js';
import { parseConf } from './conf-parse.js';
import { checkDialplan, formatProblem, type CheckOptions, type CheckReport } from './dialplan-check.js';
import { dialplanContexts } from './dialplan-lint.js';
import { lintPjsip } from './pjsip-lint.js';

/** The AMI actions reload needs (AmiClient has them). */
export interface AmiPort {
  action(action: Readonly<Record<string, string>>): Promise<Readonly<Record<string, unknown>>>;
  command(command: string): Promise<string>;
}

/** Files a module reload applies, and the modules to reload, in order. */
export const RELOADABLE: Readonly<Record<string, readonly string[]>> = {
  'pjsip.conf': ['res_pjsip.so', 'res_pjsip_outbound_registration.so', 'res_pjsip_endpoint_identifier_ip.so'],
  'extensions.conf': ['pbx_config'],
};

export interface ReloadDeps {
  readonly ami: AmiPort;
  readonly audit: AuditLog;
  /** Who asked: `api:admin`, `cli:root`. */
  readonly actor: string;
  readonly departmentIds?: ReadonlySet<string>;
}

export interface ReloadOptions extends Pick<CheckOptions, 'templatesDir' | 'telephony' | 'telephonyFile'> {
  /** Asterisk's config folder (default: /etc/asterisk of liandong's own Asterisk root). */
  readonly etcDir?: string;
}

export type ReloadStatus = 'reloaded' | 'unchanged' | 'refused' | 'rolled_back';

export interface ReloadReport {
  readonly status: ReloadStatus;
  readonly check: CheckReport;
  /** Files installed and reloaded (or, when rolled back, put back). */
  readonly changed: readonly string[];
  /** Changed files a reload cannot apply: they wait for `liandong asterisk up` (a restart). */
  readonly needsRestart: readonly string[];
  readonly endpointsAdded: readonly string[];
  readonly endpointsRemoved: readonly string[];
  readonly etcDir: string;
  readonly reason?: string;
  readonly ms: number;
}

let queue: Promise<unknown> = Promise.resolve();

/** One reload at a time in this process. */
export function reloadDialplan(config: Config, deps: ReloadDeps, options: ReloadOptions = {}): Promise<ReloadReport> {
  const next = queue.then(() => reload(config, deps, options));
  // The caller gets next's failure; the queue only keeps the order, so it must not stop on it.
  queue = next.then(() => undefined, () => undefined);
  return next;
}

async function reload(config: Config, deps: ReloadDeps, options: ReloadOptions): Promise<ReloadReport> {
  const started = Date.now();
  const etcDir = options.etcDir ?? asteriskPaths(config).etcDir;
  const check = await checkDialplan(config, { ...options, departmentIds: deps.departmentIds, catalog: () => loadAsteriskCatalog((c) => deps.ami.command(c)) });
  const base = { check, etcDir, endpointsAdded: [] as string[], endpointsRemoved: [] as string[] };
  const finish = async (report: Omit<ReloadReport, 'ms'>): Promise<ReloadReport> => {
    const done = { ...report, ms: Date.now() - started };
    await deps.audit.record(deps.actor, 'dialplan.reload', auditDetail(done));
    return done;
  };
  if (!check.ok) {
    return finish({ ...base, status: 'refused', changed: [], needsRestart: [], reason: 'the check found errors; nothing was installed' });
  }
  if (!fs.existsSync(etcDir)) {
    return finish({ ...base, status: 'refused', changed: [], needsRestart: [], reason: `${etcDir} does not exist (start Asterisk with \`liandong asterisk up\`, or give --etc DIR)` });
  }
  const live = new Map<string, string | undefined>();
  for (const name of check.rendered.keys()) live.set(name, readOrUndefined(path.join(etcDir, name)));
  const differing = [...check.rendered].filter(([name, text]) => live.get(name) !== text).map(([name]) => name);
  const changed = differing.filter((n) => n in RELOADABLE);
  const needsRestart = differing.filter((n) => !(n in RELOADABLE));
  const before = endpointNames(live.get('pjsip.conf') ?? '');
  const after = new Set(check.pjsipObjects.filter((o) => o.type === 'endpoint').map((o) => o.name));
  const delta = { endpointsAdded: [...after].filter((e) => !before.has(e)), endpointsRemoved: [...before].filter((e) => !after.has(e)) };
  if (changed.length === 0) return finish({ ...base, status: 'unchanged', changed, needsRestart });

  for (const name of changed) install(etcDir, name, check.rendered.get(name) ?? '');
  try {
    await reloadModules(deps.ami, changed);
    await verify(deps.ami, check, delta.endpointsRemoved);
  } catch (err) {
    // Put the previous files back so Asterisk's files and its memory agree again.
    for (const name of changed) {
      const previous = live.get(name);
      if (previous === undefined) fs.rmSync(path.join(etcDir, name), { force: true });
      else install(etcDir, name, previous);
    }
    const rollback = await reloadModules(deps.ami, changed).then(
      () => 'the previous files were put back and reloaded',
      (e: unknown) => `the previous files were put back but reloading them failed too (${(e as Error).message}); run \`liandong dialplan reload\` again`,
    );
    return finish({ ...base, ...delta, status: 'rolled_back', changed, needsRestart, reason: `${(err as Error).message}; ${rollback}` });
  }
  // Outside the try: a failed audit write is the caller's error, not a reason to roll back.
  return finish({ ...base, ...delta, status: 'reloaded', changed, needsRestart });
}

async function reloadModules(ami: AmiPort, files: readonly string[]): Promise<void> {
  for (const file of files) {
    for (const module of RELOADABLE[file] ?? []) await ami.action({ Action: 'Reload', Module: module });
  }
}

/** Asterisk shows every endpoint and context of the new files (and none of the removed endpoints). */
async function verify(ami: AmiPort, check: CheckReport, removed: readonly string[]): Promise<void> {
  const shown = parseEndpointList(await ami.command('pjsip show endpoints'));
  const missing = check.pjsipObjects.filter((o) => o.type === 'endpoint' && !shown.has(o.name)).map((o) => o.name);
  if (missing.length > 0) throw new Error(`after the reload Asterisk does not list the endpoint(s) ${missing.join(', ')}`);
  const lingering = removed.filter((e) => shown.has(e));
  if (lingering.length > 0) throw new Error(`after the reload Asterisk still lists the removed endpoint(s) ${lingering.join(', ')}`);
  const contexts = new Set([...(await ami.command('dialplan show')).matchAll(/\[ Context '([^']+)' created by 'pbx_config' \]/g)].map((m) => m[1]));
  const expected = dialplanContexts(parseConf(check.rendered.get('extensions.conf') ?? ''));
  const absent = [...expected].filter((c) => !contexts.has(c));
  if (absent.length > 0) throw new Error(`after the reload Asterisk has no dialplan context(s) ${absent.join(', ')}`);
}

/** Endpoint names in `pjsip show endpoints` output ("No objects found." → none). */
export function parseEndpointList(output: string): Set<string> {
  const out = new Set<string>();
  for (const m of output.matchAll(/^\s*Endpoint:\s+([^\s/<]+)/gm)) if (m[1]) out.add(m[1]);
  return out;
}

function endpointNames(pjsipText: string): Set<string> {
  const parsed = lintPjsip(parseConf(pjsipText), new Set());
  return new Set(parsed.objects.filter((o) => o.type === 'endpoint').map((o) => o.name));
}

/** Atomic replace (write, then rename) with the owner and mode of the file it replaces. */
function install(etcDir: string, name: string, text: string): void {
  const file = path.join(etcDir, name);
  const owner = fs.statSync(fs.existsSync(file) ? file : etcDir);
  const tmp = path.join(etcDir, `.${name}.liandong-${process.pid}`);
  fs.writeFileSync(tmp, text, { mode: 0o640 });
  fs.chmodSync(tmp, 0o640); // the files hold passwords
  if (process.getuid?.() === 0) fs.chownSync(tmp, owner.uid, owner.gid);
  fs.renameSync(tmp, file);
}

function readOrUndefined(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function auditDetail(r: ReloadReport): Record<string, unknown> {
  const t = r.check.telephony;
  const errors = r.check.problems.filter((p) => p.severity === 'error');
  return {
    status: r.status,
    changed: r.changed,
    needsRestart: r.needsRestart,
    endpointsAdded: r.endpointsAdded,
    endpointsRemoved: r.endpointsRemoved,
    trunk: t?.trunk ? { id: t.trunk.id, mode: t.trunk.mode, host: t.trunk.host } : null,
    extensions: t?.extensions.length ?? null,
    errors: errors.slice(0, 10).map(formatProblem),
    ...(r.reason ? { reason: r.reason } : {}),
    ms: r.ms,
  };
}
