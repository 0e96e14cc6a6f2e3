import { describe, expect, it } from 'vitest';
import { localMidnightToUtc, parseQuarter, previousQuarter, QuarterError, quarterContaining } from '../../src/reports/quarter.js';
import { median, percentileNearestRank, rate } from '../../src/reports/stats.js';

const SH = 'Asia/Shanghai';

describe('quarters in Asia/Shanghai', () => {
  it('2026Q4 runs from Shanghai midnight 1 October to Shanghai midnight 1 January (UTC+8)', () => {
    expect(parseQuarter('2026Q4', SH)).toEqual({ id: '2026Q4', year: 2026, q: 4, from: '2026-09-30T16:00:00.000Z', to: '2026-12-31T16:00:00.000Z', timezone: SH });
    expect(parseQuarter('2027Q1', SH)).toMatchObject({ from: '2026-12-31T16:00:00.000Z', to: '2027-03-31T16:00:00.000Z' });
    expect(parseQuarter('2026Q2', SH)).toMatchObject({ from: '2026-03-31T16:00:00.000Z', to: '2026-06-30T16:00:00.000Z' });
  });

  it('an instant belongs to the quarter of its Shanghai date: the last millisecond before midnight is still the old quarter', () => {
    expect(quarterContaining(Date.parse('2026-09-30T15:59:59.999Z'), SH).id).toBe('2026Q3');
    expect(quarterContaining(Date.parse('2026-09-30T16:00:00.000Z'), SH).id).toBe('2026Q4');
    // 1 January 00:30 in Shanghai is still 31 December in UTC.
    expect(quarterContaining(Date.parse('2026-12-31T16:30:00.000Z'), SH).id).toBe('2027Q1');
  });

  it('previous quarter wraps the year', () => {
    expect(previousQuarter(parseQuarter('2027Q1', SH)).id).toBe('2026Q4');
    expect(previousQuarter(parseQuarter('2026Q3', SH)).id).toBe('2026Q2');
  });

  it('follows another zone and its summer time', () => {
    // New York: 1 April is in daylight time (UTC-4), 1 January in standard time (UTC-5).
    expect(parseQuarter('2026Q2', 'America/New_York')).toMatchObject({ from: '2026-04-01T04:00:00.000Z', to: '2026-07-01T04:00:00.000Z' });
    expect(parseQuarter('2026Q4', 'America/New_York').to).toBe('2027-01-01T05:00:00.000Z');
    // Santiago's clocks go from 00:00 to 01:00 on 6 Sep 2026: the day starts at 01:00 local, 05:00 UTC.
    expect(new Date(localMidnightToUtc(2026, 9, 6, 'America/Santiago')).toISOString()).toBe('2026-09-06T04:00:00.000Z');
  });

  it.each([
    ['2026q4', 'look like 2026Q4'],
    ['2026Q5', 'look like 2026Q4'],
    ['26Q4', 'look like 2026Q4'],
    ['2026Q4 ', 'look like 2026Q4'],
    ['1999Q4', '2000-2100'],
    ['', 'look like 2026Q4'],
  ])('refuses %j with a clear message', (text, mentions) => {
    expect(() => parseQuarter(text, SH)).toThrow(QuarterError);
    expect(() => parseQuarter(text, SH)).toThrow(mentions);
  });
});

describe('statistics', () => {
  it('median: middle value; with an even count the mean of the two middle values', () => {
    expect(median([])).toBeNull();
    expect(median([7])).toBe(7);
    expect(median([30, 10, 20])).toBe(20);
    expect(median([40, 10, 30, 20])).toBe(25);
    expect(median([1, 2])).toBe(1.5);
  });

  it('p90 by nearest rank: sorted[ceil(0.9 n) - 1]', () => {
    const oneToTen = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];
    expect(percentileNearestRank([], 90)).toBeNull();
    expect(percentileNearestRank([42], 90)).toBe(42);
    expect(percentileNearestRank(oneToTen, 90)).toBe(9);
    expect(percentileNearestRank([...oneToTen, 11], 90)).toBe(10); // ceil(9.9) = 10
    expect(percentileNearestRank(Array.from({ length: 20 }, (_, i) => i + 1), 90)).toBe(18);
    expect(percentileNearestRank([5, 1], 90)).toBe(5); // ceil(1.8) = 2
    expect(() => percentileNearestRank([1], 0)).toThrow(RangeError);
  });

  it('rate is undefined (null) on an empty whole, not 0', () => {
    expect(rate(0, 0)).toBeNull();
    expect(rate(0, 4)).toBe(0);
    expect(rate(3, 4)).toBe(0.75);
  });
});

describe('half-years (Yongjia half-yearly briefing)', () => {
  it('2026H1 and 2026H2 run from Shanghai midnight 1 January / 1 July; bad ones are refused with the reason', () => {
    expect(parseQuarter('2026H1', SH)).toMatchObject({ id: '2026H1', half: 1, from: '2025-12-31T16:00:00.000Z', to: '2026-06-30T16:00:00.000Z' });
    expect(parseQuarter('2026H2', SH)).toMatchObject({ id: '2026H2', half: 2, from: '2026-06-30T16:00:00.000Z', to: '2026-12-31T16:00:00.000Z' });
    expect(() => parseQuarter('2026H3', SH)).toThrow(/2026H2/);
    expect(() => parseQuarter('2026h2', SH)).toThrow(QuarterError);
    expect(() => parseQuarter('1999H1', SH)).toThrow(/2000-2100/);
  });
});
