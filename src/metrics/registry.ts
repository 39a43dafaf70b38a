import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { expectedPeak } from '../core/capacity.ts';
import { expiryInstant } from '../core/expiry.ts';
import { TIERS, type Tier } from '../core/tiers.ts';
import { topologyDigest } from '../services/capacity-limit.ts';
import type { CollectObserver, Collector } from '../services/collector.ts';
import type { ServiceDeps } from '../services/deps.ts';
import { siteTimeZone } from '../services/plan-batch.ts';
import { previousVerifiedFor, topologySince as topologySinceOf } from '../services/topology.ts';
import { createAuditTally } from './audit-tally.ts';

export interface Metrics {
  readonly registry: Registry;
  /** For the collector: per-host durations and errors, as they happen. */
  readonly observer: CollectObserver;
}

/**
 * The exporter: a dedicated registry (not prom-client's global one, and without its default
 * process metrics), every value computed at scrape time from the collector's cached snapshot and
 * the store — a scrape never waits on SSH. No label ever names a person (README.md, "One definition of connected").
 */
export function createMetrics(
  deps: ServiceDeps,
  collector: () => Collector,
  options: { staleAfterMs: number },
): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const tierOf = (grants: ReadonlyMap<string, Tier>, uid: string): Tier | 'unknown' => grants.get(uid) ?? 'unknown';
  // Aggregated once per collection cycle, off the scrape path (the collector calls
  // cycleCompleted): a scrape costs the same with 10 000 sessions as with 10.
  let cache: ReturnType<typeof aggregate> | null = null;
  const tally = createAuditTally();
  /** Only the audit records written since the last cycle are read. */
  const readAudit = () => {
    for (;;) {
      const rows = deps.store.auditEventsAfter(tally.cursor);
      tally.add(rows);
      if (rows.length < 10_000) break;
    }
    return tally.operations();
  };
  const aggregate = () => {
    const grants = deps.store.listGrants();
    const now = Date.now();
    const sessions = new Map<string, { gateway: string; kind: string; tier: string; n: number }>();
    const online = new Set<string>();
    for (const host of collector().snapshot().hosts) {
      for (const tier of TIERS)
        sessions.set(`${host.gateway}\0${tier}`, { gateway: host.gateway, kind: host.kind, tier, n: 0 });
      // A host that stopped answering keeps its last count for a while, then counts as unknown.
      if (host.observedAt === null || now - host.observedAt > options.staleAfterMs) continue;
      for (const s of host.sessions) {
        // The tier of access used (the proxy says public for everyone); people online stay by grant.
        const tier = s.tier ?? tierOf(grants, s.uid);
        const key = `${host.gateway}\0${tier}`;
        const entry = sessions.get(key) ?? { gateway: host.gateway, kind: host.kind, tier, n: 0 };
        entry.n++;
        sessions.set(key, entry);
        online.add(s.uid);
      }
    }
    const usersOnline = new Map<string, number>([...TIERS.map((t) => [t, 0] as const), ['unknown', 0]]);
    for (const uid of online) {
      const tier = tierOf(grants, uid);
      usersOnline.set(tier, (usersOnline.get(tier) ?? 0) + 1);
    }
    return {
      sessions: [...sessions.values()],
      usersOnline,
      counts: deps.store.grantCounts(),
      expiring: countExpiring(deps),
      funnel: deps.store.funnel(deps.clock.now()),
      operations: readAudit(),
      batches: deps.store.batchSeconds(),
    };
  };
  const view = () => {
    cache ??= aggregate();
    return cache;
  };
  // The topology of a running exporter is its config's: recorded once, not on every scrape.
  const topology = topologyDigest(deps.config);
  const topologySince = Date.parse(topologySinceOf(deps.store, topology, deps.clock.now())) / 1000;

  new Gauge({
    name: 'remote_access_sessions',
    help: 'Live sessions (OpenVPN clients past authentication, bastion sshd sessions, people active on an access proxy) by gateway and tier of access used.',
    labelNames: ['gateway', 'gateway_kind', 'tier'],
    registers,
    collect() {
      this.reset();
      for (const e of view().sessions) this.set({ gateway: e.gateway, gateway_kind: e.kind, tier: e.tier }, e.n);
    },
  });

  new Gauge({
    name: 'remote_access_users_online',
    help: 'Distinct people with at least one live session, by tier.',
    labelNames: ['tier'],
    registers,
    collect() {
      this.reset();
      for (const [tier, n] of view().usersOnline) this.set({ tier }, n);
    },
  });

  new Gauge({
    name: 'remote_access_capacity_target_sessions',
    help: 'The concurrent-session target.',
    registers,
    collect() {
      this.set(deps.config.capacity.target_sessions);
    },
  });

  new Gauge({
    name: 'remote_access_capacity_rated_sessions',
    help: 'Sessions each gateway is rated for.',
    // gateway_kind as on remote_access_sessions, so ratings sum per enforcer class.
    labelNames: ['gateway', 'gateway_kind'],
    registers,
    collect() {
      this.reset();
      for (const g of deps.config.gateways) this.set({ gateway: g.name, gateway_kind: g.kind }, g.rated_sessions);
    },
  });

  // Labelled by topology (one series at a time): a label-less prom-client gauge always exports a
  // value, and these must be absent while the current topology is unverified.
  const verified = () =>
    deps.config.gateways.length === 0
      ? null
      : deps.store.latestPassingCheck(topology, { acceptDryRun: deps.config.capacity.accept_dry_run });
  new Gauge({
    name: 'remote_access_capacity_verified_sessions',
    help: 'Sessions proven by the last passing capacity check of the current topology (absent while unverified).',
    labelNames: ['topology'],
    registers,
    collect() {
      this.reset();
      const v = verified();
      if (v !== null) this.set({ topology }, v.sessions);
    },
  });
  new Gauge({
    name: 'remote_access_capacity_verified_timestamp_seconds',
    help: 'When the current topology’s capacity was last verified (absent while unverified).',
    labelNames: ['topology'],
    registers,
    collect() {
      this.reset();
      const v = verified();
      if (v !== null) this.set({ topology }, Date.parse(v.at) / 1000);
    },
  });
  new Gauge({
    name: 'remote_access_capacity_previous_verified_sessions',
    help: 'While the current topology is unverified: the verified sessions of the earlier recorded topology the gate grants against (absent otherwise, and after a shrink).',
    labelNames: ['topology'],
    registers,
    collect() {
      this.reset();
      if (deps.config.gateways.length === 0 || verified() !== null) return;
      const previous = previousVerifiedFor(deps.config, deps.store);
      if (previous?.usable === true) this.set({ topology: previous.topology }, previous.verified.sessions);
    },
  });
  new Gauge({
    name: 'remote_access_capacity_topology_changed_timestamp_seconds',
    help: 'When the current gateway topology was first seen.',
    registers,
    collect() {
      this.set(topologySince);
    },
  });

  new Gauge({
    name: 'remote_access_grants',
    help: 'People granted, by tier.',
    labelNames: ['tier'],
    registers,
    collect() {
      const { counts } = view();
      for (const t of TIERS) this.set({ tier: t }, counts[t]);
    },
  });
  new Gauge({
    name: 'remote_access_expected_peak_sessions',
    help: 'Grants times the expected share online at peak, by tier.',
    labelNames: ['tier'],
    registers,
    collect() {
      const { counts } = view();
      for (const t of TIERS) {
        const only = { public: 0, vpn: 0, 'vpn-bastion': 0, [t]: counts[t] };
        this.set({ tier: t }, expectedPeak(only, deps.config.capacity.peak_concurrency));
      }
    },
  });

  new Gauge({
    name: 'remote_access_grants_expiring',
    help: 'Grants whose access ends within 7 days (or has ended and awaits rac expire), by tier.',
    labelNames: ['tier'],
    registers,
    collect() {
      const { expiring } = view();
      for (const t of TIERS) this.set({ tier: t }, expiring[t]);
    },
  });

  new Gauge({
    name: 'remote_access_gateway_up',
    help: '1 when the gateway or bastion answered the last poll.',
    labelNames: ['gateway', 'gateway_kind'],
    registers,
    collect() {
      this.reset();
      for (const h of collector().snapshot().hosts)
        this.set({ gateway: h.gateway, gateway_kind: h.kind }, h.up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'remote_access_observation_age_seconds',
    help: 'Age of the last good observation of each host (absent before the first one).',
    labelNames: ['gateway'],
    registers,
    collect() {
      this.reset();
      const now = Date.now();
      for (const h of collector().snapshot().hosts)
        if (h.observedAt !== null) this.set({ gateway: h.gateway }, (now - h.observedAt) / 1000);
    },
  });
  new Gauge({
    name: 'remote_access_collector_last_success_timestamp_seconds',
    help: 'End of the last collection cycle in which at least one host answered.',
    registers,
    collect() {
      this.reset();
      const at = collector().snapshot().lastSuccessAt;
      if (at !== null) this.set(at / 1000);
    },
  });

  const duration = new Histogram({
    name: 'remote_access_collect_duration_seconds',
    help: 'Time to poll one host for its sessions.',
    labelNames: ['gateway'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const errors = new Counter({
    name: 'remote_access_collect_errors_total',
    help: 'Failed polls of a host, by reason.',
    labelNames: ['gateway', 'reason'],
    registers,
  });

  new Counter({
    name: 'remote_access_provisioning_operations_total',
    help: 'Provisioning operations recorded in the audit log, by system, operation and result.',
    labelNames: ['system', 'operation', 'result'],
    registers,
    collect() {
      this.reset();
      for (const op of view().operations) {
        this.inc({ system: op.system, operation: op.operation, result: op.result }, op.count);
      }
    },
  });
  new Histogram({
    name: 'remote_access_revocation_seconds',
    help: 'From rac revoke to verified: no access and no live session left.',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers,
    collect() {
      // Observed once each, as they are read: a histogram keeps its own totals.
      view();
      for (const s of tally.takeRevocations()) this.observe(s);
    },
  });

  new Histogram({
    name: 'remote_access_batch_duration_seconds',
    help: 'How long each finished batch (apply, revoke, rollback) took, from creation to its last update.',
    labelNames: ['mode', 'status'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers,
    collect() {
      this.reset();
      for (const b of view().batches) this.observe({ mode: b.mode, status: b.status }, b.seconds);
    },
  });

  new Gauge({
    name: 'remote_access_onboarding_people',
    help: 'The onboarding funnel: people granted, connected at least once, active in the last 24 h and 7 days, by tier.',
    labelNames: ['tier', 'stage'],
    registers,
    collect() {
      const { stages } = view().funnel;
      for (const t of TIERS) {
        this.set({ tier: t, stage: 'granted' }, stages[t].granted);
        this.set({ tier: t, stage: 'connected_once' }, stages[t].connectedOnce);
        this.set({ tier: t, stage: 'active_24h' }, stages[t].active24h);
        this.set({ tier: t, stage: 'active_7d' }, stages[t].active7d);
      }
    },
  });
  new Histogram({
    name: 'remote_access_time_to_first_connection_seconds',
    help: 'From a person’s grant to their first live session.',
    buckets: [60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400],
    registers,
    collect() {
      this.reset();
      for (const s of view().funnel.firstConnectionSeconds) this.observe(s);
    },
  });

  return {
    registry,
    observer: {
      cycleCompleted() {
        cache = aggregate();
      },
      hostCollected({ gateway, seconds, ok, reason }) {
        duration.observe({ gateway }, seconds);
        if (!ok) errors.inc({ gateway, reason: reason ?? 'unexpected' });
      },
    },
  };
}

function countExpiring(deps: ServiceDeps): Record<Tier, number> {
  const zone = siteTimeZone(deps.config);
  const horizon = deps.clock.now().getTime() + 7 * 86_400_000;
  const counts: Record<Tier, number> = { public: 0, vpn: 0, 'vpn-bastion': 0 };
  for (const g of deps.store.datedGrants()) if (expiryInstant(g.expires, zone).getTime() <= horizon) counts[g.tier]++;
  return counts;
}
