import { describe, expect, it } from 'vitest';
import {
  parseMetricSelector,
  parseThresholdExpression,
  thresholdHolds,
} from '../../../src/core/capacity-check/threshold-expression.ts';

describe('k6 threshold grammar', () => {
  it('reads aggregation, operator and value as k6 does', () => {
    expect(parseThresholdExpression('p(95)<300')).toEqual({
      ok: true,
      value: { aggregation: 'p', percentile: 95, operator: '<', value: 300, sinkKey: 'p(95)' },
    });
    expect(parseThresholdExpression(' max >= 5000 ')).toMatchObject({
      ok: true,
      value: { aggregation: 'max', operator: '>=', value: 5000 },
    });
    expect(parseThresholdExpression('rate==1')).toMatchObject({ ok: true, value: { operator: '==' } });
    expect(parseThresholdExpression('rate===1')).toMatchObject({ ok: true, value: { operator: '===' } });
    expect(parseThresholdExpression('count!=0')).toMatchObject({ ok: true, value: { operator: '!=' } });
    expect(parseThresholdExpression('p(99.9)<1e3')).toMatchObject({
      ok: true,
      value: { sinkKey: 'p(99.9)', value: 1000 },
    });
  });

  it('refuses what k6 refuses', () => {
    expect(parseThresholdExpression('p95<300')).toMatchObject({ ok: false });
    expect(parseThresholdExpression('max 5000')).toMatchObject({
      ok: false,
      error: expect.stringContaining('malformed'),
    });
    expect(parseThresholdExpression('p(101)<1')).toMatchObject({
      ok: false,
      error: expect.stringContaining('between 0 and 100'),
    });
    expect(parseThresholdExpression('p(-1)<1')).toMatchObject({ ok: false });
    expect(parseThresholdExpression('avg<fast')).toMatchObject({
      ok: false,
      error: expect.stringContaining('not a number'),
    });
    // "<=" with nothing after it falls through to "<", whose right side "=" is no number (as in k6).
    expect(parseThresholdExpression('avg<=')).toMatchObject({ ok: false });
    expect(parseThresholdExpression('average<1')).toMatchObject({
      ok: false,
      error: expect.stringContaining('not an aggregation'),
    });
  });

  it('compares as k6 compares', () => {
    const holds = (expr: string, v: number) => {
      const p = parseThresholdExpression(expr);
      if (!p.ok) throw new Error(p.error);
      return thresholdHolds(p.value, v);
    };
    expect(holds('max>=5000', 5000)).toBe(true);
    expect(holds('max>=5000', 4999)).toBe(false);
    expect(holds('p(95)<300', 300)).toBe(false);
    expect(holds('rate==1', 1)).toBe(true);
    expect(holds('count!=0', 0)).toBe(false);
  });

  it('reads sub-metric selectors and refuses malformed ones', () => {
    expect(parseMetricSelector('http_req_failed{scenario:portal}')).toEqual({
      ok: true,
      value: { metric: 'http_req_failed', tags: ['scenario:portal'] },
    });
    expect(parseMetricSelector('checks{a:b, c:d}')).toMatchObject({ ok: true, value: { tags: ['a:b', 'c:d'] } });
    expect(parseMetricSelector('checks{scenario:x')).toMatchObject({
      ok: false,
      error: expect.stringContaining('unmatched'),
    });
    expect(parseMetricSelector('checks}x{')).toMatchObject({ ok: false, error: expect.stringContaining('before') });
    expect(parseMetricSelector('checks{a:b}x')).toMatchObject({
      ok: false,
      error: expect.stringContaining('last position'),
    });
    expect(parseMetricSelector('checks{scenario}')).toMatchObject({
      ok: false,
      error: expect.stringContaining('malformed'),
    });
  });
});
