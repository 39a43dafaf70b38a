import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../../src/adapters/store/migrations.ts';
import { openStore, type Store } from '../../../src/adapters/store/sqlite-store.ts';
import type { Config } from '../../../src/config/schema.ts';
import { AppError } from '../../../src/core/errors.ts';
import { currentCapacityLimit, topologyDigest } from '../../../src/services/capacity-limit.ts';
import { recordCapacityCheck } from '../../../src/services/record-capacity-check.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/k6');
const text = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const edited = (name: string, edit: (doc: Record<string, Record<string, unknown>>) => void) => {
  const doc = JSON.parse(text(name));
  edit(doc);
  return JSON.stringify(doc);
};

function configWith(gateways: Array<{ name: string; rated: number }>, acceptDryRun = false): Config {
  return {
    capacity: {
      target_sessions: 5000,
      peak_concurrency: { public: 0.6, vpn: 0.9, 'vpn-bastion': 0.9 },
      enforce: 'refuse',
      accept_dry_run: acceptDryRun,
    },
    gateways: gateways.map((g) => ({ name: g.name, kind: 'openvpn', rated_sessions: g.rated })),
  } as unknown as Config;
}

const stores: Store[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function deps(config: Config) {
  const store = openStore(':memory:');
  stores.push(store);
  return { config, store, clock: { now: () => new Date('2026-11-30T09:00:00Z') }, actor: 'test' };
}

const twoGateways = configWith([
  { name: 'gw-1', rated: 2500 },
  { name: 'gw-2', rated: 2500 },
]);

describe('recordCapacityCheck', () => {
  it('stores a passing check against the current topology; its peak becomes the verified capacity', () => {
    const d = deps(twoGateways);
    const recorded = recordCapacityCheck(d, { text: text('handle-summary-passed.json'), source: 'summary.json' });
    expect(recorded).toMatchObject({
      topology: topologyDigest(twoGateways),
      shape: 'handle-summary',
      verdict: { passed: true, peakSessions: 5123, dryRun: false },
      verification: { verifies: true },
    });
    expect(currentCapacityLimit(twoGateways, d.store)).toMatchObject({ sessions: 5123, source: 'verified' });
    const [listed] = d.store.listCapacityChecks();
    expect(listed).toMatchObject({
      passed: true,
      dryRun: false,
      peakSessions: 5123,
      targetSessions: 5000,
      k6Version: expect.stringContaining('v1.8.1'),
      scenarios: { login_storm: { status: 'ran', iterations: 36000 } },
      source: 'summary.json',
    });
    expect(listed?.durationSeconds).toBeCloseTo(1830.5, 1);
    expect(d.store.listAudit({}).map((a) => a.action)).toContain('capacity.check.recorded');
  });

  it('stores a failed check (TRUE in --summary-export) without verifying anything', () => {
    const d = deps(twoGateways);
    const recorded = recordCapacityCheck(d, { text: text('summary-export-failed.json'), source: 'export.json' });
    expect(recorded.verdict.passed).toBe(false);
    expect(recorded.verification.verifies).toBe(false);
    expect(d.store.listCapacityChecks()[0]).toMatchObject({ passed: false, shape: 'summary-export' });
    expect(currentCapacityLimit(twoGateways, d.store)).toMatchObject({ sessions: 5000, source: 'target' });
  });

  it('never verifies capacity by a dry run, unless capacity.accept_dry_run: then it says so', () => {
    const dryRun = edited('handle-summary-passed.json', (doc) => {
      (doc['rac'] as Record<string, unknown>)['dryRun'] = true;
    });
    const d = deps(twoGateways);
    const recorded = recordCapacityCheck(d, { text: dryRun, source: 'summary.json' });
    expect(recorded.verdict).toMatchObject({ passed: true, dryRun: true });
    expect(recorded.verification.reason).toContain('dry run: no load generated');
    expect(d.store.listCapacityChecks()[0]).toMatchObject({ dryRun: true, note: 'dry run: no load generated' });
    expect(currentCapacityLimit(twoGateways, d.store).source).toBe('target');
    // The same stored result, read under a config that accepts dry runs.
    const accepting = configWith(
      [
        { name: 'gw-1', rated: 2500 },
        { name: 'gw-2', rated: 2500 },
      ],
      true,
    );
    const limit = currentCapacityLimit(accepting, d.store);
    expect(limit).toMatchObject({ sessions: 5123, source: 'verified' });
    expect(limit.detail).toContain('verified by a dry run');
  });

  it('verifies only the topology it was recorded against', () => {
    const d = deps(twoGateways);
    recordCapacityCheck(d, { text: text('handle-summary-passed.json'), source: 'summary.json' });
    const expanded = configWith([
      { name: 'gw-1', rated: 2500 },
      { name: 'gw-2', rated: 2500 },
      { name: 'gw-3', rated: 2500 },
    ]);
    // The expanded topology is unverified: it grants against the figure of the one the check proved.
    expect(currentCapacityLimit(expanded, d.store)).toMatchObject({ source: 'previous-verified', sessions: 5123 });
    // The check recorded the topology it proved, so a later rac expand compares against it.
    expect(d.store.topologies.current()?.topology.fingerprint).toBe(topologyDigest(twoGateways));
  });

  it('refuses a check that ran against another topology, and records nothing', () => {
    const d = deps(twoGateways);
    const other = edited('handle-summary-passed.json', (doc) => {
      (doc['rac'] as Record<string, unknown>)['topology'] = 'sha256:0000000000000000';
    });
    expect(() => recordCapacityCheck(d, { text: other, source: 'summary.json' })).toThrow(
      expect.objectContaining({ code: 'RAC_CHECK_TOPOLOGY_MISMATCH' }),
    );
    const same = edited('handle-summary-passed.json', (doc) => {
      (doc['rac'] as Record<string, unknown>)['topology'] = topologyDigest(twoGateways);
    });
    expect(recordCapacityCheck(d, { text: same, source: 'summary.json' }).verification.verifies).toBe(true);
    expect(d.store.listCapacityChecks()).toHaveLength(1);
  });

  it('refuses what is not a k6 summary, naming where and why, and records nothing', () => {
    const d = deps(twoGateways);
    let error: unknown;
    try {
      recordCapacityCheck(d, {
        text: '{"metrics": {"checks": {"type": "rate", "values": {"rate": "x"}}}}',
        source: 's.json',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('RAC_CHECK_SUMMARY_INVALID');
    expect((error as AppError).message).toContain('metrics.checks.values.rate: not a number ("x")');
    expect(() => recordCapacityCheck(d, { text: 'not json', source: 's.json' })).toThrow(/s\.json: not JSON/);
    expect(d.store.listCapacityChecks()).toEqual([]);
  });

  it('verifies nothing without gateways: there is no topology to verify', () => {
    const none = configWith([]);
    const d = deps(none);
    const recorded = recordCapacityCheck(d, { text: text('handle-summary-passed.json'), source: 'summary.json' });
    expect(recorded.verification).toEqual({
      verifies: false,
      reason: 'no gateways in the config: there is no topology to verify',
    });
  });
});

describe('store migration 4', () => {
  it('adds the new columns to an existing store and keeps its checks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rac-store-'));
    dirs.push(dir);
    const path = join(dir, 'rac.db');
    const db = new DatabaseSync(path);
    db.exec(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    for (const m of MIGRATIONS.filter((m) => m.version <= 3)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, '2026-11-01T00:00:00Z');
    }
    db.prepare(
      'INSERT INTO capacity_checks (id, at, topology, verified_sessions, passed, summary) VALUES (?, ?, ?, ?, ?, ?)',
    ).run('chk-old', '2026-11-02T00:00:00Z', 'sha256:abc', 4200, 1, '{}');
    db.close();
    const store = openStore(path);
    stores.push(store);
    expect(store.listCapacityChecks()).toMatchObject([{ id: 'chk-old', peakSessions: 4200, dryRun: false }]);
    expect(store.latestPassingCheck('sha256:abc')).toEqual({
      sessions: 4200,
      at: '2026-11-02T00:00:00Z',
      dryRun: false,
    });
  });
});
