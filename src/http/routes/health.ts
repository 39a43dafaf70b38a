import type { FastifyPluginAsync } from 'fastify';
import type { AppOptions } from '../app.ts';

/**
 * Liveness: the process answers. Readiness: the directory answers, the store reads, and the
 * collector has completed a cycle; each host's last observation is listed with its age.
 */
export const healthRoutes: FastifyPluginAsync<AppOptions> = async (app, { collector, deps }) => {
  app.get('/healthz', { schema: { tags: ['health'], hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { tags: ['health'], hide: true } }, async (_request, reply) => {
    const snapshot = collector.snapshot();
    const now = Date.now();
    const directory = await Promise.race([
      deps.directory.readMemberships().then(
        () => ({ ok: true, error: null }),
        (err: unknown) => ({ ok: false, error: (err as { code?: string }).code ?? 'error' }),
      ),
      new Promise<{ ok: boolean; error: string }>((r) =>
        setTimeout(() => r({ ok: false, error: 'timeout' }), 3000).unref(),
      ),
    ]);
    let store: { ok: boolean; error: string | null };
    try {
      deps.store.listBatches(1);
      store = { ok: true, error: null };
    } catch {
      store = { ok: false, error: 'store not readable' };
    }
    const ready = directory.ok && store.ok && snapshot.cycles > 0;
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : snapshot.cycles === 0 ? 'starting' : 'degraded',
      directory,
      store,
      hosts: snapshot.hosts.map((h) => ({
        gateway: h.gateway,
        kind: h.kind,
        up: h.up,
        observedAt: h.observedAt === null ? null : new Date(h.observedAt).toISOString(),
        ageSeconds: h.observedAt === null ? null : Math.round((now - h.observedAt) / 1000),
        error: h.error,
      })),
    });
  });
};
