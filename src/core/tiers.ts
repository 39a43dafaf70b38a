/** Tiers are ordered; a higher tier includes every lower one (README.md). */
export const TIERS = ['public', 'vpn', 'vpn-bastion'] as const;
export type Tier = (typeof TIERS)[number];

export function isTier(value: string): value is Tier {
  return (TIERS as readonly string[]).includes(value);
}

export function tierRank(tier: Tier | null): number {
  return tier === null ? -1 : TIERS.indexOf(tier);
}

export function compareTiers(a: Tier | null, b: Tier | null): number {
  return tierRank(a) - tierRank(b);
}

/** The groups a person of `tier` belongs to: that tier's and every lower one's. */
export function tiersIncludedBy(tier: Tier | null): readonly Tier[] {
  return tier === null ? [] : TIERS.slice(0, tierRank(tier) + 1);
}

/** The tier a set of group memberships amounts to: the highest group held. */
export function tierFromMemberships(groups: ReadonlySet<Tier>): Tier | null {
  for (let i = TIERS.length - 1; i >= 0; i--) {
    const tier = TIERS[i] as Tier;
    if (groups.has(tier)) return tier;
  }
  return null;
}
