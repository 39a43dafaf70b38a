import type { FastifyPluginAsync } from 'fastify';
import type { AppOptions } from '../app.ts';

/** Liveness: the process answers. Readiness: the collector has completed a cycle. */
export const healthRoutes: FastifyPluginAsync<AppOptions> = async (app, { collector }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const snapshot = collector.snapshot();
    const ready = snapshot.cycles > 0;
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'starting',
      hosts: snapshot.hosts.map((h) => ({ gateway: h.gateway, up: h.up })),
    });
  });
};
