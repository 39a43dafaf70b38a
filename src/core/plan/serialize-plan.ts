import { createHash } from 'node:crypto';
import type { Plan, PlannedPerson } from './plan.ts';

/**
 * A plan as text, in pieces: the header pretty-printed for people, then one problem and one
 * person per line, so a 50 000-person plan stays readable and diffable and is written without
 * ever building one large string. The plan file, `--json` output and the store's digest all come
 * from these same pieces, so apply can check a file byte for byte against what was planned.
 */
export function* serializePlan(plan: Plan): Generator<string> {
  yield* serializePlanHead(plan);
  yield* serializePeople(plan.people);
  yield PLAN_TAIL;
}

/** The text before the people: header, systems and problems, up to `"people": `. */
export function* serializePlanHead(plan: Plan): Generator<string> {
  const { problems, people, systems, ...head } = plan;
  const header = JSON.stringify(head, null, 2);
  // The per-group uid lists go on one line: they repeat what the people lines say.
  yield `${header.slice(0, -2)},\n  "systems": ${JSON.stringify(systems)},\n  "problems": [`;
  yield* list(problems);
  yield '],\n  "people": ';
}

/** The people as a JSON array, one per line: the plan text's last section, and what the store keeps. */
export function* serializePeople(people: readonly PlannedPerson[]): Generator<string> {
  yield '[';
  yield* list(people);
  yield ']';
}

/** What follows the people: the plan text ends here. */
export const PLAN_TAIL = '\n}\n';

export function serializePlanText(plan: Plan): string {
  return [...serializePlan(plan)].join('');
}

function* list(items: readonly unknown[]): Generator<string> {
  for (let i = 0; i < items.length; i++) {
    yield `${i === 0 ? '\n' : ',\n'}    ${JSON.stringify(items[i])}`;
  }
  if (items.length > 0) yield '\n  ';
}

/** A plan's text as written: the sha256 of the whole, and its people section (serializePeople) as UTF-8. */
export interface WrittenPlan {
  readonly digest: string;
  readonly people: readonly Uint8Array[];
}

const CHUNK = 1 << 16;

/**
 * Gives the plan's text to `out` in chunks of about 64 KiB, each encoded once, and returns its
 * digest with the people section's bytes, which the store keeps (so a plan is serialised once).
 */
export function writePlanText(plan: Plan, out: (bytes: Uint8Array, text: string) => void): WrittenPlan {
  const hash = createHash('sha256');
  const people: Uint8Array[] = [];
  const emit = (text: string, keep: boolean) => {
    const bytes = Buffer.from(text, 'utf8');
    hash.update(bytes);
    out(bytes, text);
    if (keep) people.push(bytes);
  };
  emitInChunks(serializePlanHead(plan), (text) => emit(text, false));
  emitInChunks(serializePeople(plan.people), (text) => emit(text, true));
  emit(PLAN_TAIL, false);
  return { digest: `sha256:${hash.digest('hex')}`, people };
}

function emitInChunks(pieces: Iterable<string>, emit: (text: string) => void): void {
  let buffer = '';
  for (const piece of pieces) {
    buffer += piece;
    if (buffer.length >= CHUNK) {
      emit(buffer);
      buffer = '';
    }
  }
  if (buffer.length > 0) emit(buffer);
}
