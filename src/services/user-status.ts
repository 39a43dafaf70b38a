import { normalizeDn } from '../core/dn.ts';
import { AppError } from '../core/errors.ts';
import { countTiers, highestTierByDn, observedGroupsOf } from '../core/plan/build-plan.ts';
import { parseSshPublicKey } from '../core/roster/ssh-public-key.ts';
import { type Tier, tierFromMemberships, tiersIncludedBy } from '../core/tiers.ts';
import type { ServiceDeps } from './deps.ts';

export interface PersonStatus {
  readonly uid: string;
  readonly dn: string;
  readonly name: string | null;
  readonly department: string | null;
  readonly title: string | null;
  readonly tier: Tier | null;
  readonly groups: readonly Tier[];
  /** Group membership is exactly what the tier implies (nobody in vpn without public). */
  readonly consistent: boolean;
  readonly recorded: {
    readonly tier: Tier;
    readonly batchId: string;
    readonly expires: string | null;
    readonly updatedAt: string;
  } | null;
  readonly sshKeys: readonly string[];
  readonly history: ReadonlyArray<{ at: string; action: string; batchId: string | null; from: unknown; to: unknown }>;
  /** Per gateway and bastion: what the host has for this person, and their live sessions. */
  readonly hosts: ReadonlyArray<{
    gateway: string;
    kind: string;
    grant: { tier: string; address: string | null; keys: number | null } | null;
    sessions: ReadonlyArray<{ id: string; since: number | null; address: string | null }>;
    error: string | null;
  }>;
}

export async function personStatus(deps: ServiceDeps, uid: string): Promise<PersonStatus> {
  const key = uid.trim().toLowerCase();
  const [people, memberships] = await Promise.all([deps.directory.findPeople([key]), deps.directory.readMemberships()]);
  const person = people.get(key);
  if (person === undefined)
    throw new AppError(
      'RAC_USAGE_UNKNOWN_PERSON',
      `no person with uid ${key} under ${deps.config.directory.users_base}`,
    );
  const groups = observedGroupsOf(memberships, normalizeDn(person.dn));
  const tier = tierFromMemberships(new Set(groups));
  const grant = deps.store.getGrant(key);
  const history = deps.store.listAudit({ uid: key, limit: 10, newest: true }).map((a) => ({
    at: a.at,
    action: a.action,
    batchId: a.batchId,
    from: a.detail['from'] ?? null,
    to: a.detail['to'] ?? null,
  }));
  const hosts = await Promise.all(
    deps.gateways.map(async (g) => {
      try {
        const [observed, sessions] = await Promise.all([g.observe(), g.listSessions()]);
        const grant = observed.grants.get(key);
        return {
          gateway: g.name,
          kind: g.kind,
          grant:
            grant === undefined
              ? null
              : { tier: grant.tier, address: grant.address ?? null, keys: grant.keys?.length ?? null },
          sessions: sessions
            .filter((x) => x.uid === key)
            .map((x) => ({ id: x.id, since: x.since, address: x.address })),
          error: null,
        };
      } catch (err) {
        return { gateway: g.name, kind: g.kind, grant: null, sessions: [], error: (err as Error).message };
      }
    }),
  );
  return {
    hosts,
    uid: key,
    dn: person.dn,
    name: person.name,
    department: person.department,
    title: person.title,
    tier,
    groups,
    consistent: groups.length === tiersIncludedBy(tier).length,
    recorded:
      grant === null
        ? null
        : { tier: grant.tier, batchId: grant.batchId, expires: grant.expires, updatedAt: grant.updatedAt },
    sshKeys: person.sshPublicKeys.map(describeKey),
    history,
  };
}

export interface Overview {
  readonly directory: Readonly<Record<Tier, number>>;
  readonly recorded: Readonly<Record<Tier, number>>;
  readonly batches: ReturnType<ServiceDeps['store']['listBatches']>;
}

/** Counts per tier in the directory (highest group per person) and in the store, recent batches. */
export async function overview(deps: ServiceDeps): Promise<Overview> {
  const memberships = await deps.directory.readMemberships();
  const directory = countTiers(highestTierByDn(memberships, deps.config.directory.users_base).values());
  return { directory, recorded: deps.store.grantCounts(), batches: deps.store.listBatches(10) };
}

function describeKey(line: string): string {
  const parsed = parseSshPublicKey(line);
  return parsed.ok ? `${parsed.key.type} ${parsed.key.fingerprint}` : 'unparseable key';
}
