import { parseArgs } from 'node:util';
import { composeDoctor } from '../../compose-doctor.ts';
import { loadConfig } from '../../config/load.ts';
import type { Finding } from '../../core/doctor/findings.ts';
import { AppError } from '../../core/errors.ts';
import { runDoctor } from '../../services/doctor.ts';
import type { CliContext } from '../context.ts';

const MARK: Record<Finding['status'], string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skipped: 'skip' };

/**
 * `rac doctor [--json]`: connects to the directory and every host and checks what the first apply
 * needs, changing nothing. Exit 0 when nothing blocks an apply, 2 when something does, 6 when
 * the directory or a host cannot be reached at all.
 */
export async function doctorCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true, strict: true });
  if (positionals.length > 0) throw new AppError('RAC_USAGE', 'usage: rac doctor [--json]');
  // A missing pin is one of the findings (with `rac trust` as its fix), not a config error.
  const loaded = loadConfig({ path: ctx.configPath, cwd: ctx.cwd, allowUnpinned: true });
  const deps = composeDoctor(loaded);
  let report: Awaited<ReturnType<typeof runDoctor>>;
  try {
    report = await runDoctor(deps);
  } finally {
    await deps.close();
  }
  const { output } = ctx;
  if (output.json) {
    output.document({
      ok: report.exitCode === 0,
      exitCode: report.exitCode,
      counts: report.counts,
      warnings: loaded.warnings,
      findings: report.findings,
    });
    return report.exitCode;
  }
  for (const warning of loaded.warnings) output.text(`WARN config: ${warning}`);
  let target: string | null = null;
  for (const f of report.findings) {
    if (f.target !== target) {
      target = f.target;
      output.text(`\n${target}`);
    }
    output.text(`  ${MARK[f.status]} ${f.check}: ${f.detail}`);
    if (f.fix !== null && f.status !== 'ok') output.text(`       fix: ${f.fix.replaceAll('\n', '\n       ')}`);
  }
  const { ok, warn, fail, skipped } = report.counts;
  output.text(
    `\n${ok} ok, ${warn} warnings, ${fail} failed, ${skipped} not checked — ${
      report.exitCode === 0
        ? 'nothing blocks an apply'
        : report.exitCode === 6
          ? 'something could not be reached'
          : 'fix the failed checks before applying'
    }`,
  );
  return report.exitCode;
}
