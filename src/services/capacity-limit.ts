import type { Config } from '../config/schema.ts';
import { type CapacityLimit, capacityLimit, capacityPools } from '../core/capacity.ts';
import { topologyOf } from '../core/topology.ts';
import type { Store } from '../ports.ts';
import { previousVerifiedFor } from './topology.ts';

/** The topology a capacity check proves: the set of gateways with their kinds and ratings. */
export function topologyDigest(config: Config): string {
  return topologyOf(config.gateways).fingerprint;
}

/**
 * The overall limit (every tier together: verified, else the previous topology's verified figure
 * while it only grew, else the target) and one limit per kind of enforcer (its rated sessions,
 * against the tiers it carries).
 */
export function currentCapacityLimit(config: Config, store: Store): CapacityLimit {
  const rating = config.gateways.filter((g) => g.kind !== 'bastion');
  const rated = rating.length === 0 ? null : rating.reduce((sum, g) => sum + g.rated_sessions, 0);
  const verified =
    config.gateways.length === 0
      ? null
      : store.latestPassingCheck(topologyDigest(config), { acceptDryRun: config.capacity.accept_dry_run });
  const limit = capacityLimit({
    targetSessions: config.capacity.target_sessions,
    ratedSessions: rated,
    verified,
    // While this topology is unverified: the last verified recorded topology's figure, if it only grew since.
    previous: verified !== null || config.gateways.length === 0 ? null : previousVerifiedFor(config, store),
  });
  const pools = capacityPools(config.gateways);
  return pools.length === 0 ? limit : { ...limit, pools };
}
