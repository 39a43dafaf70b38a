import { describe, expect, it } from 'vitest';
import { capacityLimit, capacityPools, expectedPeak, gateCapacity } from '../../src/core/capacity.ts';

const peak = { public: 0.6, vpn: 0.9, 'vpn-bastion': 0.9 };

describe('capacityLimit', () => {
  it('prefers verified capacity, then the target (ratings are held per kind of enforcer)', () => {
    expect(
      capacityLimit({ targetSessions: 5000, ratedSessions: 6000, verified: { sessions: 4200, at: '2026-11-20' } }),
    ).toMatchObject({ sessions: 4200, source: 'verified' });
    expect(capacityLimit({ targetSessions: 5000, ratedSessions: 6000, verified: null })).toMatchObject({
      sessions: 5000,
      source: 'target',
      detail: expect.stringContaining('each kind of enforcer is held to its rated sessions'),
    });
    expect(capacityLimit({ targetSessions: 5000, ratedSessions: null, verified: null })).toMatchObject({
      sessions: 5000,
      source: 'target',
    });
  });
});

describe('gateCapacity', () => {
  const limit = capacityLimit({ targetSessions: 1000, ratedSessions: null, verified: null });

  it('computes the expected peak as grants times peak concurrency', () => {
    expect(expectedPeak({ public: 1000, vpn: 100, 'vpn-bastion': 10 }, peak)).toBe(600 + 90 + 9);
  });

  it('refuses a batch whose peak exceeds the limit, with the numbers', () => {
    const v = gateCapacity({
      before: { public: 0, vpn: 0, 'vpn-bastion': 0 },
      after: { public: 1000, vpn: 500, 'vpn-bastion': 0 },
      peakConcurrency: peak,
      limit,
      enforce: 'refuse',
    });
    expect(v.verdict).toBe('refuse');
    expect(v.after.expectedPeak).toBe(1050);
    expect(v.headroom).toBe(-50);
    expect(v.message).toContain('0 → 1050 sessions against target capacity 1000');
    expect(v.message).toContain('over by 50');
  });

  it('only warns when enforce is warn', () => {
    const v = gateCapacity({
      before: { public: 0, vpn: 0, 'vpn-bastion': 0 },
      after: { public: 0, vpn: 2000, 'vpn-bastion': 0 },
      peakConcurrency: peak,
      limit,
      enforce: 'warn',
    });
    expect(v.verdict).toBe('warn');
  });

  it('allows a batch that lowers an already exceeded peak', () => {
    const v = gateCapacity({
      before: { public: 0, vpn: 2000, 'vpn-bastion': 0 },
      after: { public: 0, vpn: 1500, 'vpn-bastion': 0 },
      peakConcurrency: peak,
      limit,
      enforce: 'refuse',
    });
    expect(v.verdict).toBe('ok');
  });

  it('accepts a batch that lands exactly on the limit', () => {
    const v = gateCapacity({
      before: { public: 0, vpn: 0, 'vpn-bastion': 0 },
      after: { public: 0, vpn: 1000, 'vpn-bastion': 100 },
      peakConcurrency: { ...peak, vpn: 0.9, 'vpn-bastion': 1 },
      limit,
      enforce: 'refuse',
    });
    expect(v.after.expectedPeak).toBe(1000);
    expect(v.verdict).toBe('ok');
  });
});

describe('capacity pools of access proxies and VPN gateways', () => {
  const gateways = [
    { kind: 'openvpn', rated_sessions: 1000 },
    { kind: 'openvpn', rated_sessions: 1000 },
    { kind: 'proxy', rated_sessions: 3000 },
    { kind: 'bastion', rated_sessions: 400 },
  ];

  it('rates the public tier on the proxies, the VPN tiers on the VPN gateways, bastion sessions on the bastions', () => {
    expect(capacityPools(gateways)).toEqual([
      { name: 'vpn', tiers: ['vpn', 'vpn-bastion'], sessions: 2000 },
      { name: 'bastion', tiers: ['vpn-bastion'], sessions: 400 },
      { name: 'proxy', tiers: ['public'], sessions: 3000 },
    ]);
  });

  it('never counts the public tier against VPN gateways: without a proxy it counts only against the overall limit', () => {
    expect(capacityPools(gateways.filter((g) => g.kind !== 'proxy'))).toEqual([
      { name: 'vpn', tiers: ['vpn', 'vpn-bastion'], sessions: 2000 },
      { name: 'bastion', tiers: ['vpn-bastion'], sessions: 400 },
    ]);
    const v = gateCapacity({
      before: { public: 0, vpn: 0, 'vpn-bastion': 0 },
      after: { public: 4000, vpn: 100, 'vpn-bastion': 0 },
      peakConcurrency: peak,
      limit: {
        ...capacityLimit({ targetSessions: 5000, ratedSessions: 2000, verified: null }),
        pools: capacityPools(gateways.filter((g) => g.kind !== 'proxy')),
      },
      enforce: 'refuse',
    });
    // 2400 public + 90 vpn sessions at peak: more than the VPN gateways' 2000, yet within the target.
    expect(v.verdict).toBe('ok');
  });

  it('refuses vpn-bastion grants beyond the bastions’ rating', () => {
    const v = gateCapacity({
      before: { public: 0, vpn: 0, 'vpn-bastion': 0 },
      after: { public: 0, vpn: 0, 'vpn-bastion': 500 },
      peakConcurrency: peak,
      limit: {
        ...capacityLimit({ targetSessions: 5000, ratedSessions: 2000, verified: null }),
        pools: capacityPools(gateways),
      },
      enforce: 'refuse',
    });
    expect(v.verdict).toBe('refuse');
    expect(v.binding).toBe('bastion');
    expect(v.message).toContain('binding: the bastions, expected peak 0 → 450 of their tiers against 400 rated');
  });

  const limit = {
    ...capacityLimit({ targetSessions: 5000, ratedSessions: 5000, verified: null }),
    pools: capacityPools(gateways),
  };

  it('refuses VPN grants beyond the VPN gateways even when the sum has room, naming the binding limit', () => {
    const v = gateCapacity({
      before: { public: 0, vpn: 0, 'vpn-bastion': 0 },
      after: { public: 100, vpn: 2300, 'vpn-bastion': 0 },
      peakConcurrency: peak,
      limit,
      enforce: 'refuse',
    });
    expect(v.after.expectedPeak).toBe(60 + 2070);
    expect(v.headroom).toBe(5000 - 2130);
    expect(v.verdict).toBe('refuse');
    expect(v.binding).toBe('vpn');
    expect(v.message).toContain('binding: the VPN gateways, expected peak 0 → 2070 of their tiers against 2000 rated');
    expect(v.message).toContain('over by 70');
  });

  it('refuses public grants beyond the proxies', () => {
    const v = gateCapacity({
      before: { public: 0, vpn: 0, 'vpn-bastion': 0 },
      after: { public: 5100, vpn: 0, 'vpn-bastion': 0 },
      peakConcurrency: peak,
      limit,
      enforce: 'refuse',
    });
    expect(v.after.expectedPeak).toBe(3060);
    expect(v.binding).toBe('proxy');
    expect(v.verdict).toBe('refuse');
  });

  it('refuses on the overall limit when every pool has room, and reports the tightest limit when ok', () => {
    const tight = { ...limit, sessions: 3000 };
    const v = gateCapacity({
      before: { public: 0, vpn: 0, 'vpn-bastion': 0 },
      after: { public: 4000, vpn: 1000, 'vpn-bastion': 0 },
      peakConcurrency: peak,
      limit: tight,
      enforce: 'refuse',
    });
    expect(v.verdict).toBe('refuse');
    expect(v.binding).toBe('overall');
    const ok = gateCapacity({
      before: { public: 0, vpn: 0, 'vpn-bastion': 0 },
      after: { public: 1000, vpn: 2000, 'vpn-bastion': 0 },
      peakConcurrency: peak,
      limit,
      enforce: 'refuse',
    });
    expect(ok.verdict).toBe('ok');
    expect(ok.binding).toBe('vpn');
    expect(ok.message).toContain('headroom 200');
  });
});
