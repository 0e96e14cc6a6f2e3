// `liandong endpoints`: the carrier trunk and the department extensions as Asterisk sees them
// now — registration, reachability (OPTIONS qualify status and round-trip time) and calls in
// progress — read over AMI from `pjsip show endpoints|contacts|registrations`.
import type { AmiPort } from './dialplan-reload.js';
import type { TelephonyConfig } from './telephony-config.js';

export interface ContactStatus {
  /** The SIP URI the phone registered (its address), or the trunk's static contact. */
  readonly uri: string;
  /** Asterisk's qualify status: Avail, Unavail, NonQual (not pinged), Unknown, Created. */
  readonly status: string;
  /** Last OPTIONS round trip, milliseconds; null when not measured. */
  readonly rttMs: number | null;
}

export interface EndpointStatus {
  readonly name: string;
  readonly kind: 'trunk' | 'extension' | 'other';
  /** For extensions: the department and label from config/telephony.json. */
  readonly departmentId?: string;
  readonly label?: string;
  /** For the trunk: registration or ip. */
  readonly mode?: 'registration' | 'ip';
  /** Asterisk's device state ("Not in use", "In use", "Unavailable"…), or "not loaded". */
  readonly state: string;
  readonly channels: number;
  /** Extensions: a phone is registered; registration trunk: the carrier accepted us; IP trunk: null (no registration). */
  readonly registered: boolean | null;
  /** Outbound registration status for a registration trunk (Registered, Unregistered, Rejected…). */
  readonly registration: string | null;
  /** A contact answered OPTIONS (true), none did (false), or nobody pings it (null). */
  readonly reachable: boolean | null;
  readonly contacts: readonly ContactStatus[];
}

export async function listEndpoints(ami: Pick<AmiPort, 'command'>, telephony: TelephonyConfig): Promise<EndpointStatus[]> {
  // One after another: AmiClient takes one action at a time while it connects.
  const endpoints = parseEndpoints(await ami.command('pjsip show endpoints'));
  // `show contacts` prints whole URIs (`show endpoints` cuts them); our AORs are named like their endpoints.
  const contacts = parseContacts(await ami.command('pjsip show contacts'));
  const registrations = parseRegistrations(await ami.command('pjsip show registrations'));
  return endpointStatuses(endpoints.map((e) => ({ ...e, contacts: contacts.get(e.name) ?? e.contacts })), registrations, telephony);
}

interface ParsedEndpoint {
  name: string;
  state: string;
  channels: number;
  contacts: ContactStatus[];
}

/** The blocks of `pjsip show endpoints` (after its legend). */
export function parseEndpoints(output: string): ParsedEndpoint[] {
  const body = output.slice(Math.max(0, output.lastIndexOf('=====')));
  const out: ParsedEndpoint[] = [];
  for (const line of body.split('\n')) {
    const ep = /^\s*Endpoint:\s+([^\s/]+)(?:\/\S*)?\s+(.+?)\s+(\d+) of (?:\d+|inf)\s*$/.exec(line);
    if (ep) {
      out.push({ name: ep[1] ?? '', state: ep[2] ?? '', channels: Number(ep[3]), contacts: [] });
      continue;
    }
    const c = CONTACT_RE.exec(line);
    const current = out[out.length - 1];
    if (c && current) current.contacts.push(contactOf(c));
  }
  return out;
}

const CONTACT_RE = /^\s*Contact:\s+([^/\s]+)\/(\S+)\s+[0-9a-f]+\s+(\S+)\s+(\S+)\s*$/;

function contactOf(m: RegExpExecArray): ContactStatus {
  const rtt = Number(m[4]);
  return { uri: m[2] ?? '', status: m[3] ?? '', rttMs: Number.isFinite(rtt) ? rtt : null };
}

/** AOR name → its contacts, from `pjsip show contacts`. */
export function parseContacts(output: string): Map<string, ContactStatus[]> {
  const out = new Map<string, ContactStatus[]>();
  const body = output.slice(Math.max(0, output.lastIndexOf('=====')));
  for (const line of body.split('\n')) {
    const m = CONTACT_RE.exec(line);
    if (m?.[1]) out.set(m[1], [...(out.get(m[1]) ?? []), contactOf(m)]);
  }
  return out;
}

/** Registration name → status, from `pjsip show registrations`. */
export function parseRegistrations(output: string): Map<string, string> {
  const out = new Map<string, string>();
  const body = output.slice(Math.max(0, output.lastIndexOf('=====')));
  for (const m of body.matchAll(/^\s*([^\s/]+)\/\S+\s+(?:\S+\s+)?(Registered|Unregistered|Rejected|Stopping|Stopped)\b/gm)) {
    if (m[1] && m[2]) out.set(m[1], m[2]);
  }
  return out;
}

export function endpointStatuses(parsed: readonly ParsedEndpoint[], registrations: ReadonlyMap<string, string>, t: TelephonyConfig): EndpointStatus[] {
  const byName = new Map(parsed.map((p) => [p.name, p]));
  const rows: EndpointStatus[] = [];
  const reachability = (contacts: readonly ContactStatus[]): boolean | null => {
    if (contacts.some((c) => c.status === 'Avail')) return true;
    if (contacts.length === 0 || contacts.some((c) => c.status === 'Unavail')) return false;
    return null;
  };
  const base = (name: string) => {
    const p = byName.get(name);
    return { name, state: p?.state ?? 'not loaded', channels: p?.channels ?? 0, contacts: p?.contacts ?? [] };
  };
  if (t.trunk) {
    const b = base(t.trunk.id);
    const registration = t.trunk.mode === 'registration' ? (registrations.get(t.trunk.id) ?? 'not loaded') : null;
    rows.push({ ...b, kind: 'trunk', mode: t.trunk.mode, registration, registered: registration === null ? null : registration === 'Registered', reachable: reachability(b.contacts) });
  }
  for (const e of t.extensions) {
    const b = base(e.number);
    const registered = b.contacts.length > 0;
    rows.push({ ...b, kind: 'extension', departmentId: e.departmentId, label: e.label, registration: null, registered, reachable: registered ? reachability(b.contacts) : false });
  }
  const known = new Set(rows.map((r) => r.name));
  for (const p of parsed) {
    if (!known.has(p.name)) rows.push({ ...base(p.name), kind: 'other', registration: registrations.get(p.name) ?? null, registered: null, reachable: reachability(p.contacts) });
  }
  return rows;
}

/** A fixed-width table for the command line. */
export function formatEndpoints(rows: readonly EndpointStatus[]): string[] {
  if (rows.length === 0) return ['no trunk or extension is configured (config/telephony.json) and Asterisk has no PJSIP endpoints'];
  const yesNo = (v: boolean | null): string => (v === null ? '-' : v ? 'yes' : 'no');
  const table = rows.map((r) => [
    r.name,
    r.kind === 'trunk' ? `trunk (${r.mode ?? ''})` : r.kind,
    r.departmentId ?? '-',
    r.registration ? `${yesNo(r.registered)} (${r.registration})` : yesNo(r.registered),
    yesNo(r.reachable),
    r.contacts.find((c) => c.rttMs !== null)?.rttMs?.toFixed(1).concat(' ms') ?? '-',
    r.state,
    String(r.channels),
    r.contacts.map((c) => `${c.uri} ${c.status}`).join(', ') || '-',
  ]);
  const head = ['NAME', 'KIND', 'DEPARTMENT', 'REGISTERED', 'REACHABLE', 'RTT', 'STATE', 'CALLS', 'CONTACT'];
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] ?? '').length)));
  return [head, ...table].map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '));
}
