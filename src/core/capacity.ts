import { TIERS, type Tier } from './tiers.ts';
import type { PreviousVerified } from './topology.ts';

export type TierCounts = Record<Tier, number>;

export interface CapacityLimit {
  readonly sessions: number;
  /**
   * verified: last passing check of the current topology; previous-verified: the current topology is
   * unverified and grew from an earlier verified one, whose figure holds until it is checked;
   * target: configured target.
   */
  readonly source: 'verified' | 'previous-verified' | 'target';
  readonly detail: string;
  /**
   * Limits of the kinds of enforcer a tier goes through, checked besides the overall one: the
   * VPN tiers against the VPN gateways' rated sessions, the vpn-bastion tier against the
   * bastions', the public tier against the access proxies'. A kind the topology lacks has none.
   */
  readonly pools?: readonly CapacityPool[];
}

export interface CapacityPool {
  readonly name: 'proxy' | 'vpn' | 'bastion';
  readonly tiers: readonly Tier[];
  readonly sessions: number;
}

/**
 * The rated sessions per kind of enforcer, each carrying the tiers that go through it: VPN
 * gateways (OpenVPN, WireGuard) the VPN tiers, bastions the vpn-bastion tier's SSH sessions, access
 * proxies the public tier. A kind the topology lacks has no pool: its tiers count only against the
 * overall limit.
 */
export function capacityPools(gateways: ReadonlyArray<{ kind: string; rated_sessions: number }>): CapacityPool[] {
  const sum = (kinds: readonly string[]) =>
    gateways.filter((g) => kinds.includes(g.kind)).reduce((n, g) => n + g.rated_sessions, 0);
  const has = (kinds: readonly string[]) => gateways.some((g) => kinds.includes(g.kind));
  const pools: CapacityPool[] = [];
  if (has(['openvpn', 'wireguard']))
    pools.push({ name: 'vpn', tiers: ['vpn', 'vpn-bastion'], sessions: sum(['openvpn', 'wireguard']) });
  if (has(['bastion'])) pools.push({ name: 'bastion', tiers: ['vpn-bastion'], sessions: sum(['bastion']) });
  if (has(['proxy'])) pools.push({ name: 'proxy', tiers: ['public'], sessions: sum(['proxy']) });
  return pools;
}

export interface CapacityInputs {
  readonly targetSessions: number;
  readonly ratedSessions: number | null;
  readonly verified: { readonly sessions: number; readonly at: string; readonly dryRun?: boolean } | null;
  /** While `verified` is null: the earlier recorded topology's verified figure (core/topology.ts). */
  readonly previous?: PreviousVerified | null;
}

/** Onboarding grants against what was proven, else what an earlier topology proved while it only grew, else the goal. */
export function capacityLimit({ targetSessions, ratedSessions, verified, previous }: CapacityInputs): CapacityLimit {
  if (verified !== null) {
    return {
      sessions: verified.sessions,
      source: 'verified',
      detail:
        verified.dryRun === true
          ? `verified by a dry run of the capacity check of ${verified.at} (no load generated; capacity.accept_dry_run)`
          : `verified by the capacity check of ${verified.at}`,
    };
  }
  if (previous?.usable === true) {
    const v = previous.verified;
    return {
      sessions: v.sessions,
      source: 'previous-verified',
      detail: `this topology is unverified; verified for the previous topology ${previous.topology} by ${v.dryRun === true ? 'a dry run of ' : ''}the capacity check of ${v.at}${v.dryRun === true ? ' (no load generated; capacity.accept_dry_run)' : ''} — run a capacity check of this topology`,
    };
  }
  const shrank =
    previous === undefined || previous === null
      ? ''
      : `; the topology shrank since ${previous.topology} was verified at ${previous.verified.sessions} sessions — ${previous.reason}`;
  // Unverified: every tier together against the goal, and (when gateways are rated) each kind of
  // enforcer against its rating (the pools): a public person never counts against a VPN gateway.
  return {
    sessions: targetSessions,
    source: 'target',
    detail:
      ratedSessions !== null && ratedSessions > 0
        ? `the configured target; each kind of enforcer is held to its rated sessions (capacity not verified${shrank})`
        : `the configured target (no gateways rated, capacity not verified${shrank})`,
  };
}

export function emptyCounts(): TierCounts {
  return { public: 0, vpn: 0, 'vpn-bastion': 0 };
}

/** Expected sessions at peak: people granted × the share of them online at peak, per tier. */
export function expectedPeak(grants: TierCounts, peakConcurrency: Readonly<Record<Tier, number>>): number {
  let total = 0;
  for (const tier of TIERS) total += grants[tier] * peakConcurrency[tier];
  return Math.ceil(total);
}

export interface CapacityCheck {
  /** 'overall': every tier against the limit; else a pool of CapacityLimit.pools. */
  readonly name: 'overall' | CapacityPool['name'];
  readonly sessions: number;
  readonly expectedPeakBefore: number;
  readonly expectedPeak: number;
  readonly headroom: number;
}

export interface CapacityVerdict {
  readonly before: { readonly grants: TierCounts; readonly expectedPeak: number };
  readonly after: { readonly grants: TierCounts; readonly expectedPeak: number };
  readonly limit: CapacityLimit;
  readonly headroom: number;
  readonly verdict: 'ok' | 'warn' | 'refuse';
  readonly message: string;
  /** The overall check and one per pool; `binding` is the one with the least headroom. */
  readonly checks: readonly CapacityCheck[];
  readonly binding: CapacityCheck['name'];
}

/** How a pool's enforcers are named in messages and on the capacity board. */
export const POOL_NAMES: Record<CapacityPool['name'], string> = {
  vpn: 'VPN gateways',
  bastion: 'bastions',
  proxy: 'access proxies',
};

const only = (counts: TierCounts, tiers: readonly Tier[]): TierCounts => {
  const out = emptyCounts();
  for (const t of tiers) out[t] = counts[t];
  return out;
};

/**
 * A batch is refused (or warned) only when it pushes the expected peak over the limit: a batch
 * that lowers an already-exceeded peak (revocations, downgrades) is always allowed.
 */
export function gateCapacity(input: {
  before: TierCounts;
  after: TierCounts;
  peakConcurrency: Readonly<Record<Tier, number>>;
  limit: CapacityLimit;
  enforce: 'refuse' | 'warn';
}): CapacityVerdict {
  const beforePeak = expectedPeak(input.before, input.peakConcurrency);
  const afterPeak = expectedPeak(input.after, input.peakConcurrency);
  const checks: CapacityCheck[] = [
    {
      name: 'overall',
      sessions: input.limit.sessions,
      expectedPeakBefore: beforePeak,
      expectedPeak: afterPeak,
      headroom: input.limit.sessions - afterPeak,
    },
  ];
  for (const pool of input.limit.pools ?? []) {
    const peak = expectedPeak(only(input.after, pool.tiers), input.peakConcurrency);
    checks.push({
      name: pool.name,
      sessions: pool.sessions,
      expectedPeakBefore: expectedPeak(only(input.before, pool.tiers), input.peakConcurrency),
      expectedPeak: peak,
      headroom: pool.sessions - peak,
    });
  }
  // A check fails only when it is over its limit and the batch made it worse: a batch that
  // lowers an already-exceeded peak (revocations, downgrades) is always allowed.
  const failing = checks.filter((c) => c.headroom < 0 && c.expectedPeak > c.expectedPeakBefore);
  const binding = (failing.length > 0 ? failing : checks).reduce((a, b) => (b.headroom < a.headroom ? b : a));
  const exceeds = failing.length > 0;
  const verdict = exceeds ? (input.enforce === 'refuse' ? 'refuse' : 'warn') : 'ok';
  const overall = checks[0] as CapacityCheck;
  const figures = `expected peak ${beforePeak} → ${afterPeak} sessions against ${input.limit.source} capacity ${input.limit.sessions} (${input.limit.detail})`;
  const pool =
    binding.name === 'overall'
      ? ''
      : `; binding: the ${POOL_NAMES[binding.name]}, expected peak ${binding.expectedPeakBefore} → ${binding.expectedPeak} of their tiers against ${binding.sessions} rated`;
  const message = exceeds
    ? `${figures}${pool}: over by ${-binding.headroom}`
    : `${figures}${pool}: headroom ${binding.headroom}`;
  return {
    before: { grants: input.before, expectedPeak: beforePeak },
    after: { grants: input.after, expectedPeak: afterPeak },
    limit: input.limit,
    headroom: overall.headroom,
    verdict,
    message,
    checks,
    binding: binding.name,
  };
}
