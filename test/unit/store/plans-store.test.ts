import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../../src/adapters/store/migrations.ts';
import { openStore } from '../../../src/adapters/store/sqlite-store.ts';
import { capacityLimit } from '../../../src/core/capacity.ts';
import { buildPlan } from '../../../src/core/plan/build-plan.ts';
import type { Plan } from '../../../src/core/plan/plan.ts';
import { serializePlanText, writePlanText } from '../../../src/core/plan/serialize-plan.ts';

function planOf(id: string, names: readonly string[]): Plan {
  return buildPlan({
    id,
    createdAt: '2026-11-26T00:00:00.000Z',
    mode: 'roster',
    source: { file: 'roster.csv', digest: 'sha256:00', rows: names.length, encoding: 'utf-8', rollbackOf: null },
    directory: { url: 'ldap://127.0.0.1', groups: { public: 'cn=p', vpn: 'cn=v', 'vpn-bastion': 'cn=b' } },
    usersBase: 'ou=people',
    targets: names.map((name, i) => ({
      person: { uid: `u${i}`, dn: `uid=u${i},ou=people`, name, department: null, title: null, sshPublicKeys: [] },
      line: i + 2,
      to: 'vpn' as const,
      decidedBy: 'test',
      setSshKeys: null,
      expires: null,
      ...(i === 1 ? { wgKey: 'k' } : {}),
    })),
    memberships: { public: new Set(), vpn: new Set(), 'vpn-bastion': new Set() },
    problems: [],
    warnings: [],
    capacity: {
      limit: capacityLimit({ targetSessions: 10, ratedSessions: null, verified: null }),
      peakConcurrency: { public: 1, vpn: 1, 'vpn-bastion': 1 },
      enforce: 'refuse',
    },
  });
}

const dirs: string[] = [];
function storePath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rac-plans-store-'));
  dirs.push(dir);
  return join(dir, 'rac.db');
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('plan store', () => {
  it('gives back a saved plan as it was, with the digest of its text', () => {
    const store = openStore(storePath());
    const plan = planOf('p-1', ['张伟', 'li', 'wang']);
    store.savePlan(plan);
    expect(store.getPlan('p-1')).toEqual(plan);
    expect(store.getPlanDigest('p-1')).toBe(writePlanText(plan, () => undefined).digest);
    store.close();
  });

  it('keeps the people and digest the caller wrote', () => {
    const store = openStore(storePath());
    const plan = planOf('p-2', ['a', 'b']);
    const chunks: string[] = [];
    const written = writePlanText(plan, (_, text) => chunks.push(text));
    store.savePlan(plan, written);
    expect(chunks.join('')).toBe(serializePlanText(plan));
    expect(store.getPlan('p-2')).toEqual(plan);
    expect(store.getPlanDigest('p-2')).toBe(written.digest);
    store.close();
  });

  it('reads plans saved one row per person before schema 10, in their order', () => {
    const path = storePath();
    const old = new DatabaseSync(path);
    old.exec(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    for (const m of MIGRATIONS.filter((m) => m.version < 10)) {
      old.exec(m.sql);
      old.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, '2026-01-01T00:00:00Z');
    }
    const plans = [planOf('p-old', ['张伟', 'li', 'wang']), planOf('p-empty', [])];
    for (const plan of plans) {
      const { people, ...header } = plan;
      old
        .prepare('INSERT INTO plans (id, created_at, mode, source_digest, digest, header) VALUES (?, ?, ?, ?, ?, ?)')
        .run(plan.id, plan.createdAt, plan.mode, plan.source.digest, 'sha256:old', JSON.stringify(header));
      // Inserted last person first: the migrated plan keeps the people in their seq order (a copy
      // in insertion or rowid order would reverse them).
      for (const seq of [...people.keys()].reverse())
        old
          .prepare('INSERT INTO plan_people (plan_id, seq, person) VALUES (?, ?, ?)')
          .run(plan.id, seq, JSON.stringify(people[seq]));
    }
    old.close();

    const store = openStore(path);
    expect(store.getPlan('p-old')).toEqual(plans[0]);
    expect(store.getPlan('p-empty')).toEqual(plans[1]);
    expect(store.getPlanDigest('p-old')).toBe('sha256:old');
    store.close();
  });
});
