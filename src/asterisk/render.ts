// Renders Asterisk's configuration from the templates in dialplans/ and the Config.
// The same function feeds the chroot (`liandong asterisk up`) and Docker
// (`liandong asterisk render --out docker/asterisk-etc`), so both run identical configs.
//
// Template syntax: `{{name}}` is replaced by a value (never one with a line break). A line
// holding `{{#name}}` (alone or after `;`) opens a section that ends at the line holding
// `{{/name}}`: the lines between are repeated once per item of the list `name` (none for an
// empty list), each item's values added to the others. The tag lines themselves are dropped.
// Every rendered line remembers its template line, so checks can point at what to edit.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTelephonyConfig, type TelephonyConfig } from '../admin/telephony-config.js';
import type { Config } from '../config.js';

/** Files written to /etc/asterisk, in this order. Each has a template of the same name. */
export const CONFIG_FILES = [
  'asterisk.conf',
  'modules.conf',
  'logger.conf',
  'http.conf',
  'ari.conf',
  'manager.conf',
  'pjsip.conf',
  'rtp.conf',
  'extensions.conf',
] as const;

/** Appended to extensions.conf only when config.asterisk.simPhones is true. */
export const SIM_PHONES_TEMPLATE = 'sim-phones.conf';

const PLACEHOLDER_RE = /\{\{([^{}]*)\}\}/g;
const NAME_RE = /^[a-z][a-z0-9_]*$/;
const CONTROL_RE = /[\r\n\0]/;

/** Locates dialplans/ from src/asterisk (tsx) or dist/src/asterisk (built), whichever runs. */
export function templatesDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'dialplans');
    if (fs.existsSync(path.join(candidate, 'modules.conf'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('dialplans/ (the Asterisk templates) not found above ' + path.dirname(fileURLToPath(import.meta.url)));
    dir = parent;
  }
}

/** Reads every template named in CONFIG_FILES plus sim-phones.conf. */
export function loadTemplates(dir: string = templatesDir()): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of [...CONFIG_FILES, SIM_PHONES_TEMPLATE]) {
    out.set(name, fs.readFileSync(path.join(dir, name), 'utf8'));
  }
  return out;
}

/** A placeholder's value, or a section's list of items (each item: more placeholder values). */
export type TemplateValue = string | undefined | ReadonlyArray<Readonly<Record<string, string>>>;
export type TemplateValues = Readonly<Record<string, TemplateValue>>;

/** Where a rendered line comes from: a template file (in dialplans/) and its 1-based line; null for a joining line. */
export type SourceLine = { readonly template: string; readonly line: number } | null;

export interface RenderedFile {
  readonly text: string;
  /** One entry per line of `text` (split on '\n'). */
  readonly origins: readonly SourceLine[];
}

/** A template that cannot be rendered: the file, its line, and what is wrong. */
export class TemplateError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${file}: ${problem} (line ${line})`);
    this.name = 'TemplateError';
  }
}

/** The placeholder values, all from Config. Throws when ARI_URL has no usable port. */
export function templateValues(config: Config): Record<string, string> {
  const bind = config.asterisk.bindAddress;
  return {
    bind_address: bind,
    http_port: String(ariPort(config)),
    ari_username: config.ari.username,
    ari_password: config.ari.password,
    ari_app: config.ari.app,
    ami_port: String(config.ami.port),
    ami_username: config.ami.username,
    ami_secret: config.ami.secret,
    // pjsip wants address:port, with brackets around an IPv6 address.
    sip_bind: `${bind.includes(':') ? `[${bind}]` : bind}:${config.asterisk.sipPort}`,
  };
}

/**
 * The sections and values from config/telephony.json (already validated: every value matches
 * a strict pattern) and whether the simulated phones are loaded.
 */
export function telephonyValues(telephony: TelephonyConfig, simPhones: boolean): TemplateValues {
  const t = telephony.trunk;
  const trunk = t ? { trunk_id: t.id, trunk_host: t.host, trunk_port: String(t.port), trunk_codecs: t.codecs.join(','), trunk_qualify: String(t.qualifySeconds) } : undefined;
  return {
    trunk: trunk ? [trunk] : [],
    trunk_registration: trunk && t?.mode === 'registration' ? [{ ...trunk, trunk_username: t.username, trunk_password: t.password, trunk_expiry: String(t.expirySeconds) }] : [],
    trunk_ip: trunk && t?.mode === 'ip' ? [{ ...trunk, trunk_match: t.match.join(',') }] : [],
    extensions: telephony.extensions.map((e) => ({ ext_number: e.number, ext_password: e.password, ext_codecs: e.codecs.join(',') })),
    feedback_numbers: telephony.feedbackNumbers.map((n) => ({ feedback_number: n })),
    sim_phones: simPhones ? [{}] : [],
  };
}

/** The TCP port of ARI_URL (80/443 when the URL names none). */
export function ariPort(config: Config): number {
  const url = new URL(config.ari.url);
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/**
 * Pure substitution of `{{name}}` placeholders and expansion of `{{#list}}` sections. Throws a
 * TemplateError naming the file, line and placeholder on a malformed or unknown placeholder, on
 * an empty value, on a section that is not closed, and on a value with CR, LF or NUL (it would
 * inject extra lines - sections, users - into the config file).
 */
export function renderTemplate(file: string, template: string, values: TemplateValues): string {
  return renderTemplateMapped(file, template, values).text;
}

/** renderTemplate, also giving each rendered line's template line. */
export function renderTemplateMapped(file: string, template: string, values: TemplateValues): RenderedFile {
  const lines = template.split('\n').map((text, i) => ({ text, line: i + 1 }));
  const out = expand(file, lines, values);
  return { text: out.map((l) => l.text).join('\n'), origins: out.map((l) => ({ template: file, line: l.line })) };
}

interface Line {
  readonly text: string;
  readonly line: number;
}

const SECTION_TAG_RE = /^\s*(?:;\s*)*\{\{\s*([#/])\s*([^{}]*?)\s*\}\}/;
const ANY_SECTION_TAG_RE = /\{\{\s*[#/]/;

function expand(file: string, lines: readonly Line[], values: TemplateValues): Line[] {
  const out: Line[] = [];
  for (let i = 0; i < lines.length; i++) {
    const current = lines[i] as Line;
    const tag = sectionTag(file, current);
    if (!tag) {
      out.push({ text: substitute(file, current, values), line: current.line });
      continue;
    }
    if (tag.kind === '/') throw new TemplateError(file, current.line, `{{/${tag.name}}} closes no open section`);
    const end = closingTag(file, lines, i, tag.name);
    const list = values[tag.name];
    if (list === undefined || !Object.prototype.hasOwnProperty.call(values, tag.name)) throw new TemplateError(file, current.line, `unknown section {{#${tag.name}}}`);
    if (!Array.isArray(list)) throw new TemplateError(file, current.line, `{{#${tag.name}}} is a value, not a list; write {{${tag.name}}}`);
    const body = lines.slice(i + 1, end);
    for (const item of list as ReadonlyArray<Readonly<Record<string, string>>>) out.push(...expand(file, body, { ...values, ...item }));
    i = end;
  }
  return out;
}

/** The section tag on a line, if the line is one; a tag anywhere else on a line is an error. */
function sectionTag(file: string, l: Line): { kind: '#' | '/'; name: string } | undefined {
  const m = SECTION_TAG_RE.exec(l.text);
  if (!m) {
    if (ANY_SECTION_TAG_RE.test(l.text)) throw new TemplateError(file, l.line, 'a {{#section}} or {{/section}} tag must start its line (after an optional ;)');
    return undefined;
  }
  const name = m[2] ?? '';
  if (!NAME_RE.test(name)) throw new TemplateError(file, l.line, `malformed section tag {{${m[1]}${name}}}`);
  return { kind: m[1] as '#' | '/', name };
}

/** Index of the `{{/name}}` line closing the section opened at `open`; nested sections must close in order. */
function closingTag(file: string, lines: readonly Line[], open: number, name: string): number {
  const stack: Array<{ name: string; line: number }> = [{ name, line: (lines[open] as Line).line }];
  for (let j = open + 1; j < lines.length; j++) {
    const tag = sectionTag(file, lines[j] as Line);
    if (!tag) continue;
    const line = (lines[j] as Line).line;
    if (tag.kind === '#') {
      stack.push({ name: tag.name, line });
      continue;
    }
    const top = stack.pop() as { name: string; line: number };
    if (top.name !== tag.name) throw new TemplateError(file, line, `{{/${tag.name}}} closes {{#${top.name}}} (opened on line ${top.line})`);
    if (stack.length === 0) return j;
  }
  throw new TemplateError(file, (lines[open] as Line).line, `{{#${name}}} is never closed with {{/${name}}}`);
}

function substitute(file: string, l: Line, values: TemplateValues): string {
  return l.text.replace(PLACEHOLDER_RE, (_match, raw: string) => {
    const name = raw.trim();
    if (!NAME_RE.test(name)) throw new TemplateError(file, l.line, `malformed placeholder {{${raw}}}`);
    if (!Object.prototype.hasOwnProperty.call(values, name)) throw new TemplateError(file, l.line, `unknown placeholder {{${name}}}`);
    const value = values[name];
    if (Array.isArray(value)) throw new TemplateError(file, l.line, `{{${name}}} is a list; repeat lines with {{#${name}}} … {{/${name}}}`);
    if (value === undefined || value === '') throw new TemplateError(file, l.line, `placeholder {{${name}}} has no value`);
    if (CONTROL_RE.test(value as string)) throw new TemplateError(file, l.line, `the value of {{${name}}} contains a line break or NUL`);
    return value as string;
  });
}

/** filename -> content for /etc/asterisk, from the given templates (default: dialplans/). */
export function renderAsteriskConfigs(
  config: Config,
  templates: ReadonlyMap<string, string> = loadTemplates(),
  telephony: TelephonyConfig = loadTelephonyConfig(),
): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, file] of renderAsteriskConfigsMapped(config, templates, telephony)) out.set(name, file.text);
  return out;
}

/** renderAsteriskConfigs, with each rendered line's template line (for checks and messages). */
export function renderAsteriskConfigsMapped(config: Config, templates: ReadonlyMap<string, string>, telephony: TelephonyConfig): Map<string, RenderedFile> {
  const values: TemplateValues = { ...templateValues(config), ...telephonyValues(telephony, config.asterisk.simPhones) };
  const get = (name: string): string => {
    const t = templates.get(name);
    if (t === undefined) throw new Error(`${name}: template missing from dialplans/`);
    return t;
  };
  const out = new Map<string, RenderedFile>();
  for (const name of CONFIG_FILES) {
    let file = renderTemplateMapped(name, get(name), values);
    if (name === 'extensions.conf' && config.asterisk.simPhones) {
      const sim = renderTemplateMapped(SIM_PHONES_TEMPLATE, get(SIM_PHONES_TEMPLATE), values);
      file = appendFile(file, sim);
    }
    out.set(name, file);
  }
  return out;
}

/** `a` without its trailing blank lines, one blank line, then `b`. */
function appendFile(a: RenderedFile, b: RenderedFile): RenderedFile {
  const lines = a.text.split('\n');
  const origins = [...a.origins];
  while (lines.length > 0 && lines[lines.length - 1] === '') {
    lines.pop();
    origins.pop();
  }
  return { text: [...lines, '', b.text].join('\n'), origins: [...origins, null, ...b.origins] };
}
