import { describe, expect, it } from 'vitest';
import { capacityLimit, expectedPeak, gateCapacity } from '../../src/core/capacity.ts';

const peak = { public: 0.6, vpn: 0.9, 'vpn-bastion': 0.9 };

describe('capacityLimit', () => {
  it('prefers verified capacity, then rated, then the target', () => {
    expect(
      capacityLimit({ targetSessions: 5000, ratedSessions: 6000, verified: { sessions: 4200, at: '2026-11-20' } }),
    ).toMatchObject({ sessions: 4200, source: 'verified' });
    expect(capacityLimit({ targetSessions: 5000, ratedSessions: 6000, verified: null })).toMatchObject({
      sessions: 6000,
      source: 'rated',
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
