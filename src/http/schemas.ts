import { type TSchema, Type } from '@sinclair/typebox';
import { TIERS } from '../core/tiers.ts';
import { TOKEN_ROLES } from '../services/api-tokens.ts';

/** Request and response schemas of /v1: fastify validates with them and /docs is built from them. */

const ErrorBody = Type.Object(
  {
    code: Type.String({ description: 'RAC_* error code' }),
    message: Type.String(),
    details: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { $id: 'Error' },
);

const TierSchema = Type.Union(
  TIERS.map((t) => Type.Literal(t)),
  { description: 'access tier' },
);
export const Uid = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' });
export const Id = Type.String({ minLength: 1, maxLength: 80, pattern: '^[A-Za-z0-9._-]+$' });

/** Loose object: the documented fields, and whatever else the service returns. */
export const Open = (properties: Record<string, TSchema> = {}, description?: string) =>
  Type.Object(properties, { additionalProperties: true, ...(description === undefined ? {} : { description }) });

export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  422: ErrorBody,
  429: ErrorBody,
  500: ErrorBody,
  503: ErrorBody,
};

const RosterRow = Type.Object(
  {
    uid: Type.String({ maxLength: 200 }),
    name: Type.Optional(Type.String({ maxLength: 500 })),
    email: Type.Optional(Type.String({ maxLength: 500 })),
    department: Type.Optional(Type.String({ maxLength: 500 })),
    title: Type.Optional(Type.String({ maxLength: 500 })),
    tier: Type.Optional(Type.String({ maxLength: 40 })),
    ssh_key: Type.Optional(Type.String({ maxLength: 20_000 })),
    expires: Type.Optional(Type.String({ maxLength: 40 })),
    wg_key: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const PlanQuery = Type.Object(
  {
    prune: Type.Optional(Type.Boolean()),
    skip_invalid: Type.Optional(Type.Boolean()),
    encoding: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('utf-8'), Type.Literal('gbk')])),
  },
  { additionalProperties: false },
);

export const JsonRoster = Type.Object(
  {
    people: Type.Array(RosterRow, { minItems: 1, maxItems: 200_000 }),
    prune: Type.Optional(Type.Boolean()),
    skip_invalid: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const PlanSummary = Open(
  {
    id: Type.String(),
    createdAt: Type.String(),
    mode: Type.String(),
    summary: Open(),
    capacity: Open(),
    problems: Type.Array(Open()),
  },
  'a plan (GET /v1/plans/:id adds people)',
);

export const BatchStart = Type.Object(
  {
    plan_id: Id,
    canary: Type.Optional(Type.Integer({ minimum: 1 })),
    wave_size: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

export const BatchProgressBody = Open({
  id: Type.String(),
  planId: Type.String(),
  status: Type.String(),
  running: Type.Boolean(),
  runs: Type.Integer(),
  items: Type.Object({ pending: Type.Integer(), applied: Type.Integer(), failed: Type.Integer() }),
  progress: Type.Union([Open(), Type.Null()]),
  report: Type.Union([Open(), Type.Null()]),
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
});

export const TierChange = Type.Object(
  {
    tier: TierSchema,
    expires: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
  },
  { additionalProperties: false },
);

export const AuditQuery = Type.Object(
  {
    actor: Type.Optional(Type.String({ maxLength: 200 })),
    action: Type.Optional(Type.String({ maxLength: 100 })),
    uid: Type.Optional(Type.String({ maxLength: 100 })),
    batch: Type.Optional(Type.String({ maxLength: 100 })),
    since: Type.Optional(Type.String({ format: 'date-time' })),
    before: Type.Optional(Type.Integer({ minimum: 1 })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  },
  { additionalProperties: false },
);

export const TokenCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    role: Type.Union(TOKEN_ROLES.map((r) => Type.Literal(r))),
  },
  { additionalProperties: false },
);

export const TokenBody = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.String(),
  createdAt: Type.String(),
  createdBy: Type.String(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});
