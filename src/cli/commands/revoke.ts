import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AppError, ExitCode } from '../../core/errors.ts';
import { revokeAccess } from '../../services/revoke-access.ts';
import type { CliContext } from '../context.ts';
import { renderApplyReport } from '../render.ts';

/**
 * `rac revoke <uid…> | --file list`: removes access everywhere at once (no confirmation: it is
 * urgent), kills live sessions, then proves on every host that nothing is left.
 */
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
  const report = await revokeAccess(services, uids, { signal: ctx.signal });
  const { output } = ctx;
  if (output.json) output.document(report);
  else {
    for (const line of renderApplyReport(report.apply)) output.text(line);
    for (const h of report.hosts) {
      const removed = h.report?.removed.length ?? 0;
      output.text(
        h.status === 'applied'
          ? `  ${h.name}: ${removed > 0 ? `access removed (${removed})` : 'had no access'}${h.failed.length > 0 ? `, ${h.failed.length} failed` : ''}`
          : `  ${h.name}: NOT reached — ${h.error}`,
      );
    }
    for (const d of report.disconnected) {
      const n = d.disconnected.reduce((sum, x) => sum + x.sessions, 0);
      if (n > 0 || d.failed.length > 0)
        output.text(
          `  ${d.gateway}: ${n} live session${n === 1 ? '' : 's'} killed${d.failed.length > 0 ? `, ${d.failed.length} failed` : ''}`,
        );
    }
    if (report.unknown.length > 0) output.text(`  not in the directory: ${report.unknown.join(', ')}`);
    const { sessions, grants, unreachable } = report.remaining;
    if (report.verified) {
      output.text(
        `Revoked and verified in ${(report.latencyMs / 1000).toFixed(2)} s: no group, no gateway or bastion access, no live session left.`,
      );
    } else {
      output.text(`NOT verified after ${(report.latencyMs / 1000).toFixed(2)} s:`);
      for (const s of sessions) output.text(`  live session of ${s.uid} on ${s.gateway} (${s.id})`);
      for (const g of grants) output.text(`  ${g.uid} still has access on ${g.gateway}`);
      for (const uid of report.remaining.groups) output.text(`  ${uid} is still in a tier group of the directory`);
      for (const u of unreachable) output.text(`  ${u} could not be checked`);
      output.text('Run rac revoke again once the hosts are reachable.');
    }
  }
  return report.verified && report.unknown.length === 0 ? ExitCode.ok : ExitCode.partialFailure;
}
