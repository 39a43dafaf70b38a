import { CHECK_METRICS, MIN_CONNECT_SUCCESS } from './check-metrics.ts';
import type { ParsedSummary, SummaryMetric } from './parse-summary.ts';
import { parseMetricSelector, parseThresholdExpression } from './threshold-expression.ts';

/**
 * The verdict of a capacity check: it passes when all of these hold: every k6
 * threshold passed, and of the check's own conditions every one the summary carries. Verified
 * capacity is the peak of concurrent sessions the exporter was seen holding. Pure and free of
 * Node APIs: the k6 script prints the same verdict that `rac check record` stores.
 */

export type ConditionStatus = 'passed' | 'failed' | 'not-carried';

export interface CheckCondition {
  readonly id: 'thresholds' | 'sessions' | 'hold' | 'connect-success' | 'connect-p95' | 'gateways-up';
  readonly status: ConditionStatus;
  readonly detail: string;
}

export interface ScenarioOutcome {
  readonly status: 'ran' | 'skipped';
  readonly reason?: string;
  readonly iterations?: number;
}

export interface CheckVerdict {
  readonly passed: boolean;
  readonly dryRun: boolean;
  /** The highest concurrent-session count observed (floor), null when never observed. */
  readonly peakSessions: number | null;
  readonly targetSessions: number | null;
  readonly conditions: readonly CheckCondition[];
  readonly failedThresholds: readonly string[];
  readonly scenarios: Readonly<Record<string, ScenarioOutcome>>;
}

/** The bound of the first threshold on `metric` with this aggregation, if the script set one. */
function thresholdBound(metric: SummaryMetric | undefined, aggregation: string, percentile?: number): number | null {
  for (const t of metric?.thresholds ?? []) {
    const parsed = parseThresholdExpression(t.expression);
    if (!parsed.ok || parsed.value.aggregation !== aggregation) continue;
    if (percentile !== undefined && parsed.value.percentile !== percentile) continue;
    return parsed.value.value;
  }
  return null;
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

function scenariosOf(summary: ParsedSummary): Record<string, ScenarioOutcome> {
  const out: Record<string, ScenarioOutcome> = {};
  for (const [name, s] of Object.entries(summary.envelope?.scenarios ?? {})) out[name] = { ...s };
  // Per-scenario iteration counts come from the `iterations{scenario:x}` sub-metrics the script
  // puts thresholds on; they also name the scenarios of a summary without our envelope.
  for (const [name, metric] of summary.metrics) {
    const selector = parseMetricSelector(name);
    if (!selector.ok || selector.value.metric !== 'iterations' || selector.value.tags.length !== 1) continue;
    const tag = selector.value.tags[0] as string;
    if (!tag.startsWith('scenario:')) continue;
    const scenario = tag.slice('scenario:'.length);
    const count = metric.values['count'] ?? 0;
    out[scenario] = { ...(out[scenario] ?? { status: count > 0 ? 'ran' : 'skipped' }), iterations: count };
  }
  return out;
}

export function judgeCheck(summary: ParsedSummary): CheckVerdict {
  const conditions: CheckCondition[] = [];
  const metric = (name: string) => summary.metrics.get(name);
  const envelope = summary.envelope;

  const all = [...summary.metrics.values()].flatMap((m) => m.thresholds.map((t) => ({ metric: m.name, ...t })));
  const failedThresholds = all.filter((t) => !t.passed).map((t) => `${t.metric}: ${t.expression}`);
  if (!summary.thresholdsCarried)
    conditions.push({
      id: 'thresholds',
      status: 'failed',
      detail:
        'the machine-readable summary carries no threshold results; record the handleSummary output (or --summary-export) instead',
    });
  else if (all.length === 0)
    conditions.push({ id: 'thresholds', status: 'failed', detail: 'no thresholds at all: not a capacity check' });
  else
    conditions.push({
      id: 'thresholds',
      status: failedThresholds.length === 0 ? 'passed' : 'failed',
      detail:
        failedThresholds.length === 0
          ? `all ${all.length} k6 thresholds passed`
          : `${failedThresholds.length} of ${all.length} k6 thresholds failed: ${failedThresholds.join('; ')}`,
    });

  const observed = metric(CHECK_METRICS.sessionsObserved);
  const target = thresholdBound(observed, 'max') ?? envelope?.targetSessions ?? null;
  const peakRaw = observed?.values['max'];
  const polls = observed?.values['count'];
  const peakSessions = peakRaw === undefined || polls === 0 ? null : Math.floor(peakRaw);
  if (peakSessions === null)
    conditions.push({
      id: 'sessions',
      status: 'failed',
      detail: `no observation of concurrent sessions (${CHECK_METRICS.sessionsObserved}): the sessions_held scenario did not run`,
    });
  else if (target === null)
    conditions.push({
      id: 'sessions',
      status: 'failed',
      detail: `peak ${peakSessions} sessions, but the summary names no target (a max>=N threshold on ${CHECK_METRICS.sessionsObserved})`,
    });
  else
    conditions.push({
      id: 'sessions',
      status: peakSessions >= target ? 'passed' : 'failed',
      detail: `peak ${peakSessions} concurrent sessions observed, target ${target}`,
    });

  const held = metric(CHECK_METRICS.sessionsHeldSeconds);
  const hold = thresholdBound(held, 'max') ?? envelope?.holdSeconds ?? null;
  const heldMax = held?.values['max'];
  if (heldMax === undefined || hold === null)
    conditions.push({ id: 'hold', status: 'not-carried', detail: 'the summary does not say how long sessions held' });
  else
    conditions.push({
      id: 'hold',
      status: heldMax >= hold ? 'passed' : 'failed',
      detail: `target held for ${fmt(heldMax)} s without a break, required ${fmt(hold)} s`,
    });

  const success = metric(CHECK_METRICS.loginSuccess);
  const attempts = (success?.values['passes'] ?? 0) + (success?.values['fails'] ?? 0);
  const rate = success?.values['rate'];
  if (rate === undefined || attempts === 0)
    conditions.push({ id: 'connect-success', status: 'not-carried', detail: 'no logins in this summary' });
  else
    conditions.push({
      id: 'connect-success',
      status: rate >= MIN_CONNECT_SUCCESS ? 'passed' : 'failed',
      detail: `${fmt(rate * 100)}% of ${attempts} logins succeeded, required ${MIN_CONNECT_SUCCESS * 100}%`,
    });

  const duration = metric(CHECK_METRICS.loginDuration);
  const bound = thresholdBound(duration, 'p', 95) ?? envelope?.connectP95Ms ?? null;
  const p95 = duration?.values['p(95)'];
  if (p95 === undefined || bound === null || attempts === 0)
    conditions.push({ id: 'connect-p95', status: 'not-carried', detail: 'no login times in this summary' });
  else
    conditions.push({
      id: 'connect-p95',
      status: p95 < bound ? 'passed' : 'failed',
      detail: `p95 time to log in ${fmt(p95)} ms, bound ${fmt(bound)} ms`,
    });

  const up = metric(CHECK_METRICS.gatewaysUp);
  const upPolls = (up?.values['passes'] ?? 0) + (up?.values['fails'] ?? 0);
  if (up === undefined || upPolls === 0)
    conditions.push({ id: 'gateways-up', status: 'not-carried', detail: 'gateway health was not polled' });
  else
    conditions.push({
      id: 'gateways-up',
      status: (up.values['fails'] ?? 0) === 0 ? 'passed' : 'failed',
      detail:
        (up.values['fails'] ?? 0) === 0
          ? `no gateway down in ${upPolls} poll${upPolls === 1 ? '' : 's'}`
          : `a gateway was down in ${up.values['fails']} of ${upPolls} poll${upPolls === 1 ? '' : 's'}`,
    });

  return {
    passed: conditions.every((c) => c.status !== 'failed'),
    dryRun: envelope?.dryRun ?? false,
    peakSessions,
    targetSessions: target,
    conditions,
    failedThresholds,
    scenarios: scenariosOf(summary),
  };
}

export interface CapacityVerification {
  readonly verifies: boolean;
  readonly reason: string;
}

/**
 * Whether a recorded check verifies capacity: it passed, saw sessions, and is not a dry run
 * unless the config accepts dry runs (demo and e2e only).
 */
export function verificationOf(verdict: CheckVerdict, options: { acceptDryRun: boolean }): CapacityVerification {
  if (!verdict.passed) return { verifies: false, reason: 'the check failed: capacity not verified' };
  if (verdict.peakSessions === null || verdict.peakSessions <= 0)
    return { verifies: false, reason: 'no concurrent sessions were observed: nothing to verify' };
  if (verdict.dryRun && !options.acceptDryRun)
    return {
      verifies: false,
      reason: 'dry run: no load generated; it never verifies capacity (unless capacity.accept_dry_run: true)',
    };
  return {
    verifies: true,
    reason: verdict.dryRun
      ? `verified by a dry run (capacity.accept_dry_run): ${verdict.peakSessions} sessions`
      : `verified: ${verdict.peakSessions} concurrent sessions held`,
  };
}
