import Fastify, { type FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics/registry.ts';
import type { Collector } from '../services/collector.ts';
import type { ServiceDeps } from '../services/deps.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';

export interface AppOptions {
  readonly deps: ServiceDeps;
  readonly collector: Collector;
  readonly metrics: Metrics;
}

/**
 * The HTTP shell of `rac serve`: /metrics for Prometheus and the health probes. Errors never
 * leak 5xx detail; timeouts bound every request.
 */
export function buildApp(options: AppOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    requestTimeout: 10_000,
    connectionTimeout: 10_000,
    keepAliveTimeout: 5_000,
    bodyLimit: 1024 * 1024,
  });
  app.setErrorHandler((err: { statusCode?: number; message?: string }, request, reply) => {
    const status = err.statusCode !== undefined && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) options.deps.logger.error({ err, url: request.url }, 'request failed');
    void reply.code(status).send({ error: status >= 500 ? 'internal error' : err.message });
  });
  void app.register(healthRoutes, options);
  void app.register(metricsRoutes, options);
  return app;
}
