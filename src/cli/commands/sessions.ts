import { parseArgs } from 'node:util';
import { AppError, ExitCode } from '../../core/errors.ts';
import { isTier } from '../../core/tiers.ts';
import { createCollector } from '../../services/collector.ts';
import type { CliContext } from '../context.ts';

/** `rac sessions [--gateway g] [--tier t] [--json]`: who is connected where, right now. */
export async function sessionsCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { gateway: { type: 'string' }, tier: { type: 'string' } },
    allowPositionals: false,
    strict: true,
  });
  if (values.tier !== undefined && !isTier(values.tier) && values.tier !== 'unknown') {
    throw new AppError('RAC_USAGE', `--tier must be public, vpn, vpn-bastion or unknown, not ${values.tier}`);
  }
  await using services = ctx.services();
  if (values.gateway !== undefined && !services.gateways.some((g) => g.name === values.gateway)) {
    throw new AppError(
      'RAC_USAGE',
      `no gateway ${values.gateway} (configured: ${services.gateways.map((g) => g.name).join(', ') || 'none'})`,
    );
  }
  const collector = createCollector(services, { intervalMs: 60_000, timeoutMs: 10_000 });
  const snapshot = await collector.collectOnce();
  const grants = services.store.listGrants();
  const rows = snapshot.hosts
    .filter((h) => values.gateway === undefined || h.gateway === values.gateway)
    .flatMap((h) => h.sessions.map((s) => ({ ...s, tier: s.tier ?? grants.get(s.uid) ?? 'unknown' })))
    .filter((s) => values.tier === undefined || s.tier === values.tier);
  const down = snapshot.hosts.filter((h) => !h.up && (values.gateway === undefined || h.gateway === values.gateway));
  if (ctx.output.json) {
    ctx.output.document({ sessions: rows, unreachable: down.map((h) => ({ gateway: h.gateway, error: h.error })) });
  } else {
    const { output } = ctx;
    output.text(`${'uid'.padEnd(18)}${'tier'.padEnd(13)}${'gateway'.padEnd(12)}${'address'.padEnd(16)}since`);
    for (const s of rows.sort((a, b) => a.gateway.localeCompare(b.gateway) || a.uid.localeCompare(b.uid))) {
      const since = s.since === null ? '' : new Date(s.since * 1000).toISOString().replace('T', ' ').slice(0, 19);
      output.text(
        `${s.uid.padEnd(18)}${s.tier.padEnd(13)}${s.gateway.padEnd(12)}${(s.address ?? '').padEnd(16)}${since}`,
      );
    }
    output.text(
      `${rows.length} session${rows.length === 1 ? '' : 's'}, ${new Set(rows.map((r) => r.uid)).size} people`,
    );
    for (const h of down) output.text(`${h.gateway}: unreachable (${h.error})`);
  }
  return down.length > 0 ? ExitCode.upstreamUnavailable : ExitCode.ok;
}
