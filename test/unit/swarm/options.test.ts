import { describe, expect, it } from 'vitest';
import { parseCount, parseDurationMs, parseRate } from '../../../src/core/swarm/options.ts';

describe('swarm options', () => {
  it('reads rates per second or per minute', () => {
    expect(parseRate('25')).toBe(25);
    expect(parseRate('25/s')).toBe(25);
    expect(parseRate('120/m')).toBe(2);
    expect(() => parseRate('0')).toThrow(/--rate: must be above 0/);
    expect(() => parseRate('fast')).toThrow(/--rate: expected/);
  });

  it('reads durations and enforces bounds', () => {
    const b = { minMs: 1000, maxMs: 3_600_000 };
    expect(parseDurationMs('90', '--duration', b)).toBe(90_000);
    expect(parseDurationMs('1m30s', '--duration', b)).toBe(90_000);
    expect(parseDurationMs('2h', '--duration', { minMs: 0, maxMs: 1e9 })).toBe(7_200_000);
    expect(() => parseDurationMs('2h', '--duration', b)).toThrow(/between 1s and 3600s/);
    expect(() => parseDurationMs('5 minutes', '--duration', b)).toThrow(/expected a duration/);
  });

  it('reads counts', () => {
    expect(parseCount('150', '--clients', { min: 1, max: 10 ** 4 })).toBe(150);
    expect(() => parseCount('-1', '--clients', { min: 1, max: 10 })).toThrow(/whole number/);
    expect(() => parseCount('11', '--clients', { min: 1, max: 10 })).toThrow(/between 1 and 10/);
  });
});
