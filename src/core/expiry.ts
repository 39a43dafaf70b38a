/**
 * Roster dates are calendar days in the site's time zone: access granted "until 2026-12-31"
 * lasts through that whole day there and ends at the next midnight of that zone.
 */

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Is `timeZone` an IANA zone this runtime knows? */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** Minutes east of UTC of `timeZone` at `instant` (e.g. +480 for Asia/Shanghai). */
function offsetMinutes(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((wall - Math.floor(instant / 1000) * 1000) / 60_000);
}

/** The instant a grant dated `date` (YYYY-MM-DD) ends: the midnight after that day, in `timeZone`. */
export function expiryInstant(date: string, timeZone: string): Date {
  const m = DATE.exec(date);
  if (m === null) throw new RangeError(`expiry date must be YYYY-MM-DD, not ${JSON.stringify(date)}`);
  const nextMidnightWall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1);
  // The zone's offset can differ either side of a DST change: settle it in two steps.
  let guess = nextMidnightWall - offsetMinutes(nextMidnightWall, timeZone) * 60_000;
  guess = nextMidnightWall - offsetMinutes(guess, timeZone) * 60_000;
  return new Date(guess);
}

/** Has access dated `date` ended at `now`? */
export function isExpired(date: string, now: Date, timeZone: string): boolean {
  return now.getTime() >= expiryInstant(date, timeZone).getTime();
}

/** Does access dated `date` end within `days` days of `now` (and not yet)? */
export function endsWithin(date: string, now: Date, timeZone: string, days: number): boolean {
  const end = expiryInstant(date, timeZone).getTime();
  return end > now.getTime() && end - now.getTime() <= days * 86_400_000;
}

/** The calendar day `now` falls on in `timeZone`, as YYYY-MM-DD. */
export function localDate(now: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(now);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}
