import type { Config } from '../config/schema.ts';
import {
  describeDiff,
  diffTopologies,
  isEmptyDiff,
  type PreviousVerified,
  previousVerified,
  type Topology,
  type TopologyDiff,
  topologyOf,
} from '../core/topology.ts';
import type { RecordedTopology, Store } from '../ports.ts';

/** The topology the config describes: every gateway and bastion with its kind and rating. */
export function configTopology(config: Config): Topology {
  return topologyOf(config.gateways);
}

export interface TopologyState {
  readonly current: Topology;
  /** The topology recorded last (`rac expand`), or null when none has been recorded yet. */
  readonly recorded: RecordedTopology | null;
  /** What the config changed since the recorded topology (null when none is recorded). */
  readonly diff: TopologyDiff | null;
  /** True when the config differs from the recorded topology: a change `rac expand` has not taken in. */
  readonly unrecorded: boolean;
}

export function topologyState(deps: { readonly config: Config; readonly store: Store }): TopologyState {
  const current = configTopology(deps.config);
  const recorded = deps.store.topologies.current();
  if (recorded === null) return { current, recorded, diff: null, unrecorded: false };
  const diff = diffTopologies(recorded.topology, current);
  return {
    current,
    recorded,
    diff,
    unrecorded: recorded.topology.fingerprint !== current.fingerprint || !isEmptyDiff(diff),
  };
}

/**
 * The warning every command that reads config gives when the config's topology is not the one
 * recorded: what changed, and what to run. rac does not guess whether the change is meant; the
 * gate keeps to the recorded history until `rac expand` records it. Null when there is nothing to say.
 */
export function unrecordedTopologyWarning(state: TopologyState): string[] | null {
  if (!state.unrecorded || state.recorded === null || state.diff === null) return null;
  return [
    `warning: the config's topology (${state.current.fingerprint}) is not the recorded one (${state.recorded.topology.fingerprint}, recorded ${state.recorded.recordedAt}):`,
    ...describeDiff(state.diff).map((line) => `  ${line}`),
    '  run rac expand to push existing grants to new hosts and record it (its capacity is then unverified until a capacity check passes)',
  ];
}

/** The earlier recorded topology whose verified figure the gate may use while the config's is unverified. */
export function previousVerifiedFor(config: Config, store: Store): PreviousVerified | null {
  const acceptDryRun = config.capacity.accept_dry_run;
  return previousVerified(
    configTopology(config),
    store.topologies.history().map((r) => ({
      topology: r.topology,
      verified: store.latestPassingCheck(r.topology.fingerprint, { acceptDryRun }),
    })),
  );
}

/**
 * When the config's topology became the current one: when `rac expand` recorded it, else when rac
 * first saw it (a store that never recorded one, or a change not recorded yet).
 */
export function topologySince(store: Store, fingerprint: string, now: Date): string {
  const recorded = store.topologies.current();
  return recorded?.topology.fingerprint === fingerprint ? recorded.recordedAt : store.topologySeen(fingerprint, now);
}
