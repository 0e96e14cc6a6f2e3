// Calendar quarters in the service time zone (config.timezone, Asia/Shanghai): "2026Q4" is
// 2026-10-01 00:00 to 2027-01-01 00:00 local time, start inclusive, end exclusive. Orders are
// stored with UTC instants, so the local midnights are turned into UTC instants here.

export interface Quarter {
  /** "2026Q4" */
  readonly id: string;
  readonly year: number;
  /** 1–4 */
  readonly q: number;
  /** UTC instant of the local midnight starting the quarter (ISO, inclusive). */
  readonly from: string;
  /** UTC instant of the local midnight starting the next quarter (ISO, exclusive). */
  readonly to: string;
  readonly timezone: string;
}

export class QuarterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuarterError';
  }
}

const QUARTER_RE = /^([0-9]{4})Q([1-4])$/;
/** Years a quarter may name; outside is a typo, not a report. */
const MIN_YEAR = 2000;
const MAX_YEAR = 2100;

/** Parses "2026Q4" (upper-case Q); throws a QuarterError saying what is wrong. */
export function parseQuarter(text: string, timezone: string): Quarter {
  const m = QUARTER_RE.exec(text);
  if (!m) throw new QuarterError(`quarter must look like 2026Q4 (year, Q, 1-4); got "${text.slice(0, 20)}"`);
  const year = Number(m[1]);
  const q = Number(m[2]);
  if (year < MIN_YEAR || year > MAX_YEAR) throw new QuarterError(`quarter year must be ${MIN_YEAR}-${MAX_YEAR}; got ${year}`);
  return quarterOf(year, q, timezone);
}

export function quarterOf(year: number, q: number, timezone: string): Quarter {
  const startMonth = (q - 1) * 3 + 1;
  const next = q === 4 ? { year: year + 1, month: 1 } : { year, month: startMonth + 3 };
  return {
    id: `${year}Q${q}`,
    year,
    q,
    from: new Date(localMidnightToUtc(year, startMonth, 1, timezone)).toISOString(),
    to: new Date(localMidnightToUtc(next.year, next.month, 1, timezone)).toISOString(),
    timezone,
  };
}

/** The quarter the instant falls in, in the zone's local calendar. */
export function quarterContaining(atMs: number, timezone: string): Quarter {
  const { year, month } = localParts(atMs, timezone);
  return quarterOf(year, Math.floor((month - 1) / 3) + 1, timezone);
}

/** The quarter before (2026Q1 → 2025Q4). */
export function previousQuarter(quarter: Quarter): Quarter {
  return quarter.q === 1 ? quarterOf(quarter.year - 1, 4, quarter.timezone) : quarterOf(quarter.year, quarter.q - 1, quarter.timezone);
}

interface LocalParts { year: number; month: number; day: number; hour: number; minute: number; second: number }

function localParts(atMs: number, timezone: string): LocalParts {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
  }).formatToParts(new Date(atMs));
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value ?? NaN);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

/** Zone offset at an instant, ms (local wall time minus UTC; +8 h for Shanghai). */
function offsetMs(atMs: number, timezone: string): number {
  const p = localParts(atMs, timezone);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - Math.floor(atMs / 1000) * 1000;
}

/**
 * The UTC instant the given local date starts at (00:00 local time). The zone's offset is read
 * at a first guess and again at the result; of the candidate instants, the earliest that falls
 * on that local date wins. Where clocks jump over midnight (summer time starting at 00:00), the
 * day starts at the jump (01:00 local); where midnight happens twice, at the first one.
 */
export function localMidnightToUtc(year: number, month: number, day: number, timezone: string): number {
  const wall = Date.UTC(year, month - 1, day);
  const first = wall - offsetMs(wall, timezone);
  const second = wall - offsetMs(first, timezone);
  const onDate = (at: number) => {
    const p = localParts(at, timezone);
    return p.year === year && p.month === month && p.day === day;
  };
  const candidates = [first, second].filter(onDate);
  return candidates.length > 0 ? Math.min(...candidates) : Math.max(first, second);
}
