import type { Plan, PlannedPerson } from '../../core/plan/plan.ts';
import { digestPlan } from '../../core/plan/serialize-plan.ts';
import type { PlanStore } from '../../ports.ts';
import type { StoreContext } from './store-context.ts';

/** Plans as they were made: a header and one row per person, with the digest of the text. */
export function createPlanStore(ctx: StoreContext): PlanStore {
  const { db, transaction } = ctx;
  const store: PlanStore = {
    /**
     * Stores a plan once: its header, one row per person, and the digest of its text (see
     * serializePlan), against which apply checks a plan file.
     */
    savePlan(plan: Plan, digest: string = digestPlan(plan)): void {
      if (db.prepare('SELECT 1 FROM plans WHERE id = ?').get(plan.id) !== undefined) return;
      transaction(() => {
        const { people, ...header } = plan;
        db.prepare(
          'INSERT INTO plans (id, created_at, mode, source_digest, digest, header) VALUES (?, ?, ?, ?, ?, ?)',
        ).run(plan.id, plan.createdAt, plan.mode, plan.source.digest, digest, JSON.stringify(header));
        const insert = db.prepare('INSERT INTO plan_people (plan_id, seq, person) VALUES (?, ?, ?)');
        for (const [seq, person] of people.entries()) insert.run(plan.id, seq, JSON.stringify(person));
      });
    },
    getPlan(id: string): Plan | null {
      const row = db.prepare('SELECT header FROM plans WHERE id = ?').get(id) as { header: string } | undefined;
      if (row === undefined) return null;
      const people = (
        db.prepare('SELECT person FROM plan_people WHERE plan_id = ? ORDER BY seq').all(id) as { person: string }[]
      ).map((r) => JSON.parse(r.person) as PlannedPerson);
      return { ...(JSON.parse(row.header) as Omit<Plan, 'people'>), people };
    },
    getPlanDigest(id: string): string | null {
      const row = db.prepare('SELECT digest FROM plans WHERE id = ?').get(id) as { digest: string } | undefined;
      return row?.digest ?? null;
    },
  };
  return store;
}
