/**
 * k6's own option rules, applied to a script's exported `options` before any k6 runs it. Mirrors
 * grafana/k6 lib/executor/*.go (each executor's Validate and strict JSON decoding), lib/types
 * (durations), metrics/thresholds_parser.go and metrics/metric_type.go (threshold grammar and the
 * aggregations each metric type allows), metrics/registry.go (metric names). What k6 would refuse
 * with exit code 104, this refuses with the same reason and the path of the bad value.
 */
import {
  AGGREGATIONS_BY_TYPE,
  BUILTIN_METRICS,
  type K6MetricType,
  METRIC_NAME_PATTERN,
  parseMetricSelector,
  parseThresholdExpression,
} from '../../src/core/capacity-check/threshold-expression.ts';

export interface ScriptFacts {
  /** Custom metrics the script creates in its init context, with their types. */
  readonly declaredMetrics: ReadonlyMap<string, K6MetricType>;
  /** Names of the script's exported functions (what `exec` may name). */
  readonly exportedFunctions: ReadonlySet<string>;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const SCENARIO_NAME = /^[0-9a-zA-Z_-]+$/;
const MIN_DURATION_MS = 1000;
const BASE_FIELDS = ['executor', 'startTime', 'gracefulStop', 'env', 'exec', 'tags', 'options'];

/** Fields each executor decodes (JSON tags of its Config struct); anything else is refused. */
const EXECUTOR_FIELDS: Readonly<Record<string, readonly string[]>> = {
  'shared-iterations': ['vus', 'iterations', 'maxDuration'],
  'per-vu-iterations': ['vus', 'iterations', 'maxDuration'],
  'constant-vus': ['vus', 'duration'],
  'ramping-vus': ['startVUs', 'stages', 'gracefulRampDown'],
  'constant-arrival-rate': ['rate', 'timeUnit', 'duration', 'preAllocatedVUs', 'maxVUs'],
  'ramping-arrival-rate': ['startRate', 'timeUnit', 'stages', 'preAllocatedVUs', 'maxVUs'],
};

const GO_UNITS_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's time.ParseDuration, in milliseconds. */
function parseGoDuration(text: string): number | null {
  const m = /^([-+]?)(.*)$/.exec(text) as RegExpExecArray;
  const sign = m[1] === '-' ? -1 : 1;
  const rest = m[2] as string;
  if (rest === '0') return 0;
  if (rest === '') return null;
  let total = 0;
  let consumed = 0;
  for (const part of rest.matchAll(/(\d*\.?\d*)([a-zµμ]+)/g)) {
    if (part.index !== consumed || part[1] === '' || part[1] === '.') return null;
    const unit = GO_UNITS_MS[part[2] as string];
    if (unit === undefined) return null;
    total += Number(part[1]) * unit;
    consumed += part[0].length;
  }
  return consumed === rest.length ? sign * total : null;
}

/**
 * A k6 duration (lib/types ParseExtendedDuration): a number of milliseconds, a numeric string
 * of milliseconds, a Go duration, or days first ("2d", "1d12h").
 */
export function parseK6Duration(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string') return null;
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(value)) return Number(value);
  const d = value.indexOf('d');
  if (d === -1) return parseGoDuration(value);
  if (!/^[-+]?\d+$/.test(value.slice(0, d))) return null;
  const days = Number(value.slice(0, d));
  let hours = 0;
  if (d + 1 < value.length) {
    const parsed = parseGoDuration(value.slice(d + 1));
    if (parsed === null || parsed < 0) return null;
    hours = parsed;
  }
  return days * 86_400_000 + (days < 0 ? -hours : hours);
}

class ScenarioChecker {
  readonly problems: string[] = [];
  readonly path: string;
  readonly raw: Json;
  constructor(path: string, raw: Json) {
    this.path = path;
    this.raw = raw;
  }
  fail(field: string, message: string) {
    this.problems.push(`${this.path}${field === '' ? '' : `.${field}`}: ${message}`);
  }
  /** null.Int: absent is "not valid", a fractional number does not decode. */
  int(field: string): { valid: boolean; value: number } {
    const v = this.raw[field];
    if (v === undefined || v === null) return { valid: false, value: 0 };
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.fail(field, `must be an integer, not ${JSON.stringify(v)}`);
      return { valid: true, value: 0 };
    }
    return { valid: true, value: v };
  }
  duration(field: string): { valid: boolean; ms: number } {
    const v = this.raw[field];
    if (v === undefined || v === null) return { valid: false, ms: 0 };
    const ms = parseK6Duration(v);
    if (ms === null) {
      this.fail(field, `${JSON.stringify(v)} is not a valid duration value`);
      // k6 stops at the decoding error; NaN keeps the range checks quiet about this field.
      return { valid: true, ms: Number.NaN };
    }
    return { valid: true, ms };
  }
  stages(): Array<{ target: number }> {
    const raw = this.raw['stages'];
    if (raw === undefined || raw === null || (Array.isArray(raw) && raw.length === 0)) {
      this.fail('stages', 'at least one stage has to be specified');
      return [];
    }
    if (!Array.isArray(raw)) {
      this.fail('stages', 'must be an array of { duration, target }');
      return [];
    }
    const out: Array<{ target: number }> = [];
    for (const [i, stage] of raw.entries()) {
      const n = i + 1;
      if (!isObject(stage)) {
        this.fail(`stages[${i}]`, 'must be { duration, target }');
        continue;
      }
      for (const key of Object.keys(stage))
        if (key !== 'duration' && key !== 'target') this.fail(`stages[${i}]`, `unknown field "${key}"`);
      const sub = new ScenarioChecker(`${this.path}.stages[${i}]`, stage);
      const d = sub.duration('duration');
      if (!d.valid) this.fail(`stages[${i}]`, `stage ${n} doesn't have a duration`);
      else if (d.ms < 0) this.fail(`stages[${i}]`, `the duration for stage ${n} can't be negative`);
      const t = sub.int('target');
      if (!t.valid) this.fail(`stages[${i}]`, `stage ${n} doesn't have a target`);
      else if (t.value < 0) this.fail(`stages[${i}]`, `the target for stage ${n} can't be negative`);
      this.problems.push(...sub.problems);
      out.push({ target: t.value });
    }
    return out;
  }
}

function validateScenario(name: string, raw: unknown, facts: ScriptFacts): string[] {
  const path = `options.scenarios.${name}`;
  if (!isObject(raw)) return [`${path}: must be an object`];
  const c = new ScenarioChecker(path, raw);
  if (!SCENARIO_NAME.test(name))
    c.fail('', 'the scenario name should contain only numbers, latin letters, underscores, and dashes');
  const executor = raw['executor'];
  if (typeof executor !== 'string' || executor === '') {
    c.fail('executor', "doesn't have a specified executor type");
    return c.problems;
  }
  const fields = EXECUTOR_FIELDS[executor];
  if (fields === undefined) {
    c.fail(
      'executor',
      `unknown executor type '${executor}'${executor === 'externally-controlled' ? ' (removed in k6 v2)' : ''}`,
    );
    return c.problems;
  }
  // k6 decodes scenarios with DisallowUnknownFields: a misspelt field is an error, not a default.
  for (const key of Object.keys(raw))
    if (!BASE_FIELDS.includes(key) && !fields.includes(key))
      c.fail(
        key,
        `unknown field "${key}" for executor ${executor} (allowed: ${[...BASE_FIELDS, ...fields].join(', ')})`,
      );

  const exec = raw['exec'];
  if (exec !== undefined && exec !== null) {
    if (typeof exec !== 'string' || exec === '') c.fail('exec', 'exec value cannot be empty');
    else if (!facts.exportedFunctions.has(exec))
      c.fail('exec', `function '${exec}' is not an exported function of the script`);
  } else if (!facts.exportedFunctions.has('default'))
    c.fail('exec', 'no exec and the script exports no default function');
  const startTime = c.duration('startTime');
  if (startTime.ms < 0) c.fail('startTime', "the startTime can't be negative");
  const gracefulStop = c.duration('gracefulStop');
  if (gracefulStop.ms < 0) c.fail('gracefulStop', "the gracefulStop timeout can't be negative");
  for (const key of ['env', 'tags']) {
    const v = raw[key];
    if (v !== undefined && (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')))
      c.fail(key, 'must be an object of strings');
  }

  const atLeast = (field: string, d: { valid: boolean; ms: number }, fallbackMs: number | null) => {
    const ms = d.valid ? d.ms : fallbackMs;
    if (ms !== null && ms < MIN_DURATION_MS) c.fail(field, `the ${field} must be at least 1s, but is ${ms}ms`);
  };
  const vusPositive = () => {
    const vus = c.int('vus');
    if ((vus.valid ? vus.value : 1) <= 0) c.fail('vus', 'the number of VUs must be more than 0');
    return vus.valid ? vus.value : 1;
  };
  const arrivalVUs = () => {
    const pre = c.int('preAllocatedVUs');
    if (!pre.valid) c.fail('preAllocatedVUs', "the number of preAllocatedVUs isn't specified");
    else if (pre.value < 0) c.fail('preAllocatedVUs', "the number of preAllocatedVUs can't be negative");
    const max = c.int('maxVUs');
    if (max.valid && max.value < pre.value) c.fail('maxVUs', "maxVUs can't be less than preAllocatedVUs");
  };
  const timeUnit = () => {
    const tu = c.duration('timeUnit');
    if ((tu.valid ? tu.ms : 1000) <= 0) c.fail('timeUnit', 'the timeUnit must be more than 0');
  };

  switch (executor) {
    case 'constant-vus': {
      vusPositive();
      const d = c.duration('duration');
      if (!d.valid) c.fail('duration', 'the duration is unspecified');
      else atLeast('duration', d, null);
      break;
    }
    case 'ramping-vus': {
      const start = c.int('startVUs');
      const startVUs = start.valid ? start.value : 1;
      if (startVUs < 0) c.fail('startVUs', "the number of start VUs can't be negative");
      const stages = c.stages();
      if (Math.max(startVUs, ...stages.map((s) => s.target)) <= 0)
        c.fail('stages', "either startVUs or one of the stages' target values must be greater than 0");
      c.duration('gracefulRampDown');
      break;
    }
    case 'ramping-arrival-rate': {
      const start = c.int('startRate');
      if (start.value < 0) c.fail('startRate', "the startRate value can't be negative");
      timeUnit();
      c.stages();
      arrivalVUs();
      break;
    }
    case 'constant-arrival-rate': {
      const rate = c.int('rate');
      if (!rate.valid) c.fail('rate', "the iteration rate isn't specified");
      else if (rate.value <= 0) c.fail('rate', 'the iteration rate must be more than 0');
      timeUnit();
      const d = c.duration('duration');
      if (!d.valid) c.fail('duration', 'the duration is unspecified');
      else atLeast('duration', d, null);
      arrivalVUs();
      break;
    }
    case 'per-vu-iterations':
    case 'shared-iterations': {
      const vus = vusPositive();
      const it = c.int('iterations');
      const iterations = it.valid ? it.value : 1;
      if (executor === 'per-vu-iterations' && iterations <= 0)
        c.fail('iterations', 'the number of iterations must be more than 0');
      if (executor === 'shared-iterations' && iterations < vus)
        c.fail('iterations', `the number of iterations (${iterations}) can't be less than the number of VUs (${vus})`);
      atLeast('maxDuration', c.duration('maxDuration'), 600_000);
      break;
    }
  }
  return c.problems;
}

function validateThresholds(raw: unknown, facts: ScriptFacts): string[] {
  const problems: string[] = [];
  if (raw === undefined) return problems;
  if (!isObject(raw)) return ['options.thresholds: must be an object of metric → thresholds'];
  for (const [key, list] of Object.entries(raw)) {
    const path = `options.thresholds[${JSON.stringify(key)}]`;
    const selector = parseMetricSelector(key);
    if (!selector.ok) {
      problems.push(`${path}: ${selector.error}`);
      continue;
    }
    const metric = selector.value.metric;
    const type = BUILTIN_METRICS[metric] ?? facts.declaredMetrics.get(metric);
    if (type === undefined) {
      problems.push(`${path}: invalid threshold: no metric name "${metric}" found (neither built in nor declared)`);
      continue;
    }
    if (!Array.isArray(list)) {
      problems.push(`${path}: must be an array of thresholds`);
      continue;
    }
    for (const [i, item] of list.entries()) {
      let source: unknown = item;
      if (isObject(item)) {
        source = item['threshold'];
        for (const k of Object.keys(item))
          if (!['threshold', 'abortOnFail', 'delayAbortEval'].includes(k))
            problems.push(`${path}[${i}]: unknown field "${k}"`);
        if (item['abortOnFail'] !== undefined && typeof item['abortOnFail'] !== 'boolean')
          problems.push(`${path}[${i}].abortOnFail: must be true or false`);
        if (item['delayAbortEval'] !== undefined && parseK6Duration(item['delayAbortEval']) === null)
          problems.push(`${path}[${i}].delayAbortEval: ${JSON.stringify(item['delayAbortEval'])} is not a duration`);
      }
      if (typeof source !== 'string') {
        problems.push(`${path}[${i}]: must be a string or { threshold, abortOnFail?, delayAbortEval? }`);
        continue;
      }
      const parsed = parseThresholdExpression(source);
      if (!parsed.ok) {
        problems.push(`${path}[${i}]: ${parsed.error}`);
        continue;
      }
      const allowed = AGGREGATIONS_BY_TYPE[type];
      if (!allowed.includes(parsed.value.aggregation))
        problems.push(
          `${path}[${i}]: invalid threshold ${JSON.stringify(source)}: unsupported aggregation method ${parsed.value.aggregation} on metric of type ${type}; supported: ${allowed.join(', ')}`,
        );
    }
  }
  return problems;
}

function validateDeclaredMetrics(facts: ScriptFacts): string[] {
  const problems: string[] = [];
  for (const [name, type] of facts.declaredMetrics) {
    if (!METRIC_NAME_PATTERN.test(name))
      problems.push(
        `metric "${name}": metric names must only include up to 128 ASCII letters, numbers, or underscores and start with a letter or an underscore`,
      );
    const builtin = BUILTIN_METRICS[name];
    if (builtin !== undefined && builtin !== type)
      problems.push(`metric "${name}": already registered as a ${builtin}, declared again as a ${type}`);
  }
  return problems;
}

function validateTrendStats(raw: unknown): string[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) return ['options.summaryTrendStats: must be an array'];
  const problems: string[] = [];
  for (const [i, stat] of raw.entries()) {
    if (typeof stat !== 'string') problems.push(`options.summaryTrendStats[${i}]: must be a string`);
    else if (!['avg', 'min', 'med', 'max', 'count'].includes(stat)) {
      const p = /^p\((.*)\)$/.exec(stat);
      const n = p === null ? Number.NaN : Number(p[1]);
      if (p === null || (p[1] as string).trim() === '' || !Number.isFinite(n) || n < 0 || n > 100)
        problems.push(
          `options.summaryTrendStats[${i}]: stat '${stat}' is not supported (avg, min, med, max, count, p(N))`,
        );
    }
  }
  return problems;
}

/** k6's system tags (metrics/system_tag.go). */
const SYSTEM_TAGS = [
  'proto',
  'subproto',
  'status',
  'method',
  'url',
  'name',
  'group',
  'check',
  'error',
  'error_code',
  'tls_version',
  'scenario',
  'service',
  'expected_response',
  'iter',
  'vu',
  'ocsp_status',
  'ip',
];

/**
 * Beyond k6, which silently drops what systemTags leaves out: a threshold that selects on a
 * dropped system tag watches an empty sub-metric, and `rate<0.01` on nothing passes.
 */
function validateSystemTags(options: Json): string[] {
  const raw = options['systemTags'];
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.some((t) => typeof t !== 'string'))
    return ['options.systemTags: must be an array of tag names'];
  const problems: string[] = [];
  for (const tag of raw as string[])
    if (!SYSTEM_TAGS.includes(tag))
      problems.push(`options.systemTags: "${tag}" is not a k6 system tag (k6 ignores it)`);
  const thresholds = isObject(options['thresholds']) ? options['thresholds'] : {};
  for (const key of Object.keys(thresholds)) {
    const selector = parseMetricSelector(key);
    if (!selector.ok) continue;
    for (const tag of selector.value.tags) {
      const name = tag.slice(0, tag.indexOf(':')).trim();
      if (SYSTEM_TAGS.includes(name) && !raw.includes(name))
        problems.push(
          `options.thresholds[${JSON.stringify(key)}]: selects on the system tag ${name}, which options.systemTags leaves out: the sub-metric would stay empty`,
        );
    }
  }
  return problems;
}

/** Every problem k6 would find in these options, all at once, each with its path. */
export function validateOptions(options: unknown, facts: ScriptFacts): string[] {
  if (!isObject(options)) return ['options: the script must export an options object'];
  const problems: string[] = [...validateDeclaredMetrics(facts)];
  const scenarios = options['scenarios'];
  if (scenarios !== undefined) {
    if (!isObject(scenarios)) problems.push('options.scenarios: must be an object of name → scenario');
    else for (const [name, s] of Object.entries(scenarios)) problems.push(...validateScenario(name, s, facts));
  }
  problems.push(...validateThresholds(options['thresholds'], facts));
  problems.push(...validateTrendStats(options['summaryTrendStats']));
  problems.push(...validateSystemTags(options));
  return problems;
}
