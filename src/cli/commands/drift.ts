import { parseArgs } from 'node:util';
import { ExitCode } from '../../core/errors.ts';
import { detectDrift } from '../../services/drift.ts';
import type { CliContext } from '../context.ts';

/** `rac drift [--fix]`: rac's records, the directory and every host compared; --fix repairs hosts. */
export async function driftCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { fix: { type: 'boolean', default: false } },
    allowPositionals: false,
    strict: true,
  });
  await using services = ctx.services();
  const report = await detectDrift(services, { fix: values.fix, signal: ctx.signal });
  const { output } = ctx;
  if (output.json) output.document(report);
  else {
    if (report.items.length + report.foreign.length === 0)
      output.text('No drift: rac’s records, the directory and every host agree.');
    const bySystem = new Map<string, typeof report.items>();
    for (const item of report.items) bySystem.set(item.system, [...(bySystem.get(item.system) ?? []), item]);
    for (const [system, items] of bySystem) {
      output.text(
        `${system === 'store' ? 'rac’s records vs the directory' : system}: ${items.length} difference${items.length === 1 ? '' : 's'}`,
      );
      for (const i of items.slice(0, 20)) output.text(`  ${i.uid}: expected ${i.expected}, found ${i.observed}`);
      if (items.length > 20) output.text(`  … ${items.length - 20} more (--json lists all)`);
    }
    for (const f of report.foreign) output.text(`${f.system}: not made by rac: ${f.artifact}`);
    if (report.unusable.length > 0) {
      output.text(
        `unusable directory data (these people failed alone; repair the directory): ${report.unusable.length}`,
      );
      for (const u of report.unusable.slice(0, 20)) output.text(`  ${u.uid ?? u.dn}: ${u.reason}`);
      if (report.unusable.length > 20) output.text(`  … ${report.unusable.length - 20} more (--json lists all)`);
    }
    for (const r of report.revokedInDirectory)
      output.text(
        `${r.uid}: revoked by rac (${r.reason}, ${r.revokedAt}) but back in a tier group of the directory; kept off every host until a batch grants them`,
      );
    for (const u of report.unreachable) output.text(`${u.system}: could not be checked: ${u.error}`);
    if (report.fixed !== null) {
      for (const s of report.fixed)
        output.text(
          `fixed ${s.name}: ${s.status}${s.report ? ` (+${s.report.added.length} ~${s.report.changed.length} −${s.report.removed.length})` : ` — ${s.error}`}`,
        );
      if (report.items.some((i) => i.system === 'store'))
        output.text(
          'Differences between rac’s records and the directory are not changed by --fix: make a plan, or roll a batch back.',
        );
    }
  }
  const hostDrift = report.items.some((i) => i.system !== 'store') || report.foreign.length > 0;
  const fixedAll = report.fixed?.every((s) => s.status === 'applied');
  if (report.unreachable.length > 0) return ExitCode.upstreamUnavailable;
  if (hostDrift && !fixedAll) return ExitCode.partialFailure;
  return ExitCode.ok;
}
