import { compilePolicy, decideTier, type Policy, type PolicyDecision } from '../policy.ts';
import type { RosterPerson, RosterProblem } from '../roster/validate-roster.ts';
import { sshKeyId } from '../ssh-key-id.ts';
import type { Tier } from '../tiers.ts';
import type { Target } from './build-plan.ts';
import type { DirectoryPerson, PlanProblem } from './plan.ts';
import type { ResolvedPeople } from './resolve-people.ts';

export interface RosterTargets {
  readonly targets: Target[];
  readonly problems: PlanProblem[];
  /** People whose roster department/title differ from the directory's and were used (trusted). */
  readonly trustedRosterAttributes: ReadonlyArray<{
    uid: string;
    field: 'department' | 'title';
    roster: string;
    directory: string | null;
  }>;
}

/**
 * Roster rows → desired tiers. The policy matches the DIRECTORY's department and title: a
 * roster value that contradicts the directory is a row error naming both, unless
 * `trustRosterAttributes` (then it is used, and listed for the audit log). A roster key is added
 * to the person's directory keys, or replaces them all with `replaceKeys`.
 */
export function decideRosterTargets(input: {
  people: readonly RosterPerson[];
  rosterProblems: readonly RosterProblem[];
  directoryPeople: ReadonlyMap<string, DirectoryPerson>;
  policy: Policy;
  usersBase: string;
  trustRosterAttributes?: boolean;
  replaceKeys?: boolean;
  /** For messages: where the directory's department and title come from. */
  attributeNames?: { readonly department: string; readonly title: string };
  /** The end dates rac has on record, by uid: each target is compared with its own (none: null). */
  recordedExpires?: ReadonlyMap<string, string | null>;
}): RosterTargets {
  const trusted: Array<{ uid: string; field: 'department' | 'title'; roster: string; directory: string | null }> = [];
  const problems: PlanProblem[] = input.rosterProblems.map((p) => ({
    line: p.line,
    column: p.column,
    uid: null,
    code: p.code,
    reason: p.reason,
    value: p.value,
  }));
  const targets: Target[] = [];
  const decide = memoizedDecideTier(input.policy);
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
    let conflict = false;
    const attributes: Record<'department' | 'title', string | null> = {
      department: person.department,
      title: person.title,
    };
    for (const field of ['department', 'title'] as const) {
      const fromRoster = row[field];
      const fromDirectory = person[field];
      if (fromRoster === null || sameText(fromRoster, fromDirectory)) continue;
      if (input.trustRosterAttributes === true) {
        attributes[field] = fromRoster;
        trusted.push({ uid: row.uid, field, roster: fromRoster, directory: fromDirectory });
        continue;
      }
      conflict = true;
      const where = input.attributeNames?.[field] ?? field;
      problems.push({
        line: row.line,
        column: field,
        uid: row.uid,
        code: 'RAC_ROSTER_ATTRIBUTE_CONFLICT',
        reason: `${field} ${JSON.stringify(fromRoster)} contradicts the directory's ${fromDirectory === null ? `empty ${where}` : `${JSON.stringify(fromDirectory)} (${where})`}; the directory decides (--trust-roster-attributes uses the roster's, audited)`,
        value: fromRoster,
      });
    }
    if (conflict) continue;
    const decision = decide(attributes.department, attributes.title, row.tier);
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
      setSshKeys: keysFor(row.sshKey, person.sshPublicKeys, input.replaceKeys === true),
      expires: row.expires,
      recordedExpires: input.recordedExpires === undefined ? undefined : (input.recordedExpires.get(row.uid) ?? null),
      ...(row.wgKey === undefined || row.wgKey === null ? {} : { wgKey: row.wgKey }),
    });
  }
  return { targets, problems, trustedRosterAttributes: trusted };
}

/** The sshPublicKey values to write for a roster key: added to the person's others, or replacing them. */
function keysFor(rosterKey: string | null, current: readonly string[], replace: boolean): string[] | null {
  if (rosterKey === null) return null;
  if (replace) return [rosterKey];
  const id = sshKeyId(rosterKey);
  if (current.some((k) => sshKeyId(k) === id)) return null;
  return [...current, rosterKey];
}

function sameText(a: string, b: string | null): boolean {
  return b !== null && (a === b || a.trim().toLowerCase() === b.trim().toLowerCase());
}

/**
 * decideTier, once per distinct department, title and requested tier: a roster of 50 000 people
 * has a few hundred of those, and matching them is most of the work of deciding.
 */
function memoizedDecideTier(
  policy: Policy,
): (department: string | null, title: string | null, requested: Tier | null) => PolicyDecision {
  const compiled = compilePolicy(policy);
  const decisions = new Map<string, PolicyDecision>();
  return (department, title, requested) => {
    // JSON of the three: no department or title text can make two different subjects one key.
    const key = JSON.stringify([department, title, requested]);
    let decision = decisions.get(key);
    if (decision === undefined) {
      decision = decideTier(policy, { department, title, requested }, compiled);
      decisions.set(key, decision);
    }
    return decision;
  };
}

/**
 * People in a tier group whom no target names: with `--prune` they are revoked. Their uid is the
 * one their entry holds; members outside the users base (placeholders, services) are never touched.
 */
export function pruneTargets(input: {
  people: ResolvedPeople;
  named: ReadonlySet<string>;
}): Array<{ uid: string; dn: string }> {
  const out: Array<{ uid: string; dn: string }> = [];
  for (const [uid, dn] of input.people.dns) if (!input.named.has(uid)) out.push({ uid, dn });
  return out;
}
