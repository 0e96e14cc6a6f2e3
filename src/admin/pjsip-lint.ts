// Checks of a rendered pjsip.conf that res_pjsip would otherwise only log while loading it
// (and then run without the broken object): every section has a known type, no object is
// defined twice, options exist (against the running Asterisk's own list when known), and every
// reference (aors, auth, transport, endpoint, context) points at something that exists.
import { closest, PJSIP_TYPES, type AsteriskCatalog } from './asterisk-catalog.js';
import type { ConfEntry, ConfSection, ParsedConf } from './conf-parse.js';

export interface Finding {
  /** 1-based line in the rendered file. */
  readonly line: number;
  readonly message: string;
}

/** A PJSIP object after template inheritance: its options, each with the line it came from. */
export interface PjsipObject {
  readonly name: string;
  readonly type: string;
  readonly line: number;
  readonly options: readonly ConfEntry[];
}

export interface PjsipLintResult {
  readonly findings: Finding[];
  readonly objects: PjsipObject[];
}

const list = (value: string): string[] => value.split(',').map((v) => v.trim()).filter((v) => v !== '');

/**
 * `contexts` are the dialplan contexts of the rendered extensions.conf (an endpoint's
 * `context` must be one of them); `catalog` is the running Asterisk's, when reachable.
 */
export function lintPjsip(conf: ParsedConf, contexts: ReadonlySet<string>, catalog?: AsteriskCatalog): PjsipLintResult {
  const findings: Finding[] = conf.problems.map((p) => ({ ...p }));
  const templates = new Map(conf.sections.filter((s) => s.isTemplate).map((s) => [s.name, s]));
  const objects: PjsipObject[] = [];
  const seen = new Map<string, number>();
  for (const section of conf.sections) {
    if (section.isTemplate) continue;
    const options = resolve(section, templates, findings, new Set());
    const types = options.filter((o) => o.key === 'type');
    const type = types[types.length - 1]?.value;
    if (type === undefined) {
      findings.push({ line: section.line, message: `[${section.name}] has no "type = …" (one of ${Object.keys(PJSIP_TYPES).join(', ')})` });
      continue;
    }
    if (!(type in PJSIP_TYPES) || (catalog && !catalog.pjsipOptions.has(type))) {
      const hint = closest(type, Object.keys(PJSIP_TYPES));
      findings.push({ line: types[types.length - 1]?.line ?? section.line, message: `[${section.name}]: unknown type "${type}"${hint ? ` (did you mean ${hint}?)` : ''}${type in PJSIP_TYPES ? ' (its module is not loaded in the running Asterisk)' : ''}` });
      continue;
    }
    const key = `${type}/${section.name}`;
    const first = seen.get(key);
    if (first !== undefined) findings.push({ line: section.line, message: `[${section.name}] type = ${type} is defined twice (first on line ${first}); Asterisk would keep only one` });
    seen.set(key, section.line);
    const known = catalog?.pjsipOptions.get(type);
    if (known) {
      for (const o of options) {
        if (o.key === 'type' || known.has(o.key)) continue;
        const hint = closest(o.key, known);
        findings.push({ line: o.line, message: `[${section.name}] type = ${type}: Asterisk has no option "${o.key}"${hint ? ` (did you mean ${hint}?)` : ''}` });
      }
    }
    objects.push({ name: section.name, type, line: section.line, options });
  }
  checkReferences(objects, contexts, findings);
  return { findings, objects };
}

/** The section's options with those inherited from its templates first (later ones win). */
function resolve(section: ConfSection, templates: ReadonlyMap<string, ConfSection>, findings: Finding[], visiting: Set<string>): ConfEntry[] {
  const out: ConfEntry[] = [];
  for (const name of section.inherits) {
    const t = templates.get(name);
    if (!t) {
      findings.push({ line: section.line, message: `[${section.name}] inherits from "${name}", which is not a template [${name}](!) above it` });
      continue;
    }
    if (visiting.has(name)) continue;
    visiting.add(name);
    out.push(...resolve(t, templates, findings, visiting));
  }
  return [...out, ...section.entries];
}

function checkReferences(objects: readonly PjsipObject[], contexts: ReadonlySet<string>, findings: Finding[]): void {
  const names = (type: string) => new Set(objects.filter((o) => o.type === type).map((o) => o.name));
  const byType = { aor: names('aor'), auth: names('auth'), transport: names('transport'), endpoint: names('endpoint') };
  const must = (o: PjsipObject, e: ConfEntry, type: keyof typeof byType, value: string): void => {
    if (!byType[type].has(value)) findings.push({ line: e.line, message: `[${o.name}] ${e.key} = ${value}: there is no [${value}] with type = ${type}` });
  };
  const last = (o: PjsipObject, key: string): ConfEntry | undefined => [...o.options].reverse().find((e) => e.key === key);
  for (const o of objects) {
    for (const e of o.options) {
      if (o.type === 'endpoint' && e.key === 'aors') for (const v of list(e.value)) must(o, e, 'aor', v);
      if (['endpoint', 'registration'].includes(o.type) && ['auth', 'outbound_auth'].includes(e.key)) for (const v of list(e.value)) must(o, e, 'auth', v);
      if (['endpoint', 'registration'].includes(o.type) && e.key === 'transport') must(o, e, 'transport', e.value);
      if (['registration', 'identify'].includes(o.type) && e.key === 'endpoint') must(o, e, 'endpoint', e.value);
      if (o.type === 'endpoint' && e.key === 'context' && !contexts.has(e.value)) {
        findings.push({ line: e.line, message: `[${o.name}] context = ${e.value}: extensions.conf has no [${e.value}] context; calls from it would be refused` });
      }
    }
    if (o.type === 'endpoint' && !last(o, 'aors') && !last(o, 'context')) findings.push({ line: o.line, message: `[${o.name}] type = endpoint has neither aors (cannot be called) nor context (cannot call in)` });
    if (o.type === 'auth') {
      const authType = last(o, 'auth_type')?.value ?? 'userpass';
      if (['digest', 'userpass', 'md5'].includes(authType) && !last(o, 'password') && !last(o, 'password_digest') && !last(o, 'md5_cred')) {
        findings.push({ line: o.line, message: `[${o.name}] type = auth has no password` });
      }
    }
    if (o.type === 'identify' && !last(o, 'match') && !last(o, 'match_header') && !last(o, 'match_request_uri')) findings.push({ line: o.line, message: `[${o.name}] type = identify has no match = …` });
    if (o.type === 'registration') {
      for (const key of ['server_uri', 'client_uri']) {
        const e = last(o, key);
        if (!e) findings.push({ line: o.line, message: `[${o.name}] type = registration needs ${key}` });
        else if (!/^sips?:/.test(e.value)) findings.push({ line: e.line, message: `[${o.name}] ${key} = ${e.value}: must be a sip: URI` });
      }
      if (last(o, 'line')?.value === 'yes' && !last(o, 'endpoint')) findings.push({ line: o.line, message: `[${o.name}] line = yes needs endpoint = <the trunk's endpoint>` });
    }
    if (o.type === 'transport' && !last(o, 'bind')) findings.push({ line: o.line, message: `[${o.name}] type = transport has no bind = address:port` });
  }
  if (objects.filter((o) => o.type === 'global').length > 1) findings.push({ line: objects.filter((o) => o.type === 'global')[1]?.line ?? 1, message: 'more than one type = global section' });
}
