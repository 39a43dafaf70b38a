import { parseArgs } from 'node:util';
import { AppError, ExitCode } from '../../core/errors.ts';
import { applyPlan } from '../../services/apply-plan.ts';
import { planRollback } from '../../services/rollback-batch.ts';
import type { CliContext } from '../context.ts';
import { renderPlan } from '../render.ts';
import { printReport } from './apply.ts';

/** `rac rollback <batch>`: restores exactly what the batch changed; refuses people changed since. */
export async function rollbackCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { yes: { type: 'boolean', short: 'y', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new AppError('RAC_USAGE', 'usage: rac rollback <batch> [--yes] [--json]');
  await using services = ctx.services();
  const plan = await planRollback(services, positionals[0] as string);
  if (!ctx.output.json) for (const line of renderPlan(plan)) ctx.output.text(line);
  if (plan.summary.changes > 0 && !values.yes) {
    if (!ctx.stdinIsTTY) throw new AppError('RAC_USAGE_CONFIRM', 'not a terminal: run rac rollback with --yes');
    const answer = await ctx.ask(`\nRoll back ${plan.summary.changes} changes? Type yes to continue: `);
    if (answer.trim().toLowerCase() !== 'yes') return ExitCode.ok;
  }
  const report = await applyPlan(services, plan, { signal: ctx.signal });
  printReport(ctx, plan, report);
  return report.status === 'applied' && plan.problems.length === 0 ? ExitCode.ok : ExitCode.partialFailure;
}
