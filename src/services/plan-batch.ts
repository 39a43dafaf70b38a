import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { AppError } from '../core/errors.ts';
import { endsWithin, localDate } from '../core/expiry.ts';
import { newId } from '../core/ids.ts';
import { buildPlan, type Target } from '../core/plan/build-plan.ts';
import { decideRosterTargets, pruneTargets } from '../core/plan/decide-targets.ts';
import type { DirectoryPerson, Plan, PlanMode, PlanProblem } from '../core/plan/plan.ts';
import { parseRoster } from '../core/roster/validate-roster.ts';
import type { ServiceDeps } from './deps.ts';
import { readDirectoryView } from './sync-gateways.ts';

export interface PlanRosterInput {
  readonly bytes: Uint8Array;
  readonly file: string | null;
  readonly encoding?: 'auto' | 'utf-8' | 'gbk';
  readonly prune?: boolean;
  readonly skipInvalid?: boolean;
  /** Use the roster's department/title where they contradict the directory (audited). */
  readonly trustRosterAttributes?: boolean;
  /** The roster's ssh_key replaces the person's directory keys instead of being added to them. */
  readonly replaceKeys?: boolean;
}

/**
 * Roster → plan. Reads the directory (people named by the roster, members of the three groups)
 * and decides every change; changes nothing. A roster with rejected rows yields RAC_ROSTER_REJECTED
 * unless `skipInvalid`; a plan over capacity is returned with verdict `refuse` for the caller.
 */
export async function planRoster(deps: ServiceDeps, input: PlanRosterInput): Promise<Plan> {
  const now = deps.clock.now();
  const parsed = parseRoster(input.bytes, {
    encoding: input.encoding ?? 'auto',
    today: localDate(now, siteTimeZone(deps.config)),
  });
  const uids = parsed.people.map((p) => p.uid);
  // One read at a time: for a 50 000-person roster the two together double the peak memory
  // of parsing LDAP responses, and gain little time against one slapd.
  const directoryPeople = await deps.directory.findPeople(uids);
  const memberships = await deps.directory.readMemberships();
  const usersBase = deps.config.directory.users_base;
  const attributes = deps.config.directory.attributes;
  // An end date that changed is a change too, even when the groups and keys are as wanted.
  // One read of the dated grants, not a query per person (50 000-person rosters).
  const datedGrants = deps.store.datedGrants();
  const decided = decideRosterTargets({
    people: parsed.people,
    rosterProblems: parsed.problems,
    directoryPeople,
    policy: deps.policy(),
    usersBase,
    trustRosterAttributes: input.trustRosterAttributes === true,
    replaceKeys: input.replaceKeys === true,
    attributeNames: {
      department: [attributes.department].flat().join('/'),
      title: [attributes.title].flat().join('/'),
    },
    recordedExpires: new Map(datedGrants.map((g) => [g.uid, g.expires])),
  });
  const targets: Target[] = decided.targets;
  if (decided.problems.length > 0 && input.skipInvalid !== true) {
    throw rosterRejected(decided.problems, parsed.rows);
  }
  if (input.prune === true) {
    if (decided.problems.length > 0) {
      throw new AppError(
        'RAC_USAGE_PRUNE_WITH_REJECTED_ROWS',
        '--prune needs a roster without rejected rows: a rejected person would be revoked',
      );
    }
    const view = await readDirectoryView(deps, memberships);
    const extra = pruneTargets({ people: view.people, named: new Set(uids) });
    const found = await deps.directory.findPeople(extra.map((e) => e.uid));
    for (const { uid, dn } of extra) {
      targets.push({
        person: found.get(uid) ?? orphan(uid, dn),
        line: null,
        to: null,
        decidedBy: 'prune: in a tier group but not in the roster',
        setSshKeys: null,
        expires: null,
      });
    }
  }
  return finishPlan(deps, {
    mode: 'roster',
    now,
    datedGrants,
    source: {
      file: input.file === null ? null : basename(input.file),
      digest: `sha256:${createHash('sha256')
        .update(input.bytes)
        .update(input.prune === true ? '\0prune' : '')
        .digest('hex')}`,
      rows: parsed.rows,
      encoding: parsed.encodingDetected ? `${parsed.encoding} (detected)` : parsed.encoding,
      rollbackOf: null,
      ...(decided.trustedRosterAttributes.length === 0
        ? {}
        : { trustedRosterAttributes: decided.trustedRosterAttributes }),
    },
    targets,
    memberships,
    problems: decided.problems,
    warnings: parsed.warnings,
  });
}

/** Revocation plan: every named person leaves every tier group. */
export async function planRevoke(deps: ServiceDeps, uids: readonly string[]): Promise<Plan> {
  const now = deps.clock.now();
  const unique = [...new Set(uids.map((u) => u.trim().toLowerCase()).filter((u) => u.length > 0))];
  if (unique.length === 0) throw new AppError('RAC_USAGE_NO_PEOPLE', 'name at least one uid to revoke');
  const [people, memberships] = await Promise.all([
    deps.directory.findPeople(unique),
    deps.directory.readMemberships(),
  ]);
  const problems: PlanProblem[] = [];
  const targets: Target[] = [];
  for (const uid of unique) {
    const person = people.get(uid);
    if (person === undefined) {
      problems.push({
        line: null,
        column: null,
        uid,
        code: 'RAC_REVOKE_UNKNOWN_PERSON',
        reason: `no person with uid ${uid} under ${deps.config.directory.users_base}`,
        value: uid,
      });
      continue;
    }
    targets.push({ person, line: null, to: null, decidedBy: 'revoke', setSshKeys: null, expires: null });
  }
  return finishPlan(deps, {
    mode: 'revoke',
    now,
    source: { file: null, digest: null, rows: unique.length, encoding: null, rollbackOf: null },
    targets,
    memberships,
    problems,
    warnings: [],
  });
}

export function finishPlan(
  deps: ServiceDeps,
  input: {
    mode: PlanMode;
    now: Date;
    source: Plan['source'];
    targets: readonly Target[];
    memberships: Awaited<ReturnType<ServiceDeps['directory']['readMemberships']>>;
    problems: readonly PlanProblem[];
    warnings: readonly string[];
    /** The recorded dated grants when the caller has just read them. */
    datedGrants?: ReturnType<ServiceDeps['store']['datedGrants']>;
  },
): Plan {
  const { config } = deps;
  const plan = buildPlan({
    id: newId('p', input.now),
    createdAt: input.now.toISOString(),
    mode: input.mode,
    source: input.source,
    directory: { url: config.directory.url, groups: config.directory.groups },
    usersBase: config.directory.users_base,
    targets: input.targets,
    memberships: input.memberships,
    problems: input.problems,
    warnings: input.warnings,
    capacity: {
      limit: deps.capacityLimit(),
      peakConcurrency: config.capacity.peak_concurrency,
      enforce: config.capacity.enforce,
    },
  });
  return { ...plan, expiring: expiringAfter(deps, plan, input.now, input.datedGrants ?? deps.store.datedGrants()) };
}

/** The site's time zone for roster dates: `expiry.timezone`, else the machine's. */
export function siteTimeZone(config: ServiceDeps['config']): string {
  return config.expiry.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
}

const EXPIRING_DAYS = 7;

/** People whose access ends within 7 days once this plan is applied: recorded grants and the plan's own. */
function expiringAfter(
  deps: ServiceDeps,
  plan: Plan,
  now: Date,
  datedGrants: ReturnType<ServiceDeps['store']['datedGrants']>,
): NonNullable<Plan['expiring']> {
  const zone = siteTimeZone(deps.config);
  const byUid = new Map<string, { uid: string; tier: Plan['people'][number]['to']; expires: string }>();
  for (const g of datedGrants) byUid.set(g.uid, { uid: g.uid, tier: g.tier, expires: g.expires });
  for (const p of plan.people) {
    if (p.to === null) byUid.delete(p.uid);
    else if (p.expires !== null) byUid.set(p.uid, { uid: p.uid, tier: p.to, expires: p.expires });
  }
  return [...byUid.values()]
    .filter((g) => endsWithin(g.expires, now, zone, EXPIRING_DAYS))
    .sort((a, b) => (a.expires < b.expires ? -1 : a.expires > b.expires ? 1 : a.uid < b.uid ? -1 : 1));
}

function orphan(uid: string, dn: string): DirectoryPerson {
  return { uid, dn, name: null, department: null, title: null, sshPublicKeys: [] };
}

export function rosterRejected(problems: readonly PlanProblem[], rows: number): AppError {
  const lines = problems
    .slice(0, 50)
    .map((p) => `  ${p.line === null ? '' : `line ${p.line}`}${p.column === null ? '' : `, ${p.column}`}: ${p.reason}`);
  return new AppError(
    'RAC_ROSTER_REJECTED',
    `roster rejected: ${problems.length} of ${rows} rows have problems; nothing was changed (use --skip-invalid to apply the valid rows)\n${lines.join('\n')}${problems.length > 50 ? `\n  … and ${problems.length - 50} more (--json lists all)` : ''}`,
    { details: { problems } },
  );
}
