import type { CheckEnvelope } from './check-metrics.ts';
import type { K6MetricType } from './threshold-expression.ts';

/**
 * Reads a k6 end-of-test summary in any of the shapes k6 writes (grafana/k6
 * internal/js/summary.go, summary-wrapper.js, internal/lib/summary/machinereadable):
 *
 * - `handle-summary`: the data handleSummary receives (and our script writes): metrics[name] =
 *   { type, contains, values, thresholds?: { expr: { ok } } };
 * - `summary-export`: `--summary-export` (`oldJSONSummary`): metrics[name] IS the values object,
 *   a Rate's rate is called `value`, and thresholds are { expr: boolean } where TRUE MEANS FAILED;
 * - `machine-readable`: `--new-machine-readable-summary` (version 1.0.0): results.metrics[] with
 *   { name, type, contains, values }, metadata.k6Version, config.duration. It carries no
 *   threshold results.
 *
 * Values are normalised: every Rate gets `rate`, `passes` and `fails`.
 */

export type SummaryShape = 'handle-summary' | 'summary-export' | 'machine-readable';

export interface SummaryThreshold {
  readonly expression: string;
  readonly passed: boolean;
}

export interface SummaryMetric {
  readonly name: string;
  /** null in the export shape, which drops the type. */
  readonly type: K6MetricType | null;
  readonly values: Readonly<Record<string, number>>;
  readonly thresholds: readonly SummaryThreshold[];
}

export interface ParsedSummary {
  readonly shape: SummaryShape;
  readonly metrics: ReadonlyMap<string, SummaryMetric>;
  /** false for the machine-readable shape, which has no threshold results at all. */
  readonly thresholdsCarried: boolean;
  readonly durationSeconds: number | null;
  readonly k6Version: string | null;
  /** The `rac` block of our handleSummary, when the summary came from our script. */
  readonly envelope: CheckEnvelope | null;
}

export type SummaryParse = { ok: true; summary: ParsedSummary } | { ok: false; errors: string[] };

const METRIC_TYPES: readonly string[] = ['counter', 'gauge', 'rate', 'trend'];

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function readValues(raw: Json, path: string, errors: string[], skip: readonly string[] = []): Record<string, number> {
  const values: Record<string, number> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (skip.includes(key)) continue;
    // k6 writes NaN (an empty Trend's stats) as null in JSON.
    if (value === null) continue;
    if (typeof value !== 'number') {
      errors.push(`${path}.${key}: not a number (${JSON.stringify(value)})`);
      continue;
    }
    values[key] = value;
  }
  return values;
}

function normaliseRate(values: Record<string, number>): Record<string, number> {
  const out = { ...values };
  if (out['rate'] === undefined && out['value'] !== undefined) out['rate'] = out['value'];
  if (out['matches'] !== undefined && out['total'] !== undefined) {
    // Plain assignments, not ??=: this file also runs inside k6's JS engine.
    if (out['passes'] === undefined) out['passes'] = out['matches'];
    if (out['fails'] === undefined) out['fails'] = out['total'] - out['matches'];
  }
  return out;
}

/** The export shape drops the type; the value keys tell it apart. */
function inferType(values: Record<string, number>): K6MetricType {
  if ('passes' in values || 'fails' in values) return 'rate';
  if ('count' in values && 'rate' in values && Object.keys(values).length === 2) return 'counter';
  if ('value' in values) return 'gauge';
  return 'trend';
}

function readEnvelope(raw: unknown, errors: string[]): CheckEnvelope | null {
  if (raw === undefined) return null;
  if (!isObject(raw)) {
    errors.push('rac: must be an object (the block our handleSummary writes)');
    return null;
  }
  const before = errors.length;
  if (raw['version'] !== 1) errors.push(`rac.version: must be 1, not ${JSON.stringify(raw['version'])}`);
  if (typeof raw['dryRun'] !== 'boolean') errors.push('rac.dryRun: must be true or false');
  for (const key of ['targetSessions', 'holdSeconds', 'connectP95Ms']) {
    const v = raw[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) errors.push(`rac.${key}: must be a number ≥ 0`);
  }
  for (const key of ['topology', 'k6Version']) {
    if (raw[key] !== null && typeof raw[key] !== 'string') errors.push(`rac.${key}: must be a string or null`);
  }
  const scenarios: Record<string, { status: 'ran' | 'skipped'; reason?: string }> = {};
  if (!isObject(raw['scenarios'])) errors.push('rac.scenarios: must be an object');
  else
    for (const [name, s] of Object.entries(raw['scenarios'])) {
      if (!isObject(s) || (s['status'] !== 'ran' && s['status'] !== 'skipped'))
        errors.push(`rac.scenarios.${name}.status: must be "ran" or "skipped"`);
      else
        scenarios[name] =
          typeof s['reason'] === 'string' ? { status: s['status'], reason: s['reason'] } : { status: s['status'] };
    }
  if (errors.length > before) return null;
  return {
    version: 1,
    dryRun: raw['dryRun'] as boolean,
    targetSessions: raw['targetSessions'] as number,
    holdSeconds: raw['holdSeconds'] as number,
    connectP95Ms: raw['connectP95Ms'] as number,
    topology: (raw['topology'] as string | null) ?? null,
    k6Version: (raw['k6Version'] as string | null) ?? null,
    scenarios,
  };
}

function parseMachineReadable(doc: Json, errors: string[]): ParsedSummary | null {
  const version = doc['version'] as string;
  if (!/^1\.\d+\.\d+$/.test(version))
    errors.push(`version: machine-readable summary ${version} is not supported (this rac reads 1.x)`);
  const results = doc['results'] as Json;
  if (!Array.isArray(results['metrics'])) errors.push('results.metrics: must be an array');
  const metrics = new Map<string, SummaryMetric>();
  for (const [i, m] of (Array.isArray(results['metrics']) ? results['metrics'] : []).entries()) {
    const path = `results.metrics[${i}]`;
    if (!isObject(m) || typeof m['name'] !== 'string' || !isObject(m['values'])) {
      errors.push(`${path}: must have a name and values`);
      continue;
    }
    const type = m['type'];
    if (typeof type !== 'string' || !METRIC_TYPES.includes(type)) {
      errors.push(`${path}.type: must be one of ${METRIC_TYPES.join(', ')}`);
      continue;
    }
    let values = readValues(m['values'], `${path}.values`, errors);
    if (type === 'rate') values = normaliseRate(values);
    metrics.set(m['name'], { name: m['name'], type: type as K6MetricType, values, thresholds: [] });
  }
  const config = isObject(doc['config']) ? doc['config'] : {};
  const metadata = isObject(doc['metadata']) ? doc['metadata'] : {};
  return {
    shape: 'machine-readable',
    metrics,
    thresholdsCarried: false,
    durationSeconds: typeof config['duration'] === 'number' ? config['duration'] : null,
    k6Version: typeof metadata['k6Version'] === 'string' ? metadata['k6Version'] : null,
    envelope: null,
  };
}

function parseMetricsObject(doc: Json, errors: string[]): ParsedSummary | null {
  const raw = doc['metrics'] as Json;
  const entries = Object.entries(raw);
  if (entries.length === 0) {
    errors.push('metrics: empty (k6 always reports at least iterations and checks)');
    return null;
  }
  const wrapped = entries.filter(([, m]) => isObject(m) && isObject(m['values']) && typeof m['type'] === 'string');
  const shape: SummaryShape = wrapped.length === entries.length ? 'handle-summary' : 'summary-export';
  if (wrapped.length > 0 && shape === 'summary-export') {
    errors.push(
      'metrics: some entries have { type, values } (handleSummary data) and some not (--summary-export): not one k6 summary',
    );
    return null;
  }
  const metrics = new Map<string, SummaryMetric>();
  for (const [name, m] of entries) {
    const path = `metrics.${name}`;
    if (!isObject(m)) {
      errors.push(`${path}: must be an object`);
      continue;
    }
    if (shape === 'handle-summary') {
      const type = m['type'] as string;
      if (!METRIC_TYPES.includes(type)) {
        errors.push(`${path}.type: must be one of ${METRIC_TYPES.join(', ')}`);
        continue;
      }
      let values = readValues(m['values'] as Json, `${path}.values`, errors);
      if (type === 'rate') values = normaliseRate(values);
      const thresholds: SummaryThreshold[] = [];
      if (m['thresholds'] !== undefined) {
        if (!isObject(m['thresholds'])) errors.push(`${path}.thresholds: must be an object`);
        else
          for (const [expression, t] of Object.entries(m['thresholds'])) {
            if (!isObject(t) || typeof t['ok'] !== 'boolean')
              errors.push(`${path}.thresholds.${expression}: must be { ok: true | false }`);
            else thresholds.push({ expression, passed: t['ok'] });
          }
      }
      metrics.set(name, { name, type: type as K6MetricType, values, thresholds });
    } else {
      const thresholds: SummaryThreshold[] = [];
      if (m['thresholds'] !== undefined) {
        if (!isObject(m['thresholds'])) errors.push(`${path}.thresholds: must be an object`);
        else
          for (const [expression, failed] of Object.entries(m['thresholds'])) {
            if (typeof failed !== 'boolean') errors.push(`${path}.thresholds.${expression}: must be true or false`);
            // --summary-export writes `!threshold.ok`: true means the threshold FAILED.
            else thresholds.push({ expression, passed: !failed });
          }
      }
      const plain = readValues(m, path, errors, ['thresholds']);
      const type = inferType(plain);
      metrics.set(name, { name, type: null, values: type === 'rate' ? normaliseRate(plain) : plain, thresholds });
    }
  }
  const state = isObject(doc['state']) ? doc['state'] : {};
  const durationMs = state['testRunDurationMs'];
  return {
    shape,
    metrics,
    thresholdsCarried: true,
    durationSeconds: typeof durationMs === 'number' ? durationMs / 1000 : null,
    k6Version: null,
    envelope: null,
  };
}

/** Every problem at once, each as `path: message`; nothing partial is returned. */
export function parseK6Summary(doc: unknown): SummaryParse {
  const errors: string[] = [];
  if (!isObject(doc)) return { ok: false, errors: ['(root): a k6 summary is a JSON object'] };
  let parsed: ParsedSummary | null;
  if (typeof doc['version'] === 'string' && isObject(doc['results'])) parsed = parseMachineReadable(doc, errors);
  else if (isObject(doc['metrics'])) parsed = parseMetricsObject(doc, errors);
  else
    return {
      ok: false,
      errors: [
        '(root): not a k6 summary: expected handleSummary data or --summary-export output (an object `metrics`) or the machine-readable summary (`version` 1.x with `results`)',
      ],
    };
  const envelope = readEnvelope(doc['rac'], errors);
  if (parsed === null || errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    summary: {
      ...parsed,
      envelope,
      k6Version: parsed.k6Version ?? envelope?.k6Version ?? null,
    },
  };
}
