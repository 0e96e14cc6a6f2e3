// Who to call first: a department's contacts ordered by its duty roster at a given moment, in the
// service's time zone (Asia/Shanghai by default, config.timezone).
import { parseTime } from './fields.js';
import type { Contact, RosterEntry, Weekday } from './types.js';

const WEEKDAYS: Readonly<Record<string, Weekday>> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };
const formatters = new Map<string, Intl.DateTimeFormat>();

/** ISO weekday (1 = Monday) and minutes after midnight of `at` on the wall clock of `timezone`. */
export function localWeekTime(at: Date, timezone: string): { weekday: Weekday; minute: number } {
  if (Number.isNaN(at.getTime())) throw new RangeError('contactsOnDuty: the time is an invalid Date');
  let fmt = formatters.get(timezone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', { timeZone: timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timezone, fmt);
  }
  const parts = Object.fromEntries(fmt.formatToParts(at).map((p) => [p.type, p.value]));
  const weekday = WEEKDAYS[parts.weekday ?? ''];
  const hour = Number(parts.hour) % 24;
  const minute = Number(parts.minute);
  if (weekday === undefined || !Number.isInteger(hour) || !Number.isInteger(minute)) {
    throw new RangeError(`cannot read weekday and time of ${at.toISOString()} in ${timezone}`);
  }
  return { weekday, minute: hour * 60 + minute };
}

/**
 * Whether a roster entry covers `at`. A shift belongs to the weekday it starts on: with `to` not
 * after `from` it runs past midnight, so Friday 22:00–08:00 covers Saturday 07:59 but not
 * Friday 07:59; `from` equal to `to` is a 24-hour shift.
 */
export function rosterCovers(entry: RosterEntry, at: Date, timezone: string): boolean {
  const from = parseTime(entry.from, false);
  const to = parseTime(entry.to, true);
  if (from === undefined || to === undefined) return false; // unreachable for validated entries
  const { weekday, minute } = localWeekTime(at, timezone);
  const days = new Set<number>(entry.weekdays);
  if (from < to) return days.has(weekday) && minute >= from && minute < to;
  const previous = weekday === 1 ? 7 : weekday - 1;
  return (days.has(weekday) && minute >= from) || (days.has(previous) && minute < to);
}

/**
 * The department's contacts in calling order at `at`: those whose roster covers `at` first, by
 * priority, then all the others by priority. Without rosters this is simply the order of priority.
 * Equal priorities keep the order of the contact list.
 */
export function contactsOnDuty(
  department: { readonly contacts: readonly Contact[]; readonly rosters?: readonly RosterEntry[] },
  at: Date,
  timezone: string,
): Contact[] {
  const rosters = department.rosters ?? [];
  const onDuty = new Set<string>();
  if (rosters.length > 0) localWeekTime(at, timezone); // throws early for a bad Date or time zone
  for (const entry of rosters) if (!onDuty.has(entry.contactId) && rosterCovers(entry, at, timezone)) onDuty.add(entry.contactId);
  const byPriority = [...department.contacts].sort((a, b) => a.priority - b.priority);
  return [...byPriority.filter((c) => onDuty.has(c.id)), ...byPriority.filter((c) => !onDuty.has(c.id))];
}
