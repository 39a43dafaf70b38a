import { type AccessLogEntry, isAuthenticatedRequest } from './access-log.ts';
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

/** Folds requests into the table; entries may arrive out of order (logged when they end). */
export function recordRequests(table: ActivityTable, entries: Iterable<AccessLogEntry>, windowMs: number): void {
  for (const entry of entries) {
    if (!isAuthenticatedRequest(entry)) continue;
    const uid = mapKeyOf(entry.user);
    const seen = table.get(uid);
    if (seen === undefined) {
      table.set(uid, { uid, first: entry.at, last: entry.at, address: entry.address });
      continue;
    }
    if (entry.at - seen.last > windowMs) seen.first = entry.at;
    else if (entry.at < seen.first) seen.first = entry.at;
    if (entry.at >= seen.last) {
      seen.last = entry.at;
      if (entry.address !== null) seen.address = entry.address;
    }
  }
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
