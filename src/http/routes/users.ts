import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { rosterCsvFromRows } from '../../core/roster/roster-csv.ts';
import { applyPlan } from '../../services/apply-plan.ts';
import { planRoster } from '../../services/plan-batch.ts';
import { revokeAccess } from '../../services/revoke-access.ts';
import { personStatus } from '../../services/user-status.ts';
import type { AppOptions } from '../app.ts';
import { depsFor } from '../auth.ts';
import { errorResponses, Open, TierChange, Uid } from '../schemas.ts';

const UidParams = Type.Object({ uid: Uid });

/** People: status, a tier change (a one-person batch), and revocation with its proof. */
export const userRoutes: FastifyPluginAsync<AppOptions> = async (app, options) => {
  const { deps, guard, runner } = options;

  app.get(
    '/v1/users/:uid',
    {
      onRequest: guard('viewer'),
      schema: {
        tags: ['users'],
        summary: 'A person’s tier, groups, rac’s record, keys, access and sessions on every host, history',
        params: UidParams,
        response: {
          200: Open({ uid: Type.String(), tier: Type.Union([Type.String(), Type.Null()]) }),
          ...errorResponses,
        },
      },
    },
    async (request) => personStatus(deps, (request.params as { uid: string }).uid),
  );

  app.put(
    '/v1/users/:uid/tier',
    {
      onRequest: guard('operator'),
      schema: {
        tags: ['users'],
        summary: 'Set one person’s tier (planned and applied like a one-row roster; 409 while a batch runs)',
        params: UidParams,
        body: TierChange,
        response: { 200: Open({ batchId: Type.String(), status: Type.String() }), ...errorResponses },
      },
    },
    async (request) => {
      const { uid } = request.params as { uid: string };
      const body = request.body as Static<typeof TierChange>;
      const scoped = depsFor(deps, request);
      runner.assertIdle();
      const plan = await planRoster(scoped, {
        bytes: rosterCsvFromRows([
          { uid, tier: body.tier, ...(body.expires === undefined ? {} : { expires: body.expires }) },
        ]),
        file: null,
        encoding: 'utf-8',
      });
      runner.assertIdle();
      const report = await applyPlan(scoped, plan, {});
      return {
        batchId: report.batchId,
        planId: plan.id,
        status: report.status,
        person: report.people[0] ?? null,
        systems: report.systems,
      };
    },
  );

  app.delete(
    '/v1/users/:uid/access',
    {
      onRequest: guard('operator'),
      schema: {
        tags: ['users'],
        summary: 'Revoke a person everywhere, kill live sessions and prove nothing is left; never waits for a batch',
        params: UidParams,
        response: {
          200: Open({
            verified: Type.Boolean(),
            latencyMs: Type.Number(),
            remaining: Open(),
            hosts: Type.Array(Open()),
            disconnected: Type.Array(Open()),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { uid } = request.params as { uid: string };
      const report = await revokeAccess(depsFor(deps, request), [uid]);
      return {
        uid: uid.toLowerCase(),
        batchId: report.apply.batchId,
        verified: report.verified,
        latencyMs: report.latencyMs,
        remaining: report.remaining,
        hosts: report.hosts.map((h) => ({ name: h.name, kind: h.kind, status: h.status, error: h.error })),
        disconnected: report.disconnected,
      };
    },
  );
};
