import { parseArgs } from 'node:util';
import { AppError, ExitCode } from '../../core/errors.ts';
import { buildApp } from '../../http/app.ts';
import { createMetrics } from '../../metrics/registry.ts';
import { type Collector, createCollector } from '../../services/collector.ts';
import type { ServiceDeps } from '../../services/deps.ts';
import { expireGrants } from '../../services/expire-grants.ts';
import type { CliContext } from '../context.ts';
import { warnUnrecordedTopology } from '../topology-warning.ts';

/** `rac serve`: the session collector and /metrics (README.md, "The service" and "Metrics"), until SIGINT or SIGTERM. */
export async function serveCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { listen: { type: 'string' } },
    allowPositionals: false,
    strict: true,
  });
  const services = ctx.services();
  const { config } = services;
  warnUnrecordedTopology(ctx.output, services);
  const listen = values.listen ?? config.http.listen;
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new AppError('RAC_USAGE', `--listen must be host:port, not ${listen}`);
  const intervalMs = config.collector.interval_seconds * 1000;
  let collector: Collector | null = null;
  const metrics = createMetrics(services, () => collector as Collector, { staleAfterMs: 3 * intervalMs });
  collector = createCollector(services, {
    intervalMs,
    timeoutMs: Math.max(1000, Math.min(intervalMs - 500, 10_000)),
    observer: metrics.observer,
  });
  const app = buildApp({ deps: services, collector, metrics });
  await app.listen({ host, port });
  const address = app.server.address();
  const shown = typeof address === 'object' && address !== null ? `${address.address}:${address.port}` : listen;
  collector.start();
  const expiry = startExpirySchedule(services, config.expiry.interval_minutes * 60_000, (line) =>
    ctx.output.note(line),
  );
  ctx.output.note(
    `rac serve: /metrics, /healthz, /readyz on http://${shown}; polling ${services.gateways.length} hosts every ${config.collector.interval_seconds}s`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    ctx.signal.addEventListener('abort', stop, { once: true });
  });
  ctx.output.note('rac serve: stopping');
  await expiry.stop();
  await collector.stop();
  await app.close();
  await services.close();
  return ExitCode.ok;
}

/**
 * Revokes expired grants every `intervalMs` (and once at start), one run at a time. A failed run
 * is logged and tried again at the next tick.
 */
export function startExpirySchedule(
  deps: ServiceDeps,
  intervalMs: number,
  note: (line: string) => void,
): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const tick = () => {
    if (running !== null) return;
    running = expireGrants(deps)
      .then((report) => {
        if (report.due.length > 0)
          note(
            `rac serve: expired ${report.due.length} grant(s): ${report.due.map((d) => d.uid).join(', ')}${report.revocation?.verified === false ? ' (NOT verified)' : ''}`,
          );
      })
      .catch((err: unknown) => {
        deps.logger.error({ err }, 'expiry run failed');
        note(`rac serve: expiry run failed: ${(err as Error).message}`);
      })
      .finally(() => {
        running = null;
      });
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
