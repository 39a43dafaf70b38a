import { parseArgs } from 'node:util';
import closeWithGrace from 'close-with-grace';
import { AppError, ExitCode } from '../../core/errors.ts';
import { buildApp } from '../../http/app.ts';
import { createHttpLogger } from '../../http/request-logger.ts';
import { createMetrics } from '../../metrics/registry.ts';
import { createBatchRunner } from '../../services/batch-runner.ts';
import { createHistorySampler } from '../../services/capacity-view.ts';
import { type Collector, createCollector } from '../../services/collector.ts';
import type { ServiceDeps } from '../../services/deps.ts';
import { expireGrants } from '../../services/expire-grants.ts';
import type { CliContext } from '../context.ts';
import { warnUnrecordedTopology } from '../topology-warning.ts';
import { readProfileCa } from './profile-all.ts';
import { assertPortalExposure, readServiceTls } from './serve-tls.ts';

/**
 * `rac serve`: the provisioning service (README.md, "The service"): the /v1 API, the portal, the
 * capacity page, the session collector and /metrics, until SIGINT or SIGTERM.
 */
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
  const staleAfterMs = 3 * intervalMs;
  const loaded = ctx.config();
  const https = readServiceTls(loaded);
  assertPortalExposure(config, host, https !== null);
  let collector: Collector | null = null;
  const metrics = createMetrics(services, () => collector as Collector, { staleAfterMs });
  const history = createHistorySampler(services, { everyMs: 60_000, staleAfterMs });
  collector = createCollector(services, {
    intervalMs,
    timeoutMs: Math.max(1000, Math.min(intervalMs - 500, 10_000)),
    observer: {
      hostCollected: (r) => metrics.observer.hostCollected(r),
      cycleCompleted: (snapshot) => {
        metrics.observer.cycleCompleted?.(snapshot);
        history.sample(snapshot);
      },
    },
  });
  const runner = createBatchRunner(services);
  const app = await buildApp({
    deps: services,
    collector,
    metrics,
    runner,
    https,
    caPem: config.profiles.ca_file === undefined ? null : readProfileCa(loaded),
    // One line per request at info: RAC_LOG_LEVEL's default (warn) is raised to info here.
    logger: createHttpLogger(ctx.env.logLevel === 'warn' ? 'info' : ctx.env.logLevel),
    staleAfterMs,
  });
  await app.listen({ host, port });
  const address = app.server.address();
  const shown = typeof address === 'object' && address !== null ? `${address.address}:${address.port}` : listen;
  collector.start();
  const expiry = startExpirySchedule(services, config.expiry.interval_minutes * 60_000, (line) =>
    ctx.output.note(line),
  );
  ctx.output.note(
    `rac serve: /v1, /me, /, /metrics, /healthz, /readyz on ${https === null ? 'http' : 'https'}://${shown}; polling ${services.gateways.length} hosts every ${config.collector.interval_seconds}s`,
  );
  // A batch a previous process was applying (stopped by a shutdown, or a crash) continues now.
  for (const id of await runner.resumeUnfinished(services)) ctx.output.note(`rac serve: resuming batch ${id}`);
  let stopping: Promise<void> | null = null;
  const shutdown = () =>
    (stopping ??= (async () => {
      ctx.output.note('rac serve: stopping');
      // Stop taking requests first, then checkpoint a running batch between two waves.
      const closing = app.close();
      await runner.checkpoint();
      await expiry.stop();
      await collector.stop();
      await closing;
      await services.close();
    })());
  // SIGTERM (systemd), a second signal or a crash: close-with-grace runs the same shutdown, so
  // even an uncaught error checkpoints the running batch; it exits when done (or after the delay,
  // below systemd's TimeoutStopSec).
  closeWithGrace(
    {
      delay: 170_000,
      logger: { error: (...args: unknown[]) => ctx.output.note(`rac serve: ${args.map(String).join(' ')}`) },
    },
    async ({ err }) => {
      if (err !== undefined) services.logger.error({ err }, 'rac serve: unexpected error; stopping');
      await shutdown();
    },
  );
  await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
  await shutdown();
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
