import type { Threshold } from 'k6/options';
import { CHECK_METRICS, MIN_CONNECT_SUCCESS } from '../../src/core/capacity-check/check-metrics.ts';
import type { CheckSettings } from './env.ts';

/**
 * The check's pass conditions as k6 thresholds, with the bounds from the settings. `rac check
 * record` reads the same bounds back out of the summary.
 */
export function buildThresholds(s: CheckSettings, scenarios: readonly string[]): Record<string, Threshold[]> {
  const t: Record<string, Threshold[]> = {
    [CHECK_METRICS.sessionsObserved]: [`max>=${s.targetSessions}`],
    [CHECK_METRICS.sessionsHeldSeconds]: [`max>=${s.hold.seconds}`],
    [CHECK_METRICS.gatewaysUp]: ['rate==1'],
    checks: [`rate>=${MIN_CONNECT_SUCCESS}`],
  };
  // A threshold on each scenario's iterations puts its count in the summary (which scenarios
  // really ran) and fails a scenario that never completed an iteration.
  for (const name of scenarios) t[`iterations{scenario:${name}}`] = ['count>0'];
  if (s.ldap !== null || s.portal !== null) {
    t[CHECK_METRICS.loginSuccess] = [`rate>=${MIN_CONNECT_SUCCESS}`];
    t[CHECK_METRICS.loginDuration] = [`p(95)<${s.connectP95Ms}`];
  }
  if (s.ldap !== null) t['dropped_iterations{scenario:login_storm}'] = ['count<1'];
  if (s.portal !== null) {
    t['http_req_failed{scenario:portal}'] = ['rate<0.01'];
    t['http_req_duration{scenario:portal}'] = [`p(95)<${s.portal.p95Ms}`];
  }
  if (s.api !== null) {
    t['http_req_failed{scenario:api}'] = ['rate<0.01'];
    t['http_req_duration{scenario:api}'] = [`p(95)<${s.api.p95Ms}`];
  }
  return t;
}

/** Stats every Trend reports: the judge needs max (sessions) and p(95) (login time). */
export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'];
