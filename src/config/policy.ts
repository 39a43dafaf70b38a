import { readFileSync } from 'node:fs';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse } from 'yaml';
import { AppError } from '../core/errors.ts';
import type { Policy } from '../core/policy.ts';

const TierSchema = Type.Union([Type.Literal('public'), Type.Literal('vpn'), Type.Literal('vpn-bastion')]);
const MatcherSchema = Type.Union([
  Type.String({ minLength: 1 }),
  Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
]);

export const PolicySchema = Type.Object(
  {
    default: Type.Object({ tier: TierSchema, max: Type.Optional(TierSchema) }, { additionalProperties: false }),
    rules: Type.Array(
      Type.Object(
        {
          name: Type.String({ minLength: 1 }),
          match: Type.Object(
            { department: Type.Optional(MatcherSchema), title: Type.Optional(MatcherSchema) },
            { additionalProperties: false, minProperties: 1 },
          ),
          tier: TierSchema,
          max: Type.Optional(TierSchema),
        },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
  },
  { additionalProperties: false },
);

export type PolicyDocument = Static<typeof PolicySchema>;

export function loadPolicy(path: string): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AppError('RAC_POLICY_NOT_FOUND', `cannot read policy ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parsePolicy(text, path);
}

export function parsePolicy(text: string, path = 'policy.yaml'): Policy {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new AppError('RAC_POLICY_INVALID', `policy ${path} is not valid YAML: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const value = Value.Default(PolicySchema, raw ?? {});
  const problems = [...Value.Errors(PolicySchema, value)].map(
    (e) => `${e.path === '' ? '(root)' : e.path.slice(1).replaceAll('/', '.')}: ${e.message}`,
  );
  const doc = value as PolicyDocument;
  const seen = new Set<string>();
  for (const [i, rule] of (Array.isArray(doc.rules) ? doc.rules : []).entries()) {
    if (seen.has(rule.name)) problems.push(`rules.${i}.name: duplicate rule name ${rule.name}`);
    seen.add(rule.name);
    for (const [field, matcher] of Object.entries(rule.match ?? {})) {
      for (const pattern of typeof matcher === 'string' ? [matcher] : (matcher ?? [])) {
        if (pattern.length > 2 && pattern.startsWith('/') && pattern.endsWith('/')) {
          try {
            new RegExp(pattern.slice(1, -1), 'iu');
          } catch (err) {
            problems.push(`rules.${i}.match.${field}: bad regex ${pattern}: ${(err as Error).message}`);
          }
        }
      }
    }
  }
  if (problems.length > 0) {
    throw new AppError('RAC_POLICY_INVALID', `policy ${path} is invalid:\n  ${[...new Set(problems)].join('\n  ')}`, {
      details: { problems },
    });
  }
  return doc;
}
