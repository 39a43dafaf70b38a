import { firstRdnValue, normalizeDn } from '../dn.ts';
import { compilePolicy, decideTier, type Policy } from '../policy.ts';
import type { RosterPerson, RosterProblem } from '../roster/validate-roster.ts';
import { TIERS, type Tier } from '../tiers.ts';
import type { Target } from './build-plan.ts';
import type { DirectoryPerson, ObservedMemberships, PlanProblem } from './plan.ts';

export interface RosterTargets {
  readonly targets: Target[];
  readonly problems: PlanProblem[];
}

/**
 * Roster rows → desired tiers. Roster values win over the directory's for department and
 * title (HR's export is newer); the policy decides the tier and caps what the roster may ask.
 */
export function decideRosterTargets(input: {
  people: readonly RosterPerson[];
  rosterProblems: readonly RosterProblem[];
  directoryPeople: ReadonlyMap<string, DirectoryPerson>;
  policy: Policy;
  usersBase: string;
}): RosterTargets {
  const problems: PlanProblem[] = input.rosterProblems.map((p) => ({
    line: p.line,
    column: p.column,
    uid: null,
    code: p.code,
    reason: p.reason,
    value: p.value,
  }));
  const targets: Target[] = [];
  const compiled = compilePolicy(input.policy);
  for (const row of input.people) {
    const person = input.directoryPeople.get(row.uid);
    if (person === undefined) {
      problems.push({
        line: row.line,
        column: 'uid',
        uid: row.uid,
        code: 'RAC_ROSTER_UNKNOWN_PERSON',
        reason: `no person with uid ${row.uid} under ${input.usersBase}`,
        value: row.uid,
      });
      continue;
    }
    const decision = decideTier(
      input.policy,
      { department: row.department ?? person.department, title: row.title ?? person.title, requested: row.tier },
      compiled,
    );
    if (!decision.ok) {
      problems.push({
        line: row.line,
        column: 'tier',
        uid: row.uid,
        code: 'RAC_ROSTER_TIER_NOT_ALLOWED',
        reason: decision.reason,
        value: row.tier,
      });
      continue;
    }
    if (decision.tier === 'vpn-bastion' && row.sshKey === null && person.sshPublicKeys.length === 0) {
      problems.push({
        line: row.line,
        column: 'ssh_key',
        uid: row.uid,
        code: 'RAC_ROSTER_SSH_KEY_MISSING',
        reason: `vpn-bastion (${decision.decidedBy}) needs an OpenSSH public key: none in the roster or the directory`,
        value: null,
      });
      continue;
    }
    targets.push({
      person,
      line: row.line,
      to: decision.tier,
      decidedBy: decision.decidedBy,
      setSshKeys: row.sshKey === null ? null : [row.sshKey],
      expires: row.expires,
      ...(row.wgKey === undefined || row.wgKey === null ? {} : { wgKey: row.wgKey }),
    });
  }
  return { targets, problems };
}

/**
 * People in a tier group whom no target names: with `--prune` they are revoked. Their uid is
 * read from the DN; members outside the users base (placeholders, services) are never touched.
 */
export function pruneTargets(input: {
  memberships: ObservedMemberships;
  named: ReadonlySet<string>;
  usersBase: string;
}): Array<{ uid: string; dn: string }> {
  const base = normalizeDn(input.usersBase);
  const out = new Map<string, { uid: string; dn: string }>();
  for (const tier of TIERS as readonly Tier[]) {
    for (const dn of input.memberships[tier]) {
      if (!dn.endsWith(`,${base}`) || out.has(dn)) continue;
      const uid = firstRdnValue(dn, 'uid');
      if (uid !== null && !input.named.has(uid)) out.set(dn, { uid, dn });
    }
  }
  return [...out.values()];
}
