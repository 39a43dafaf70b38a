import type { CapacityLimit } from '../core/capacity.ts';
import { AppError } from '../core/errors.ts';
import { describeDiff, hostsToProvision, type Topology, type TopologyDiff } from '../core/topology.ts';
import type { RecordedTopology } from '../ports.ts';
import type { ServiceDeps } from './deps.ts';
import { withApplyLock } from './locks.ts';
import { desiredStateOf, type HostFailure, readDirectoryView, syncGateways } from './sync-gateways.ts';
import { topologyState } from './topology.ts';

export interface ExpandPreview {
  /** baseline: nothing recorded yet, the config's topology is recorded as it is; none: no change. */
  readonly action: 'baseline' | 'none' | 'expand';
  readonly current: Topology;
  readonly recorded: RecordedTopology | null;
  readonly diff: TopologyDiff | null;
  /** One line per change (+ added, - removed, ~ re-rated or another kind). */
  readonly changes: readonly string[];
  /** Hosts that get every existing grant: added ones, and ones that became another kind. */
  readonly provision: readonly string[];
}

/** What `rac expand` would do, from the config and the recorded topology; changes nothing. */
export function previewExpand(deps: ServiceDeps): ExpandPreview {
  const state = topologyState(deps);
  if (state.recorded === null)
    return { action: 'baseline', current: state.current, recorded: null, diff: null, changes: [], provision: [] };
  const diff = state.diff as TopologyDiff;
  if (!state.unrecorded)
    return { action: 'none', current: state.current, recorded: state.recorded, diff, changes: [], provision: [] };
  return {
    action: 'expand',
    current: state.current,
    recorded: state.recorded,
    diff,
    changes: describeDiff(diff),
    provision: hostsToProvision(diff),
  };
}

export interface ExpandHostResult {
  readonly name: string;
  readonly kind: string;
  /** applied: written and read back with every grant; not-verified: written, but the read-back lacks some. */
  readonly status: 'applied' | 'not-verified' | 'unavailable' | 'failed';
  readonly added: number;
  readonly unchanged: number;
  /** Grants the host holds for the people it should carry, as read back after the write. */
  readonly verified: number;
  readonly expected: number;
  readonly missing: readonly string[];
  readonly error: string | null;
  readonly durationMs: number;
  /** People this host could not get (their own directory data, an exhausted pool). */
  readonly failed: readonly HostFailure[];
}

export interface ExpandReport {
  /** recorded: the new topology is recorded; unchanged: nothing to do; partial: a host was not done, nothing recorded. */
  readonly status: 'recorded' | 'baseline' | 'unchanged' | 'partial';
  readonly from: string | null;
  readonly to: string;
  readonly changes: readonly string[];
  readonly hosts: readonly ExpandHostResult[];
  readonly capacity: CapacityLimit;
}

/**
 * Takes a topology change in: every existing grant pushed to the new hosts through the normal
 * sync (each host read back afterwards, as an apply proves its work), then the new topology
 * recorded as current, its capacity unverified until a capacity check of it passes. Runs under
 * the apply lock. A host that was not reached leaves the topology unrecorded, so running it
 * again finishes the job; with no change it does nothing.
 *
 * `confirmed` is the recorded topology the user saw (its seq, or null for none): if another
 * `rac expand` recorded one since, this refuses rather than act on what was not shown.
 */
export async function expandTopology(
  deps: ServiceDeps,
  options: { confirmed: number | null; signal?: AbortSignal | undefined },
): Promise<ExpandReport> {
  return withApplyLock(deps, async () => {
    const preview = previewExpand(deps);
    if ((preview.recorded?.seq ?? null) !== options.confirmed)
      throw new AppError(
        'RAC_PLAN_STALE',
        `the recorded topology changed since it was shown (now ${preview.recorded?.topology.fingerprint ?? 'none'}); run rac expand again`,
      );
    const base = { from: preview.recorded?.topology.fingerprint ?? null, to: preview.current.fingerprint };
    // A topology seen and checked before keeps that check; otherwise it is unverified from now on.
    const checked = deps.store.latestPassingCheck(preview.current.fingerprint, {
      acceptDryRun: deps.config.capacity.accept_dry_run,
    });
    const capacity = checked === null ? 'unverified' : `verified by the capacity check of ${checked.at}`;
    if (preview.action === 'none')
      return { status: 'unchanged', ...base, changes: [], hosts: [], capacity: deps.capacityLimit() };
    if (preview.action === 'baseline') {
      deps.store.topologies.record(preview.current, deps.actor, { baseline: true, capacity });
      return { status: 'baseline', ...base, changes: [], hosts: [], capacity: deps.capacityLimit() };
    }

    const hosts = await provisionHosts(deps, preview.provision, options.signal);
    // Counted with every other host write (remote_access_provisioning_operations_total).
    for (const h of hosts)
      if (h.status === 'applied' || h.status === 'not-verified')
        deps.store.audit({
          action: 'system.apply',
          actor: deps.actor,
          detail: { system: h.name, applied: h.verified, notApplied: h.missing.length, by: 'expand' },
        });
    const done = hosts.every((h) => h.status === 'applied');
    const hostSummary = hosts.map((h) => ({ name: h.name, status: h.status, verified: h.verified, error: h.error }));
    if (!done) {
      deps.store.audit({
        action: 'topology.expand.partial',
        actor: deps.actor,
        detail: { from: base.from, to: base.to, changes: preview.changes, hosts: hostSummary },
      });
      return { status: 'partial', ...base, changes: preview.changes, hosts, capacity: deps.capacityLimit() };
    }
    deps.store.topologies.record(preview.current, deps.actor, {
      from: base.from,
      changes: preview.changes,
      hosts: hostSummary,
      capacity,
    });
    return { status: 'recorded', ...base, changes: preview.changes, hosts, capacity: deps.capacityLimit() };
  });
}

/** Brings the new hosts to the directory's state, then reads each back against what it should hold. */
async function provisionHosts(
  deps: ServiceDeps,
  names: readonly string[],
  signal: AbortSignal | undefined,
): Promise<ExpandHostResult[]> {
  if (names.length === 0) return [];
  const view = await readDirectoryView(deps);
  const synced = await syncGateways(deps, { signal, only: names, view });
  return Promise.all(
    synced.map(async (s): Promise<ExpandHostResult> => {
      const base = {
        name: s.name,
        kind: s.kind,
        added: s.report?.added.length ?? 0,
        unchanged: s.report?.unchanged ?? 0,
        durationMs: s.durationMs,
        failed: s.failed,
      };
      if (s.status !== 'applied')
        return { ...base, status: s.status, verified: 0, expected: 0, missing: [], error: s.error };
      const driver = deps.gateways.find((d) => d.name === s.name);
      if (driver === undefined) throw new AppError('RAC_CONFIG_INVALID', `no gateway ${s.name} in the config`);
      try {
        const want = desiredStateOf(deps, driver, view, false).desired;
        const revoked = deps.store.activeRevocations();
        const observed = await driver.observe(signal);
        const expected = [...want.values()].filter((g) => !revoked.has(g.uid));
        const missing = expected.filter((g) => observed.grants.get(g.uid)?.tier !== g.tier).map((g) => g.uid);
        return {
          ...base,
          status: missing.length === 0 ? 'applied' : 'not-verified',
          verified: expected.length - missing.length,
          expected: expected.length,
          missing,
          error: missing.length === 0 ? null : `${missing.length} grant(s) not found when read back`,
        };
      } catch (err) {
        const code = err instanceof AppError ? err.code : 'RAC_UNEXPECTED';
        return {
          ...base,
          status: 'unavailable',
          verified: 0,
          expected: 0,
          missing: [],
          error: `read-back failed: ${code}: ${(err as Error).message}`,
        };
      }
    }),
  );
}
