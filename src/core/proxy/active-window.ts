import { type AccessLogEntry, addressIn, isAuthenticatedRequest, scanAccessLog } from './access-log.ts';
import { mapKeyOf } from './allow-map.ts';

/**
 * "Connected" on the access proxy (design §4.5): a distinct person with at least one
 * authenticated (2xx/3xx) request in the last `windowMs`. There is no session to see on a web
 * proxy, so this is our own definition: other proxies (oauth2-proxy, Pomerium, Authelia) export
 * request counters only.
 */

export interface PersonActivity {
  /** As the allow map keys it (ASCII lower case). */
  readonly uid: string;
  /** Start of the current run of requests (no gap longer than the window). */
  first: number;
  last: number;
  address: string | null;
}

export type ActivityTable = Map<string, PersonActivity>;

/** One authenticated request; true when it is the person's newest so far (its address counts). */
function recordOne(table: ActivityTable, uid: string, at: number, windowMs: number): PersonActivity | null {
  const seen = table.get(uid);
  if (seen === undefined) {
    const person = { uid, first: at, last: at, address: null };
    table.set(uid, person);
    return person;
  }
  if (at - seen.last > windowMs) seen.first = at;
  else if (at < seen.first) seen.first = at;
  if (at < seen.last) return null;
  seen.last = at;
  return seen;
}

/** Folds requests into the table; entries may arrive out of order (logged when they end). */
export function recordRequests(table: ActivityTable, entries: Iterable<AccessLogEntry>, windowMs: number): void {
  for (const entry of entries) {
    if (!isAuthenticatedRequest(entry)) continue;
    const newest = recordOne(table, mapKeyOf(entry.user), entry.at, windowMs);
    if (newest !== null && entry.address !== null) newest.address = entry.address;
  }
}

/**
 * Folds complete log lines straight into the table (the collector's path: no entry objects, and
 * the address read once per person, from their newest line). Returns the invalid line count.
 */
export function foldAccessLog(table: ActivityTable, bytes: Uint8Array, windowMs: number): number {
  const newest = new Map<PersonActivity, { text: string; start: number; end: number }>();
  const invalid = scanAccessLog(bytes, (at, user, status, text, start, end) => {
    if (user === '' || status < 200 || status >= 400) return;
    const person = recordOne(table, mapKeyOf(user), at, windowMs);
    if (person === null) return;
    const line = newest.get(person);
    if (line === undefined) newest.set(person, { text, start, end });
    else {
      line.start = start;
      line.end = end;
    }
  });
  for (const [person, line] of newest) {
    const address = addressIn(line.text, line.start, line.end);
    if (address !== null) person.address = address;
  }
  return invalid;
}

/** People active at `nowMs`; forgets everyone whose last request left the window. */
export function activePeople(table: ActivityTable, nowMs: number, windowMs: number): PersonActivity[] {
  const active: PersonActivity[] = [];
  for (const [uid, person] of table) {
    if (nowMs - person.last > windowMs) table.delete(uid);
    else active.push(person);
  }
  return active;
}
