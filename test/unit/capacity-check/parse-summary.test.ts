import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseK6Summary } from '../../../src/core/capacity-check/parse-summary.ts';

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../../fixtures/k6', name), 'utf8')) as Record<string, unknown>;

function parsed(doc: unknown) {
  const r = parseK6Summary(doc);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.summary;
}

describe('parseK6Summary', () => {
  it('reads handleSummary data: types, values, thresholds with ok, our rac block', () => {
    const s = parsed(fixture('handle-summary-passed.json'));
    expect(s.shape).toBe('handle-summary');
    expect(s.thresholdsCarried).toBe(true);
    expect(s.durationSeconds).toBeCloseTo(1830.5, 1);
    expect(s.k6Version).toContain('k6 v1.8.1');
    expect(s.metrics.get('rac_sessions_observed')).toMatchObject({
      type: 'trend',
      values: { max: 5123 },
      thresholds: [{ expression: 'max>=5000', passed: true }],
    });
    expect(s.metrics.get('rac_login_success')?.values).toMatchObject({ rate: 0.99889, passes: 35960, fails: 40 });
    expect(s.envelope).toMatchObject({ dryRun: false, targetSessions: 5000, holdSeconds: 1200 });
  });

  it('reads --summary-export, where a threshold that is TRUE has FAILED and a rate is called value', () => {
    const s = parsed(fixture('summary-export-failed.json'));
    expect(s.shape).toBe('summary-export');
    expect(s.durationSeconds).toBeNull();
    expect(s.metrics.get('rac_login_duration')?.thresholds).toEqual([{ expression: 'p(95)<3000', passed: false }]);
    expect(s.metrics.get('rac_sessions_observed')?.thresholds).toEqual([{ expression: 'max>=5000', passed: true }]);
    expect(s.metrics.get('rac_login_success')?.values).toMatchObject({ rate: 0.975, passes: 35100, fails: 900 });
    expect(s.envelope).toBeNull();
  });

  it('reads the machine-readable summary 1.0.0, which carries no threshold results', () => {
    const s = parsed(fixture('machine-readable.json'));
    expect(s.shape).toBe('machine-readable');
    expect(s.thresholdsCarried).toBe(false);
    expect(s.k6Version).toBe('1.8.1');
    expect(s.durationSeconds).toBeCloseTo(1830.5, 1);
    expect(s.metrics.get('rac_gateways_up')?.values).toMatchObject({ rate: 1, passes: 120, fails: 0 });
    expect(s.metrics.get('rac_login_success')?.values).toMatchObject({ passes: 35960, fails: 40 });
  });

  it('names every problem of a document that is not a k6 summary, with its path', () => {
    expect(parseK6Summary([])).toEqual({ ok: false, errors: ['(root): a k6 summary is a JSON object'] });
    expect(parseK6Summary({ hello: 1 })).toMatchObject({
      ok: false,
      errors: [expect.stringContaining('not a k6 summary')],
    });
    expect(parseK6Summary({ metrics: {} })).toMatchObject({
      ok: false,
      errors: [expect.stringContaining('metrics: empty')],
    });
    const bad = fixture('handle-summary-passed.json');
    (bad['metrics'] as Record<string, { values: Record<string, unknown> }>)['rac_sessions_observed']!.values['max'] =
      'lots';
    (bad['rac'] as Record<string, unknown>)['dryRun'] = 'no';
    const r = parseK6Summary(bad);
    expect(r).toEqual({
      ok: false,
      errors: ['metrics.rac_sessions_observed.values.max: not a number ("lots")', 'rac.dryRun: must be true or false'],
    });
    const exportThreshold = fixture('summary-export-failed.json');
    (exportThreshold['metrics'] as Record<string, { thresholds: Record<string, unknown> }>)['checks']!.thresholds[
      'rate>=0.99'
    ] = { ok: false };
    expect(parseK6Summary(exportThreshold)).toMatchObject({
      ok: false,
      errors: ['metrics.checks.thresholds.rate>=0.99: must be true or false'],
    });
    const mr = fixture('machine-readable.json');
    mr['version'] = '2.0.0';
    expect(parseK6Summary(mr)).toMatchObject({
      ok: false,
      errors: [expect.stringContaining('2.0.0 is not supported')],
    });
  });
});
