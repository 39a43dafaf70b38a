import { expiryInstant, isExpired } from '../core/expiry.ts';
import type { Tier } from '../core/tiers.ts';
import type { ServiceDeps } from './deps.ts';
import { siteTimeZone } from './plan-batch.ts';
import { type RevokeReport, revokeAccess } from './revoke-access.ts';

export interface ExpireReport {
  readonly at: string;
  readonly timeZone: string;
  /** Grants whose date has passed: revoked now (or, with dryRun, that would be). */
  readonly due: ReadonlyArray<{ uid: string; tier: Tier; expires: string; endedAt: string }>;
  readonly dryRun: boolean;
  /** The revocation, through the normal revoke path (sessions killed, verified, audited `expired`). */
  readonly revocation: RevokeReport | null;
  /** People no longer in the directory: nothing to revoke there; rac's record of them is closed. */
  readonly gone: readonly string[];
}

/**
 * Revokes every grant whose `expires` date has passed — in the site's time zone, at the end of
 * that day — through the normal revocation path, audited with reason `expired`.
 */
export async function expireGrants(
  deps: ServiceDeps,
  options: { dryRun?: boolean; signal?: AbortSignal | undefined } = {},
): Promise<ExpireReport> {
  const now = deps.clock.now();
  const timeZone = siteTimeZone(deps.config);
  const due = deps.store
    .datedGrants()
    .filter((g) => isExpired(g.expires, now, timeZone))
    .map((g) => ({ ...g, endedAt: expiryInstant(g.expires, timeZone).toISOString() }));
  const base = { at: now.toISOString(), timeZone, due, dryRun: options.dryRun === true };
  if (due.length === 0 || options.dryRun === true) return { ...base, revocation: null, gone: [] };
  const uids = due.map((g) => g.uid);
  let revocation: RevokeReport | null = null;
  let gone: string[] = [];
  try {
    revocation = await revokeAccess(deps, uids, { signal: options.signal, reason: 'expired' });
    gone = [...revocation.unknown];
  } catch (err) {
    if ((err as { code?: string }).code !== 'RAC_ROSTER_UNKNOWN_PEOPLE') throw err;
    gone = uids;
  }
  if (gone.length > 0) deps.store.closeGrants(gone, deps.actor, 'expired; no longer in the directory');
  return { ...base, revocation, gone };
}
