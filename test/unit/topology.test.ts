import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.ts';
import {
  describeDiff,
  diffTopologies,
  hostsToProvision,
  isEmptyDiff,
  previousVerified,
  shrinkReason,
  topologyOf,
} from '../../src/core/topology.ts';
import { topologyDigest } from '../../src/services/capacity-limit.ts';

const gw = (name: string, rated = 2500, kind = 'openvpn') => ({ name, kind, rated_sessions: rated });

describe('topologyOf', () => {
  it('describes every enforcer by name, kind and rating, in name order, with the digest checks are stored against', () => {
    const t = topologyOf([gw('gw-2'), gw('bastion-1', 400, 'bastion'), gw('gw-1', 3000)]);
    expect(t.hosts).toEqual([
      { name: 'bastion-1', kind: 'bastion', ratedSessions: 400 },
      { name: 'gw-1', kind: 'openvpn', ratedSessions: 3000 },
      { name: 'gw-2', kind: 'openvpn', ratedSessions: 2500 },
    ]);
    expect(t.fingerprint).toMatch(/^sha256:[0-9a-f]{16}$/);
    // Recorded checks keep counting: the fingerprint is the digest rac check record stores.
    const config = { gateways: [gw('gw-2'), gw('bastion-1', 400, 'bastion'), gw('gw-1', 3000)] } as unknown as Config;
    expect(t.fingerprint).toBe(topologyDigest(config));
  });

  it('ignores order, and changes with a rating, a kind or a host', () => {
    const base = topologyOf([gw('gw-1'), gw('gw-2')]).fingerprint;
    expect(topologyOf([gw('gw-2'), gw('gw-1')]).fingerprint).toBe(base);
    expect(topologyOf([gw('gw-1'), gw('gw-2', 2600)]).fingerprint).not.toBe(base);
    expect(topologyOf([gw('gw-1'), gw('gw-2', 2500, 'wireguard')]).fingerprint).not.toBe(base);
    expect(topologyOf([gw('gw-1')]).fingerprint).not.toBe(base);
  });
});

describe('diffTopologies', () => {
  it('finds nothing between equal topologies', () => {
    const d = diffTopologies(topologyOf([gw('gw-1')]), topologyOf([gw('gw-1')]));
    expect(isEmptyDiff(d)).toBe(true);
    expect(shrinkReason(d)).toBeNull();
    expect(describeDiff(d)).toEqual([]);
  });

  it('lists added, removed, re-rated hosts and kind changes', () => {
    const d = diffTopologies(
      topologyOf([gw('gw-1'), gw('gw-2'), gw('gw-3'), gw('old', 100)]),
      topologyOf([gw('gw-1', 3000), gw('gw-2', 2000), gw('gw-3', 2500, 'wireguard'), gw('gw-4', 1500)]),
    );
    expect(d.added).toEqual([{ name: 'gw-4', kind: 'openvpn', ratedSessions: 1500 }]);
    expect(d.removed).toEqual([{ name: 'old', kind: 'openvpn', ratedSessions: 100 }]);
    expect(d.rerated).toEqual([
      { name: 'gw-1', kind: 'openvpn', from: 2500, to: 3000 },
      { name: 'gw-2', kind: 'openvpn', from: 2500, to: 2000 },
    ]);
    expect(d.kindChanged).toEqual([{ name: 'gw-3', from: 'openvpn', to: 'wireguard' }]);
    expect(describeDiff(d)).toEqual([
      '+ gw-4 (openvpn, rated 1500)',
      '- old (openvpn, rated 100)',
      '~ gw-3 kind openvpn → wireguard',
      '~ gw-1 rated 2500 → 3000',
      '~ gw-2 rated 2500 → 2000',
    ]);
    // A host that became another kind of enforcer holds none of its grants yet.
    expect(hostsToProvision(d)).toEqual(['gw-4', 'gw-3']);
    expect(shrinkReason(d)).toBe('old removed, gw-2 rated 2500 → 2000, gw-3 changed from openvpn to wireguard');
  });

  it('calls growth (a host added, a rating raised) no shrink', () => {
    const d = diffTopologies(topologyOf([gw('gw-1')]), topologyOf([gw('gw-1', 3000), gw('gw-2')]));
    expect(isEmptyDiff(d)).toBe(false);
    expect(shrinkReason(d)).toBeNull();
    expect(hostsToProvision(d)).toEqual(['gw-2']);
  });
});

describe('previousVerified', () => {
  const one = topologyOf([gw('gw-1')]);
  const two = topologyOf([gw('gw-1'), gw('gw-2')]);
  const three = topologyOf([gw('gw-1'), gw('gw-2'), gw('gw-3')]);
  const checked = { sessions: 2100, at: '2026-11-20T10:00:00.000Z' };

  it('is the newest earlier topology with a verified figure, when the current one only grew from it', () => {
    expect(
      previousVerified(three, [
        { topology: two, verified: null },
        { topology: one, verified: checked },
      ]),
    ).toEqual({ usable: true, topology: one.fingerprint, verified: checked });
  });

  it('is unusable, with the reason, when the topology shrank since that figure', () => {
    expect(previousVerified(one, [{ topology: two, verified: checked }])).toEqual({
      usable: false,
      topology: two.fingerprint,
      verified: checked,
      reason: 'gw-2 removed',
    });
    const lowered = topologyOf([gw('gw-1', 1000), gw('gw-2'), gw('gw-3')]);
    expect(previousVerified(lowered, [{ topology: two, verified: checked }])).toMatchObject({
      usable: false,
      reason: 'gw-1 rated 2500 → 1000',
    });
  });

  it('is null when no earlier topology was verified, and never the current topology itself', () => {
    expect(previousVerified(two, [{ topology: one, verified: null }])).toBeNull();
    expect(previousVerified(two, [{ topology: two, verified: checked }])).toBeNull();
    expect(previousVerified(two, [])).toBeNull();
  });
});
