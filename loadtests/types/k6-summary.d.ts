/**
 * The shapes of k6's end-of-test summary, which @types/k6 does not type (grafana/k6
 * internal/js/summary.go summarizeMetricsToObject, summary-wrapper.js oldJSONSummary,
 * internal/lib/summary/machinereadable types_gen.go). `rac check record` reads all three.
 */

export type MetricType = 'counter' | 'gauge' | 'rate' | 'trend';
export type MetricContains = 'default' | 'time' | 'data';

export interface CheckResult {
  name: string;
  path: string;
  id: string;
  passes: number;
  fails: number;
}

export interface GroupData {
  name: string;
  path: string;
  id: string;
  groups: GroupData[];
  checks: CheckResult[];
}

/** Counter {count, rate}, Gauge {value, min, max}, Rate {rate, passes, fails}, Trend {summaryTrendStats…}. */
export type MetricValues = Record<string, number>;

/** What handleSummary receives by default. */
export interface SummaryData {
  root_group: GroupData;
  options: { summaryTrendStats: string[]; summaryTimeUnit: string; noColor: boolean };
  state: { isStdOutTTY: boolean; isStdErrTTY: boolean; testRunDurationMs: number };
  metrics: Record<
    string,
    {
      type: MetricType;
      contains: MetricContains;
      values: MetricValues;
      /** ok: false means the threshold failed. */
      thresholds?: Record<string, { ok: boolean }>;
    }
  >;
  setup_data?: unknown;
}

/** `--summary-export`: values flattened, a Rate's rate named `value`, thresholds TRUE = FAILED. */
export interface SummaryExport {
  root_group: unknown;
  metrics: Record<string, Record<string, number> & { thresholds?: Record<string, boolean> }>;
}

/** `--new-machine-readable-summary` (also what handleSummary receives with it): version 1.0.0. */
export interface MachineReadableSummary {
  version: string;
  config: { duration: number; execution: 'local' | 'cloud'; script?: string };
  metadata: { generatedAt: string; k6Version: string };
  results: {
    checks?: { metrics?: MachineReadableMetric[]; results?: { name: string; passes: number; fails: number }[] };
    metrics: MachineReadableMetric[];
  };
}

export interface MachineReadableMetric {
  name: string;
  type: MetricType;
  contains: MetricContains;
  /** counter {count}, gauge {value,min,max}, rate {rate,matches,total}, trend {avg,min,med,max,p(90),p(95)…} */
  values: Record<string, number>;
}
