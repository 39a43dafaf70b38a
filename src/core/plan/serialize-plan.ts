import { createHash } from 'node:crypto';
import type { Plan } from './plan.ts';

/**
 * A plan as text, in pieces: the header pretty-printed for people, then one problem and one
 * person per line, so a 50 000-person plan stays readable and diffable and is written without
 * ever building one large string. The plan file, `--json` output and the store's digest all come
 * from these same pieces, so apply can check a file byte for byte against what was planned.
 */
export function* serializePlan(plan: Plan): Generator<string> {
  const { problems, people, systems, ...head } = plan;
  const header = JSON.stringify(head, null, 2);
  // The per-group uid lists go on one line: they repeat what the people lines say.
  yield `${header.slice(0, -2)},\n  "systems": ${JSON.stringify(systems)},\n  "problems": [`;
  yield* list(problems);
  yield '],\n  "people": [';
  yield* list(people);
  yield ']\n}\n';
}

export function serializePlanText(plan: Plan): string {
  return [...serializePlan(plan)].join('');
}

function* list(items: readonly unknown[]): Generator<string> {
  for (let i = 0; i < items.length; i++) {
    yield `${i === 0 ? '\n' : ',\n'}    ${JSON.stringify(items[i])}`;
  }
  if (items.length > 0) yield '\n  ';
}

/** sha256 of the plan's text, computed piece by piece. */
export function digestPlan(plan: Plan): string {
  const hash = createHash('sha256');
  for (const piece of serializePlan(plan)) hash.update(piece);
  return `sha256:${hash.digest('hex')}`;
}
