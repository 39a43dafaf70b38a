import { TIERS, type Tier } from './tiers.ts';
import type { PreviousVerified } from './topology.ts';

export type TierCounts = Record<Tier, number>;

export interface CapacityLimit {
  readonly sessions: number;
  /**
   * verified: last passing check of the current topology; previous-verified: the current topology is
   * unverified and grew from an earlier verified one, whose figure holds until it is checked; rated:
   * sum of gateways; target: configured target.
   */
  readonly source: 'verified' | 'previous-verified' | 'rated' | 'target';
  readonly detail: string;
}

export interface CapacityInputs {
  readonly targetSessions: number;
  readonly ratedSessions: number | null;
  readonly verified: { readonly sessions: number; readonly at: string; readonly dryRun?: boolean } | null;
  /** While `verified` is null: the earlier recorded topology's verified figure (core/topology.ts). */
  readonly previous?: PreviousVerified | null;
}

/** Onboarding grants against what was proven, else what the hardware is rated for, else the goal. */
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
  if (ratedSessions !== null && ratedSessions > 0) {
    return {
      sessions: ratedSessions,
      source: 'rated',
      detail:
        previous === undefined || previous === null
          ? 'sum of the gateways’ rated sessions (capacity not verified)'
          : `sum of the gateways’ rated sessions (capacity not verified: the topology shrank since ${previous.topology} was verified at ${previous.verified.sessions} sessions — ${previous.reason})`,
    };
  }
  return {
    sessions: targetSessions,
    source: 'target',
    detail: 'the configured target (no gateways rated, capacity not verified)',
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

export interface CapacityVerdict {
  readonly before: { readonly grants: TierCounts; readonly expectedPeak: number };
  readonly after: { readonly grants: TierCounts; readonly expectedPeak: number };
  readonly limit: CapacityLimit;
  readonly headroom: number;
  readonly verdict: 'ok' | 'warn' | 'refuse';
  readonly message: string;
}

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
  const headroom = input.limit.sessions - afterPeak;
  const exceeds = afterPeak > input.limit.sessions && afterPeak > beforePeak;
  const verdict = exceeds ? (input.enforce === 'refuse' ? 'refuse' : 'warn') : 'ok';
  const figures = `expected peak ${beforePeak} → ${afterPeak} sessions against ${input.limit.source} capacity ${input.limit.sessions} (${input.limit.detail})`;
  const message = exceeds
    ? `${figures}: over by ${afterPeak - input.limit.sessions}`
    : `${figures}: headroom ${headroom}`;
  return {
    before: { grants: input.before, expectedPeak: beforePeak },
    after: { grants: input.after, expectedPeak: afterPeak },
    limit: input.limit,
    headroom,
    verdict,
    message,
  };
}
