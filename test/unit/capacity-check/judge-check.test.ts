import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { judgeCheck, verificationOf } from '../../../src/core/capacity-check/judge-check.ts';
import { parseK6Summary } from '../../../src/core/capacity-check/parse-summary.ts';
import { renderVerdict } from '../../../src/core/capacity-check/render-verdict.ts';

// biome-ignore lint/suspicious/noExplicitAny: each test edits the fixture document where it needs to
type Doc = Record<string, any>;
const fixture = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../../fixtures/k6', name), 'utf8')) as Doc;

function judge(doc: unknown) {
  const r = parseK6Summary(doc);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return judgeCheck(r.summary);
}
const status = (v: ReturnType<typeof judge>) => Object.fromEntries(v.conditions.map((c) => [c.id, c.status]));

describe('judgeCheck', () => {
  it('passes a check whose thresholds and conditions all hold; the peak is the verified figure', () => {
    const v = judge(fixture('handle-summary-passed.json'));
    expect(v.passed).toBe(true);
    expect(v.peakSessions).toBe(5123);
    expect(v.targetSessions).toBe(5000);
    expect(status(v)).toEqual({
      thresholds: 'passed',
      sessions: 'passed',
      hold: 'passed',
      'connect-success': 'passed',
      'connect-p95': 'passed',
      'gateways-up': 'passed',
    });
    expect(v.scenarios).toMatchObject({
      sessions_held: { status: 'ran', iterations: 120 },
      login_storm: { status: 'ran', iterations: 36000 },
      portal: { status: 'skipped', reason: 'RAC_PORTAL_URL not set' },
    });
    expect(verificationOf(v, { acceptDryRun: false })).toMatchObject({ verifies: true });
  });

  it('fails on a failed threshold, even when the peak reached the target', () => {
    const doc = fixture('handle-summary-passed.json');
    doc['metrics']['rac_login_duration']['thresholds']['p(95)<3000'] = { ok: false };
    const v = judge(doc);
    expect(v.passed).toBe(false);
    expect(v.failedThresholds).toEqual(['rac_login_duration: p(95)<3000']);
    expect(status(v)['thresholds']).toBe('failed');
    expect(verificationOf(v, { acceptDryRun: true })).toMatchObject({ verifies: false });
  });

  it('reads TRUE in --summary-export as a failed threshold', () => {
    const v = judge(fixture('summary-export-failed.json'));
    expect(v.passed).toBe(false);
    expect(v.failedThresholds).toEqual([
      'checks: rate>=0.99',
      'rac_login_success: rate>=0.99',
      'rac_login_duration: p(95)<3000',
    ]);
    expect(status(v)).toMatchObject({ sessions: 'passed', 'connect-success': 'failed', 'connect-p95': 'failed' });
    // Without our rac block, the bounds come from the thresholds themselves.
    expect(v.targetSessions).toBe(5000);
    expect(v.conditions.find((c) => c.id === 'hold')?.detail).toContain('required 1200 s');
  });

  it('judges connect success itself (at least 99%), whatever the script’s own threshold said', () => {
    const doc = fixture('handle-summary-passed.json');
    doc['metrics']['rac_login_success']['values'] = { rate: 0.98, passes: 98, fails: 2 };
    const v = judge(doc);
    expect(status(v)['connect-success']).toBe('failed');
    expect(v.passed).toBe(false);
  });

  it('fails when a gateway was down, when the sessions fell short, or when sessions were never observed', () => {
    const down = fixture('handle-summary-passed.json');
    down['metrics']['rac_gateways_up']['values'] = { rate: 0.99, passes: 119, fails: 1 };
    expect(status(judge(down))['gateways-up']).toBe('failed');
    const short = fixture('handle-summary-passed.json');
    short['metrics']['rac_sessions_observed']['values']['max'] = 4999;
    expect(judge(short)).toMatchObject({ passed: false, peakSessions: 4999 });
    const none = fixture('handle-summary-passed.json');
    delete none['metrics']['rac_sessions_observed'];
    expect(judge(none)).toMatchObject({ passed: false, peakSessions: null });
  });

  it('cannot pass a machine-readable summary: it carries no threshold results', () => {
    const v = judge(fixture('machine-readable.json'));
    expect(v.passed).toBe(false);
    expect(v.conditions[0]).toMatchObject({ id: 'thresholds', status: 'failed' });
    expect(v.peakSessions).toBe(5123);
    expect(status(v)).toMatchObject({ 'connect-success': 'passed', 'gateways-up': 'passed', hold: 'not-carried' });
  });

  it('marks a dry run, which verifies capacity only where the config accepts dry runs', () => {
    const doc = fixture('handle-summary-passed.json');
    doc['rac']['dryRun'] = true;
    const v = judge(doc);
    expect(v).toMatchObject({ passed: true, dryRun: true });
    expect(renderVerdict(v)[0]).toContain('dry run: no load generated');
    expect(verificationOf(v, { acceptDryRun: false })).toEqual({
      verifies: false,
      reason: 'dry run: no load generated; it never verifies capacity (unless capacity.accept_dry_run: true)',
    });
    expect(verificationOf(v, { acceptDryRun: true })).toMatchObject({
      verifies: true,
      reason: expect.stringContaining('verified by a dry run'),
    });
  });

  it('verifies nothing when no session was seen, even if every threshold passed', () => {
    const doc = fixture('handle-summary-passed.json');
    doc['metrics']['rac_sessions_observed'] = {
      type: 'trend',
      contains: 'default',
      values: { max: 0, count: 1 },
      thresholds: { 'max>=0': { ok: true } },
    };
    const v = judge(doc);
    expect(v.passed).toBe(true);
    expect(verificationOf(v, { acceptDryRun: true })).toMatchObject({ verifies: false });
  });
});
