import { parseArgs } from 'node:util';
import { AppError, ExitCode } from '../../core/errors.ts';
import { type ExpandReport, expandTopology, previewExpand } from '../../services/expand-topology.ts';
import type { CliContext } from '../context.ts';

const USAGE = 'usage: rac expand [--yes] [--json]';

/**
 * `rac expand`: takes a topology change in the config into rac. Shows what changed, asks (like
 * apply), pushes every existing grant to the new hosts, records the topology and marks its
 * capacity unverified. Exit 5 when a host was not reached (nothing recorded: run it again).
 */
export async function expandCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { yes: { type: 'boolean', short: 'y', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 0) throw new AppError('RAC_USAGE', USAGE);
  await using services = ctx.services();
  const { output } = ctx;
  const preview = previewExpand(services);
  const confirmed = preview.recorded?.seq ?? null;

  if (preview.action === 'expand') {
    if (!output.json) {
      output.text(
        `Topology ${preview.recorded?.topology.fingerprint} (recorded ${preview.recorded?.recordedAt}) → ${preview.current.fingerprint} (the config):`,
      );
      for (const line of preview.changes) output.text(`  ${line}`);
      output.text(
        preview.provision.length === 0
          ? 'No new hosts: no grants to push.'
          : `Every existing grant is pushed to: ${preview.provision.join(', ')}.`,
      );
      if ((preview.diff?.removed.length ?? 0) > 0)
        output.text(
          'Removed hosts are no longer managed by rac: what they hold stays there until the host is retired.',
        );
      output.text('The new topology is recorded and its capacity is unverified until a capacity check of it passes.');
    }
    if (!values.yes) {
      if (!ctx.stdinIsTTY)
        throw new AppError('RAC_USAGE_CONFIRM', 'not a terminal: review with rac expand, then run it with --yes');
      const answer = await ctx.ask('\nExpand to this topology? Type yes to continue: ');
      if (answer.trim().toLowerCase() !== 'yes') {
        output.note('Nothing changed.');
        return ExitCode.ok;
      }
    }
  }
  const report = await expandTopology(services, { confirmed, signal: ctx.signal });
  if (output.json) output.document(report);
  else for (const line of renderExpandReport(report)) output.text(line);
  return report.status === 'partial' ? ExitCode.partialFailure : ExitCode.ok;
}

export function renderExpandReport(r: ExpandReport): string[] {
  const out: string[] = [];
  if (r.status === 'unchanged') {
    out.push(`Nothing to do: the config's topology is the recorded one (${r.to}).`);
  } else if (r.status === 'baseline') {
    out.push(`No topology was recorded yet: recorded the config's (${r.to}) as the current one.`);
  } else {
    out.push('');
    for (const h of r.hosts) {
      const people = h.failed.length === 0 ? '' : `; ${h.failed.length} person(s) not placed`;
      out.push(
        h.status === 'applied'
          ? `  ${h.name} (${h.kind}): +${h.added} =${h.unchanged}, read back ${h.verified}/${h.expected} grants in ${(h.durationMs / 1000).toFixed(2)}s${people}`
          : `  ${h.name} (${h.kind}): ${h.status.toUpperCase()} — ${h.error}${h.missing.length > 0 ? ` (${h.missing.slice(0, 10).join(', ')}${h.missing.length > 10 ? ', …' : ''})` : ''}`,
      );
      for (const f of h.failed.slice(0, 10)) out.push(`    ${f.uid}: ${f.error}`);
    }
    out.push(
      r.status === 'recorded'
        ? `Recorded topology ${r.to} (was ${r.from}).`
        : `Not recorded: a host was not done. Topology ${r.from} stays the recorded one; run rac expand again once every host is reachable.`,
    );
  }
  out.push(`capacity: ${r.capacity.sessions} sessions — ${r.capacity.source}: ${r.capacity.detail}`);
  return out;
}
