import { describe, expect, it } from 'vitest';
import { assignGateways } from '../../../src/core/wireguard/assign-gateways.ts';

const uids = (n: number) => Array.from({ length: n }, (_, i) => `u${String(i).padStart(4, '0')}`);
const count = (m: Map<string, string>) => {
  const out: Record<string, number> = {};
  for (const g of m.values()) out[g] = (out[g] ?? 0) + 1;
  return out;
};

describe('assignGateways', () => {
  it('spreads new people in proportion to rated capacity', () => {
    const r = assignGateways({
      gateways: [
        { name: 'wg-b', ratedSessions: 1000 },
        { name: 'wg-a', ratedSessions: 3000 },
      ],
      current: new Map(),
      wanted: uids(400),
    });
    expect(count(r.assignments)).toEqual({ 'wg-a': 300, 'wg-b': 100 });
    expect(r.changed).toHaveLength(400);
  });

  it('is sticky: nobody moves when a gateway is added; newcomers fill the new one first', () => {
    const first = assignGateways({
      gateways: [{ name: 'wg-a', ratedSessions: 100 }],
      current: new Map(),
      wanted: uids(50),
    });
    const second = assignGateways({
      gateways: [
        { name: 'wg-a', ratedSessions: 100 },
        { name: 'wg-b', ratedSessions: 100 },
      ],
      current: first.assignments,
      wanted: uids(80),
    });
    for (const [uid, g] of first.assignments) expect(second.assignments.get(uid)).toBe(g);
    expect(count(second.assignments)).toEqual({ 'wg-a': 50, 'wg-b': 30 });
    expect(second.changed).toEqual(uids(80).slice(50));
  });

  it('moves people off a gateway that is gone, releases people no longer wanted, is order independent', () => {
    const current = new Map([
      ['u0000', 'wg-gone'],
      ['u0001', 'wg-a'],
      ['left', 'wg-a'],
    ]);
    const gateways = [
      { name: 'wg-a', ratedSessions: 10 },
      { name: 'wg-b', ratedSessions: 10 },
    ];
    const r = assignGateways({ gateways, current, wanted: ['u0001', 'u0000'] });
    expect(r.assignments).toEqual(
      new Map([
        ['u0001', 'wg-a'],
        ['u0000', 'wg-b'],
      ]),
    );
    expect(r.released).toEqual(['left']);
    expect(
      assignGateways({ gateways: [...gateways].reverse(), current, wanted: ['u0000', 'u0001'] }).assignments,
    ).toEqual(r.assignments);
  });

  it('skips gateways rated 0 unless all are', () => {
    const some = assignGateways({
      gateways: [
        { name: 'a', ratedSessions: 0 },
        { name: 'b', ratedSessions: 5 },
      ],
      current: new Map(),
      wanted: uids(4),
    });
    expect(count(some.assignments)).toEqual({ b: 4 });
    const all = assignGateways({
      gateways: [
        { name: 'a', ratedSessions: 0 },
        { name: 'b', ratedSessions: 0 },
      ],
      current: new Map(),
      wanted: uids(4),
    });
    expect(count(all.assignments)).toEqual({ a: 2, b: 2 });
    expect(assignGateways({ gateways: [], current: new Map(), wanted: uids(2) }).assignments.size).toBe(0);
  });
});
