import {
  parseMetricSelector,
  parseThresholdExpression,
  thresholdHolds,
} from '../../../src/core/capacity-check/threshold-expression.ts';
import type { MetricRecord, Sample } from './runtime.ts';
import { runtime } from './runtime.ts';

/**
 * The data k6 hands to handleSummary (grafana/k6 internal/js/summary.go), built from the samples
 * the stand-ins recorded, with thresholds evaluated as k6 evaluates them at the end of a run
 * (an empty sink counts as 0).
 */

/** k6's TrendSink.P: linear interpolation between the closest ranks. */
function percentile(sorted: readonly number[], pct: number): number {
  if (sorted.length === 0) return 0;
  if (sorted.length === 1) return sorted[0] as number;
  const i = pct * (sorted.length - 1);
  const j = sorted[Math.floor(i)] as number;
  const k = sorted[Math.ceil(i)] as number;
  return j + (k - j) * (i - Math.floor(i));
}

function aggregate(metric: MetricRecord, samples: readonly Sample[], seconds: number, trendStats: readonly string[]) {
  const values = samples.map((s) => s.value);
  switch (metric.type) {
    case 'counter': {
      const count = values.reduce((a, b) => a + b, 0);
      return { count, rate: seconds > 0 ? count / seconds : 0 };
    }
    case 'gauge':
      return {
        value: values.at(-1) ?? 0,
        min: values.length === 0 ? 0 : Math.min(...values),
        max: values.length === 0 ? 0 : Math.max(...values),
      };
    case 'rate': {
      const passes = values.filter((v) => v !== 0).length;
      return { rate: values.length === 0 ? 0 : passes / values.length, passes, fails: values.length - passes };
    }
    case 'trend': {
      const sorted = [...values].sort((a, b) => a - b);
      const stats: Record<string, number> = {};
      const all = new Set([...trendStats]);
      for (const stat of all) {
        if (stat === 'avg') stats[stat] = values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
        else if (stat === 'min') stats[stat] = sorted[0] ?? 0;
        else if (stat === 'max') stats[stat] = sorted.at(-1) ?? 0;
        else if (stat === 'med') stats[stat] = percentile(sorted, 0.5);
        else if (stat === 'count') stats[stat] = sorted.length;
        else {
          const p = /^p\((.+)\)$/.exec(stat);
          if (p !== null) stats[stat] = percentile(sorted, Number(p[1]) / 100);
        }
      }
      return stats;
    }
  }
}

export interface BuiltSummary {
  readonly data: Record<string, unknown>;
  readonly failedThresholds: string[];
}

export function buildSummaryData(options: Record<string, unknown>, durationMs: number): BuiltSummary {
  const r = runtime();
  const trendStats = (options['summaryTrendStats'] as string[] | undefined) ?? [
    'avg',
    'min',
    'med',
    'max',
    'p(90)',
    'p(95)',
  ];
  const seconds = durationMs / 1000;
  const metrics: Record<string, Record<string, unknown>> = {};
  for (const m of r.metrics.values())
    if (m.samples.length > 0)
      metrics[m.name] = { type: m.type, contains: m.contains, values: aggregate(m, m.samples, seconds, trendStats) };

  const failedThresholds: string[] = [];
  const thresholds = (options['thresholds'] ?? {}) as Record<string, Array<string | { threshold: string }>>;
  for (const [key, list] of Object.entries(thresholds)) {
    const selector = parseMetricSelector(key);
    if (!selector.ok) throw new Error(selector.error);
    const parent = r.metrics.get(selector.value.metric);
    if (parent === undefined) throw new Error(`threshold on unknown metric ${key}`);
    const wanted = selector.value.tags.map((t) => {
      const colon = t.indexOf(':');
      return [t.slice(0, colon).trim(), t.slice(colon + 1).trim()] as const;
    });
    const samples = parent.samples.filter((s) => wanted.every(([k, v]) => s.tags[k] === v));
    const exprs = list.map((t) => (typeof t === 'string' ? t : t.threshold));
    const percentiles = exprs.flatMap((e) => {
      const parsed = parseThresholdExpression(e);
      return parsed.ok && parsed.value.aggregation === 'p' ? [parsed.value.sinkKey] : [];
    });
    const values = aggregate(parent, samples, seconds, [...trendStats, ...percentiles]) as Record<string, number>;
    const results: Record<string, { ok: boolean }> = {};
    for (const expr of exprs) {
      const parsed = parseThresholdExpression(expr);
      if (!parsed.ok) throw new Error(parsed.error);
      const ok = thresholdHolds(parsed.value, values[parsed.value.sinkKey] ?? 0);
      results[expr] = { ok };
      if (!ok) failedThresholds.push(`${key}: ${expr}`);
    }
    // Sub-metrics appear under their own key; percentiles asked only by a threshold stay out of
    // the values, as in k6 (which reports the summaryTrendStats only).
    const shown = aggregate(parent, samples, seconds, trendStats);
    metrics[key] = { type: parent.type, contains: parent.contains, values: shown, thresholds: results };
  }

  const checks = [...r.checks.entries()].map(([name, c]) => ({
    name,
    path: `::${name}`,
    id: name,
    passes: c.passes,
    fails: c.fails,
  }));
  return {
    data: {
      root_group: { name: '', path: '', id: '', groups: [], checks },
      options: { summaryTrendStats: trendStats, summaryTimeUnit: '', noColor: true },
      state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: durationMs },
      metrics,
    },
    failedThresholds,
  };
}
