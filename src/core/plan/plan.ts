import type { CapacityVerdict } from '../capacity.ts';
import type { Tier } from '../tiers.ts';

/** What the directory says about one person, as the planner needs it. */
export interface DirectoryPerson {
  readonly uid: string;
  readonly dn: string;
  readonly name: string | null;
  readonly department: string | null;
  readonly title: string | null;
  readonly sshPublicKeys: readonly string[];
}

/** Members of each tier group, as normalised DNs (see core/dn.ts). */
export type ObservedMemberships = Readonly<Record<Tier, ReadonlySet<string>>>;

export const PLAN_ACTIONS = ['grant', 'upgrade', 'downgrade', 'revoke', 'update', 'unchanged'] as const;
export type PlanAction = (typeof PLAN_ACTIONS)[number];

export interface PlannedPerson {
  readonly uid: string;
  readonly dn: string;
  readonly name: string | null;
  /** Roster line, when the person came from a roster. */
  readonly line: number | null;
  readonly from: Tier | null;
  readonly to: Tier | null;
  readonly action: PlanAction;
  readonly decidedBy: string;
  /** Groups the person was in when planned: the staleness check compares against these. */
  readonly observedGroups: readonly Tier[];
  readonly observedSshKeys: readonly string[];
  /** The sshPublicKey values to write, or null to leave the directory's keys alone. */
  readonly setSshKeys: readonly string[] | null;
  readonly expires: string | null;
  /** A WireGuard public key the roster gives: recorded by apply, used on WireGuard gateways. */
  readonly wgKey?: string;
}

export interface PlanProblem {
  readonly line: number | null;
  readonly column: string | null;
  readonly uid: string | null;
  readonly code: string;
  readonly reason: string;
  readonly value: string | null;
}

export type PlanMode = 'roster' | 'revoke' | 'rollback';

export interface Plan {
  readonly kind: 'rac-plan';
  readonly version: 1;
  readonly id: string;
  readonly createdAt: string;
  readonly mode: PlanMode;
  readonly source: {
    readonly file: string | null;
    readonly digest: string | null;
    readonly rows: number;
    readonly encoding: string | null;
    /** For rollback plans: the batch being restored. */
    readonly rollbackOf: string | null;
    /** Roster departments/titles used although the directory says otherwise (--trust-roster-attributes). */
    readonly trustedRosterAttributes?: ReadonlyArray<{
      readonly uid: string;
      readonly field: 'department' | 'title';
      readonly roster: string;
      readonly directory: string | null;
    }>;
  };
  readonly directory: { readonly url: string; readonly groups: Readonly<Record<Tier, string>> };
  readonly observed: { readonly at: string };
  readonly people: readonly PlannedPerson[];
  /** One section per system. Gateways and bastions get theirs as their drivers arrive. */
  readonly systems: {
    readonly ldap: {
      readonly groups: Readonly<Record<Tier, { readonly add: readonly string[]; readonly remove: readonly string[] }>>;
      readonly sshKeys: readonly string[];
    };
  };
  readonly capacity: CapacityVerdict;
  readonly problems: readonly PlanProblem[];
  readonly warnings: readonly string[];
  /** People whose access ends within 7 days (after this plan), soonest first. */
  readonly expiring?: ReadonlyArray<{ readonly uid: string; readonly tier: Tier | null; readonly expires: string }>;
  readonly summary: Readonly<Record<PlanAction | 'rejected' | 'changes', number>>;
}
