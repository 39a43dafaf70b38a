import { parseArgs } from 'node:util';
import { AppError, ExitCode } from '../../core/errors.ts';
import { expireGrants } from '../../services/expire-grants.ts';
import type { CliContext } from '../context.ts';

/** `rac expire [--dry-run]`: revokes every grant whose `expires` date has passed (rac serve runs it on a schedule). */
export async function expireCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { 'dry-run': { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new AppError('RAC_USAGE', 'usage: rac expire [--dry-run] [--json]');
  await using services = ctx.services();
  const report = await expireGrants(services, { dryRun: values['dry-run'], signal: ctx.signal });
  const { output } = ctx;
  if (output.json) output.document(report);
  else {
    if (report.due.length === 0) output.text(`No grant has expired (${report.at}, dates in ${report.timeZone}).`);
    else {
      output.text(
        `${report.due.length} grant${report.due.length === 1 ? '' : 's'} expired (dates end at midnight ${report.timeZone}):`,
      );
      for (const g of report.due.slice(0, 50))
        output.text(`  ${g.uid.padEnd(16)} ${g.tier.padEnd(11)} until ${g.expires}`);
      if (report.due.length > 50) output.text(`  … ${report.due.length - 50} more (--json lists all)`);
    }
    if (report.dryRun && report.due.length > 0) output.text('Dry run: nothing was revoked.');
    if (report.revocation !== null) {
      const r = report.revocation;
      output.text(
        r.verified
          ? `Revoked and verified in ${(r.latencyMs / 1000).toFixed(2)} s: no group, no host access, no live session left.`
          : `Revoked, but NOT verified after ${(r.latencyMs / 1000).toFixed(2)} s (rac revoke ${report.due.map((d) => d.uid).join(' ')} again once the hosts are reachable).`,
      );
    }
    if (report.gone.length > 0) output.text(`No longer in the directory (record closed): ${report.gone.join(', ')}`);
  }
  if (report.revocation !== null && !report.revocation.verified) return ExitCode.partialFailure;
  return ExitCode.ok;
}
