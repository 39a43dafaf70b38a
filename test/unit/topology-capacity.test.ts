import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/adapters/log/pino-logger.ts';
import { openStore, type Store } from '../../src/adapters/store/sqlite-store.ts';
import { renderExpandReport } from '../../src/cli/commands/expand.ts';
import type { Config } from '../../src/config/schema.ts';
import { capacityLimit, gateCapacity } from '../../src/core/capacity.ts';
import { topologyOf } from '../../src/core/topology.ts';
import { currentCapacityLimit, topologyDigest } from '../../src/services/capacity-limit.ts';
import type { ServiceDeps } from '../../src/services/deps.ts';
import { expandTopology, previewExpand } from '../../src/services/expand-topology.ts';
import { topologySince, topologyState, unrecordedTopologyWarning } from '../../src/services/topology.ts';

type Host = { name: string; rated?: number; kind?: string };
function configWith(hosts: Host[], acceptDryRun = false): Config {
  return {
    capacity: {
      target_sessions: 5000,
      peak_concurrency: { public: 0.6, vpn: 0.9, 'vpn-bastion': 0.9 },
      enforce: 'refuse',
      accept_dry_run: acceptDryRun,
    },
    gateways: hosts.map((h) => ({ name: h.name, kind: h.kind ?? 'openvpn', rated_sessions: h.rated ?? 2500 })),
  } as unknown as Config;
}

const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});
function newStore(): Store {
  const store = openStore(':memory:');
  stores.push(store);
  return store;
}
let seq = 0;
function check(store: Store, config: Config, sessions: number, options: { passed?: boolean; dryRun?: boolean } = {}) {
  store.saveCapacityCheck({
    id: `chk-${++seq}`,
    at: new Date(Date.UTC(2026, 10, 20, 10, seq)).toISOString(),
    topology: topologyDigest(config),
    peakSessions: sessions,
    passed: options.passed ?? true,
    dryRun: options.dryRun ?? false,
    targetSessions: sessions,
    k6Version: 'v1.4.0',
    durationSeconds: 600,
    shape: 'handle-summary',
    scenarios: {},
    conditions: [],
    source: 'summary.json',
    recordedBy: 'test',
    summary: '{}',
  });
}
const record = (store: Store, config: Config) => store.topologies.record(topologyOf(config.gateways), 'test', {});

const one = configWith([{ name: 'gw-1' }]);
const two = configWith([{ name: 'gw-1' }, { name: 'gw-2' }]);

describe('the gate’s figure while a topology is unverified', () => {
  it('uses the current topology’s own verified figure once it has one', () => {
    const store = newStore();
    record(store, one);
    check(store, one, 2100);
    record(store, two);
    check(store, two, 4300);
    expect(currentCapacityLimit(two, store)).toMatchObject({ sessions: 4300, source: 'verified' });
  });

  it('grants against the previous recorded topology’s verified figure after an expansion, and says so', () => {
    const store = newStore();
    record(store, one);
    check(store, one, 2100);
    // Before rac expand (an unrecorded change) and after it: the same, proven figure.
    const unrecorded = currentCapacityLimit(two, store);
    expect(unrecorded).toMatchObject({ sessions: 2100, source: 'previous-verified' });
    expect(unrecorded.detail).toContain(`verified for the previous topology ${topologyDigest(one)}`);
    record(store, two);
    const limit = currentCapacityLimit(two, store);
    expect(limit).toMatchObject({ sessions: 2100, source: 'previous-verified' });
    expect(limit.detail).toContain('this topology is unverified');
    // A failed check of the new topology verifies nothing: still the previous figure.
    check(store, two, 4900, { passed: false });
    expect(currentCapacityLimit(two, store).sessions).toBe(2100);
    const verdict = gateCapacity({
      before: { public: 0, vpn: 2000, 'vpn-bastion': 0 },
      after: { public: 0, vpn: 2400, 'vpn-bastion': 0 },
      peakConcurrency: { public: 0.6, vpn: 0.9, 'vpn-bastion': 0.9 },
      limit,
      enforce: 'refuse',
    });
    expect(verdict.verdict).toBe('refuse');
    expect(verdict.message).toContain('expected peak 1800 → 2160 sessions against previous-verified capacity 2100');
    expect(verdict.message).toContain('over by 60');
  });

  it('skips recorded topologies without a check, back to the last verified one', () => {
    const store = newStore();
    record(store, one);
    check(store, one, 2100);
    record(store, two);
    const three = configWith([{ name: 'gw-1' }, { name: 'gw-2' }, { name: 'gw-3' }]);
    expect(currentCapacityLimit(three, store)).toMatchObject({ sessions: 2100, source: 'previous-verified' });
  });

  it('falls back to the target and the ratings when the topology shrank since the verified one, and says why', () => {
    const store = newStore();
    record(store, two);
    check(store, two, 4300);
    record(store, one);
    const removed = currentCapacityLimit(one, store);
    expect(removed).toMatchObject({ sessions: 5000, source: 'target' });
    expect(removed.pools).toEqual([{ name: 'vpn', tiers: ['vpn', 'vpn-bastion'], sessions: 2500 }]);
    expect(removed.detail).toContain('the topology shrank');
    expect(removed.detail).toContain('gw-2 removed');
    const lowered = configWith([{ name: 'gw-1' }, { name: 'gw-2', rated: 1000 }]);
    expect(currentCapacityLimit(lowered, store)).toMatchObject({
      source: 'target',
      pools: [{ name: 'vpn', sessions: 3500 }],
    });
    expect(currentCapacityLimit(lowered, store).detail).toContain('gw-2 rated 2500 → 1000');
  });

  it('falls back to the target and the ratings when no earlier topology was verified, or only by a dry run not accepted', () => {
    const store = newStore();
    expect(currentCapacityLimit(two, store)).toMatchObject({ sessions: 5000, source: 'target' });
    record(store, one);
    check(store, one, 2100, { dryRun: true });
    expect(currentCapacityLimit(two, store)).toMatchObject({ sessions: 5000, source: 'target' });
    expect(currentCapacityLimit(configWith([{ name: 'gw-1' }, { name: 'gw-2' }], true), store)).toMatchObject({
      sessions: 2100,
      source: 'previous-verified',
    });
  });

  it('keeps the core rule: verified, then previous verified, then the target', () => {
    const previous = {
      usable: true as const,
      topology: 'sha256:0000000000000000',
      verified: { sessions: 900, at: '2026-11-20T10:00:00.000Z' },
    };
    const inputs = { targetSessions: 5000, ratedSessions: 6000 };
    expect(capacityLimit({ ...inputs, verified: { sessions: 4200, at: 'x' }, previous }).source).toBe('verified');
    expect(capacityLimit({ ...inputs, verified: null, previous })).toMatchObject({
      sessions: 900,
      source: 'previous-verified',
    });
    expect(
      capacityLimit({ ...inputs, verified: null, previous: { ...previous, usable: false, reason: 'gw-2 removed' } }),
    ).toMatchObject({ sessions: 5000, source: 'target' });
  });
});

describe('rac expand (service), for changes that need no host', () => {
  const deps = (store: Store, config: Config): ServiceDeps => ({
    directory: {} as ServiceDeps['directory'],
    gateways: [],
    store,
    config,
    clock: { now: () => new Date('2026-11-30T09:00:00Z') },
    logger: createLogger('silent'),
    actor: 'ops',
    policy: () => {
      throw new Error('not used');
    },
    capacityLimit: () => currentCapacityLimit(config, store),
  });

  it('records the first topology as it is, then does nothing until the config changes', async () => {
    const store = newStore();
    const first = await expandTopology(deps(store, one), { confirmed: null });
    expect(first).toMatchObject({ status: 'baseline', from: null, to: topologyDigest(one) });
    expect(store.topologies.current()?.topology.fingerprint).toBe(topologyDigest(one));
    const again = await expandTopology(deps(store, one), { confirmed: store.topologies.current()?.seq ?? null });
    expect(again).toMatchObject({ status: 'unchanged', hosts: [] });
    expect(store.topologies.history()).toHaveLength(1);
  });

  it('records a re-rated topology with what changed, audited, capacity unverified', async () => {
    const store = newStore();
    record(store, one);
    check(store, one, 2100);
    const bigger = configWith([{ name: 'gw-1', rated: 4000 }]);
    const d = deps(store, bigger);
    expect(unrecordedTopologyWarning(topologyState(d))?.join('\n')).toContain('~ gw-1 rated 2500 → 4000');
    const preview = previewExpand(d);
    expect(preview).toMatchObject({ action: 'expand', provision: [], changes: ['~ gw-1 rated 2500 → 4000'] });
    const report = await expandTopology(d, { confirmed: preview.recorded?.seq ?? null });
    expect(report).toMatchObject({
      status: 'recorded',
      from: topologyDigest(one),
      to: topologyDigest(bigger),
      capacity: { sessions: 2100, source: 'previous-verified' },
    });
    expect(store.topologies.current()?.topology.hosts).toEqual([
      { name: 'gw-1', kind: 'openvpn', ratedSessions: 4000 },
    ]);
    const audit = store.listAudit({ action: 'topology.recorded' });
    expect(audit.at(-1)?.detail).toMatchObject({
      fingerprint: topologyDigest(bigger),
      from: topologyDigest(one),
      changes: ['~ gw-1 rated 2500 → 4000'],
      capacity: 'unverified',
    });
    expect(unrecordedTopologyWarning(topologyState(d))).toBeNull();
  });

  it('refuses to act on a recorded topology other than the one shown', async () => {
    const store = newStore();
    record(store, one);
    const shown = store.topologies.current()?.seq ?? null;
    record(store, configWith([{ name: 'gw-1', rated: 3000 }]));
    await expect(expandTopology(deps(store, two), { confirmed: shown })).rejects.toMatchObject({
      code: 'RAC_PLAN_STALE',
    });
    expect(store.topologies.history()).toHaveLength(2);
  });
});

describe('renderExpandReport', () => {
  const capacity = { sessions: 3, source: 'previous-verified' as const, detail: 'this topology is unverified; …' };
  const host = {
    name: 'gw-2',
    kind: 'openvpn',
    added: 3,
    unchanged: 0,
    verified: 3,
    expected: 3,
    missing: [],
    error: null,
    durationMs: 420,
    failed: [],
  };

  it('shows each new host read back, what was recorded and the figure the gate now uses', () => {
    const lines = renderExpandReport({
      status: 'recorded',
      from: 'sha256:aaaa',
      to: 'sha256:bbbb',
      changes: ['+ gw-2 (openvpn, rated 2500)'],
      hosts: [{ ...host, status: 'applied' }],
      capacity,
    });
    expect(lines).toContain('  gw-2 (openvpn): +3 =0, read back 3/3 grants in 0.42s');
    expect(lines).toContain('Recorded topology sha256:bbbb (was sha256:aaaa).');
    expect(lines.at(-1)).toBe('capacity: 3 sessions — previous-verified: this topology is unverified; …');
  });

  it('says plainly that nothing was recorded when a host was not done', () => {
    const lines = renderExpandReport({
      status: 'partial',
      from: 'sha256:aaaa',
      to: 'sha256:bbbb',
      changes: [],
      hosts: [{ ...host, status: 'unavailable', verified: 0, added: 0, error: 'RAC_SSH_TIMEOUT: no answer' }],
      capacity,
    });
    expect(lines).toContain('  gw-2 (openvpn): UNAVAILABLE — RAC_SSH_TIMEOUT: no answer');
    expect(lines.join('\n')).toContain(
      'Not recorded: a host was not done. Topology sha256:aaaa stays the recorded one',
    );
  });
});

describe('topologySince', () => {
  it('is when rac expand recorded the topology, else when rac first saw it', () => {
    const store = openStore(':memory:', { now: () => new Date('2026-11-30T08:00:00Z') });
    stores.push(store);
    const seen = new Date('2026-11-29T07:00:00Z');
    expect(topologySince(store, topologyDigest(one), seen)).toBe('2026-11-29T07:00:00.000Z');
    record(store, one);
    expect(topologySince(store, topologyDigest(one), new Date())).toBe('2026-11-30T08:00:00.000Z');
    // An unrecorded change is as old as rac's first sight of it.
    expect(topologySince(store, topologyDigest(two), seen)).toBe('2026-11-29T07:00:00.000Z');
  });
});
