import { normalizeDn } from '../core/dn.ts';
import { AppError } from '../core/errors.ts';
import type { Target } from '../core/plan/build-plan.ts';
import { observedGroupsOf } from '../core/plan/build-plan.ts';
import type { Plan, PlanProblem } from '../core/plan/plan.ts';
import { tiersIncludedBy } from '../core/tiers.ts';
import type { ServiceDeps } from './deps.ts';
import { finishPlan } from './plan-batch.ts';

/**
 * Plan that restores what batch `batchId` changed: each person back to the tier (and keys) they
 * had before it. People changed since — by a later batch, or outside rac — are refused by name.
 */
export async function planRollback(deps: ServiceDeps, batchId: string): Promise<Plan> {
  const batch = deps.store.getBatch(batchId);
  if (batch === null)
    throw new AppError('RAC_USAGE_BATCH_NOT_FOUND', `no batch ${batchId} (rac status lists recent batches)`);
  const items = deps.store.getItems(batchId).filter((i) => i.outcome === 'applied');
  const now = deps.clock.now();
  const later = deps.store.laterChanges(
    batchId,
    items.map((i) => i.uid),
  );
  const [people, memberships] = await Promise.all([
    deps.directory.findPeople(items.map((i) => i.uid)),
    deps.directory.readMemberships(),
  ]);
  const problems: PlanProblem[] = [];
  const targets: Target[] = [];
  for (const item of items) {
    const refuse = (reason: string) =>
      problems.push({ line: null, column: null, uid: item.uid, code: 'RAC_ROLLBACK_REFUSED', reason, value: null });
    const laterBatch = later.get(item.uid);
    if (laterBatch !== undefined) {
      refuse(`${item.uid} was changed since by batch ${laterBatch}; roll that back first`);
      continue;
    }
    const person = people.get(item.uid);
    if (person === undefined) {
      refuse(`${item.uid} is no longer in the directory`);
      continue;
    }
    const groups = observedGroupsOf(memberships, normalizeDn(person.dn));
    const expected = tiersIncludedBy(item.afterTier);
    if (groups.length !== expected.length || !expected.every((t) => groups.includes(t))) {
      refuse(
        `${item.uid} was changed outside rac since (now in [${groups.join(', ')}], the batch left [${expected.join(', ')}])`,
      );
      continue;
    }
    targets.push({
      person,
      line: null,
      to: item.beforeTier,
      decidedBy: `rollback of ${batchId}`,
      setSshKeys: item.afterSshKeys === null ? null : item.beforeSshKeys,
      expires: deps.store.getGrant(item.uid)?.expires ?? null,
    });
  }
  return finishPlan(deps, {
    mode: 'rollback',
    now,
    source: { file: null, digest: null, rows: items.length, encoding: null, rollbackOf: batchId },
    targets,
    memberships,
    problems,
    warnings: [],
  });
}
