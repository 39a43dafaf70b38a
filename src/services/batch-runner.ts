import { AppError } from '../core/errors.ts';
import type { Plan } from '../core/plan/plan.ts';
import type { BatchRecord } from '../ports.ts';
import { type ApplyReport, applyPlan, type ProgressEvent } from './apply-plan.ts';
import type { ServiceDeps } from './deps.ts';

export interface BatchProgress {
  readonly batch: BatchRecord;
  /** This service is applying it now. */
  readonly running: boolean;
  readonly items: { readonly pending: number; readonly applied: number; readonly failed: number };
  readonly last: ProgressEvent | null;
  readonly report: ApplyReport | null;
  readonly error: { readonly code: string; readonly message: string } | null;
}

export interface BatchRunner {
  /**
   * Starts applying a stored plan in the background and resolves with its batch id once the
   * batch exists. One at a time: while one runs, RAC_LOCKED names it. Refusals that come before
   * the batch exists (capacity, a stale plan, another process's lock) reject here.
   */
  start(deps: ServiceDeps, plan: Plan, options: { canary?: number; waveSize?: number }): Promise<string>;
  running(): { batchId: string; planId: string } | null;
  /** RAC_LOCKED naming the running batch, if one runs. */
  assertIdle(): void;
  progress(batchId: string): BatchProgress | null;
  /** Stops the running batch between waves and records it as checkpointed; the next start resumes it. */
  checkpoint(): Promise<void>;
  /** Resumes the batches a previous process checkpointed or left running. */
  resumeUnfinished(deps: ServiceDeps): Promise<string[]>;
}

interface Job {
  planId: string;
  batchId: string | null;
  controller: AbortController;
  done: Promise<void>;
  last: ProgressEvent | null;
}

/**
 * The service's one writer. applyPlan is level-driven and resumable, so a shutdown only has to
 * stop it between waves (its AbortSignal) and remember the batch: applying the same plan again
 * continues it with nothing written twice.
 */
export function createBatchRunner(base: Pick<ServiceDeps, 'store' | 'logger'>): BatchRunner {
  let current: Job | null = null;
  const finished = new Map<string, { report: ApplyReport | null; error: BatchProgress['error'] }>();
  const { store } = base;

  const runner: BatchRunner = {
    assertIdle() {
      if (current !== null)
        throw new AppError(
          'RAC_LOCKED',
          `batch ${current.batchId ?? `of plan ${current.planId}`} is being applied; one batch applies at a time`,
          { details: { batchId: current.batchId, planId: current.planId } },
        );
    },

    async start(deps, plan, options) {
      runner.assertIdle();
      const controller = new AbortController();
      const job: Job = { planId: plan.id, batchId: null, controller, done: Promise.resolve(), last: null };
      current = job;
      let settled = false;
      const apply = applyPlan(deps, plan, {
        canary: options.canary,
        waveSize: options.waveSize,
        signal: controller.signal,
        onProgress: (event) => {
          job.last = event;
        },
      });
      job.done = apply.then(
        (report) => {
          finished.set(report.batchId, { report, error: null });
          store.service.saveServiceBatch({
            batchId: report.batchId,
            planId: plan.id,
            options,
            actor: deps.actor,
            state: controller.signal.aborted ? 'checkpointed' : 'finished',
          });
        },
        (err: unknown) => {
          const batchId = job.batchId ?? store.getBatchByPlan(plan.id)?.id ?? null;
          const code = err instanceof AppError ? err.code : 'RAC_INTERNAL';
          if (!(err instanceof AppError)) deps.logger.error({ err, plan: plan.id }, 'background apply failed');
          if (batchId !== null) {
            finished.set(batchId, {
              report: null,
              error: { code, message: err instanceof AppError ? err.message : 'internal error' },
            });
            store.service.saveServiceBatch({
              batchId,
              planId: plan.id,
              options,
              actor: deps.actor,
              state: controller.signal.aborted ? 'checkpointed' : 'finished',
            });
          }
        },
      );
      void job.done.finally(() => {
        settled = true;
        if (current === job) current = null;
      });
      // The batch row appears once applyPlan holds the lock and passed its checks.
      while (true) {
        const batch = store.getBatchByPlan(plan.id);
        if (batch !== null && (batch.status === 'applying' || settled)) {
          job.batchId = batch.id;
          if (!settled)
            store.service.saveServiceBatch({
              batchId: batch.id,
              planId: plan.id,
              options,
              actor: deps.actor,
              state: 'running',
            });
          return batch.id;
        }
        if (settled) {
          await apply; // rethrows the refusal
          const after = store.getBatchByPlan(plan.id);
          if (after !== null) return after.id;
          throw new AppError('RAC_PLAN_NOTHING_TO_APPLY', `plan ${plan.id} has nothing to apply`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    },

    running() {
      return current === null || current.batchId === null ? null : { batchId: current.batchId, planId: current.planId };
    },

    progress(batchId) {
      const batch = store.getBatch(batchId);
      if (batch === null) return null;
      const items = { pending: 0, applied: 0, failed: 0 };
      for (const item of store.getItems(batchId)) items[item.outcome]++;
      const running = current?.batchId === batchId;
      const done = finished.get(batchId);
      return {
        batch,
        running,
        items,
        last: running ? (current?.last ?? null) : null,
        report: done?.report ?? null,
        error: done?.error ?? null,
      };
    },

    async checkpoint() {
      const job = current;
      if (job === null) return;
      job.controller.abort();
      await job.done;
      base.logger.info({ batch: job.batchId }, 'batch checkpointed for shutdown');
    },

    async resumeUnfinished(deps) {
      const resumed: string[] = [];
      for (const unfinished of store.service.unfinishedServiceBatches()) {
        const plan = store.getPlan(unfinished.planId);
        if (plan === null || current !== null) continue;
        store.audit({
          action: 'batch.resume',
          actor: unfinished.actor,
          batchId: unfinished.batchId,
          detail: { after: unfinished.state },
        });
        try {
          resumed.push(await runner.start({ ...deps, actor: unfinished.actor }, plan, unfinished.options));
        } catch (err) {
          deps.logger.error({ err, batch: unfinished.batchId }, 'could not resume a batch');
        }
      }
      return resumed;
    },
  };
  return runner;
}
