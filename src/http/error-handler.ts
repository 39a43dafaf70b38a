import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, httpStatusFor } from '../core/errors.ts';

/** Details a client may see with a 4xx: what to fix or what is in the way, never internals. */
const PUBLIC_DETAILS = ['problems', 'batchId', 'planId', 'capacity', 'lock'] as const;

/**
 * The one error handler: AppError codes go through httpStatusFor; fastify's own client errors
 * (validation, media type, body size) keep their status; anything else is a 500 that says
 * nothing but "internal error" (the detail goes to the log).
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | AppError | Error, request, reply) => {
    if (err instanceof AppError) {
      const status = httpStatusFor(err.code);
      if (status >= 500) {
        request.log.error({ err: { code: err.code, message: err.message } }, 'request failed');
        return reply.code(status).send({
          code: status === 503 ? 'RAC_UPSTREAM_UNAVAILABLE' : 'RAC_INTERNAL',
          message:
            status === 503 ? 'the directory or a managed host is unavailable; try again later' : 'internal error',
        });
      }
      const details: Record<string, unknown> = {};
      for (const key of PUBLIC_DETAILS) if (err.details?.[key] !== undefined) details[key] = err.details[key];
      return reply
        .code(status)
        .send({ code: err.code, message: err.message, ...(Object.keys(details).length > 0 ? { details } : {}) });
    }
    const fe = err as FastifyError;
    if (fe.validation !== undefined)
      return reply
        .code(400)
        .send({ code: 'RAC_USAGE_VALIDATION', message: `${fe.validationContext ?? 'request'} ${fe.message}` });
    if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) {
      const code = fe.statusCode === 429 ? 'RAC_AUTH_RATE_LIMITED' : `RAC_HTTP_${fe.code ?? fe.statusCode}`;
      return reply.code(fe.statusCode).send({ code, message: fe.message });
    }
    request.log.error({ err }, 'request failed');
    return reply.code(500).send({ code: 'RAC_INTERNAL', message: 'internal error' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ code: 'RAC_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
}
