/**
 * The custom metrics of the k6 capacity check (loadtests/capacity-check.ts) and what rac reads
 * from them. One list for the script that emits them and for `rac check record` that judges them.
 * Pure and free of Node APIs: the k6 scripts import it.
 */
export const CHECK_METRICS = {
  /** Trend: every poll of the exporter's concurrent sessions (through Prometheus); max = the peak. */
  sessionsObserved: 'rac_sessions_observed',
  /** Trend (seconds): how long the sessions have stayed at or above the target without a break. */
  sessionsHeldSeconds: 'rac_sessions_held_seconds',
  /** Rate: per poll, true when no gateway reported remote_access_gateway_up == 0. */
  gatewaysUp: 'rac_gateways_up',
  /** Rate: logins (LDAP binds of the storm, portal logins) that succeeded. */
  loginSuccess: 'rac_login_success',
  /** Trend (ms): time to log in (LDAP connect + bind, portal authenticated request). */
  loginDuration: 'rac_login_duration',
} as const;

/** The connect success a capacity check demands, whatever the script's own threshold says. */
export const MIN_CONNECT_SUCCESS = 0.99;

/** The `rac` block our handleSummary adds beside k6's own summary data. */
export interface CheckEnvelope {
  readonly version: 1;
  /** True when the scenarios ran through stand-ins in Node: no load was generated. */
  readonly dryRun: boolean;
  readonly targetSessions: number;
  readonly holdSeconds: number;
  readonly connectP95Ms: number;
  /** The topology the check ran against, when the runner named it (--tag testid / RAC_TOPOLOGY). */
  readonly topology: string | null;
  readonly k6Version: string | null;
  /** Every scenario of the script: ran, or skipped with the reason. */
  readonly scenarios: Readonly<Record<string, { readonly status: 'ran' | 'skipped'; readonly reason?: string }>>;
}
