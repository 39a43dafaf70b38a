import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import type { Metrics } from '../metrics/registry.ts';
import type { TokenRole } from '../ports.ts';
import { type BatchRunner, createBatchRunner } from '../services/batch-runner.ts';
import type { Collector } from '../services/collector.ts';
import type { ServiceDeps } from '../services/deps.ts';
import { type AuthLimits, requireRole } from './auth.ts';
import { installErrorHandler } from './error-handler.ts';
import { createHttpLogger } from './request-logger.ts';
import { batchRoutes } from './routes/batches.ts';
import { capacityRoutes } from './routes/capacity.ts';
import { capacityPageRoutes } from './routes/capacity-page.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { planRoutes } from './routes/plans.ts';
import { portalRoutes } from './routes/portal.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { userRoutes } from './routes/users.ts';

export interface AppInput {
  readonly deps: ServiceDeps;
  readonly collector: Collector;
  readonly metrics: Metrics;
  readonly runner?: BatchRunner;
  /** The CA inlined in client profiles (profiles.ca_file); null: the portal offers no download. */
  readonly caPem?: string | null;
  /** TLS key pair: served over HTTPS, and the portal's cookies are Secure. */
  readonly https?: { readonly cert: Buffer; readonly key: Buffer } | null;
  readonly logger?: PinoLogger;
  /** Observations older than this count as stale (default 3 collector intervals). */
  readonly staleAfterMs?: number;
  readonly portal?: boolean;
}

/** What every route plugin gets. */
export interface AppOptions extends AppInput {
  readonly runner: BatchRunner;
  readonly caPem: string | null;
  readonly tls: boolean;
  readonly staleAfterMs: number;
  readonly limits: AuthLimits & { readonly login: AuthLimits['failed'] };
  readonly guard: (role: TokenRole, options?: { allowLoopback?: () => boolean }) => ReturnType<typeof requireRole>;
}

/**
 * The HTTP shell of `rac serve` (fastify/demo's order: plugins, then app plugins, then routes):
 * the /v1 API over the same services as the CLI, the portal (/me), the capacity page (/),
 * /metrics and the probes. One error handler; 5xx never carry detail; timeouts bound every
 * request; one log line per request with secrets redacted.
 */
export async function buildApp(input: AppInput): Promise<FastifyInstance> {
  const { deps } = input;
  const http = deps.config.http;
  const logger = input.logger ?? createHttpLogger('silent');
  const app = Fastify({
    loggerInstance: logger,
    // One line per request is written by the onResponse hook below, with our own fields.
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request: pino would redact its bindings on every request (measured at
    // 5% of a portal sign-in); the request's line carries its own fields.
    childLoggerFactory: (logger) => logger,
    // Unknown properties are refused, not silently dropped (fastify's default strips them).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    requestTimeout: 30_000,
    connectionTimeout: 10_000,
    keepAliveTimeout: 5_000,
    bodyLimit: http.body_limit_bytes,
    return503OnClosing: true,
    ...(input.https == null ? {} : { https: { cert: input.https.cert, key: input.https.key } }),
  }) as unknown as FastifyInstance;

  // Plugins.
  await app.register(cookie);
  await app.register(rateLimit, { global: false });
  await app.register(swagger, {
    openapi: {
      info: { title: 'rac provisioning service', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  installErrorHandler(app);
  app.decorateRequest('token', null);
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        req: { method: request.method, url: request.url, ip: request.ip },
        res: { statusCode: reply.statusCode },
        tokenName: request.token?.name ?? null,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });

  // App plugins: auth limits, the batch runner.
  const window = '1 minute';
  const limits = {
    failed: app.createRateLimit({
      max: http.rate_limit.failed_auth,
      timeWindow: window,
      keyGenerator: (r) => `fail:${r.ip}`,
    }),
    perToken: app.createRateLimit({
      max: http.rate_limit.per_token,
      timeWindow: window,
      keyGenerator: (r) => `token:${r.token?.id ?? r.ip}`,
    }),
    login: app.createRateLimit({
      max: http.rate_limit.login,
      timeWindow: window,
      keyGenerator: (r) => `login:${r.ip}`,
    }),
  } as AppOptions['limits'];
  const options: AppOptions = {
    ...input,
    runner: input.runner ?? createBatchRunner(deps),
    caPem: input.caPem ?? null,
    tls: input.https != null,
    staleAfterMs: input.staleAfterMs ?? 3 * deps.config.collector.interval_seconds * 1000,
    limits,
    guard: (role, o) => requireRole(deps, limits, role, o),
  };

  // Routes.
  await app.register(healthRoutes, options);
  await app.register(metricsRoutes, options);
  await app.register(planRoutes, options);
  await app.register(batchRoutes, options);
  await app.register(userRoutes, options);
  await app.register(capacityRoutes, options);
  await app.register(tokenRoutes, options);
  await app.register(capacityPageRoutes, options);
  if (input.portal ?? http.portal) await app.register(portalRoutes, options);
  app.get('/docs', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
