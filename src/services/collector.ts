import { AppError } from '../core/errors.ts';
import type { GatewayKind, Session } from '../ports.ts';
import type { ServiceDeps } from './deps.ts';

export interface HostObservation {
  readonly gateway: string;
  readonly kind: GatewayKind;
  /** The last poll answered. */
  readonly up: boolean;
  /** Sessions from the last poll that answered (possibly old: see `observedAt`). */
  readonly sessions: readonly Session[];
  /** When the last good observation was made (ms since epoch), null before the first one. */
  readonly observedAt: number | null;
  readonly lastAttemptAt: number | null;
  readonly durationMs: number | null;
  readonly error: string | null;
}

export interface CollectorSnapshot {
  readonly hosts: readonly HostObservation[];
  /** End of the last cycle in which at least one host answered. */
  readonly lastSuccessAt: number | null;
  readonly cycles: number;
}

export interface CollectObserver {
  hostCollected(result: {
    gateway: string;
    kind: GatewayKind;
    seconds: number;
    ok: boolean;
    reason: string | null;
  }): void;
  /** After every cycle, with the new snapshot (the exporter aggregates here, not at scrape). */
  cycleCompleted?(snapshot: CollectorSnapshot): void;
}

export interface Collector {
  /** One cycle now: every host in parallel, each bounded by its timeout. */
  collectOnce(): Promise<CollectorSnapshot>;
  snapshot(): CollectorSnapshot;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Polls every gateway and bastion for live sessions, in parallel, each with its own timeout, so
 * one slow or dead host never delays the others. The last good observation of each host is kept
 * with its age; scrapes read this snapshot and never wait on SSH. People seen connected are
 * recorded (first and last time) for the onboarding funnel.
 */
export function createCollector(
  deps: ServiceDeps,
  options: { intervalMs: number; timeoutMs: number; observer?: CollectObserver },
): Collector {
  const hosts = new Map<string, HostObservation>(
    deps.gateways.map((g) => [
      g.name,
      {
        gateway: g.name,
        kind: g.kind,
        up: false,
        sessions: [],
        observedAt: null,
        lastAttemptAt: null,
        durationMs: null,
        error: null,
      },
    ]),
  );
  let lastSuccessAt: number | null = null;
  let cycles = 0;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<CollectorSnapshot> | null = null;
  const log = deps.logger.child({ component: 'collector' });

  const snapshot = (): CollectorSnapshot => ({ hosts: [...hosts.values()], lastSuccessAt, cycles });

  async function cycle(): Promise<CollectorSnapshot> {
    const seen = new Set<string>();
    let anyUp = false;
    await Promise.all(
      deps.gateways.map(async (driver) => {
        const started = performance.now();
        const attemptAt = Date.now();
        const previous = hosts.get(driver.name) as HostObservation;
        try {
          const sessions = await driver.listSessions(AbortSignal.timeout(options.timeoutMs));
          const durationMs = performance.now() - started;
          hosts.set(driver.name, {
            ...previous,
            up: true,
            sessions,
            observedAt: Date.now(),
            lastAttemptAt: attemptAt,
            durationMs,
            error: null,
          });
          for (const s of sessions) seen.add(s.uid);
          anyUp = true;
          options.observer?.hostCollected({
            gateway: driver.name,
            kind: driver.kind,
            seconds: durationMs / 1000,
            ok: true,
            reason: null,
          });
        } catch (err) {
          const durationMs = performance.now() - started;
          const reason = reasonOf(err);
          hosts.set(driver.name, {
            ...previous,
            up: false,
            lastAttemptAt: attemptAt,
            durationMs,
            error: `${reason}: ${(err as Error).message}`,
          });
          options.observer?.hostCollected({
            gateway: driver.name,
            kind: driver.kind,
            seconds: durationMs / 1000,
            ok: false,
            reason,
          });
          log.warn({ gateway: driver.name, reason }, 'collection failed');
        }
      }),
    );
    cycles++;
    if (anyUp) lastSuccessAt = Date.now();
    if (seen.size > 0) deps.store.recordSeen(seen, deps.clock.now());
    const result = snapshot();
    options.observer?.cycleCompleted?.(result);
    return result;
  }

  const collector: Collector = {
    collectOnce() {
      running ??= cycle().finally(() => {
        running = null;
      });
      return running;
    },
    snapshot,
    start() {
      if (timer !== null) return;
      const tick = () => {
        collector.collectOnce().catch((err: unknown) => log.error({ err }, 'collection cycle failed'));
      };
      tick();
      timer = setInterval(tick, options.intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer !== null) clearInterval(timer);
      timer = null;
      await running?.catch(() => undefined);
    },
  };
  return collector;
}

/** Bounded reasons for the error counter's label: the error code, or timeout. */
function reasonOf(err: unknown): string {
  if (err instanceof AppError) return err.code.replace(/^RAC_/, '').toLowerCase();
  if ((err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError') return 'timeout';
  return 'unexpected';
}
