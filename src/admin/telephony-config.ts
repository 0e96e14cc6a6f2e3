// config/telephony.json: the carrier trunk, the department SIP extensions and the feedback-line
// numbers, validated once. Its values end up inside pjsip.conf and extensions.conf lines, so
// every field is checked against a strict pattern here; nothing else reaches the templates.
import fs from 'node:fs';
import path from 'node:path';

/** Where the file lives, relative to the working directory (like config/departments.json). */
export const TELEPHONY_FILE = path.join('config', 'telephony.json');

/** Codecs with a loaded codec module (dialplans/modules.conf); A-law first: China's PSTN uses it. */
export const CODECS = ['alaw', 'ulaw', 'gsm'] as const;
export type Codec = (typeof CODECS)[number];

export interface RegistrationTrunk {
  readonly id: string;
  /** We register to the carrier with a username and password (most SIP trunks for small sites). */
  readonly mode: 'registration';
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly codecs: readonly Codec[];
  /** Seconds between OPTIONS pings to the carrier (reachability); 0 turns them off. */
  readonly qualifySeconds: number;
  /** Seconds a registration lasts before it is renewed. */
  readonly expirySeconds: number;
}

export interface IpTrunk {
  readonly id: string;
  /** The carrier recognises us by our IP address; no registration, no password. */
  readonly mode: 'ip';
  readonly host: string;
  readonly port: number;
  /** Addresses (IPv4, optional /prefix) the carrier's calls come from; default: host. */
  readonly match: readonly string[];
  readonly codecs: readonly Codec[];
  readonly qualifySeconds: number;
}

export type Trunk = RegistrationTrunk | IpTrunk;

export interface Extension {
  /** What a contact's number is set to for this phone, and its SIP username: 3 to 8 digits. */
  readonly number: string;
  /** The member department whose duty room has this phone. */
  readonly departmentId: string;
  /** For people reading the lists (endpoints, logs); never rendered into Asterisk files. */
  readonly label: string;
  readonly password: string;
  readonly codecs: readonly Codec[];
}

export interface TelephonyConfig {
  readonly trunk: Trunk | null;
  readonly extensions: readonly Extension[];
  /** Dialled numbers (trunk DIDs, short codes from extensions) answered by the feedback IVR. */
  readonly feedbackNumbers: readonly string[];
}

export class TelephonyConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file} is not valid:\n  - ${problems.join('\n  - ')}`);
    this.name = 'TelephonyConfigError';
  }
}

const ID_RE = /^[a-z][a-z0-9-]{1,31}$/;
const HOST_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const IPV4_RE = /^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}(\/([0-9]|[12][0-9]|3[0-2]))?$/;
const SIP_USER_RE = /^[A-Za-z0-9_.+-]{1,64}$/;
const EXTENSION_RE = /^[0-9]{3,8}$/;
const DIAL_NUMBER_RE = /^\+?[0-9]{3,20}$/;
// Printed into pjsip.conf: no whitespace, ';' (comment), '#', '"', '\' or '[' ']'.
const SECRET_RE = /^[\x21-\x7e]+$/;
const SECRET_FORBIDDEN_RE = /[;#"\\[\]]/;
/** The example file's placeholder passwords; a config that still has one is refused. */
export const PLACEHOLDER_SECRET = 'CHANGE-ME';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads and validates the file; throws TelephonyConfigError listing every problem. */
export function loadTelephonyConfig(file: string = TELEPHONY_FILE): TelephonyConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new TelephonyConfigError(file, [why]);
  }
  const result = validateTelephonyConfig(raw);
  if (!result.ok) throw new TelephonyConfigError(file, result.problems);
  return result.value;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/** Pure: a parsed JSON value → a TelephonyConfig, or every problem with its JSON path. */
export function validateTelephonyConfig(raw: unknown): Validated<TelephonyConfig> {
  const problems: string[] = [];
  if (!isObject(raw)) return { ok: false, problems: ['the file must hold a JSON object {trunk, extensions, feedbackNumbers}'] };
  unknownFields(raw, ['$comment', 'trunk', 'extensions', 'feedbackNumbers'], '', problems);
  const trunk = raw.trunk === null || raw.trunk === undefined ? null : trunkOf(raw.trunk, problems);
  const extensions: Extension[] = [];
  if (raw.extensions !== undefined && !Array.isArray(raw.extensions)) problems.push('extensions: must be a list');
  else for (const [i, e] of ((raw.extensions as unknown[] | undefined) ?? []).entries()) {
    const ext = extensionOf(e, `extensions[${i}]`, problems);
    if (ext) extensions.push(ext);
  }
  const feedbackNumbers: string[] = [];
  if (raw.feedbackNumbers !== undefined && !Array.isArray(raw.feedbackNumbers)) problems.push('feedbackNumbers: must be a list of numbers (strings)');
  else for (const [i, n] of ((raw.feedbackNumbers as unknown[] | undefined) ?? []).entries()) {
    if (typeof n !== 'string' || !DIAL_NUMBER_RE.test(n)) problems.push(`feedbackNumbers[${i}]: must be 3 to 20 digits with an optional leading +, as a string`);
    else feedbackNumbers.push(n);
  }
  duplicates(extensions.map((e) => e.number), (n) => problems.push(`extensions: number ${n} is listed twice`));
  duplicates(feedbackNumbers, (n) => problems.push(`feedbackNumbers: ${n} is listed twice`));
  for (const n of feedbackNumbers) {
    if (extensions.some((e) => e.number === n)) problems.push(`feedbackNumbers: ${n} is also an extension number; a number is either a phone or the feedback line`);
  }
  if (trunk && /^[0-9]+$/.test(trunk.id)) problems.push('trunk.id: must not be all digits (extension sections are named by their numbers)');
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { trunk, extensions, feedbackNumbers } };
}

function trunkOf(raw: unknown, problems: string[]): Trunk | null {
  if (!isObject(raw)) {
    problems.push('trunk: must be an object, or null for no carrier trunk');
    return null;
  }
  const mode = raw.mode;
  if (mode !== 'registration' && mode !== 'ip') {
    problems.push('trunk.mode: must be "registration" (we register with a username and password) or "ip" (the carrier knows our IP address)');
    return null;
  }
  const common = ['id', 'mode', 'host', 'port', 'codecs', 'qualifySeconds'];
  unknownFields(raw, mode === 'registration' ? [...common, 'username', 'password', 'expirySeconds'] : [...common, 'match'], 'trunk.', problems);
  const id = str(raw.id, 'trunk.id', ID_RE, 'lower-case letters, digits and -, starting with a letter, 2 to 32 characters (e.g. "carrier")', problems);
  const host = str(raw.host, 'trunk.host', HOST_RE, 'a host name or IPv4 address of the carrier\'s SIP server', problems);
  const port = int(raw.port, 'trunk.port', 5060, 1, 65535, problems);
  const codecs = codecsOf(raw.codecs, 'trunk.codecs', problems);
  const qualifySeconds = int(raw.qualifySeconds, 'trunk.qualifySeconds', 60, 0, 3600, problems);
  if (mode === 'registration') {
    const username = str(raw.username, 'trunk.username', SIP_USER_RE, 'the SIP username the carrier gave you (letters, digits, _ . + -)', problems);
    const password = secret(raw.password, 'trunk.password', 8, problems);
    const expirySeconds = int(raw.expirySeconds, 'trunk.expirySeconds', 3600, 60, 86400, problems);
    return { id, mode, host, port, username, password, codecs, qualifySeconds, expirySeconds };
  }
  let match: string[] = [];
  if (raw.match === undefined) {
    if (IPV4_RE.test(host)) match = [host];
    else problems.push('trunk.match: required when trunk.host is a name: list the IPv4 addresses (or a.b.c.d/nn ranges) the carrier calls from');
  } else if (!Array.isArray(raw.match) || raw.match.length === 0 || raw.match.length > 20) {
    problems.push('trunk.match: must be a list of 1 to 20 IPv4 addresses or a.b.c.d/nn ranges');
  } else {
    for (const [i, m] of raw.match.entries()) {
      if (typeof m !== 'string' || !IPV4_RE.test(m)) problems.push(`trunk.match[${i}]: must be an IPv4 address or a.b.c.d/nn range`);
      else match.push(m);
    }
  }
  return { id, mode, host, port, match, codecs, qualifySeconds };
}

function extensionOf(raw: unknown, at: string, problems: string[]): Extension | null {
  if (!isObject(raw)) {
    problems.push(`${at}: must be an object {number, departmentId, label, password}`);
    return null;
  }
  unknownFields(raw, ['number', 'departmentId', 'label', 'password', 'codecs'], `${at}.`, problems);
  const number = str(raw.number, `${at}.number`, EXTENSION_RE, '3 to 8 digits, as a string', problems);
  const departmentId = str(raw.departmentId, `${at}.departmentId`, /^[a-z0-9][a-z0-9-]{0,63}$/, 'the id of a member department (config/departments.json)', problems);
  let label = '';
  if (typeof raw.label !== 'string' || raw.label.trim() === '' || raw.label.length > 60 || hasControlCharacter(raw.label)) {
    problems.push(`${at}.label: must be a name of 1 to 60 characters without control characters`);
  } else label = raw.label;
  const password = secret(raw.password, `${at}.password`, 12, problems);
  const codecs = codecsOf(raw.codecs, `${at}.codecs`, problems);
  return { number, departmentId, label, password, codecs };
}

/** C0 controls and DEL: a label is shown in tables and logs, one line each. */
function hasControlCharacter(text: string): boolean {
  return [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}

function str(v: unknown, at: string, re: RegExp, what: string, problems: string[]): string {
  if (typeof v !== 'string' || !re.test(v)) {
    problems.push(`${at}: must be ${what}${v === undefined ? ' (missing)' : `, got ${JSON.stringify(v)}`}`);
    return '';
  }
  return v;
}

function secret(v: unknown, at: string, minLength: number, problems: string[]): string {
  // The value is never echoed back: it is a password.
  if (typeof v !== 'string' || v.length < minLength || v.length > 128 || !SECRET_RE.test(v) || SECRET_FORBIDDEN_RE.test(v)) {
    problems.push(`${at}: must be ${minLength} to 128 printable ASCII characters without spaces or ; # " \\ [ ]`);
    return '';
  }
  if (v.includes(PLACEHOLDER_SECRET)) problems.push(`${at}: still the example's placeholder; set a real password`);
  return v;
}

function int(v: unknown, at: string, fallback: number, min: number, max: number, problems: string[]): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) {
    problems.push(`${at}: must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
    return fallback;
  }
  return v as number;
}

function codecsOf(v: unknown, at: string, problems: string[]): Codec[] {
  if (v === undefined) return ['alaw', 'ulaw'];
  if (!Array.isArray(v) || v.length === 0 || v.some((c) => !(CODECS as readonly unknown[]).includes(c)) || new Set(v).size !== v.length) {
    problems.push(`${at}: must be a list of distinct codecs from ${CODECS.join(', ')}`);
    return ['alaw', 'ulaw'];
  }
  return v as Codec[];
}

function unknownFields(o: Json, allowed: readonly string[], prefix: string, problems: string[]): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) problems.push(`${prefix}${key}: unknown field (allowed: ${allowed.filter((a) => a !== '$comment').join(', ')})`);
  }
}

function duplicates(values: readonly string[], report: (value: string) => void): void {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) report(v);
    seen.add(v);
  }
}
