import type { HistoryPoint } from '../ports.ts';
import { buildCapacityBoard, type CapacityBoard } from './capacity-board.ts';
import type { CollectorSnapshot } from './collector.ts';
import type { ServiceDeps } from './deps.ts';

export interface CapacityView {
  readonly board: CapacityBoard;
  readonly funnel: ReturnType<ServiceDeps['store']['funnel']>['stages'];
  readonly lastCheck: {
    readonly id: string;
    readonly at: string;
    readonly passed: boolean;
    readonly dryRun: boolean;
    readonly peakSessions: number;
  } | null;
  readonly history: readonly HistoryPoint[];
}

const HISTORY_HOURS = 6;

/** Everything the capacity page and GET /v1/capacity show, from the collector's cached state. */
export function capacityView(deps: ServiceDeps, snapshot: CollectorSnapshot, staleAfterMs: number): CapacityView {
  const board = buildCapacityBoard(deps, snapshot, staleAfterMs);
  const now = deps.clock.now();
  const last = deps.store.listCapacityChecks(1)[0];
  return {
    board,
    funnel: deps.store.funnel(now).stages,
    lastCheck:
      last === undefined
        ? null
        : { id: last.id, at: last.at, passed: last.passed, dryRun: last.dryRun, peakSessions: last.peakSessions },
    history: deps.store.service.history(new Date(now.getTime() - HISTORY_HOURS * 3600_000).toISOString()),
  };
}

/**
 * Keeps the short history of the capacity page: one point per `everyMs` at most, from the
 * collector's cycles; the store bounds how many are kept.
 */
export function createHistorySampler(deps: ServiceDeps, options: { everyMs: number; staleAfterMs: number }) {
  let lastAt = 0;
  return {
    sample(snapshot: CollectorSnapshot): void {
      const now = deps.clock.now();
      if (now.getTime() - lastAt < options.everyMs) return;
      lastAt = now.getTime();
      try {
        const board = buildCapacityBoard(deps, snapshot, options.staleAfterMs);
        deps.store.service.addHistory({
          at: now.toISOString(),
          sessions: board.sessions,
          limit: board.limit.sessions,
          byTier: Object.fromEntries(board.tiers.map((t) => [t.tier, t.sessions])),
        });
      } catch (err) {
        deps.logger.warn({ err }, 'capacity history sample failed');
      }
    },
  };
}
