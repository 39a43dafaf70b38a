import type { K6MetricType } from '../../../../src/core/capacity-check/threshold-expression.ts';
import { addSample, declareMetric } from '../runtime.ts';

/** Stand-in for `k6/metrics`: each metric registers itself (as k6 does, at init) and records samples. */
function metricClass(type: K6MetricType) {
  return class {
    readonly name: string;
    constructor(name: string, isTime = false) {
      this.name = name;
      declareMetric(name, type, isTime);
    }
    add(value: number | boolean, tags?: Record<string, string>): void {
      addSample(this.name, typeof value === 'boolean' ? (value ? 1 : 0) : value, tags);
    }
  };
}

export const Counter = metricClass('counter');
export const Gauge = metricClass('gauge');
export const Rate = metricClass('rate');
export const Trend = metricClass('trend');
