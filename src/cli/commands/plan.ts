import { closeSync, fchmodSync, openSync, readFileSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AppError, ExitCode } from '../../core/errors.ts';
import type { Plan } from '../../core/plan/plan.ts';
import { type WrittenPlan, writePlanText } from '../../core/plan/serialize-plan.ts';
import { planRoster } from '../../services/plan-batch.ts';
import type { CliContext } from '../context.ts';
import { collectGarbage } from '../memory.ts';
import type { Output } from '../output.ts';
import { renderPlan } from '../render.ts';
import { warnUnrecordedTopology } from '../topology-warning.ts';

export const PLAN_OPTIONS = {
  out: { type: 'string' },
  encoding: { type: 'string', default: 'auto' },
  prune: { type: 'boolean', default: false },
  'skip-invalid': { type: 'boolean', default: false },
  'trust-roster-attributes': { type: 'boolean', default: false },
  'replace-keys': { type: 'boolean', default: false },
} as const;

export function readRoster(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new AppError('RAC_ROSTER_UNREADABLE', `cannot read roster ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export function parseEncoding(value: string | undefined): 'auto' | 'utf-8' | 'gbk' {
  const v = (value ?? 'auto').toLowerCase();
  if (v === 'auto' || v === 'gbk') return v;
  if (v === 'utf-8' || v === 'utf8') return 'utf-8';
  throw new AppError('RAC_USAGE_ENCODING', `--encoding must be auto, utf-8 or gbk, not ${value}`);
}

/** `rac plan <roster.csv> [--out plan.json] [--json]`: shows every change; changes nothing. */
export async function planCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: PLAN_OPTIONS, allowPositionals: true, strict: true });
  if (positionals.length !== 1)
    throw new AppError(
      'RAC_USAGE',
      'usage: rac plan <roster.csv> [--out plan.json] [--json] [--encoding auto|utf-8|gbk] [--prune] [--skip-invalid] [--trust-roster-attributes] [--replace-keys]',
    );
  const rosterPath = positionals[0] as string;
  const bytes = readRoster(rosterPath);
  await using services = ctx.services();
  warnUnrecordedTopology(ctx.output, services);
  const plan = await planRoster(services, {
    bytes,
    file: rosterPath,
    encoding: parseEncoding(values.encoding),
    prune: values.prune,
    skipInvalid: values['skip-invalid'],
    trustRosterAttributes: values['trust-roster-attributes'],
    replaceKeys: values['replace-keys'],
  });
  collectGarbage();
  const written = writePlan(plan, values.out, ctx.output.json ? ctx.output : null);
  if (plan.capacity.verdict !== 'refuse') services.store.savePlan(plan, written);
  if (!ctx.output.json) {
    for (const line of renderPlan(plan)) ctx.output.text(line);
    ctx.output.text('');
    if (plan.capacity.verdict === 'refuse')
      ctx.output.text(`Refused: ${plan.capacity.message}. Nothing can be applied from this plan.`);
    else if (plan.summary.changes === 0) ctx.output.text('Nothing to change.');
    else ctx.output.text(`To apply: rac apply ${values.out ?? rosterPath}`);
  }
  return plan.capacity.verdict === 'refuse' ? ExitCode.capacityRefused : ExitCode.ok;
}

/**
 * Writes the plan's text, chunk by chunk, to the --out file and/or --json stdout, and returns its
 * digest and people section for the store: a 50 000-person plan never exists as one string.
 */
export function writePlan(plan: Plan, path: string | undefined, stdout: Output | null): WrittenPlan {
  let fd: number | null = null;
  try {
    if (path !== undefined) {
      // A plan names people and their keys: 0600 whatever the umask.
      fd = openSync(path, 'w', 0o600);
      fchmodSync(fd, 0o600);
    }
    const file = fd;
    return writePlanText(plan, (bytes, text) => {
      if (file !== null) writeSync(file, bytes);
      stdout?.raw(text);
    });
  } catch (err) {
    throw new AppError('RAC_USAGE_OUT', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
