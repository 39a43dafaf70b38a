import type { CheckEnvelope } from '../../src/core/capacity-check/check-metrics.ts';
import { type CheckVerdict, judgeCheck } from '../../src/core/capacity-check/judge-check.ts';
import { parseK6Summary } from '../../src/core/capacity-check/parse-summary.ts';
import { renderVerdict } from '../../src/core/capacity-check/render-verdict.ts';
import type { CheckSettings } from './env.ts';
import { SCENARIO_FUNCTIONS } from './scenarios.ts';

/** The `rac` block written beside k6's summary data: what rac needs that k6 does not record. */
export function buildEnvelope(s: CheckSettings): CheckEnvelope {
  const scenarios: Record<string, { status: 'ran' | 'skipped'; reason?: string }> = {};
  for (const name of Object.keys(SCENARIO_FUNCTIONS)) {
    const reason = s.skipped[name];
    scenarios[name] = reason === undefined ? { status: 'ran' } : { status: 'skipped', reason };
  }
  return {
    version: 1,
    dryRun: s.dryRun,
    targetSessions: s.targetSessions,
    holdSeconds: s.hold.seconds,
    connectP95Ms: s.connectP95Ms,
    topology: s.topology,
    k6Version: s.k6Version,
    scenarios,
  };
}

/** The same judge `rac check record` applies, on the document the script writes. */
export function judgeDocument(doc: unknown): { verdict: CheckVerdict | null; lines: string[] } {
  const parsed = parseK6Summary(doc);
  if (!parsed.ok) return { verdict: null, lines: ['capacity check: the summary cannot be read:', ...parsed.errors] };
  const verdict = judgeCheck(parsed.summary);
  return { verdict, lines: renderVerdict(verdict) };
}
