import type { FastifyPluginAsync } from 'fastify';
import type { AppOptions } from '../app.ts';

/** Prometheus scrapes: computed from cached observations, never waiting on a gateway. */
export const metricsRoutes: FastifyPluginAsync<AppOptions> = async (app, { metrics }) => {
  app.get('/metrics', async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(body);
  });
};
