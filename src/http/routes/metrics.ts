import type { FastifyPluginAsync } from 'fastify';
import type { AppOptions } from '../app.ts';

/** Prometheus scrapes: computed from cached observations, never waiting on a gateway. Open or viewer-only by config. */
export const metricsRoutes: FastifyPluginAsync<AppOptions> = async (app, { metrics, guard, deps }) => {
  app.get(
    '/metrics',
    {
      ...(deps.config.http.metrics === 'token' ? { onRequest: guard('viewer') } : {}),
      schema: { tags: ['health'], hide: true },
    },
    async (_request, reply) => {
      const body = await metrics.registry.metrics();
      return reply.header('content-type', metrics.registry.contentType).send(body);
    },
  );
};
