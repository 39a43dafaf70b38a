import type { K6MetricType } from '../../../src/core/capacity-check/threshold-expression.ts';
import type { SyncBridge } from './sync-bridge.ts';

/**
 * What the k6 stand-ins share with the dry-run harness: the metric samples, the scenario being
 * run, and the bridge to the real clients. One instance per process (the stand-ins and the
 * harness import this same module).
 */

export interface Sample {
  readonly value: number;
  readonly tags: Readonly<Record<string, string>>;
}

export interface MetricRecord {
  readonly name: string;
  readonly type: K6MetricType;
  readonly contains: 'default' | 'time' | 'data';
  readonly samples: Sample[];
}

export interface CheckRecord {
  passes: number;
  fails: number;
}

export interface ScenarioContext {
  readonly name: string;
  readonly executor: string;
  readonly tags: Readonly<Record<string, string>>;
}

export interface DryRunRuntime {
  readonly metrics: Map<string, MetricRecord>;
  readonly checks: Map<string, CheckRecord>;
  scenario: ScenarioContext | null;
  /** Sleeps longer than this are shortened (a pass must stay cheap); each one is noted. */
  readonly maxSleepMs: number;
  readonly shortenedSleeps: number[];
  bridge: SyncBridge | null;
  readonly startedAt: number;
}

const KEY = Symbol.for('rac.k6-dry-run.runtime');

export function runtime(): DryRunRuntime {
  const g = globalThis as unknown as Record<symbol, DryRunRuntime | undefined>;
  let r = g[KEY];
  if (r === undefined) {
    r = {
      metrics: new Map(),
      checks: new Map(),
      scenario: null,
      maxSleepMs: 100,
      shortenedSleeps: [],
      bridge: null,
      startedAt: Date.now(),
    };
    g[KEY] = r;
  }
  return r;
}

export function bridge(): SyncBridge {
  const b = runtime().bridge;
  if (b === null) throw new Error('dry run: no bridge to the real clients (the harness starts it)');
  return b;
}

/** Registers a metric as k6's registry does: the same name cannot change type. */
export function declareMetric(name: string, type: K6MetricType, isTime: boolean): MetricRecord {
  const r = runtime();
  const existing = r.metrics.get(name);
  if (existing !== undefined) {
    if (existing.type !== type) throw new Error(`metric "${name}" already registered as a ${existing.type}`);
    return existing;
  }
  const record: MetricRecord = { name, type, contains: isTime ? 'time' : 'default', samples: [] };
  r.metrics.set(name, record);
  return record;
}

/** One sample with the system tags k6 adds (scenario) under the call's own tags. */
export function addSample(name: string, value: number, tags: Readonly<Record<string, string>> = {}): void {
  const r = runtime();
  const metric = r.metrics.get(name);
  if (metric === undefined) throw new Error(`dry run: metric ${name} is not registered`);
  const scenario = r.scenario;
  metric.samples.push({
    value,
    tags: { ...(scenario === null ? {} : { scenario: scenario.name, ...scenario.tags }), ...tags },
  });
}

/** k6's built-in metrics that the stand-ins emit. */
export function registerBuiltins(): void {
  declareMetric('checks', 'rate', false);
  declareMetric('iterations', 'counter', false);
  declareMetric('iteration_duration', 'trend', true);
  declareMetric('http_reqs', 'counter', false);
  declareMetric('http_req_duration', 'trend', true);
  declareMetric('http_req_waiting', 'trend', true);
  declareMetric('http_req_failed', 'rate', false);
  declareMetric('dropped_iterations', 'counter', false);
}
