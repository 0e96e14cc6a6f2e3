// The shapes of the department catalog (config/departments.json + config/categories.json) after
// validation. Everything here is plain, frozen data; see catalog.ts for the rules.
import type { Language } from '../config.js';

/** A text in every language of LANGUAGES (zh-CN and en). */
export type LocalizedText = Readonly<Record<Language, string>>;
/** A list of texts per language; every language has the same number of entries. */
export type LocalizedList = Readonly<Record<Language, readonly string[]>>;

/**
 * How a member department stands by (Li County 2017, section 5 (2)): `rescue_24h` units keep a
 * 24-hour rescue team (public security, medical emergency, power, water, municipal repair,
 * network repair); `phone_duty` units keep a duty phone and send someone at once when called.
 */
export const DUTY_CLASSES = ['rescue_24h', 'phone_duty'] as const;
export type DutyClass = (typeof DUTY_CLASSES)[number];

/** ISO weekday: 1 = Monday … 7 = Sunday. */
export type Weekday = 1 | 2 | 3 | 4 | 5 | 6 | 7;

export interface Contact {
  /** Unique within its department: lower-case words joined by '-'. */
  readonly id: string;
  readonly name: string;
  /** Digits with an optional leading +, 3 to 20 digits (isDialableNumber). */
  readonly number: string;
  /** 1 is called first; a positive integer. Ties keep the order of the list. */
  readonly priority: number;
}

/**
 * Who is on duty when, in the service time zone (config.timezone, Asia/Shanghai). A shift starts at
 * `from` on each listed weekday and ends at `to` (exclusive). When `to` is not later than `from`
 * the shift runs past midnight into the next day (22:00–08:00 listed for Friday covers Friday
 * 22:00 to Saturday 08:00); `from` equal to `to` is a 24-hour shift. `to` may be "24:00".
 */
export interface RosterEntry {
  readonly contactId: string;
  readonly weekdays: readonly Weekday[];
  /** "HH:MM", 00:00–23:59. */
  readonly from: string;
  /** "HH:MM", 00:00–24:00. */
  readonly to: string;
}

export interface Department {
  readonly id: string;
  readonly name: LocalizedText;
  readonly dutyClass: DutyClass;
  /** Which source document and section the department and its duties come from. */
  readonly source: string;
  readonly duties: LocalizedList;
  /** The categories routed to this department (the same set config/categories.json routes here). */
  readonly categories: readonly string[];
  /** At least one. */
  readonly contacts: readonly Contact[];
  /** Empty when the department has no roster (contacts are then called by priority alone). */
  readonly rosters: readonly RosterEntry[];
}

export interface Category {
  readonly id: string;
  readonly name: LocalizedText;
  /** The one department this category is routed to. */
  readonly departmentId: string;
  /** Major incidents are also reported to the county leadership (Li County 2017, section 4 (2)). */
  readonly major: boolean;
  /** 举报-type reports (an informant): orders of this category are not called back unless the desk says `callback: true`. */
  readonly informant: boolean;
  /** Which source document and section name this duty, when it is not obvious from its department's. */
  readonly source?: string;
}

/** A party liandong phones that is not a member department: the 110 command centre, a county leader. */
export interface Endpoint {
  readonly id: string;
  readonly name: LocalizedText;
  readonly number: string;
}

export interface Catalog {
  /** The folder the catalog was read from. */
  readonly dir: string;
  readonly commandCentre: Endpoint;
  /** County leadership notified of major incidents, in the order given (by role, never personal names). */
  readonly leaders: readonly Endpoint[];
  readonly departments: readonly Department[];
  readonly categories: readonly Category[];
  readonly departmentsById: ReadonlyMap<string, Department>;
  readonly categoriesById: ReadonlyMap<string, Category>;
}
