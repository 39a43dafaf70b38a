import { type CapacityLimit, expectedPeak, gateCapacity } from '../core/capacity.ts';
import { TIERS, type Tier } from '../core/tiers.ts';
import type { Session } from '../ports.ts';
import { currentCapacityLimit, topologyDigest } from './capacity-limit.ts';
import type { CollectorSnapshot } from './collector.ts';
import type { ServiceDeps } from './deps.ts';
import { topologySince } from './topology.ts';

export interface CapacityBoard {
  readonly at: string;
  readonly targetSessions: number;
  readonly limit: CapacityLimit;
  /** The overall limit and one per kind of enforcer, each with the expected peak of its tiers. */
  readonly limits: ReadonlyArray<{ name: string; sessions: number; expectedPeak: number; headroom: number }>;
  /** The limit with the least headroom. */
  readonly binding: string;
  readonly verified: { readonly sessions: number; readonly at: string; readonly dryRun?: boolean } | null;
  readonly topology: { readonly digest: string; readonly since: string };
  readonly ratedSessions: number;
  readonly sessions: number;
  readonly headroom: number;
  readonly utilization: number;
  readonly tiers: ReadonlyArray<{
    tier: Tier | 'unknown';
    sessions: number;
    usersOnline: number;
    grants: number;
    expectedPeak: number;
  }>;
  readonly gateways: ReadonlyArray<{
    name: string;
    kind: string;
    up: boolean;
    sessions: number;
    rated: number;
    ageSeconds: number | null;
    stale: boolean;
    error: string | null;
  }>;
}

/**
 * Sessions by the tier of access they use (the session's own, else the person's grant); people
 * online by their grant, counted once across hosts.
 */
export function attributeSessions(sessions: readonly Session[], grants: ReadonlyMap<string, Tier>) {
  const byTier = new Map<Tier | 'unknown', { sessions: number; users: Set<string> }>();
  const entry = (tier: Tier | 'unknown') => {
    const e = byTier.get(tier) ?? { sessions: 0, users: new Set<string>() };
    byTier.set(tier, e);
    return e;
  };
  for (const s of sessions) {
    const granted = grants.get(s.uid) ?? 'unknown';
    entry(s.tier ?? granted).sessions++;
    entry(granted).users.add(s.uid);
  }
  return byTier;
}

export function buildCapacityBoard(
  deps: ServiceDeps,
  snapshot: CollectorSnapshot,
  staleAfterMs: number,
): CapacityBoard {
  const { config, store } = deps;
  const now = deps.clock.now();
  const digest = topologyDigest(config);
  const verified =
    config.gateways.length === 0
      ? null
      : store.latestPassingCheck(digest, { acceptDryRun: config.capacity.accept_dry_run });
  const limit = currentCapacityLimit(config, store);
  const fresh = snapshot.hosts.filter((h) => h.observedAt !== null && now.getTime() - h.observedAt <= staleAfterMs);
  const sessions = fresh.flatMap((h) => h.sessions);
  const grants = store.listGrants();
  const counts = store.grantCounts();
  const byTier = attributeSessions(sessions, grants);
  const tiers = [...TIERS, 'unknown' as const].map((tier) => {
    const t = byTier.get(tier);
    const granted = tier === 'unknown' ? 0 : counts[tier];
    const peak =
      tier === 'unknown'
        ? 0
        : expectedPeak({ public: 0, vpn: 0, 'vpn-bastion': 0, [tier]: granted }, config.capacity.peak_concurrency);
    return { tier, sessions: t?.sessions ?? 0, usersOnline: t?.users.size ?? 0, grants: granted, expectedPeak: peak };
  });
  const gateways = snapshot.hosts.map((h) => {
    const age = h.observedAt === null ? null : (now.getTime() - h.observedAt) / 1000;
    return {
      name: h.gateway,
      kind: h.kind,
      up: h.up,
      sessions: h.sessions.length,
      rated: config.gateways.find((g) => g.name === h.gateway)?.rated_sessions ?? 0,
      ageSeconds: age,
      stale: age === null || age * 1000 > staleAfterMs,
      error: h.error,
    };
  });
  // Every limit the onboarding gate holds grants to, with the expected peak it carries; the one
  // with the least headroom binds.
  const grantCounts = { public: counts.public, vpn: counts.vpn, 'vpn-bastion': counts['vpn-bastion'] };
  const verdict = gateCapacity({
    before: grantCounts,
    after: grantCounts,
    peakConcurrency: config.capacity.peak_concurrency,
    limit,
    enforce: config.capacity.enforce,
  });
  const limits = verdict.checks.map((c) => ({
    name: c.name,
    sessions: c.sessions,
    expectedPeak: c.expectedPeak,
    headroom: c.headroom,
  }));
  return {
    at: now.toISOString(),
    targetSessions: config.capacity.target_sessions,
    limit,
    limits,
    binding: verdict.binding,
    verified,
    topology: { digest, since: topologySince(store, digest, now) },
    ratedSessions: config.gateways.filter((g) => g.kind !== 'bastion').reduce((sum, g) => sum + g.rated_sessions, 0),
    sessions: sessions.length,
    headroom: limit.sessions - sessions.length,
    utilization: limit.sessions === 0 ? 0 : sessions.length / limit.sessions,
    tiers,
    gateways,
  };
}
