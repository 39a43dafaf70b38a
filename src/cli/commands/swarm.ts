import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createOpenVpnSwarmLauncher } from '../../adapters/vpn-client/openvpn-swarm.ts';
import { resolveFrom } from '../../config/load.ts';
import { AppError, ExitCode } from '../../core/errors.ts';
import { parseSwarmAccounts } from '../../core/swarm/accounts.ts';
import { parseCount, parseDurationMs, parseRate } from '../../core/swarm/options.ts';
import type { SwarmTarget } from '../../core/swarm/spread.ts';
import type { SwarmSummary } from '../../core/swarm/tally.ts';
import { runSwarm, type SwarmProgress } from '../../services/swarm.ts';
import type { CliContext } from '../context.ts';
import type { Output } from '../output.ts';

const USAGE =
  'usage: rac swarm --clients N --accounts <uid,password csv> [--rate 20/s] [--duration 5m] [--connect-timeout 60s] [--max-pending 100] [--netns ns] [--gateway g]...';
const MAX_FAILURE_NOTES = 5;

/**
 * `rac swarm`: N real OpenVPN clients for a capacity check, logging in as test accounts through
 * the gateways' real auth path, held until --duration ends (or Ctrl-C / SIGTERM), then all ended.
 */
export async function swarmCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      clients: { type: 'string' },
      accounts: { type: 'string' },
      rate: { type: 'string', default: '20' },
      duration: { type: 'string', default: '5m' },
      'connect-timeout': { type: 'string', default: '60s' },
      'max-pending': { type: 'string', default: '100' },
      netns: { type: 'string' },
      gateway: { type: 'string', multiple: true },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0 || values.clients === undefined || values.accounts === undefined) {
    throw new AppError('RAC_USAGE_SWARM', USAGE);
  }
  const clients = parseCount(values.clients, '--clients', { min: 1, max: 20_000 });
  const rate = parseRate(values.rate);
  const durationMs = parseDurationMs(values.duration, '--duration', { minMs: 1_000, maxMs: 24 * 3_600_000 });
  const connectTimeoutMs = parseDurationMs(values['connect-timeout'], '--connect-timeout', {
    minMs: 1_000,
    maxMs: 3_600_000,
  });
  const maxPending = parseCount(values['max-pending'], '--max-pending', { min: 1, max: 10_000 });
  if (values.netns !== undefined && !existsSync(`/run/netns/${values.netns}`)) {
    throw new AppError('RAC_USAGE_SWARM_NETNS', `--netns: no network namespace ${values.netns} (ip netns list)`);
  }

  const accountsFile = resolve(ctx.cwd, values.accounts);
  let accountsText: string;
  try {
    accountsText = readFileSync(accountsFile, 'utf8');
  } catch (err) {
    throw new AppError(
      'RAC_USAGE_SWARM_ACCOUNTS',
      `--accounts: cannot read ${accountsFile}: ${(err as Error).message}`,
    );
  }
  const accounts = parseSwarmAccounts(accountsText, values.accounts);
  if (accounts.length < clients) {
    throw new AppError(
      'RAC_USAGE_SWARM_ACCOUNTS',
      `--clients ${clients} needs ${clients} accounts (one login each); ${values.accounts} has ${accounts.length}`,
    );
  }

  const loaded = ctx.config();
  const { config } = loaded;
  const wanted = values.gateway ?? [];
  for (const name of wanted) {
    if (!config.gateways.some((g) => g.name === name && g.kind === 'openvpn')) {
      throw new AppError('RAC_USAGE_SWARM', `--gateway: no OpenVPN gateway ${name} in the config`);
    }
  }
  const targets: SwarmTarget[] = config.gateways
    .filter((g) => g.kind === 'openvpn' && g.openvpn !== undefined && (wanted.length === 0 || wanted.includes(g.name)))
    .map((g) => ({
      gateway: g.name,
      ratedSessions: g.rated_sessions,
      host: g.openvpn?.remote.host as string,
      port: g.openvpn?.remote.port ?? 1194,
      proto: g.openvpn?.remote.proto ?? 'udp',
    }));
  if (targets.length === 0)
    throw new AppError('RAC_CONFIG_SWARM_NO_GATEWAY', 'gateways: no OpenVPN gateway to connect to');
  if (config.profiles.ca_file === undefined) {
    throw new AppError(
      'RAC_CONFIG_INVALID',
      'profiles.ca_file: required (the CA the clients check the gateways against)',
    );
  }
  const caFile = resolveFrom(loaded.baseDir, config.profiles.ca_file);
  if (!existsSync(caFile)) throw new AppError('RAC_CONFIG_INVALID', `profiles.ca_file: cannot read ${caFile}`);

  // Ctrl-C is handled by main (it aborts ctx.signal); SIGTERM and a closed terminal (SIGHUP) end
  // the swarm the same way: every client ended, credentials removed.
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  process.on('SIGTERM', onAbort);
  process.on('SIGHUP', onAbort);
  const { output } = ctx;
  const failures: string[] = [];
  try {
    const launcher = await createOpenVpnSwarmLauncher({
      caFile,
      ...(values.netns === undefined ? {} : { netns: values.netns }),
    });
    if (!output.json) {
      output.note(
        `swarm: ${clients} clients over ${targets.map((t) => t.gateway).join(', ')} at ${rate}/s for ${durationMs / 1000}s${values.netns ? ` in ${values.netns}` : ''} (Ctrl-C stops)`,
      );
    }
    const showProgress = !output.json && output.stderrIsTTY;
    const { summary } = await runSwarm({
      targets,
      accounts,
      clients,
      rate,
      durationMs,
      connectTimeoutMs,
      maxPending,
      launcher,
      signal: stop.signal,
      ...(showProgress ? { onProgress: (p: SwarmProgress) => output.status(progressLine(p)) } : {}),
      onFailure: (f) => {
        if (failures.length < MAX_FAILURE_NOTES)
          failures.push(`${f.gateway} ${f.username}: ${f.reason} (${f.detail.trim().split('\n').at(-1) ?? ''})`);
      },
    });
    output.endStatus();
    if (output.json) output.document({ swarm: summary, first_failures: failures });
    else printSummary(output, summary, failures);
    return summary.failed === 0 ? ExitCode.ok : ExitCode.partialFailure;
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    process.off('SIGTERM', onAbort);
    process.off('SIGHUP', onAbort);
  }
}

function ms(value: number | null): string {
  return value === null ? '-' : value >= 10_000 ? `${(value / 1000).toFixed(1)}s` : `${Math.round(value)}ms`;
}

function progressLine(p: SwarmProgress): string {
  return `swarm ${Math.round(p.elapsedMs / 1000)}s · started ${p.started}/${p.clients} · held ${p.concurrent} · connected ${p.connected} · failed ${p.failed} · in flight ${p.pending} · p50 ${ms(p.p50)} p95 ${ms(p.p95)}`;
}

function printSummary(output: Output, s: SwarmSummary, failures: readonly string[]): void {
  output.text(
    `${s.connected}/${s.started} connected (${(s.connect_success_ratio * 100).toFixed(1)}%), ${s.failed} failed` +
      (s.failed > 0
        ? ` (auth ${s.failures['auth-failed']}, timeout ${s.failures.timeout}, exited ${s.failures.exited})`
        : ''),
  );
  output.text(
    `connect time p50 ${ms(s.connect_ms.p50)}, p95 ${ms(s.connect_ms.p95)}, max ${ms(s.connect_ms.max)}; last connect after ${s.ramp_seconds ?? '-'}s`,
  );
  output.text(
    `peak ${s.peak_concurrent} sessions held at once, for ${s.held_seconds}s; ${s.dropped} dropped; stopped by ${s.stopped_by} after ${s.duration_seconds}s`,
  );
  for (const g of s.gateways)
    output.text(`  ${g.gateway.padEnd(16)}${g.clients} clients, ${g.connected} connected, ${g.failed} failed`);
  for (const f of failures) output.text(`  failed: ${f}`);
}
