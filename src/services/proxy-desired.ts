import type { Tier } from '../core/tiers.ts';
import type { GatewayGrant } from '../ports.ts';

/**
 * The desired state of an access proxy: everyone in the directory's `public` group, which
 * includes every vpn and vpn-bastion person (a higher tier includes the lower ones), each with
 * their highest tier as the map's value (the site allows any tier value, denies the rest).
 */
export function proxyDesiredState(tiers: ReadonlyMap<string, Tier>): {
  desired: Map<string, GatewayGrant>;
  unplaceable: ReadonlyArray<{ uid: string; error: string }>;
} {
  const desired = new Map<string, GatewayGrant>();
  for (const [uid, tier] of tiers) desired.set(uid, { uid, tier });
  return { desired, unplaceable: [] };
}
