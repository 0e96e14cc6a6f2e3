// What the running Asterisk knows: its dialplan applications, functions and the option names of
// each PJSIP object type, read from its own CLI help (over AMI) so `dialplan check` validates
// against the Asterisk that will load the files, not against a list that could go stale.

/** Runs one Asterisk CLI command and returns its output (AmiClient.command). */
export type RunCommand = (command: string) => Promise<string>;

export interface AsteriskCatalog {
  /** Lower-case name → name as Asterisk spells it: applications match case-insensitively. */
  readonly applications: ReadonlyMap<string, string>;
  /** Lower-case function names. */
  readonly functions: ReadonlySet<string>;
  /** PJSIP object type → its option names. */
  readonly pjsipOptions: ReadonlyMap<string, ReadonlySet<string>>;
}

/** PJSIP object types and the module documenting them (`config show help <module> <type>`). */
export const PJSIP_TYPES: Readonly<Record<string, string>> = {
  endpoint: 'res_pjsip',
  auth: 'res_pjsip',
  aor: 'res_pjsip',
  transport: 'res_pjsip',
  global: 'res_pjsip',
  system: 'res_pjsip',
  contact: 'res_pjsip',
  domain_alias: 'res_pjsip',
  registration: 'res_pjsip_outbound_registration',
  identify: 'res_pjsip_endpoint_identifier_ip',
  acl: 'res_pjsip_acl',
};

/** Runs the commands one after another: AmiClient takes one action at a time while it connects. */
export async function loadAsteriskCatalog(run: RunCommand): Promise<AsteriskCatalog> {
  const apps = await run('core show applications');
  const funcs = await run('core show functions');
  const pjsipOptions = new Map<string, ReadonlySet<string>>();
  for (const [type, module] of Object.entries(PJSIP_TYPES)) {
    const options = parseConfigOptions(await run(`config show help ${module} ${type}`));
    // An unloaded module documents nothing; its type then counts as unknown to this Asterisk.
    if (options.size > 0) pjsipOptions.set(type, options);
  }
  const applications = parseApplications(apps);
  if (applications.size === 0) throw new Error('Asterisk listed no dialplan applications (is pbx_config loaded?)');
  return { applications, functions: parseFunctions(funcs), pjsipOptions };
}

/** `core show applications`: "            Dial: Attempt to connect …". */
export function parseApplications(output: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of output.split('\n')) {
    const m = /^\s*([A-Za-z][A-Za-z0-9_]*): /.exec(line);
    if (m?.[1]) out.set(m[1].toLowerCase(), m[1]);
  }
  return out;
}

/** `core show functions`: "CALLERID              CALLERID(datatype[,CID])   Gets or sets …". */
export function parseFunctions(output: string): Set<string> {
  const out = new Set<string>();
  for (const line of output.split('\n')) {
    const m = /^([A-Za-z][A-Za-z0-9_]*)\s+\S+\(/.exec(line);
    if (m?.[1]) out.add(m[1].toLowerCase());
  }
  return out;
}

/** `config show help <module> <type>`: the names under "[Config Options]". */
export function parseConfigOptions(output: string): Set<string> {
  const out = new Set<string>();
  const start = output.indexOf('[Config Options]');
  if (start < 0) return out;
  for (const line of output.slice(start).split('\n').slice(1)) {
    const m = /^([a-z0-9_]+)\s+--/.exec(line);
    if (m?.[1]) out.add(m[1]);
  }
  return out;
}

/**
 * The closest name for a "did you mean" hint: at most 1 edit for names up to 5 characters,
 * 2 for longer ones (a swap of two neighbouring letters counts as one edit).
 */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const a = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = a.length <= 5 ? 2 : 3;
  for (const c of candidates) {
    const d = editDistance(a, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}
