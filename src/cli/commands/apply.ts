import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { AppError, ExitCode } from '../../core/errors.ts';
import type { Plan } from '../../core/plan/plan.ts';
import { type ApplyReport, applyPlan } from '../../services/apply-plan.ts';
import { planRoster } from '../../services/plan-batch.ts';
import type { CliContext } from '../context.ts';
import { createProgress } from '../progress.ts';
import { renderApplyReport, renderPlan, renderProblems } from '../render.ts';
import { warnUnrecordedTopology } from '../topology-warning.ts';
import { PLAN_OPTIONS, parseEncoding, readRoster } from './plan.ts';

const USAGE =
  'usage: rac apply <plan.json | roster.csv> [--yes] [--canary N] [--wave-size M] [--json] [--encoding auto|utf-8|gbk] [--prune] [--skip-invalid] [--trust-roster-attributes] [--replace-keys]';

/**
 * `rac apply`: a saved plan is applied as it is (after the staleness check); a roster is
 * planned, shown and confirmed first. An unfinished batch of the same roster is resumed.
 */
export async function applyCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...PLAN_OPTIONS,
      yes: { type: 'boolean', short: 'y', default: false },
      canary: { type: 'string' },
      'wave-size': { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new AppError('RAC_USAGE', USAGE);
  const canary = positiveInt(values.canary, '--canary');
  const waveSize = positiveInt(values['wave-size'], '--wave-size');
  const input = positionals[0] as string;
  const bytes = readRoster(input);
  await using services = ctx.services();
  const { output } = ctx;
  warnUnrecordedTopology(output, services);

  let plan = readPlanFile(bytes);
  if (plan !== null) {
    const stored = services.store.getPlanDigest(plan.id);
    if (stored === null)
      throw new AppError(
        'RAC_PLAN_UNKNOWN',
        `plan ${plan.id} was not made with this store (${services.store.path}); run rac plan here`,
      );
    if (stored !== `sha256:${createHash('sha256').update(bytes).digest('hex')}`)
      throw new AppError(
        'RAC_PLAN_STALE',
        `${input} differs from plan ${plan.id} as it was made; it was edited — make a new plan`,
      );
  } else {
    const digestPlan = await planRoster(services, {
      bytes,
      file: input,
      encoding: parseEncoding(values.encoding),
      prune: values.prune,
      skipInvalid: values['skip-invalid'],
      trustRosterAttributes: values['trust-roster-attributes'],
      replaceKeys: values['replace-keys'],
    });
    const unfinished = services.store.findUnfinishedBatchBySource(digestPlan.source.digest as string);
    if (unfinished !== null) {
      plan = services.store.getPlan(unfinished.planId) as Plan;
      output.note(
        `Resuming batch ${unfinished.id} (${unfinished.status} after ${unfinished.runs} run${unfinished.runs === 1 ? '' : 's'}) of this roster.`,
      );
    } else {
      plan = digestPlan;
      if (!output.json) for (const line of renderPlan(plan)) output.text(line);
      if (plan.capacity.verdict === 'refuse')
        throw new AppError('RAC_CAPACITY_REFUSED', `capacity refused: ${plan.capacity.message}`, { details: { plan } });
      if (plan.summary.changes === 0) {
        if (output.json) output.document({ plan, report: null });
        else output.text('\nNothing to change.');
        return ExitCode.ok;
      }
      if (!values.yes) {
        if (!ctx.stdinIsTTY)
          throw new AppError(
            'RAC_USAGE_CONFIRM',
            'not a terminal: review with rac plan, then run rac apply with --yes (or apply the saved plan file)',
          );
        const answer = await ctx.ask(`\nApply ${plan.summary.changes} changes? Type yes to continue: `);
        if (answer.trim().toLowerCase() !== 'yes') {
          output.note('Nothing applied.');
          return ExitCode.ok;
        }
      }
    }
  }
  const report = await applyPlan(services, plan, {
    canary,
    waveSize,
    signal: ctx.signal,
    onProgress: output.json ? undefined : createProgress(output, !ctx.env.noProgress),
  });
  printReport(ctx, plan, report);
  return report.status === 'applied' ? ExitCode.ok : ExitCode.partialFailure;
}

export function printReport(ctx: CliContext, plan: Plan, report: ApplyReport): void {
  if (ctx.output.json) {
    ctx.output.document({
      plan: { id: plan.id, summary: plan.summary, capacity: plan.capacity, problems: plan.problems },
      report,
    });
    return;
  }
  ctx.output.text('');
  for (const line of renderApplyReport(report)) ctx.output.text(line);
  if (plan.problems.length > 0) {
    ctx.output.text(`  not applied (rejected): ${plan.problems.length}`);
    for (const line of renderProblems(plan.problems, 20)) ctx.output.text(line);
  }
}

function readPlanFile(bytes: Uint8Array): Plan | null {
  const text = Buffer.from(bytes).toString('utf8').trimStart();
  if (!text.startsWith('{')) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AppError('RAC_USAGE_PLAN_FILE', `not a valid plan file: ${(err as Error).message}`, { cause: err });
  }
  const record = value as Partial<Plan>;
  if (record.kind !== 'rac-plan' || record.version !== 1)
    throw new AppError('RAC_USAGE_PLAN_FILE', 'not a rac plan file (kind rac-plan, version 1)');
  return value as Plan;
}

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new AppError('RAC_USAGE', `${flag} takes a whole number ≥ 1, not ${value}`);
  return n;
}
