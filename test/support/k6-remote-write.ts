/**
 * A k6 capacity check as k6's Prometheus remote-write output (`-o experimental-prometheus-rw`,
 * `--tag testid=…`, K6_PROMETHEUS_RW_TREND_STATS="p(95),p(99)") would leave it in Prometheus:
 * `k6_` prefix; Counter → `k6_<name>_total`; Rate → `k6_<name>_rate`; Gauge → `k6_<name>`; Trend →
 * one gauge per stat, `k6_<name>_p95`, in seconds; the run's tags as labels. Written as OpenMetrics
 * with timestamps, for `promtool tsdb create-blocks-from openmetrics`.
 */
export interface K6Run {
  readonly testid: string;
  /** Last sample, epoch seconds; samples every 15 s over `minutes` before it. */
  readonly end: number;
  readonly minutes: number;
  readonly peakVus: number;
}

export const K6_RUN_VALUES = {
  p95Seconds: 0.12,
  p99Seconds: 0.31,
  checksRate: 0.998,
  failedRate: 0.002,
  requestsPerIteration: 3,
} as const;

export function k6RemoteWrite(run: K6Run): string {
  const steps = Math.floor((run.minutes * 60) / 15);
  const labels = `testid="${run.testid}",scenario="ramp_hold"`;
  const families: Array<{ name: string; type: 'gauge' | 'counter'; sample: string; value: (i: number) => number }> = [
    { name: 'k6_vus', type: 'gauge', sample: 'k6_vus', value: (i) => Math.round((run.peakVus * i) / steps) },
    { name: 'k6_vus_max', type: 'gauge', sample: 'k6_vus_max', value: () => run.peakVus },
    { name: 'k6_iterations', type: 'counter', sample: 'k6_iterations_total', value: (i) => i * 40 },
    { name: 'k6_dropped_iterations', type: 'counter', sample: 'k6_dropped_iterations_total', value: () => 0 },
    {
      name: 'k6_http_reqs',
      type: 'counter',
      sample: 'k6_http_reqs_total',
      value: (i) => i * 40 * K6_RUN_VALUES.requestsPerIteration,
    },
    { name: 'k6_checks_rate', type: 'gauge', sample: 'k6_checks_rate', value: () => K6_RUN_VALUES.checksRate },
    {
      name: 'k6_http_req_failed_rate',
      type: 'gauge',
      sample: 'k6_http_req_failed_rate',
      value: () => K6_RUN_VALUES.failedRate,
    },
    {
      name: 'k6_http_req_duration_p95',
      type: 'gauge',
      sample: 'k6_http_req_duration_p95',
      value: () => K6_RUN_VALUES.p95Seconds,
    },
    {
      name: 'k6_http_req_duration_p99',
      type: 'gauge',
      sample: 'k6_http_req_duration_p99',
      value: () => K6_RUN_VALUES.p99Seconds,
    },
  ];
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# TYPE ${f.name} ${f.type}`);
    for (let i = 0; i <= steps; i++) lines.push(`${f.sample}{${labels}} ${f.value(i)} ${run.end - (steps - i) * 15}`);
  }
  lines.push('# EOF', '');
  return lines.join('\n');
}
