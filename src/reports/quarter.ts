// Calendar quarters in the service time zone (config.timezone, Asia/Shanghai): "2026Q4" is
// 2026-10-01 00:00 to 2027-01-01 00:00 local time, start inclusive, end exclusive. Orders are
// stored with UTC instants, so the local midnights are turned into UTC instants here.
// Half-years too (Yongjia's half-yearly briefing meeting): "2026H2" is 1 July to 1 January.

export interface Quarter {
  /** "2026Q4" */
  readonly id: string;
  readonly year: number;
  /** 1–4; for a half-year, its first quarter (1 or 3). */
  readonly q: number;
  /** Set for a half-year period ("2026H1", "2026H2"). */
  readonly half?: 1 | 2;
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
const HALF_RE = /^([0-9]{4})H([12])$/;
/** Years a quarter may name; outside is a typo, not a report. */
const MIN_YEAR = 2000;
const MAX_YEAR = 2100;

/** Parses "2026Q4" (upper-case Q) or a half-year "2026H2"; throws a QuarterError saying what is wrong. */
export function parseQuarter(text: string, timezone: string): Quarter {
  const half = HALF_RE.exec(text);
  const m = half ?? QUARTER_RE.exec(text);
  if (!m) throw new QuarterError(`quarter must look like 2026Q4 (year, Q, 1-4) or a half-year like 2026H2 (year, H, 1-2); got "${text.slice(0, 20)}"`);
  const year = Number(m[1]);
  const n = Number(m[2]);
  if (year < MIN_YEAR || year > MAX_YEAR) throw new QuarterError(`quarter year must be ${MIN_YEAR}-${MAX_YEAR}; got ${year}`);
  return half ? halfYearOf(year, n === 1 ? 1 : 2, timezone) : quarterOf(year, n, timezone);
}

/** The half-year: H1 is 1 January to 1 July, H2 is 1 July to 1 January, local midnights. */
export function halfYearOf(year: number, half: 1 | 2, timezone: string): Quarter {
  const from = new Date(localMidnightToUtc(year, half === 1 ? 1 : 7, 1, timezone)).toISOString();
  const to = new Date(half === 1 ? localMidnightToUtc(year, 7, 1, timezone) : localMidnightToUtc(year + 1, 1, 1, timezone)).toISOString();
  return { id: `${year}H${half}`, year, q: half === 1 ? 1 : 3, half, from, to, timezone };
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
