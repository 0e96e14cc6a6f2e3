// Checks of a rendered extensions.conf. pbx_config loads a broken line with a warning (or skips
// it) and keeps going, so a typo becomes a silently missing extension in the live dialplan.
// Here it is an error with its line: statement shape, priorities, brackets, applications and
// functions (against the running Asterisk when known), includes, Goto contexts, Dial endpoints.
import { closest, type AsteriskCatalog } from './asterisk-catalog.js';
import type { ConfEntry, ParsedConf } from './conf-parse.js';
import type { Finding } from './pjsip-lint.js';

const SPECIAL_SECTIONS = new Set(['general', 'globals']);
const STATEMENTS = new Set(['exten', 'same', 'include', 'switch', 'ignorepat']);
const LITERAL_EXTEN_RE = /^[0-9A-Za-z*#+-]+$/;
const PATTERN_EXTEN_RE = /^_[0-9A-Za-z*#+.![\]-]+$/;
const PRIORITY_RE = /^(?:([0-9]+)|(n)|(hint))(?:\(([A-Za-z0-9_-]+)\))?$/;
const APP_RE = /^([A-Za-z][A-Za-z0-9_]*)\s*(?:\((.*)\))?$/s;

/** The context names defined in an extensions.conf. */
export function dialplanContexts(conf: ParsedConf): Set<string> {
  return new Set(conf.sections.filter((s) => !SPECIAL_SECTIONS.has(s.name)).map((s) => s.name));
}

/** `endpoints`: the PJSIP endpoint names of the rendered pjsip.conf (for Dial(PJSIP/…)). */
export function lintDialplan(conf: ParsedConf, endpoints: ReadonlySet<string>, catalog?: AsteriskCatalog): Finding[] {
  const findings: Finding[] = conf.problems.map((p) => ({ ...p }));
  const contexts = dialplanContexts(conf);
  const firstContext = new Map<string, number>();
  for (const section of conf.sections) {
    if (SPECIAL_SECTIONS.has(section.name)) continue;
    const again = firstContext.get(section.name);
    // pbx_config merges a repeated context silently; in a generated file it is a mistake.
    if (again !== undefined) findings.push({ line: section.line, message: `[${section.name}] is defined a second time (first on line ${again}); its extensions would be merged` });
    firstContext.set(section.name, section.line);
    let current: { exten: string; priorities: Set<number>; last: number } | undefined;
    const extensions = new Map<string, number>();
    for (const e of section.entries) {
      const where = `[${section.name}] ${e.key} ${e.arrow ? '=>' : '='} ${e.value}`;
      if (!STATEMENTS.has(e.key)) {
        findings.push({ line: e.line, message: `${where}: "${e.key}" is not a dialplan statement (exten, same, include, switch, ignorepat)` });
        continue;
      }
      if (!e.arrow && (e.key === 'exten' || e.key === 'same')) findings.push({ line: e.line, message: `${where}: write "${e.key} =>"` });
      if (e.key === 'include') {
        const target = (e.value.split(',')[0] ?? '').trim();
        if (!contexts.has(target)) findings.push({ line: e.line, message: `${where}: there is no context [${target}] to include` });
        continue;
      }
      if (e.key !== 'exten' && e.key !== 'same') continue;
      const parts = splitTop(e.value, e.key === 'exten' ? 3 : 2);
      const [exten, priority, app] = e.key === 'exten' ? parts : [current?.exten, parts[0], parts[1]];
      if (e.key === 'same' && current === undefined) {
        findings.push({ line: e.line, message: `${where}: "same =>" needs an "exten =>" line before it in this context` });
        continue;
      }
      if (exten === undefined || priority === undefined || app === undefined || app.trim() === '') {
        findings.push({ line: e.line, message: `${where}: expected ${e.key === 'exten' ? 'exten => <extension>,<priority>,<Application(args)>' : 'same => <priority>,<Application(args)>'}` });
        continue;
      }
      if (e.key === 'exten') {
        const name = exten.split('/')[0] ?? exten;
        if (!(name.startsWith('_') ? PATTERN_EXTEN_RE.test(name) && balanced(name, '[', ']') : LITERAL_EXTEN_RE.test(name))) {
          findings.push({ line: e.line, message: `${where}: "${exten}" is not a valid extension or _pattern` });
        }
      }
      const p = PRIORITY_RE.exec(priority.trim());
      if (!p) {
        findings.push({ line: e.line, message: `${where}: "${priority}" is not a priority (a number, n or hint, with an optional (label))` });
        continue;
      }
      if (e.key === 'exten' && exten !== current?.exten) {
        const seen = extensions.get(exten);
        if (seen !== undefined && p[1] === '1') findings.push({ line: e.line, message: `${where}: extension ${exten} already starts on line ${seen}` });
        if (p[2] !== undefined && seen === undefined) findings.push({ line: e.line, message: `${where}: priority n before any priority 1 of ${exten}` });
        if (seen === undefined) extensions.set(exten, e.line);
        current = { exten, priorities: new Set(), last: 0 };
      }
      if (current === undefined || p[3] !== undefined) continue;
      const number = p[1] !== undefined ? Number(p[1]) : current.last + 1;
      if (current.priorities.has(number)) findings.push({ line: e.line, message: `${where}: priority ${number} of ${current.exten} is used twice` });
      current.priorities.add(number);
      current.last = number;
      findings.push(...checkApplication(e, where, app.trim(), contexts, endpoints, catalog));
    }
  }
  return findings;
}

function checkApplication(e: ConfEntry, where: string, app: string, contexts: ReadonlySet<string>, endpoints: ReadonlySet<string>, catalog?: AsteriskCatalog): Finding[] {
  const out: Finding[] = [];
  const m = APP_RE.exec(app);
  if (!m?.[1]) {
    const reason = app.includes('(') && !app.endsWith(')') ? 'the closing ")" is missing' : 'expected Application(arguments)';
    return [{ line: e.line, message: `${where}: ${reason}` }];
  }
  const name = m[1];
  const args = m[2] ?? '';
  for (const [open, close, what] of [['(', ')', 'parentheses'], ['${', '}', '${…} expressions'], ['$[', ']', '$[…] expressions']] as const) {
    if (!balanced(args, open, close)) out.push({ line: e.line, message: `${where}: unbalanced ${what} in the arguments of ${name}` });
  }
  if (catalog && !catalog.applications.has(name.toLowerCase())) {
    const hint = closest(name, catalog.applications.values());
    out.push({ line: e.line, message: `${where}: the running Asterisk has no application "${name}"${hint ? ` (did you mean ${hint}?)` : ' (its module is not loaded: see dialplans/modules.conf)'}` });
  }
  if (catalog) {
    for (const fm of args.matchAll(/\$\{([A-Za-z][A-Za-z0-9_]*)\(/g)) {
      const fn = fm[1] ?? '';
      if (!catalog.functions.has(fn.toLowerCase())) out.push({ line: e.line, message: `${where}: the running Asterisk has no function ${fn}()` });
    }
  }
  const lower = name.toLowerCase();
  const argv = splitTop(args, 99).map((a) => a.trim());
  if ((lower === 'goto' && argv.length === 3) || (lower === 'gotoif' && /[?:][^,]*,[^,]*,/.test(args))) {
    const target = lower === 'goto' ? argv[0] : /[?:]\s*([^,:?]+),/.exec(args)?.[1]?.trim();
    if (target && !target.includes('$') && !contexts.has(target)) out.push({ line: e.line, message: `${where}: ${name} goes to context [${target}], which does not exist` });
  }
  if (lower === 'dial') {
    for (const dest of (argv[0] ?? '').split('&')) {
      const pj = /^PJSIP\/([^@]*)(?:@(.*))?$/i.exec(dest.trim());
      if (!pj) continue;
      const endpoint = pj[2] ?? pj[1] ?? '';
      if (endpoint && !endpoint.includes('$') && !endpoints.has(endpoint)) out.push({ line: e.line, message: `${where}: Dial to PJSIP endpoint "${endpoint}", which pjsip.conf does not define` });
    }
  }
  return out;
}

/** Splits on commas outside (), ${} and $[], keeping the last field whole after `max - 1` splits. */
export function splitTop(value: string, max: number): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '(' || c === '{' || c === '[') depth += 1;
    else if ((c === ')' || c === '}' || c === ']') && depth > 0) depth -= 1;
    else if (c === ',' && depth === 0 && out.length < max - 1) {
      out.push(value.slice(start, i));
      start = i + 1;
    }
  }
  out.push(value.slice(start));
  return out;
}

function balanced(text: string, open: string, close: string): boolean {
  if (open.length === 1) {
    let depth = 0;
    for (const c of text) {
      if (c === open) depth += 1;
      else if (c === close) depth -= 1;
      if (depth < 0) return false;
    }
    return depth === 0;
  }
  // "${" and "$[": each opening needs a matching closer after it, nesting counted by brackets.
  let i = text.indexOf(open);
  while (i >= 0) {
    let depth = 1;
    let j = i + open.length;
    for (; j < text.length && depth > 0; j++) {
      if (text.startsWith(open, j)) {
        depth += 1;
        j += open.length - 1;
      } else if (text[j] === close) depth -= 1;
    }
    if (depth !== 0) return false;
    i = text.indexOf(open, i + open.length);
  }
  return true;
}
