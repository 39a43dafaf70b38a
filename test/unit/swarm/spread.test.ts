import { describe, expect, it } from 'vitest';
import { interleave, type SwarmTarget, spreadClients } from '../../../src/core/swarm/spread.ts';

const target = (gateway: string, ratedSessions: number): SwarmTarget => ({
  gateway,
  ratedSessions,
  host: '10.0.0.1',
  port: 1194,
  proto: 'udp',
});

describe('spreadClients', () => {
  it('splits clients in proportion to rated sessions and always adds up', () => {
    expect(Object.fromEntries(spreadClients([target('a', 2500), target('b', 2500)], 101))).toEqual({ a: 51, b: 50 });
    expect(Object.fromEntries(spreadClients([target('a', 3000), target('b', 1000)], 10))).toEqual({ a: 8, b: 2 });
    const odd = spreadClients([target('a', 1), target('b', 1), target('c', 1)], 200);
    expect([...odd.values()].reduce((x, y) => x + y, 0)).toBe(200);
  });

  it('gives a gateway rated 0 nothing, unless all are rated 0', () => {
    expect(Object.fromEntries(spreadClients([target('a', 100), target('b', 0)], 7))).toEqual({ a: 7, b: 0 });
    expect(Object.fromEntries(spreadClients([target('a', 0), target('b', 0)], 7))).toEqual({ a: 4, b: 3 });
  });

  it('refuses a config without OpenVPN gateways', () => {
    expect(() => spreadClients([], 5)).toThrow(/no OpenVPN gateway/);
  });
});

describe('interleave', () => {
  it('mixes gateways by share so every part of the ramp reaches all of them', () => {
    const order = interleave(
      new Map([
        ['a', 6],
        ['b', 2],
      ]),
    );
    expect(order).toHaveLength(8);
    expect(order.filter((g) => g === 'b')).toHaveLength(2);
    expect(order.slice(0, 4)).toContain('b');
    expect(order.slice(4)).toContain('b');
    expect(
      interleave(
        new Map([
          ['a', 2],
          ['b', 2],
        ]),
      ),
    ).toEqual(['a', 'b', 'a', 'b']);
  });
});
