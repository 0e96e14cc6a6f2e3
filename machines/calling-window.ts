// The calling window: citizens are only phoned inside a daily window of local wall time, by
// default 08:00–21:00 in Asia/Shanghai. Pure functions over epoch milliseconds; the zone's
// offsets come from Intl, so zones with daylight saving time are handled as well (a window
// opening inside a skipped hour opens when the clocks jump; a repeated hour may open it twice).

/** A parsed daily window. `from` inclusive, `to` exclusive; `to < from` spans midnight; `from == to` is always open. */
export interface CallingWindow {
  /** "HH:MM", as given. */
  readonly from: string;
  readonly to: string;
  /** IANA zone, e.g. "Asia/Shanghai". */
  readonly timezone: string;
  /** Minutes after local midnight. */
  readonly fromMinute: number;
  readonly toMinute: number;
}

export const DEFAULT_WINDOW_FROM = '08:00';
export const DEFAULT_WINDOW_TO = '21:00';
export const DEFAULT_WINDOW_TIMEZONE = 'Asia/Shanghai';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

function parseTime(what: 'from' | 'to', value: string): number {
  const match = /^(\d{2}):(\d{2})$/.exec(value);
  if (!match) throw new Error(`calling window ${what} must be HH:MM (24 h), got "${value}"`);
  const hour = Number(match[1]);
  const minute = Number(match[2]);
  if (hour > 23) throw new Error(`calling window ${what}: hour must be 00 to 23, got "${value}"`);
  if (minute > 59) throw new Error(`calling window ${what}: minute must be 00 to 59, got "${value}"`);
  return hour * 60 + minute;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timezone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timezone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timezone, formatter);
  }
  return formatter;
}

/** Parses and checks a window; throws an Error naming the bad part. */
export function parseWindow(from: string, to: string, timezone: string): CallingWindow {
  const fromMinute = parseTime('from', from);
  const toMinute = parseTime('to', to);
  if (typeof timezone !== 'string' || timezone.trim() === '') throw new Error('calling window timezone must be an IANA zone name, e.g. Asia/Shanghai, got ""');
  try {
    formatterFor(timezone);
  } catch {
    throw new Error(`calling window timezone is unknown: "${timezone}" (expected an IANA zone name, e.g. Asia/Shanghai)`);
  }
  return { from, to, timezone, fromMinute, toMinute };
}

/** The default window: 08:00–21:00 Asia/Shanghai. */
export const DEFAULT_CALLING_WINDOW: CallingWindow = parseWindow(DEFAULT_WINDOW_FROM, DEFAULT_WINDOW_TO, DEFAULT_WINDOW_TIMEZONE);

function checkInstant(atMs: number): void {
  if (!Number.isFinite(atMs)) throw new RangeError(`calling window: not a time: ${atMs}`);
}

/** The zone's offset from UTC at `atMs`, in ms (whole seconds): local wall time = atMs + offset. */
export function zoneOffsetMs(timezone: string, atMs: number): number {
  const parts = formatterFor(timezone).formatToParts(new Date(atMs));
  const field = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value);
  const wallUtc = new Date(0);
  wallUtc.setUTCFullYear(field('year'), field('month') - 1, field('day'));
  wallUtc.setUTCHours(field('hour'), field('minute'), field('second'), 0);
  return wallUtc.getTime() - Math.floor(atMs / 1000) * 1000;
}

const mod = (a: number, n: number): number => ((a % n) + n) % n;

/** Minutes after local midnight at `atMs` (seconds dropped). */
function localMinute(window: CallingWindow, atMs: number): number {
  return Math.floor(mod(atMs + zoneOffsetMs(window.timezone, atMs), DAY_MS) / MINUTE_MS);
}

function minuteInWindow(window: CallingWindow, minute: number): boolean {
  const { fromMinute: from, toMinute: to } = window;
  if (from === to) return true;
  if (from < to) return minute >= from && minute < to;
  return minute >= from || minute < to;
}

/** Whether a citizen may be called at `atMs` (from inclusive, to exclusive, in local wall time). */
export function isOpen(window: CallingWindow, atMs: number): boolean {
  checkInstant(atMs);
  return minuteInWindow(window, localMinute(window, atMs));
}

/** `atMs` itself if the window is open then, else the epoch ms at which it next opens. */
export function nextOpening(window: CallingWindow, atMs: number): number {
  checkInstant(atMs);
  let t = atMs;
  // Each round covers a stretch of constant offset: either the window opens in it at `from`
  // local time, or the offset changes first and the next round starts at that change (where the
  // window may open by the clocks jumping past `from`). A few rounds cover any real zone.
  for (let round = 0; round < 8; round++) {
    if (isOpen(window, t)) return t;
    const offset = zoneOffsetMs(window.timezone, t);
    const wall = mod(t + offset, DAY_MS);
    const candidate = t + mod(window.fromMinute * MINUTE_MS - wall, DAY_MS);
    if (zoneOffsetMs(window.timezone, candidate) === offset) return candidate;
    // The offset changes before `from` is reached: find the first instant with the new offset.
    let lo = t;
    let hi = candidate;
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (zoneOffsetMs(window.timezone, mid) === offset) lo = mid;
      else hi = mid;
    }
    t = hi;
  }
  throw new Error(`calling window ${window.from}–${window.to} ${window.timezone}: no opening found after ${new Date(atMs).toISOString()}`);
}

/** When a call or retry wanted at `earliestMs` may be placed: then, or at the next opening of the window. */
export function scheduleAt(window: CallingWindow, earliestMs: number): number {
  return nextOpening(window, earliestMs);
}
