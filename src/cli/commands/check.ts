import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { renderVerdict } from '../../core/capacity-check/render-verdict.ts';
import { AppError, ExitCode } from '../../core/errors.ts';
import { topologyDigest } from '../../services/capacity-limit.ts';
import { recordCapacityCheck } from '../../services/record-capacity-check.ts';
import type { CliContext } from '../context.ts';
import { warnUnrecordedTopology } from '../topology-warning.ts';

const USAGE = 'usage: rac check record <summary.json> | rac check list [--limit N]';

/**
 * `rac check record <summary.json>`: judge a k6 capacity-check summary and record it against the
 * current topology (exit 0 passed, 4 failed: capacity not verified, 3 unreadable summary).
 * `rac check list`: the recorded checks, newest first.
 */
export async function checkCommand(ctx: CliContext, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'record') return await record(ctx, rest);
  if (sub === 'list') return await list(ctx, rest);
  throw new AppError('RAC_USAGE', sub === undefined ? USAGE : `unknown check command ${sub}\n${USAGE}`);
}

async function record(ctx: CliContext, args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true, strict: true });
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) throw new AppError('RAC_USAGE', USAGE);
  const path = resolve(ctx.cwd, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AppError('RAC_CHECK_SUMMARY_UNREADABLE', `cannot read ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  await using services = ctx.services();
  warnUnrecordedTopology(ctx.output, services);
  const recorded = recordCapacityCheck(services, { text, source: file });
  const { verdict, verification } = recorded;
  if (ctx.output.json)
    ctx.output.document({
      id: recorded.id,
      at: recorded.at,
      topology: recorded.topology,
      shape: recorded.shape,
      k6Version: recorded.k6Version,
      durationSeconds: recorded.durationSeconds,
      dryRun: verdict.dryRun,
      ...(verdict.dryRun ? { note: 'dry run: no load generated' } : {}),
      passed: verdict.passed,
      peakSessions: verdict.peakSessions,
      targetSessions: verdict.targetSessions,
      conditions: verdict.conditions,
      failedThresholds: verdict.failedThresholds,
      scenarios: verdict.scenarios,
      verifiesCapacity: verification.verifies,
      verification: verification.reason,
    });
  else {
    for (const line of renderVerdict(verdict)) ctx.output.text(line);
    const meta = [
      recorded.shape,
      `k6 ${recorded.k6Version ?? (verdict.dryRun ? 'none (dry run)' : 'version not in summary')}`,
      ...(recorded.durationSeconds === null ? [] : [`${recorded.durationSeconds.toFixed(1)} s`]),
    ];
    ctx.output.text(`recorded ${recorded.id} against topology ${recorded.topology} (${meta.join(', ')})`);
    ctx.output.text(`capacity: ${verification.reason}`);
  }
  return verdict.passed ? ExitCode.ok : ExitCode.capacityRefused;
}

async function list(ctx: CliContext, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { limit: { type: 'string' } }, allowPositionals: false, strict: true });
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new AppError('RAC_USAGE', `--limit must be a whole number ≥ 1`);
  await using services = ctx.services();
  const current = topologyDigest(services.config);
  const checks = services.store.listCapacityChecks(limit);
  if (ctx.output.json) {
    ctx.output.document({ topology: current, checks });
    return ExitCode.ok;
  }
  if (checks.length === 0) {
    ctx.output.text('no capacity checks recorded');
    return ExitCode.ok;
  }
  ctx.output.text(
    `${'recorded'.padEnd(21)}${'id'.padEnd(14)}${'topology'.padEnd(26)}${'result'.padEnd(8)}peak  target  kind`,
  );
  for (const c of checks) {
    const topology = `${c.topology}${c.topology === current ? ' *' : ''}`;
    ctx.output.text(
      `${c.at.replace('T', ' ').slice(0, 19).padEnd(21)}${c.id.padEnd(14)}${topology.padEnd(26)}${(c.passed ? 'passed' : 'FAILED').padEnd(8)}${String(c.peakSessions).padStart(4)}  ${String(c.targetSessions ?? '-').padStart(6)}  ${c.dryRun ? 'dry run: no load generated' : `k6 ${c.k6Version ?? '?'}`}`,
    );
  }
  ctx.output.text('* the current topology');
  return ExitCode.ok;
}
