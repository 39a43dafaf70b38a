import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AppError, ExitCode } from '../../core/errors.ts';
import { applyPlan } from '../../services/apply-plan.ts';
import { planRevoke } from '../../services/plan-batch.ts';
import type { CliContext } from '../context.ts';
import { renderProblems } from '../render.ts';
import { printReport } from './apply.ts';

/** `rac revoke <uid…> | --file list`: removes access at once, no confirmation (it is urgent). */
export async function revokeCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { file: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const uids = [...positionals];
  if (values.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(values.file, 'utf8');
    } catch (err) {
      throw new AppError('RAC_USAGE_FILE', `cannot read ${values.file}: ${(err as Error).message}`, { cause: err });
    }
    uids.push(...text.split(/[\s,]+/).filter((u) => u.length > 0 && !u.startsWith('#')));
  }
  if (uids.length === 0) throw new AppError('RAC_USAGE', 'usage: rac revoke <uid…> | --file <list> [--json]');
  await using services = ctx.services();
  const plan = await planRevoke(services, uids);
  if (plan.people.length === 0) {
    throw new AppError('RAC_ROSTER_UNKNOWN_PEOPLE', `nobody to revoke:\n${renderProblems(plan.problems).join('\n')}`, {
      details: { problems: plan.problems },
    });
  }
  const report = await applyPlan(services, plan, { signal: ctx.signal });
  printReport(ctx, plan, report);
  if (!ctx.output.json) {
    const revoked = report.people.filter((p) => p.outcome === 'applied').map((p) => p.uid);
    const untouched = report.people.filter((p) => p.outcome === 'unchanged').map((p) => p.uid);
    if (revoked.length > 0) ctx.output.text(`Revoked: ${revoked.join(', ')}`);
    if (untouched.length > 0) ctx.output.text(`Had no access: ${untouched.join(', ')}`);
  }
  return report.status === 'applied' && plan.problems.length === 0 ? ExitCode.ok : ExitCode.partialFailure;
}
