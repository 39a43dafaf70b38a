import type { Scenario } from 'k6/options';
import type { CheckSettings } from './env.ts';

/** Every scenario of the check, by name, with the exported function each one runs. */
export const SCENARIO_FUNCTIONS = {
  sessions_held: 'sessionsHeld',
  login_storm: 'loginStorm',
  portal: 'portal',
  api: 'api',
} as const;

export type ScenarioName = keyof typeof SCENARIO_FUNCTIONS;

/**
 * The scenarios that are on for these settings. sessions_held is always on: it is how the check
 * sees concurrency. The others are on when their target is configured.
 */
export function buildScenarios(s: CheckSettings): Record<string, Scenario> {
  const scenarios: Record<string, Scenario> = {
    // One VU polling the exporter through Prometheus for the whole window. A Trend (not a Gauge,
    // whose threshold sees only the last value) keeps the peak.
    sessions_held: {
      executor: 'constant-vus',
      exec: SCENARIO_FUNCTIONS.sessions_held,
      vus: 1,
      duration: s.duration.text,
      gracefulStop: '30s',
    },
  };
  if (s.ldap !== null) {
    // Open model: logins arrive at the configured rate however slow the directory gets, as
    // people do at 9:00; dropped_iterations shows when the load generator could not keep up.
    scenarios['login_storm'] = {
      executor: 'ramping-arrival-rate',
      exec: SCENARIO_FUNCTIONS.login_storm,
      startTime: s.ldap.startTime.text,
      startRate: 0,
      timeUnit: '1s',
      stages: [
        { duration: s.ldap.ramp.text, target: s.ldap.rate },
        { duration: s.ldap.peak.text, target: s.ldap.rate },
        { duration: '10s', target: 0 },
      ],
      preAllocatedVUs: s.ldap.preAllocatedVUs,
      maxVUs: s.ldap.maxVUs,
      gracefulStop: '30s',
    };
  }
  if (s.portal !== null) {
    // Closed model: one VU is one person keeping a portal session alive.
    scenarios['portal'] = {
      executor: 'ramping-vus',
      exec: SCENARIO_FUNCTIONS.portal,
      startVUs: 0,
      stages: [
        { duration: s.portal.ramp.text, target: s.portal.users },
        { duration: s.hold.seconds > 0 ? s.hold.text : '1m', target: s.portal.users },
        { duration: '30s', target: 0 },
      ],
      gracefulRampDown: '30s',
    };
  }
  if (s.api !== null) {
    scenarios['api'] = {
      executor: 'constant-arrival-rate',
      exec: SCENARIO_FUNCTIONS.api,
      rate: s.api.rate,
      timeUnit: '1s',
      duration: s.duration.text,
      preAllocatedVUs: Math.max(1, s.api.rate * 2),
      maxVUs: Math.max(2, s.api.rate * 4),
    };
  }
  return scenarios;
}
