// The few statistics the assessment uses, defined exactly (docs/reports.md repeats these words):
// - median: the middle value of the sorted values; with an even count, the mean of the two
//   middle values (so [10, 20, 30, 40] → 25);
// - p90, nearest rank: the smallest value with at least 90 % of the values at or below it, i.e.
//   sorted[ceil(0.9 × n) − 1] (so of 1..10 it is 9, of 1..20 it is 18, of one value that value);
// - rate: part ÷ whole, null when the whole is 0 (a department with no orders has no rate, not 0 %).

/** Median as defined above; null for no values. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[mid] as number;
  return ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Nearest-rank percentile (0 < p ≤ 100); null for no values. */
export function percentileNearestRank(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  // Rounded before ceil so 0.9 × 10 = 9.000000000000002 counts as rank 9, not 10.
  const rank = Math.ceil(Math.round(((p / 100) * sorted.length) * 1e9) / 1e9);
  return sorted[Math.max(rank, 1) - 1] as number;
}

export function rate(part: number, whole: number): number | null {
  return whole === 0 ? null : part / whole;
}

/** Rounds to `digits` decimals for display and JSON (null stays null). */
export function round(value: number | null, digits: number): number | null {
  if (value === null) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
