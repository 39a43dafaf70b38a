import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../../core/errors.ts';
import { planRollback } from '../../services/rollback-batch.ts';
import type { AppOptions } from '../app.ts';
import { depsFor } from '../auth.ts';
import { BatchProgressBody, BatchStart, errorResponses, Id, Open } from '../schemas.ts';

const Accepted = Type.Object({ batchId: Type.String(), planId: Type.String(), status: Type.String() });

/** Batches apply in the background: 202 with the id, then GET /v1/batches/:id to poll. */
export const batchRoutes: FastifyPluginAsync<AppOptions> = async (app, options) => {
  const { deps, guard, runner } = options;

  app.post(
    '/v1/batches',
    {
      onRequest: guard('operator'),
      schema: {
        tags: ['batches'],
        summary: 'Apply a stored plan in the background (one batch at a time: 409 names the running one)',
        body: BatchStart,
        response: { 202: Accepted, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body as Static<typeof BatchStart>;
      const plan = deps.store.getPlan(body.plan_id);
      if (plan === null) throw new AppError('RAC_PLAN_UNKNOWN', `no plan ${body.plan_id} (POST /v1/plans makes one)`);
      const batchId = await runner.start(depsFor(deps, request), plan, {
        ...(body.canary === undefined ? {} : { canary: body.canary }),
        ...(body.wave_size === undefined ? {} : { waveSize: body.wave_size }),
      });
      return reply
        .code(202)
        .header('location', `/v1/batches/${batchId}`)
        .send({ batchId, planId: plan.id, status: deps.store.getBatch(batchId)?.status ?? 'applying' });
    },
  );

  app.get(
    '/v1/batches/:id',
    {
      onRequest: guard('viewer'),
      schema: {
        tags: ['batches'],
        summary: 'A batch’s progress and, once done, its report',
        params: Type.Object({ id: Id }),
        response: { 200: BatchProgressBody, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const progress = runner.progress(id);
      if (progress === null) throw new AppError('RAC_USAGE_BATCH_NOT_FOUND', `no batch ${id}`);
      const { batch } = progress;
      return {
        id: batch.id,
        planId: batch.planId,
        mode: batch.mode,
        status: batch.status,
        running: progress.running,
        runs: batch.runs,
        actor: batch.actor,
        createdAt: batch.createdAt,
        updatedAt: batch.updatedAt,
        items: progress.items,
        progress: progress.last,
        report:
          progress.report === null
            ? null
            : {
                status: progress.report.status,
                counts: progress.report.counts,
                systems: progress.report.systems,
                stoppedEarly: progress.report.stoppedEarly,
                failed: progress.report.people.filter((p) => p.outcome === 'failed' || p.outcome === 'pending'),
                durationMs: progress.report.durationMs,
              },
        error: progress.error,
      };
    },
  );

  app.post(
    '/v1/batches/:id/rollback',
    {
      onRequest: guard('operator'),
      schema: {
        tags: ['batches'],
        summary: 'Restore what a batch changed, as a new background batch; people changed since are refused by name',
        params: Type.Object({ id: Id }),
        response: { 202: Open({ batchId: Type.String(), planId: Type.String() }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const scoped = depsFor(deps, request);
      const plan = await planRollback(scoped, id);
      const batchId = await runner.start(scoped, plan, {});
      return reply.code(202).send({ batchId, planId: plan.id, status: 'applying', refused: plan.problems });
    },
  );
};
