import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Plan, PlannedPerson } from '../../core/plan/plan.ts';
import { type WrittenPlan, writePlanText } from '../../core/plan/serialize-plan.ts';
import type { PlanStore } from '../../ports.ts';
import type { StoreContext } from './store-context.ts';

/** Plans as they were made: a header, the people in one deflated column, and the digest of the text. */
export function createPlanStore(ctx: StoreContext): PlanStore {
  const { db } = ctx;
  const store: PlanStore = {
    /**
     * Stores a plan once: its header, its people, and the digest of its text (see serializePlan),
     * against which apply checks a plan file. `written` is that text as the caller wrote it.
     */
    savePlan(plan: Plan, written?: WrittenPlan): void {
      if (db.prepare('SELECT 1 FROM plans WHERE id = ?').get(plan.id) !== undefined) return;
      const { digest, people } = written ?? writePlanText(plan, () => undefined);
      const { people: _, ...header } = plan;
      db.prepare(
        'INSERT INTO plans (id, created_at, mode, source_digest, digest, header, people) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ).run(plan.id, plan.createdAt, plan.mode, plan.source.digest, digest, JSON.stringify(header), pack(people));
    },
    getPlan(id: string): Plan | null {
      const row = db.prepare('SELECT header, people FROM plans WHERE id = ?').get(id) as
        | { header: string; people: unknown }
        | undefined;
      if (row === undefined) return null;
      return { ...(JSON.parse(row.header) as Omit<Plan, 'people'>), people: unpackPeople(id, row.people) };
    },
    getPlanDigest(id: string): string | null {
      const row = db.prepare('SELECT digest FROM plans WHERE id = ?').get(id) as { digest: string } | undefined;
      return row?.digest ?? null;
    },
  };
  return store;
}

/**
 * The people's JSON, deflated: 50 000 people are ~13 MB of JSON, which the store would write and
 * sync twice (log and checkpoint) at every save; deflated (fastest level) they are ~1.6 MB.
 */
function pack(json: readonly Uint8Array[]): Uint8Array {
  return deflateRawSync(Buffer.concat(json), { level: 1 });
}

/** Plans saved before schema 10 were moved to this column by the migration as JSON text, not deflated. */
function unpackPeople(id: string, stored: unknown): PlannedPerson[] {
  if (stored instanceof Uint8Array) return JSON.parse(inflateRawSync(stored).toString('utf8')) as PlannedPerson[];
  if (typeof stored === 'string') return JSON.parse(stored) as PlannedPerson[];
  throw new Error(`plan ${id} has no people stored`);
}
