import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../../core/errors.ts';
import type { Plan } from '../../core/plan/plan.ts';
import { rosterCsvFromRows } from '../../core/roster/roster-csv.ts';
import { planRoster } from '../../services/plan-batch.ts';
import type { AppOptions } from '../app.ts';
import { depsFor } from '../auth.ts';
import { errorResponses, Id, JsonRoster as JsonRosterSchema, PlanQuery, PlanSummary } from '../schemas.ts';

type JsonRoster = Static<typeof JsonRosterSchema>;

/** The plan without its people: what a client needs to decide, small for a 50 000-person roster. */
function planHeader(plan: Plan) {
  const { people, ...header } = plan;
  return { ...header, people: people.length };
}

/** POST /v1/plans (a roster as text/csv or JSON → a stored plan), GET /v1/plans/:id. */
export const planRoutes: FastifyPluginAsync<AppOptions> = async (app, options) => {
  const { deps, guard } = options;
  // The raw roster: the same bytes the CLI reads, so encoding detection (GBK) and row errors match.
  app.addContentTypeParser('text/csv', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.post(
    '/v1/plans',
    {
      bodyLimit: deps.config.http.roster_limit_bytes,
      onRequest: guard('operator'),
      schema: {
        tags: ['plans'],
        summary: 'Plan a roster (text/csv, or JSON rows); changes nothing',
        querystring: PlanQuery,
        body: {
          content: {
            'application/json': { schema: JsonRosterSchema },
            'text/csv': { schema: Type.Any({ description: 'the roster CSV (UTF-8 or GBK)' }) },
          },
        },
        response: { 201: PlanSummary, ...errorResponses },
      },
    },
    async (request, reply) => {
      const query = request.query as Static<typeof PlanQuery>;
      const isCsv = Buffer.isBuffer(request.body);
      const json = isCsv ? null : (request.body as JsonRoster);
      if (isCsv && (request.body as Buffer).length === 0)
        throw new AppError(
          'RAC_ROSTER_HEADER',
          'the roster is empty; it needs a header row naming at least the uid column',
        );
      const plan = await planRoster(depsFor(deps, request), {
        bytes: isCsv ? (request.body as Buffer) : rosterCsvFromRows(json?.people ?? []),
        file: null,
        encoding: isCsv ? (query.encoding ?? 'auto') : 'utf-8',
        prune: query.prune ?? json?.prune ?? false,
        skipInvalid: query.skip_invalid ?? json?.skip_invalid ?? false,
      });
      deps.store.savePlan(plan);
      return reply.code(201).send(planHeader(plan));
    },
  );

  app.get(
    '/v1/plans/:id',
    {
      onRequest: guard('viewer'),
      schema: {
        tags: ['plans'],
        summary: 'A stored plan with every person’s change',
        params: Type.Object({ id: Id }),
        response: { 200: PlanSummary, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const plan = deps.store.getPlan(id);
      if (plan === null) throw new AppError('RAC_PLAN_UNKNOWN', `no plan ${id}`);
      return plan;
    },
  );
};
