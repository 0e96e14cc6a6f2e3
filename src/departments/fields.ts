// Hand-written validators shared by the catalog files and the department update API. Each takes the
// raw value, the field path to name in messages, and a report function; it returns the typed value
// or undefined after reporting every problem it found.
import { isDialableNumber, LANGUAGES } from '../config.js';
import type { Contact, LocalizedList, LocalizedText, RosterEntry, Weekday } from './types.js';

export type Report = (field: string, message: string) => void;
export type Obj = Record<string, unknown>;

export const ID_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const MAX_ID_CHARS = 64;
const MAX_NAME_CHARS = 200;
const MAX_CONTACTS = 50;
const MAX_ROSTERS = 200;
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL_RE = /[\u0000-\u001f\u007f]/;
const TIME_RE = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;
const FULL_WIDTH_DIGIT_RE = /[\uff10-\uff19\uff0b]/;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value as it appears in a message: JSON, cut to 60 characters (control characters escaped by JSON). */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v) ?? typeof v;
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export function sub(field: string, key: string | number): string {
  if (typeof key === 'number') return `${field}[${key}]`;
  return field ? `${field}.${key}` : key;
}

function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Reports keys that are not allowed and required keys that are missing. */
export function checkKeys(o: Obj, field: string, allowed: readonly string[], required: readonly string[], report: Report): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) report(sub(field, k), `unknown field (allowed: ${allowed.join(', ')})`);
  for (const k of required) if (o[k] === undefined) report(sub(field, k), 'is required');
}

export function object(v: unknown, field: string, report: Report): Obj | undefined {
  if (isObj(v)) return v;
  report(field, `must be an object, got ${kind(v)}`);
  return undefined;
}

export function id(v: unknown, field: string, report: Report): string | undefined {
  if (v === undefined) return undefined; // reported by checkKeys
  if (typeof v === 'string' && v.length <= MAX_ID_CHARS && ID_RE.test(v)) return v;
  report(field, `must be lower-case ASCII letters and digits in words joined by '-', at most ${MAX_ID_CHARS} characters (e.g. water-supply); got ${show(v)}`);
  return undefined;
}

export function text(v: unknown, field: string, report: Report, max = MAX_NAME_CHARS): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '') {
    report(field, `must be a non-empty string, got ${show(v)}`);
    return undefined;
  }
  if (CONTROL_RE.test(v)) {
    report(field, `must not contain line breaks, tabs or other control characters; got ${show(v)}`);
    return undefined;
  }
  if (v.length > max) {
    report(field, `must be at most ${max} characters, got ${v.length}`);
    return undefined;
  }
  return v.trim();
}

/** `{ "zh-CN": "...", "en": "..." }`: every language, nothing else. */
export function localized(v: unknown, field: string, report: Report): LocalizedText | undefined {
  if (v === undefined) return undefined;
  const o = isObj(v) ? v : undefined;
  if (!o) {
    report(field, `must be an object with a text for each of ${LANGUAGES.join(', ')}, got ${show(v)}`);
    return undefined;
  }
  let ok = true;
  for (const k of Object.keys(o)) {
    if (!(LANGUAGES as readonly string[]).includes(k)) {
      report(sub(field, k), `is not a language of liandong (${LANGUAGES.join(', ')})`);
      ok = false;
    }
  }
  const out: Record<string, string> = {};
  for (const lang of LANGUAGES) {
    if (o[lang] === undefined) {
      report(sub(field, lang), 'is required (names are needed in every language)');
      ok = false;
      continue;
    }
    const t = text(o[lang], sub(field, lang), report);
    if (t === undefined) ok = false;
    else out[lang] = t;
  }
  return ok ? (out as LocalizedText) : undefined;
}

/** `{ "zh-CN": [...], "en": [...] }`: non-empty lists of the same length in every language. */
export function localizedList(v: unknown, field: string, report: Report): LocalizedList | undefined {
  if (v === undefined) return undefined;
  const o = object(v, field, report);
  if (!o) return undefined;
  let ok = true;
  for (const k of Object.keys(o)) {
    if (!(LANGUAGES as readonly string[]).includes(k)) {
      report(sub(field, k), `is not a language of liandong (${LANGUAGES.join(', ')})`);
      ok = false;
    }
  }
  const out: Record<string, readonly string[]> = {};
  for (const lang of LANGUAGES) {
    const list = o[lang];
    if (!Array.isArray(list) || list.length === 0) {
      report(sub(field, lang), `must be a non-empty list of texts, got ${show(list)}`);
      ok = false;
      continue;
    }
    const items = list.map((item, i) => text(item, `${sub(field, lang)}[${i}]`, report, 500));
    if (items.some((t) => t === undefined)) ok = false;
    else out[lang] = items as readonly string[];
  }
  if (ok) {
    const lengths = LANGUAGES.map((lang) => out[lang]?.length ?? 0);
    if (new Set(lengths).size > 1) {
      report(field, `must have as many entries in every language (one translation per duty), got ${LANGUAGES.map((l, i) => `${l}: ${lengths[i]}`).join(', ')}`);
      ok = false;
    }
  }
  return ok ? (out as LocalizedList) : undefined;
}

/** A telephone number: exactly what isDialableNumber accepts, with a hint for the usual mistakes. */
export function phoneNumber(v: unknown, field: string, report: Report): string | undefined {
  if (v === undefined) return undefined;
  if (isDialableNumber(v)) return v;
  const rule = 'must be 3 to 20 ASCII digits with an optional leading +';
  if (typeof v === 'number') report(field, `${rule}, written as a string ("0577...") so leading zeros survive; got the number ${show(v)}`);
  else if (typeof v !== 'string') report(field, `${rule}; got ${kind(v)}`);
  else if (FULL_WIDTH_DIGIT_RE.test(v)) report(field, `${rule}; got ${show(v)}, which has full-width characters (０-９, ＋): type ASCII 0-9 and +`);
  else if (/^\+?[0-9 ()\-.]+$/.test(v) && /[0-9]/.test(v)) report(field, `${rule}, without spaces, dashes, dots or brackets; got ${show(v)}`);
  else report(field, `${rule}; got ${show(v)}`);
  return undefined;
}

export function priority(v: unknown, field: string, report: Report): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1) return v;
  report(field, `must be a positive integer (1 is called first), got ${show(v)}`);
  return undefined;
}

/** A non-empty list of contacts with unique ids. */
export function contacts(v: unknown, field: string, report: Report): Contact[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0) {
    report(field, `must be a non-empty list of contacts { id, name, number, priority }, got ${show(v)}`);
    return undefined;
  }
  if (v.length > MAX_CONTACTS) {
    report(field, `must have at most ${MAX_CONTACTS} contacts, got ${v.length}`);
    return undefined;
  }
  const seen = new Map<string, number>();
  return entries(v, field, ['id', 'name', 'number', 'priority'], report, (o, f, r, i) => {
    const c = {
      id: id(o.id, sub(f, 'id'), r),
      name: text(o.name, sub(f, 'name'), r),
      number: phoneNumber(o.number, sub(f, 'number'), r),
      priority: priority(o.priority, sub(f, 'priority'), r),
    };
    if (c.id !== undefined) {
      const first = seen.get(c.id);
      if (first !== undefined) r(sub(f, 'id'), `"${c.id}" is already used by ${sub(field, first)}; contact ids must be unique within a department`);
      else seen.set(c.id, i);
    }
    return c as Contact;
  });
}

/**
 * Reads each entry of a list of objects with exactly `keys`; `read` reports through `r`. Every
 * problem of every entry is reported; the list is undefined when any entry had one.
 */
function entries<T>(list: readonly unknown[], field: string, keys: readonly string[], report: Report, read: (o: Obj, f: string, r: Report, i: number) => T): T[] | undefined {
  const out: T[] = [];
  let ok = true;
  list.forEach((raw, i) => {
    const f = sub(field, i);
    const o = object(raw, f, report);
    if (!o) {
      ok = false;
      return;
    }
    let bad = false;
    const r: Report = (fl, m) => {
      bad = true;
      report(fl, m);
    };
    checkKeys(o, f, keys, keys, r);
    const entry = read(o, f, r, i);
    if (bad) ok = false;
    else out.push(entry);
  });
  return ok ? out : undefined;
}

/** "HH:MM"; returns minutes after midnight. `to` (end of a shift) may also be "24:00". */
export function parseTime(v: string, allowEndOfDay: boolean): number | undefined {
  if (allowEndOfDay && v === '24:00') return 24 * 60;
  const m = TIME_RE.exec(v);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

function time(v: unknown, field: string, allowEndOfDay: boolean, report: Report): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string' && parseTime(v, allowEndOfDay) !== undefined) return v;
  report(field, `must be a 24-hour time "HH:MM" from 00:00 to ${allowEndOfDay ? '24:00' : '23:59'}, got ${show(v)}`);
  return undefined;
}

/** Optional list of roster entries; every contactId must be one of `contactIds` (when those are known). */
export function rosters(v: unknown, field: string, contactIds: ReadonlySet<string> | undefined, report: Report): RosterEntry[] | undefined {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    report(field, `must be a list of { contactId, weekdays, from, to }, got ${show(v)}`);
    return undefined;
  }
  if (v.length > MAX_ROSTERS) {
    report(field, `must have at most ${MAX_ROSTERS} entries, got ${v.length}`);
    return undefined;
  }
  return entries(v, field, ['contactId', 'weekdays', 'from', 'to'], report, (o, f, r) => {
    const contactId = id(o.contactId, sub(f, 'contactId'), r);
    if (contactId !== undefined && contactIds && !contactIds.has(contactId)) {
      r(sub(f, 'contactId'), `"${contactId}" is not one of the department's contacts (${[...contactIds].join(', ') || 'none'})`);
    }
    const weekdays = weekdayList(o.weekdays, sub(f, 'weekdays'), r);
    const from = time(o.from, sub(f, 'from'), false, r);
    const to = time(o.to, sub(f, 'to'), true, r);
    return { contactId: contactId as string, weekdays: weekdays as Weekday[], from: from as string, to: to as string };
  });
}

function weekdayList(v: unknown, field: string, report: Report): Weekday[] | undefined {
  if (v === undefined) return undefined;
  const rule = 'must be a non-empty list of distinct weekdays 1-7 (1 = Monday, 7 = Sunday)';
  if (!Array.isArray(v) || v.length === 0 || !v.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 1 && d <= 7)) {
    report(field, `${rule}, got ${show(v)}`);
    return undefined;
  }
  if (new Set(v).size !== v.length) {
    report(field, `${rule}; ${show(v)} lists a day twice`);
    return undefined;
  }
  return v as Weekday[];
}

/** A list of distinct ids (category ids of a department). */
export function idList(v: unknown, field: string, report: Report): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) {
    report(field, `must be a list of ids, got ${show(v)}`);
    return undefined;
  }
  let ok = true;
  const out: string[] = [];
  v.forEach((item: unknown, i) => {
    const x = id(item, sub(field, i), report);
    if (x === undefined) ok = false;
    else if (out.includes(x)) {
      report(sub(field, i), `"${x}" is listed twice`);
      ok = false;
    } else out.push(x);
  });
  return ok ? out : undefined;
}
