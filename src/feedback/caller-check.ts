// Who may give feedback on an order by phone (the feedback line): a caller whose number is one of
// the contacts of the order's unit, or a caller who keys the unit's PIN. Numbers are compared in
// one national form, so a caller id presented as +86 577 0001 2345 matches the contact 057700012345
// and +86 138… matches 138….
import { sql } from 'kysely';
import { rows } from '../db/sql.js';
import type { Executor } from '../db/store.js';

/**
 * Wrong PIN entries for one unit, over all its orders, within PIN_LOCK_WINDOW_MS after which its PIN
 * is refused outright: counted per unit, so a guesser cannot spread tries over the unit's orders.
 */
export const PIN_LOCK_WRONG = 9;
/** One hour, ms. */
export const PIN_LOCK_WINDOW_MS = 3_600_000;

/** Digits in national form: `+86`/`0086` dropped, a landline then given its trunk 0 back. */
export function nationalNumber(number: string): string {
  let n = number.replace(/[^0-9+]/g, '');
  const international = /^(\+|00)86/.exec(n);
  if (international) {
    n = n.slice(international[0].length);
    if (!n.startsWith('1')) n = `0${n}`; // mobiles start with 1; landlines dial 0 + area code at home
  }
  return n.replace(/^\+/, '');
}

/** True when the caller id is one of `contacts` (a withheld caller id never is). */
export function isContactOf(callerNumber: string, contacts: readonly string[]): boolean {
  const caller = nationalNumber(callerNumber);
  return caller.length >= 3 && contacts.some((c) => nationalNumber(c) === caller);
}

/**
 * Wrong PIN entries that could have been a guess of a unit's PIN, on any of its orders, since
 * `since` (ISO time). Counted in the database, so the lock holds whichever node took the calls.
 * The JSON of the event's detail is read here, not in SQL, so it reads the same on both engines;
 * LIKE only narrows the rows (the detail is JSON.stringify's, without spaces).
 */
export async function wrongPinsSince(db: Executor, unit: string, since: string): Promise<number> {
  const found = await rows(db, sql<{ detail: string }>`SELECT detail FROM order_events
    WHERE kind = 'feedback_refused' AND at > ${since} AND detail LIKE ${'%"wrongPin":1%'}`);
  return found.filter((r) => {
    const detail = JSON.parse(r.detail) as { wrongPin?: unknown; units?: unknown };
    return detail.wrongPin === 1 && Array.isArray(detail.units) && detail.units.includes(unit);
  }).length;
}
