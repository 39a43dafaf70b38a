import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { capacityView } from '../../services/capacity-view.ts';
import { recordCapacityCheck } from '../../services/record-capacity-check.ts';
import type { AppOptions } from '../app.ts';
import { depsFor } from '../auth.ts';
import { AuditQuery, errorResponses, Open } from '../schemas.ts';

/** Sessions, capacity, capacity checks and the audit log: reads from cached state and the store. */
export const capacityRoutes: FastifyPluginAsync<AppOptions> = async (app, options) => {
  const { deps, guard, collector, staleAfterMs } = options;

  app.get(
    '/v1/sessions',
    {
      onRequest: guard('viewer'),
      schema: {
        tags: ['capacity'],
        summary: 'Live sessions from the collector’s last observation of each host',
        response: { 200: Type.Object({ sessions: Type.Array(Open()), hosts: Type.Array(Open()) }), ...errorResponses },
      },
    },
    async () => {
      const snapshot = collector.snapshot();
      return {
        sessions: snapshot.hosts.flatMap((h) =>
          h.sessions.map((s) => ({ gateway: s.gateway, kind: s.kind, uid: s.uid, since: s.since, address: s.address })),
        ),
        hosts: snapshot.hosts.map((h) => ({
          gateway: h.gateway,
          kind: h.kind,
          up: h.up,
          observedAt: h.observedAt === null ? null : new Date(h.observedAt).toISOString(),
          error: h.error,
        })),
      };
    },
  );

  app.get(
    '/v1/capacity',
    {
      onRequest: guard('viewer'),
      schema: {
        tags: ['capacity'],
        summary: 'Sessions against target and verified capacity, per tier and host; funnel, last check, history',
        response: { 200: Open({ board: Open(), funnel: Open(), history: Type.Array(Open()) }), ...errorResponses },
      },
    },
    async () => capacityView(deps, collector.snapshot(), staleAfterMs),
  );

  app.post(
    '/v1/capacity/checks',
    {
      onRequest: guard('admin'),
      bodyLimit: 16 * 1024 * 1024,
      schema: {
        tags: ['capacity'],
        summary: 'Record a k6 capacity-check summary against the current topology (verifies capacity when it passed)',
        body: Open({}, 'a k6 summary (handleSummary data, --summary-export or the machine-readable summary)'),
        response: { 201: Open({ id: Type.String(), verification: Open() }), ...errorResponses },
      },
    },
    async (request, reply) =>
      reply.code(201).send(
        recordCapacityCheck(depsFor(deps, request), {
          text: JSON.stringify(request.body),
          source: 'POST /v1/capacity/checks',
        }),
      ),
  );

  app.get(
    '/v1/capacity/checks',
    {
      onRequest: guard('viewer'),
      schema: {
        tags: ['capacity'],
        summary: 'Recorded capacity checks, newest first',
        querystring: Type.Object(
          { limit: Type.Integer({ minimum: 1, maximum: 200, default: 20 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ checks: Type.Array(Open()) }), ...errorResponses },
      },
    },
    async (request) => ({ checks: deps.store.listCapacityChecks((request.query as { limit: number }).limit) }),
  );

  app.get(
    '/v1/audit',
    {
      onRequest: guard('viewer'),
      schema: {
        tags: ['audit'],
        summary: 'The audit log, newest first; filter by actor, action, uid, batch, since; page with before=<id>',
        querystring: AuditQuery,
        response: {
          200: Type.Object({ records: Type.Array(Open()), next: Type.Union([Type.Integer(), Type.Null()]) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query as Static<typeof AuditQuery>;
      const records = deps.store.service.auditPage({
        limit: q.limit,
        ...(q.actor === undefined ? {} : { actor: q.actor }),
        ...(q.action === undefined ? {} : { action: q.action }),
        ...(q.uid === undefined ? {} : { uid: q.uid }),
        ...(q.batch === undefined ? {} : { batchId: q.batch }),
        ...(q.since === undefined ? {} : { since: new Date(q.since).toISOString() }),
        ...(q.before === undefined ? {} : { before: q.before }),
      });
      const lastRecord = records.at(-1);
      return { records, next: records.length === q.limit && lastRecord !== undefined ? lastRecord.id : null };
    },
  );
};
