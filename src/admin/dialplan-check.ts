// `liandong dialplan check`: render the templates (dialplans/) with config/telephony.json into a
// scratch folder and validate the result before anything goes live. Problems point at the line
// an admin edits (the template line, or the JSON field) and say what is wrong.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config.js';
import { CONFIG_FILES, loadTemplates, renderAsteriskConfigsMapped, templatesDir, TemplateError, type RenderedFile } from '../asterisk/render.js';
import type { AsteriskCatalog } from './asterisk-catalog.js';
import { parseConf } from './conf-parse.js';
import { dialplanContexts, lintDialplan } from './dialplan-lint.js';
import { lintPjsip, type Finding, type PjsipObject } from './pjsip-lint.js';
import { loadTelephonyConfig, TELEPHONY_FILE, TelephonyConfigError, type TelephonyConfig } from './telephony-config.js';

export interface CheckProblem {
  readonly severity: 'error' | 'warning';
  /** What to edit: `dialplans/pjsip.conf`, `config/telephony.json`, or a rendered file name. */
  readonly file: string;
  readonly line?: number;
  /** Where the problem is in the rendered file, when it differs from `file`. */
  readonly rendered?: { readonly file: string; readonly line: number };
  readonly message: string;
}

export interface CheckOptions {
  /** Templates folder (default: dialplans/ of this checkout). */
  readonly templatesDir?: string;
  /** Telephony config file (default config/telephony.json), or an already validated config. */
  readonly telephonyFile?: string;
  readonly telephony?: TelephonyConfig;
  /** The running Asterisk's names (applications, functions, PJSIP options); rejects when unreachable. */
  readonly catalog?: () => Promise<AsteriskCatalog>;
  /** Member department ids, to check each extension's departmentId. */
  readonly departmentIds?: ReadonlySet<string>;
  /** Keep the scratch folder (it holds passwords: 0700) instead of removing it. */
  readonly keepScratch?: boolean;
}

export interface CheckReport {
  readonly ok: boolean;
  readonly problems: readonly CheckProblem[];
  /** Rendered file name → text; empty when rendering failed. */
  readonly rendered: ReadonlyMap<string, string>;
  readonly pjsipObjects: readonly PjsipObject[];
  readonly telephony: TelephonyConfig | null;
  /** The scratch folder, when kept. */
  readonly scratchDir: string | null;
  /** Whether names were checked against the running Asterisk. */
  readonly asteriskChecked: boolean;
}

export async function checkDialplan(config: Config, options: CheckOptions = {}): Promise<CheckReport> {
  const problems: CheckProblem[] = [];
  const dir = options.templatesDir ?? templatesDir();
  const relative = path.relative(process.cwd(), dir);
  const shown = (name: string): string => path.join(relative.startsWith('..') ? dir : relative || '.', name);
  const telephonyFile = options.telephonyFile ?? TELEPHONY_FILE;
  const empty = (telephony: TelephonyConfig | null): CheckReport => ({ ok: false, problems, rendered: new Map(), pjsipObjects: [], telephony, scratchDir: null, asteriskChecked: false });

  let telephony: TelephonyConfig;
  try {
    telephony = options.telephony ?? loadTelephonyConfig(telephonyFile);
  } catch (err) {
    if (!(err instanceof TelephonyConfigError)) throw err;
    for (const p of err.problems) problems.push({ severity: 'error', file: telephonyFile, message: p });
    return empty(null);
  }
  problems.push(...telephonyWarnings(config, telephony, options.departmentIds, telephonyFile));

  let files: Map<string, RenderedFile>;
  try {
    files = renderAsteriskConfigsMapped(config, loadTemplates(dir), telephony);
  } catch (err) {
    if (err instanceof TemplateError) problems.push({ severity: 'error', file: shown(err.file), line: err.line, message: err.problem });
    else problems.push({ severity: 'error', file: shown(''), message: (err as Error).message });
    return empty(telephony);
  }

  const scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-dialplan-check-'));
  fs.chmodSync(scratchDir, 0o700);
  for (const [name, file] of files) fs.writeFileSync(path.join(scratchDir, name), file.text, { mode: 0o600 });

  let catalog: AsteriskCatalog | undefined;
  if (options.catalog) {
    try {
      catalog = await options.catalog();
    } catch (err) {
      problems.push({ severity: 'warning', file: 'asterisk', message: `the running Asterisk did not answer (${(err as Error).message}); application, function and PJSIP option names were not checked` });
    }
  }

  // Read back from the scratch folder: what is checked is exactly what would be installed.
  const read = (name: string) => parseConf(fs.readFileSync(path.join(scratchDir, name), 'utf8'));
  const located = (name: string) => (f: Finding): Omit<CheckProblem, 'severity'> => locate(name, files.get(name), f, shown);
  for (const name of CONFIG_FILES) {
    if (name === 'pjsip.conf' || name === 'extensions.conf') continue;
    problems.push(...read(name).problems.map((p) => ({ severity: 'error' as const, ...located(name)(p) })));
  }
  const extensions = read('extensions.conf');
  const pjsip = lintPjsip(read('pjsip.conf'), dialplanContexts(extensions), catalog);
  const endpoints = new Set(pjsip.objects.filter((o) => o.type === 'endpoint').map((o) => o.name));
  problems.push(...pjsip.findings.map((f) => ({ severity: 'error' as const, ...located('pjsip.conf')(f) })));
  problems.push(...lintDialplan(extensions, endpoints, catalog).map((f) => ({ severity: 'error' as const, ...located('extensions.conf')(f) })));

  if (!options.keepScratch) fs.rmSync(scratchDir, { recursive: true, force: true });
  const rendered = new Map([...files].map(([name, f]) => [name, f.text]));
  return {
    ok: !problems.some((p) => p.severity === 'error'),
    problems,
    rendered,
    pjsipObjects: pjsip.objects,
    telephony,
    scratchDir: options.keepScratch ? scratchDir : null,
    asteriskChecked: catalog !== undefined,
  };
}

/** A finding in a rendered file, pointed at the template line it came from. */
function locate(name: string, file: RenderedFile | undefined, f: Finding, shown: (name: string) => string): Omit<CheckProblem, 'severity'> {
  const origin = file?.origins[f.line - 1];
  if (!origin) return { file: name, line: f.line, message: f.message };
  return { file: shown(origin.template), line: origin.line, rendered: { file: name, line: f.line }, message: f.message };
}

/** Problems that are not in any file but in how the pieces fit together. */
function telephonyWarnings(config: Config, t: TelephonyConfig, departmentIds: ReadonlySet<string> | undefined, file: string): CheckProblem[] {
  const out: CheckProblem[] = [];
  for (const [i, e] of t.extensions.entries()) {
    if (departmentIds && !departmentIds.has(e.departmentId)) out.push({ severity: 'error', file, message: `extensions[${i}].departmentId: there is no member department "${e.departmentId}"` });
    if (config.asterisk.simPhones && /^7[0-6]/.test(e.number)) out.push({ severity: 'warning', file, message: `extensions[${i}].number ${e.number} hides the simulated phone with the same number (sim-phones 70…–76…)` });
  }
  // Unset (a CLI check run without it): there is no dial template to compare the telephony config with.
  const outbound = config.dialTemplate === '' || config.dialTemplate.endsWith('@liandong-outbound');
  if (t.extensions.length > 0 && !outbound) {
    out.push({ severity: 'warning', file: 'LIANDONG_DIAL_TEMPLATE', message: `is "${config.dialTemplate}": contacts whose number is an extension ring that phone only with Local/{number}@liandong-outbound` });
  }
  const trunkDial = /^PJSIP\/\{number\}@(.+)$/.exec(config.dialTemplate)?.[1];
  if (trunkDial !== undefined && trunkDial !== t.trunk?.id) {
    out.push({ severity: 'warning', file: 'LIANDONG_DIAL_TEMPLATE', message: `dials over the endpoint "${trunkDial}", but ${file} ${t.trunk ? `names the trunk "${t.trunk.id}"` : 'has no trunk'}` });
  }
  if (config.profile === 'production' && t.trunk === null) out.push({ severity: 'warning', file, message: 'trunk: null — no carrier trunk, so only extensions can be called' });
  return out;
}

/** One line per problem: `file:line: message (rendered file:line)`. */
export function formatProblem(p: CheckProblem): string {
  const where = p.line !== undefined ? `${p.file}:${p.line}` : p.file;
  const rendered = p.rendered ? ` (rendered ${p.rendered.file}:${p.rendered.line})` : '';
  return `${p.severity}: ${where}: ${p.message}${rendered}`;
}
