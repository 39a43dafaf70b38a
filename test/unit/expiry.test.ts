import { describe, expect, it } from 'vitest';
import { endsWithin, expiryInstant, isExpired, isValidTimeZone, localDate } from '../../src/core/expiry.ts';

describe('expiry dates end at the end of their day in the site’s time zone', () => {
  it('ends a Shanghai date at the next midnight there (16:00 UTC)', () => {
    expect(expiryInstant('2026-12-31', 'Asia/Shanghai').toISOString()).toBe('2026-12-31T16:00:00.000Z');
  });

  it('ends a UTC date at 00:00 UTC of the next day', () => {
    expect(expiryInstant('2026-02-28', 'UTC').toISOString()).toBe('2026-03-01T00:00:00.000Z');
  });

  it('follows daylight saving time (New York in summer is UTC-4, in winter UTC-5)', () => {
    expect(expiryInstant('2026-07-01', 'America/New_York').toISOString()).toBe('2026-07-02T04:00:00.000Z');
    expect(expiryInstant('2026-12-01', 'America/New_York').toISOString()).toBe('2026-12-02T05:00:00.000Z');
    // The day DST starts (8 March 2026): midnight after it is already summer time.
    expect(expiryInstant('2026-03-08', 'America/New_York').toISOString()).toBe('2026-03-09T04:00:00.000Z');
  });

  it('keeps access through the last second of the day and ends it at midnight', () => {
    const zone = 'Asia/Shanghai';
    expect(isExpired('2026-12-31', new Date('2026-12-31T15:59:59Z'), zone)).toBe(false);
    expect(isExpired('2026-12-31', new Date('2026-12-31T16:00:00Z'), zone)).toBe(true);
  });

  it('finds dates ending within a number of days, not those already past', () => {
    const now = new Date('2026-12-01T00:00:00Z');
    expect(endsWithin('2026-12-05', now, 'UTC', 7)).toBe(true);
    expect(endsWithin('2026-12-08', now, 'UTC', 7)).toBe(false);
    expect(endsWithin('2026-11-30', now, 'UTC', 7)).toBe(false);
  });

  it('gives the local calendar day', () => {
    expect(localDate(new Date('2026-12-31T17:00:00Z'), 'Asia/Shanghai')).toBe('2027-01-01');
    expect(localDate(new Date('2026-12-31T17:00:00Z'), 'UTC')).toBe('2026-12-31');
  });

  it('rejects malformed dates and unknown zones', () => {
    expect(() => expiryInstant('31/12/2026', 'UTC')).toThrow(/YYYY-MM-DD/);
    expect(isValidTimeZone('Asia/Shanghai')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
  });
});
