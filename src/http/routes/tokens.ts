import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { createToken } from '../../services/api-tokens.ts';
import type { AppOptions } from '../app.ts';
import { depsFor } from '../auth.ts';
import { errorResponses, TokenBody, TokenCreate } from '../schemas.ts';

/** Tokens, for admins (as rac token create|list|revoke). A new token is in the response once. */
export const tokenRoutes: FastifyPluginAsync<AppOptions> = async (app, options) => {
  const { deps, guard } = options;
  app.get(
    '/v1/tokens',
    {
      onRequest: guard('admin'),
      schema: {
        tags: ['tokens'],
        summary: 'Every token (never the secret)',
        response: { 200: Type.Object({ tokens: Type.Array(TokenBody) }), ...errorResponses },
      },
    },
    async () => ({ tokens: deps.store.service.listTokens() }),
  );
  app.post(
    '/v1/tokens',
    {
      onRequest: guard('admin'),
      schema: {
        tags: ['tokens'],
        summary: 'Create a token; the response holds it, once',
        body: TokenCreate,
        response: { 201: Type.Intersect([TokenBody, Type.Object({ token: Type.String() })]), ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body as Static<typeof TokenCreate>;
      const { token, record } = createToken(depsFor(deps, request), body);
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ ...record, token });
    },
  );
  app.delete(
    '/v1/tokens/:name',
    {
      onRequest: guard('admin'),
      schema: {
        tags: ['tokens'],
        summary: 'Revoke a token',
        params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 200: TokenBody, ...errorResponses },
      },
    },
    async (request) =>
      deps.store.service.revokeToken((request.params as { name: string }).name, depsFor(deps, request).actor),
  );
};
