import { type CapacityLimit, emptyCounts, gateCapacity, type TierCounts } from '../capacity.ts';
import { normalizeDn } from '../dn.ts';
import { sameSshKeys, sshKeyId } from '../ssh-key-id.ts';
import { compareTiers, TIERS, type Tier, tiersIncludedBy } from '../tiers.ts';
import type {
  DirectoryPerson,
  ObservedMemberships,
  Plan,
  PlanAction,
  PlanMode,
  PlannedPerson,
  PlanProblem,
} from './plan.ts';

/** One person's desired state, whichever front end (roster, revoke, rollback) decided it. */
export interface Target {
  readonly person: DirectoryPerson;
  readonly line: number | null;
  readonly to: Tier | null;
  readonly decidedBy: string;
  readonly setSshKeys: readonly string[] | null;
  readonly expires: string | null;
  /** The end date rac has on record for this person's grant (undefined: not known, not compared). */
  readonly recordedExpires?: string | null;
  /** A WireGuard public key from the roster. */
  readonly wgKey?: string;
}

export interface BuildPlanInput {
  readonly id: string;
  readonly createdAt: string;
  readonly mode: PlanMode;
  readonly source: Plan['source'];
  readonly directory: Plan['directory'];
  readonly usersBase: string;
  readonly targets: readonly Target[];
  readonly memberships: ObservedMemberships;
  readonly problems: readonly PlanProblem[];
  readonly warnings: readonly string[];
  readonly capacity: {
    readonly limit: CapacityLimit;
    readonly peakConcurrency: Readonly<Record<Tier, number>>;
    readonly enforce: 'refuse' | 'warn';
  };
}

/** Desired against observed: pure, and the single place where a plan's changes are decided. */
export function buildPlan(input: BuildPlanInput): Plan {
  const people: PlannedPerson[] = [];
  const groups = Object.fromEntries(TIERS.map((t) => [t, { add: [] as string[], remove: [] as string[] }])) as Record<
    Tier,
    { add: string[]; remove: string[] }
  >;
  const sshKeys: string[] = [];
  const summary = { grant: 0, upgrade: 0, downgrade: 0, revoke: 0, update: 0, unchanged: 0, rejected: 0, changes: 0 };
  const tierByDn = highestTierByDn(input.memberships, input.usersBase);
  const targetByDn = new Map<string, Tier | null>();

  for (const target of input.targets) {
    const dn = normalizeDn(target.person.dn);
    const observed = observedGroupsOf(input.memberships, dn);
    // observed follows TIERS' order: its last group is the highest.
    const from = observed.at(-1) ?? null;
    const wanted = tiersIncludedBy(target.to);
    const add = wanted.filter((t) => !observed.includes(t));
    const remove = observed.filter((t) => !wanted.includes(t));
    const keysChange = target.setSshKeys !== null && !sameSshKeys(target.setSshKeys, target.person.sshPublicKeys);
    const expiresChange =
      target.recordedExpires !== undefined && target.to !== null && target.expires !== target.recordedExpires;
    const action = classify(from, target.to, add.length + remove.length > 0 || keysChange || expiresChange);
    for (const t of add) groups[t].add.push(target.person.uid);
    for (const t of remove) groups[t].remove.push(target.person.uid);
    if (keysChange) sshKeys.push(target.person.uid);
    summary[action]++;
    if (action !== 'unchanged') summary.changes++;
    targetByDn.set(dn, target.to);
    const planned: PlannedPerson = {
      uid: target.person.uid,
      dn: target.person.dn,
      name: target.person.name,
      line: target.line,
      from,
      to: target.to,
      action,
      decidedBy: target.decidedBy,
      observedGroups: observed,
      observedSshKeys: target.person.sshPublicKeys,
      setSshKeys: keysChange ? target.setSshKeys : null,
      expires: target.expires,
    };
    // Spread only for the few with a WireGuard key: a spread builds the object the slow way.
    people.push(target.wgKey === undefined ? planned : { ...planned, wgKey: target.wgKey });
  }
  summary.rejected = input.problems.length;

  const before = countTiers(tierByDn.values());
  const after = countTiers(
    (function* () {
      for (const [dn, tier] of tierByDn) if (!targetByDn.has(dn)) yield tier;
      yield* targetByDn.values();
    })(),
  );
  const capacity = gateCapacity({
    before,
    after,
    peakConcurrency: input.capacity.peakConcurrency,
    limit: input.capacity.limit,
    enforce: input.capacity.enforce,
  });

  return {
    kind: 'rac-plan',
    version: 1,
    id: input.id,
    createdAt: input.createdAt,
    mode: input.mode,
    source: input.source,
    directory: input.directory,
    observed: { at: input.createdAt },
    people,
    systems: { ldap: { groups, sshKeys } },
    capacity,
    problems: input.problems,
    warnings: input.warnings,
    summary,
  };
}

function classify(from: Tier | null, to: Tier | null, changes: boolean): PlanAction {
  if (!changes) return 'unchanged';
  if (from === null && to !== null) return 'grant';
  if (to === null) return 'revoke';
  const order = compareTiers(to, from);
  if (order > 0) return 'upgrade';
  if (order < 0) return 'downgrade';
  return 'update';
}

export function observedGroupsOf(memberships: ObservedMemberships, normalizedDn: string): Tier[] {
  return TIERS.filter((t) => memberships[t].has(normalizedDn));
}

/** Highest tier per person DN inside the users base (placeholders and service members are not people). */
export function highestTierByDn(memberships: ObservedMemberships, usersBase: string): Map<string, Tier> {
  const out = new Map<string, Tier>();
  const base = normalizeDn(usersBase);
  for (const tier of TIERS) {
    for (const dn of memberships[tier]) {
      if (dn !== base && dn.endsWith(`,${base}`)) out.set(dn, tier);
    }
  }
  return out;
}

export function countTiers(tiers: Iterable<Tier | null>): TierCounts {
  const counts = emptyCounts();
  for (const tier of tiers) if (tier !== null) counts[tier]++;
  return counts;
}

/** One person's groups and keys (type and blob; comments grant nothing): what staleness checks compare. */
export function personState(uid: string, groups: readonly Tier[], keys: readonly string[]): string {
  const keyIds = keys.map(sshKeyId).sort();
  return `${uid}|${[...groups].sort().join(',')}|${keyIds.join(';')}`;
}

/**
 * Capacity of a plan against memberships read now (apply re-checks: another batch may have
 * granted people since the plan was made).
 */
export function recheckCapacity(
  plan: Plan,
  memberships: ObservedMemberships,
  usersBase: string,
  capacity: BuildPlanInput['capacity'],
) {
  const tierByDn = highestTierByDn(memberships, usersBase);
  const before = countTiers(tierByDn.values());
  for (const person of plan.people) tierByDn.set(normalizeDn(person.dn), person.to as Tier);
  const after = countTiers(tierByDn.values());
  return gateCapacity({ before, after, ...capacity });
}
