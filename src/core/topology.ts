import { createHash } from 'node:crypto';

/** Every enforcer rac manages, as a capacity check sees it: what it is and what it is rated for. */
export interface TopologyHost {
  readonly name: string;
  readonly kind: string;
  readonly ratedSessions: number;
}

/** The set of enforcers a capacity check proves, with its fingerprint (the check is stored against it). */
export interface Topology {
  /** Sorted by name. */
  readonly hosts: readonly TopologyHost[];
  readonly fingerprint: string;
}

/**
 * The topology of a gateway list (the config's `gateways`). The fingerprint is the digest that
 * capacity checks are stored against; it ignores order, addresses and credentials, so moving a
 * gateway to another address is not a new topology, while adding, removing or re-rating one is.
 */
export function topologyOf(
  gateways: ReadonlyArray<{ readonly name: string; readonly kind: string; readonly rated_sessions: number }>,
): Topology {
  const hosts = gateways
    .map((g) => ({ name: g.name, kind: g.kind, ratedSessions: g.rated_sessions }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { hosts, fingerprint: fingerprintOf(hosts) };
}

export function fingerprintOf(hosts: readonly TopologyHost[]): string {
  const parts = hosts.map((h) => `${h.name}:${h.kind}:${h.ratedSessions}`).sort();
  return `sha256:${createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16)}`;
}

export interface TopologyDiff {
  readonly added: readonly TopologyHost[];
  readonly removed: readonly TopologyHost[];
  readonly rerated: ReadonlyArray<{
    readonly name: string;
    readonly kind: string;
    readonly from: number;
    readonly to: number;
  }>;
  readonly kindChanged: ReadonlyArray<{ readonly name: string; readonly from: string; readonly to: string }>;
}

/** What changed from one topology to the next, host by host (by name). */
export function diffTopologies(from: Topology, to: Topology): TopologyDiff {
  const before = new Map(from.hosts.map((h) => [h.name, h]));
  const after = new Map(to.hosts.map((h) => [h.name, h]));
  const added = to.hosts.filter((h) => !before.has(h.name));
  const removed = from.hosts.filter((h) => !after.has(h.name));
  const rerated: Array<TopologyDiff['rerated'][number]> = [];
  const kindChanged: Array<TopologyDiff['kindChanged'][number]> = [];
  for (const h of to.hosts) {
    const old = before.get(h.name);
    if (old === undefined) continue;
    if (old.kind !== h.kind) kindChanged.push({ name: h.name, from: old.kind, to: h.kind });
    if (old.ratedSessions !== h.ratedSessions)
      rerated.push({ name: h.name, kind: h.kind, from: old.ratedSessions, to: h.ratedSessions });
  }
  return { added, removed, rerated, kindChanged };
}

export function isEmptyDiff(d: TopologyDiff): boolean {
  return d.added.length + d.removed.length + d.rerated.length + d.kindChanged.length === 0;
}

/**
 * Why a figure proven on `from` says nothing about `to`, or null when `to` only grew: a host
 * removed, rated lower or turned into another kind of enforcer. What a smaller or different
 * fleet holds was never measured.
 */
export function shrinkReason(d: TopologyDiff): string | null {
  const reasons = [
    ...d.removed.map((h) => `${h.name} removed`),
    ...d.rerated.filter((r) => r.to < r.from).map((r) => `${r.name} rated ${r.from} → ${r.to}`),
    ...d.kindChanged.map((k) => `${k.name} changed from ${k.from} to ${k.to}`),
  ];
  return reasons.length === 0 ? null : reasons.join(', ');
}

/** One line per change, for the terminal and the audit log. */
export function describeDiff(d: TopologyDiff): string[] {
  return [
    ...d.added.map((h) => `+ ${h.name} (${h.kind}, rated ${h.ratedSessions})`),
    ...d.removed.map((h) => `- ${h.name} (${h.kind}, rated ${h.ratedSessions})`),
    ...d.kindChanged.map((k) => `~ ${k.name} kind ${k.from} → ${k.to}`),
    ...d.rerated.map((r) => `~ ${r.name} rated ${r.from} → ${r.to}`),
  ];
}

/** The hosts that hold none of the grants yet: new names, and hosts that became another kind. */
export function hostsToProvision(d: TopologyDiff): string[] {
  return [...d.added.map((h) => h.name), ...d.kindChanged.map((k) => k.name)];
}

export interface VerifiedFigure {
  readonly sessions: number;
  readonly at: string;
  readonly dryRun?: boolean;
}

/** What the gate may use while the current topology is unverified. */
export type PreviousVerified =
  | {
      readonly usable: true;
      readonly topology: string;
      readonly verified: VerifiedFigure;
    }
  | {
      readonly usable: false;
      readonly topology: string;
      readonly verified: VerifiedFigure;
      readonly reason: string;
    };

/**
 * While `current` has no passing check of its own, the gate grants against the verified figure of
 * the newest earlier recorded topology that had one — but only if `current` grew from it. A
 * shrink (or a kind change) makes that figure meaningless; then the caller falls back to rated
 * capacity. `history` is newest first; entries with `current`'s fingerprint are skipped.
 */
export function previousVerified(
  current: Topology,
  history: ReadonlyArray<{ readonly topology: Topology; readonly verified: VerifiedFigure | null }>,
): PreviousVerified | null {
  const previous = history.find((h) => h.topology.fingerprint !== current.fingerprint && h.verified !== null);
  if (previous === undefined || previous.verified === null) return null;
  const reason = shrinkReason(diffTopologies(previous.topology, current));
  return reason === null
    ? { usable: true, topology: previous.topology.fingerprint, verified: previous.verified }
    : { usable: false, topology: previous.topology.fingerprint, verified: previous.verified, reason };
}
