import { describe, expect, it } from 'vitest';
import { DEFAULT_CALLING_WINDOW, isOpen, nextOpening, parseWindow, scheduleAt, zoneOffsetMs } from './calling-window.js';

/** Epoch ms of a Shanghai wall time, e.g. sh('2026-05-10T07:59'). */
const sh = (local: string): number => Date.parse(`${local}+08:00`);
const utc = (iso: string): number => Date.parse(`${iso}Z`);

/** Local wall time of an instant in a zone, as "YYYY-MM-DD HH:MM:SS". */
function wall(ms: number, timeZone: string): string {
  const f = new Intl.DateTimeFormat('sv-SE', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return f.format(new Date(ms));
}

const day = parseWindow('08:00', '21:00', 'Asia/Shanghai');

describe('calling window: parsing', () => {
  it('parses HH:MM and the zone', () => {
    expect(day).toEqual({ from: '08:00', to: '21:00', timezone: 'Asia/Shanghai', fromMinute: 480, toMinute: 1260 });
    expect(parseWindow('00:00', '23:59', 'UTC')).toMatchObject({ fromMinute: 0, toMinute: 1439 });
  });

  it('defaults to 08:00–21:00 Asia/Shanghai', () => {
    expect(DEFAULT_CALLING_WINDOW).toEqual(day);
  });

  it.each([
    ['8:00', '21:00', /from must be HH:MM/],
    ['08:00', '2100', /to must be HH:MM/],
    ['08:00 ', '21:00', /from must be HH:MM/],
    ['ab:cd', '21:00', /from must be HH:MM/],
    ['', '21:00', /from must be HH:MM/],
    ['24:00', '21:00', /from: hour must be 00 to 23, got "24:00"/],
    ['08:00', '99:00', /to: hour must be 00 to 23/],
    ['08:60', '21:00', /from: minute must be 00 to 59/],
  ])('rejects from=%j to=%j', (from, to, message) => {
    expect(() => parseWindow(from, to, 'Asia/Shanghai')).toThrow(message);
  });

  it.each(['Mars/Olympus', 'Asia/Shangai', 'not a zone'])('rejects the unknown zone %j', (zone) => {
    expect(() => parseWindow('08:00', '21:00', zone)).toThrow(`calling window timezone is unknown: "${zone}"`);
  });

  it('rejects an empty zone', () => {
    expect(() => parseWindow('08:00', '21:00', '')).toThrow(/timezone must be an IANA zone name/);
  });

  it('rejects a time that is not a number', () => {
    expect(() => isOpen(day, Number.NaN)).toThrow(RangeError);
    expect(() => nextOpening(day, Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

describe('calling window: 08:00–21:00 Asia/Shanghai', () => {
  it('is closed before the opening and opens at 08:00 the same day', () => {
    expect(isOpen(day, sh('2026-05-10T07:59:59.999'))).toBe(false);
    expect(nextOpening(day, sh('2026-05-10T07:59'))).toBe(sh('2026-05-10T08:00'));
    expect(nextOpening(day, sh('2026-05-10T00:00'))).toBe(sh('2026-05-10T08:00'));
  });

  it('is open at the opening itself (from inclusive)', () => {
    expect(isOpen(day, sh('2026-05-10T08:00'))).toBe(true);
    expect(nextOpening(day, sh('2026-05-10T08:00'))).toBe(sh('2026-05-10T08:00'));
  });

  it('returns the instant itself while open', () => {
    const at = sh('2026-05-10T13:27:41.123');
    expect(nextOpening(day, at)).toBe(at);
  });

  it('is still open just before closing', () => {
    expect(isOpen(day, sh('2026-05-10T20:59:59'))).toBe(true);
    expect(isOpen(day, sh('2026-05-10T20:59:59.999'))).toBe(true);
    expect(nextOpening(day, sh('2026-05-10T20:59:59'))).toBe(sh('2026-05-10T20:59:59'));
  });

  it('is closed at the closing (to exclusive) and opens next day at 08:00', () => {
    expect(isOpen(day, sh('2026-05-10T21:00'))).toBe(false);
    expect(nextOpening(day, sh('2026-05-10T21:00'))).toBe(sh('2026-05-11T08:00'));
    expect(nextOpening(day, sh('2026-05-10T23:59:59.999'))).toBe(sh('2026-05-11T08:00'));
  });

  it('crosses month and year ends', () => {
    expect(nextOpening(day, sh('2026-12-31T22:00'))).toBe(sh('2027-01-01T08:00'));
    expect(nextOpening(day, sh('2028-02-28T21:30'))).toBe(sh('2028-02-29T08:00'));
  });

  it('uses the zone, not UTC: 00:30 UTC is 08:30 in Shanghai', () => {
    expect(isOpen(day, utc('2026-05-10T00:30:00'))).toBe(true);
    expect(isOpen(day, utc('2026-05-10T13:00:00'))).toBe(false); // 21:00 in Shanghai
    expect(zoneOffsetMs('Asia/Shanghai', utc('2026-05-10T00:30:00'))).toBe(8 * 3600_000);
  });

  it('scheduleAt keeps a time inside the window and moves one outside to the next opening', () => {
    expect(scheduleAt(day, sh('2026-05-10T10:00'))).toBe(sh('2026-05-10T10:00'));
    // A retry one hour after a 20:30 attempt waits for the morning.
    expect(scheduleAt(day, sh('2026-05-10T20:30') + 3600_000)).toBe(sh('2026-05-11T08:00'));
    expect(scheduleAt(day, sh('2026-05-11T06:15'))).toBe(sh('2026-05-11T08:00'));
  });
});

describe('calling window: across midnight (22:00–06:00)', () => {
  const night = parseWindow('22:00', '06:00', 'Asia/Shanghai');

  it('is open late in the evening and early in the morning', () => {
    expect(isOpen(night, sh('2026-05-10T22:00'))).toBe(true);
    expect(isOpen(night, sh('2026-05-10T23:00'))).toBe(true);
    expect(isOpen(night, sh('2026-05-11T00:00'))).toBe(true);
    expect(isOpen(night, sh('2026-05-11T05:59'))).toBe(true);
    expect(isOpen(night, sh('2026-05-11T05:59:59.999'))).toBe(true);
    expect(nextOpening(night, sh('2026-05-11T05:59'))).toBe(sh('2026-05-11T05:59'));
  });

  it('closes at 06:00 and opens again at 22:00 the same day', () => {
    expect(isOpen(night, sh('2026-05-11T06:00'))).toBe(false);
    expect(nextOpening(night, sh('2026-05-11T06:00'))).toBe(sh('2026-05-11T22:00'));
    expect(nextOpening(night, sh('2026-05-11T21:59:59'))).toBe(sh('2026-05-11T22:00'));
    expect(isOpen(night, sh('2026-05-11T12:00'))).toBe(false);
  });
});

describe('calling window: always open (from == to)', () => {
  it.each([
    ['00:00', '00:00'],
    ['08:00', '08:00'],
  ])('%s–%s is open at any time', (from, to) => {
    const always = parseWindow(from, to, 'Asia/Shanghai');
    for (const at of [sh('2026-05-10T00:00'), sh('2026-05-10T07:59:59'), sh('2026-05-10T08:00'), sh('2026-05-10T21:00'), sh('2026-05-10T23:59:59.999')]) {
      expect(isOpen(always, at)).toBe(true);
      expect(nextOpening(always, at)).toBe(at);
    }
  });
});

describe('calling window: zones with daylight saving time (Europe/Berlin)', () => {
  // 2026-03-29 02:00 CET → 03:00 CEST (01:00 UTC); 2026-10-25 03:00 CEST → 02:00 CET (01:00 UTC).
  const berlin = parseWindow('08:00', '21:00', 'Europe/Berlin');

  it('opens at 08:00 local summer time after the spring change', () => {
    const opening = nextOpening(berlin, utc('2026-03-28T21:00:00')); // 22:00 CET
    expect(opening).toBe(utc('2026-03-29T06:00:00')); // 08:00 CEST, not 07:00 UTC
    expect(wall(opening, 'Europe/Berlin')).toBe('2026-03-29 08:00:00');
  });

  it('opens at 08:00 local winter time after the autumn change', () => {
    const opening = nextOpening(berlin, utc('2026-10-24T20:00:00')); // 22:00 CEST
    expect(opening).toBe(utc('2026-10-25T07:00:00')); // 08:00 CET
    expect(wall(opening, 'Europe/Berlin')).toBe('2026-10-25 08:00:00');
  });

  it('closes at 21:00 local time in summer and in winter', () => {
    expect(isOpen(berlin, utc('2026-07-01T18:59:59'))).toBe(true); // 20:59:59 CEST
    expect(isOpen(berlin, utc('2026-07-01T19:00:00'))).toBe(false); // 21:00 CEST
    expect(isOpen(berlin, utc('2026-01-15T19:59:59'))).toBe(true); // 20:59:59 CET
    expect(isOpen(berlin, utc('2026-01-15T20:00:00'))).toBe(false); // 21:00 CET
  });

  it('a window opening in the skipped hour opens when the clocks jump', () => {
    const w = parseWindow('02:30', '04:00', 'Europe/Berlin');
    const opening = nextOpening(w, utc('2026-03-28T23:00:00')); // 00:00 CET
    expect(opening).toBe(utc('2026-03-29T01:00:00'));
    expect(wall(opening, 'Europe/Berlin')).toBe('2026-03-29 03:00:00');
    expect(isOpen(w, opening - 1)).toBe(false);
  });

  it('a window entirely inside the skipped hour does not open that day', () => {
    const w = parseWindow('02:10', '02:50', 'Europe/Berlin');
    const opening = nextOpening(w, utc('2026-03-28T23:00:00'));
    expect(wall(opening, 'Europe/Berlin')).toBe('2026-03-30 02:10:00');
  });

  it('a window in the repeated hour opens again when the clocks go back', () => {
    const w = parseWindow('01:00', '02:15', 'Europe/Berlin');
    // 02:50 CEST, the first time round: closed; at 03:00 CEST the clocks go back to 02:00 CET.
    const at = utc('2026-10-25T00:50:00');
    expect(isOpen(w, at)).toBe(false);
    expect(nextOpening(w, at)).toBe(utc('2026-10-25T01:00:00'));
  });

  it('agrees with the zone in New York too', () => {
    const ny = parseWindow('08:00', '21:00', 'America/New_York');
    // 2026-03-08 02:00 EST → 03:00 EDT.
    const opening = nextOpening(ny, utc('2026-03-08T03:00:00')); // 22:00 EST on the 7th
    expect(wall(opening, 'America/New_York')).toBe('2026-03-08 08:00:00');
    expect(opening).toBe(utc('2026-03-08T12:00:00'));
  });
});
