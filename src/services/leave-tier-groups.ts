import { normalizeDn } from '../core/dn.ts';
import { TIERS } from '../core/tiers.ts';
import type { ServiceDeps } from './deps.ts';

/**
 * Takes these entries out of every tier group they are in: one delete per group that holds any
 * of them, highest tier first (so nobody is left with more than they had at any moment). A
 * modify that fails goes to `onError`, which may throw to stop.
 */
export async function leaveTierGroups(
  deps: ServiceDeps,
  dns: readonly string[],
  onError: (err: unknown) => void,
  stats?: { modifies: number },
): Promise<void> {
  const memberships = await deps.directory.readMemberships();
  for (const tier of [...TIERS].reverse()) {
    const members = dns.filter((dn) => memberships[tier].has(normalizeDn(dn)));
    if (members.length === 0) continue;
    if (stats !== undefined) stats.modifies++;
    await deps.directory.modifyMembers(tier, 'delete', members).catch(onError);
  }
}
