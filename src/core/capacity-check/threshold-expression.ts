/**
 * k6's threshold grammar, mirrored from grafana/k6 metrics/thresholds_parser.go,
 * metrics/metric_type.go and metrics/metric.go (ParseMetricName), so that CI can reject what k6
 * would reject (exit code 104) and `rac check record` can read the bounds a summary was judged by.
 * Pure and free of Node APIs: the k6 scripts import it too.
 */

export type K6MetricType = 'counter' | 'gauge' | 'rate' | 'trend';

export interface ThresholdExpression {
  /** value | count | rate | avg | min | med | max | p */
  readonly aggregation: string;
  /** The N of p(N). */
  readonly percentile: number | null;
  readonly operator: '<=' | '<' | '>=' | '>' | '===' | '==' | '!=';
  readonly value: number;
  /** The key of this aggregation in a summary's values (`p(95)`, `max`, …). */
  readonly sinkKey: string;
}

// k6 tries the operators in this order with strings.Cut and takes the first one with a non-empty
// right-hand side: "a<=" falls through to "<" and then fails on "=" as a number, as in k6.
const OPERATORS = ['<=', '<', '>=', '>', '===', '==', '!='] as const;
const AGGREGATIONS = ['value', 'count', 'rate', 'avg', 'min', 'med', 'max'] as const;

/** Aggregations k6 allows per metric type (MetricType.supportedAggregationMethods). */
export const AGGREGATIONS_BY_TYPE: Readonly<Record<K6MetricType, readonly string[]>> = {
  counter: ['count', 'rate'],
  gauge: ['value'],
  rate: ['rate'],
  trend: ['avg', 'min', 'max', 'med', 'p'],
};

/** Go's strconv.ParseFloat, for the decimal forms people write (and Inf/NaN, which Go accepts). */
function parseGoFloat(text: string): number | null {
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) return Number(text);
  if (/^[+-]?(inf|infinity)$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(text)) return Number.NaN;
  return null;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

export function parseThresholdExpression(input: string): ParseResult<ThresholdExpression> {
  let scanned: { left: string; operator: ThresholdExpression['operator']; right: string } | null = null;
  for (const operator of OPERATORS) {
    const at = input.indexOf(operator);
    if (at === -1) continue;
    const right = input.slice(at + operator.length);
    if (right === '') continue;
    scanned = { left: input.slice(0, at).trim(), operator, right: right.trim() };
    break;
  }
  if (scanned === null)
    return { ok: false, error: `threshold ${JSON.stringify(input)}: malformed threshold expression` };

  let aggregation: string;
  let percentile: number | null = null;
  if ((AGGREGATIONS as readonly string[]).includes(scanned.left)) aggregation = scanned.left;
  else if (scanned.left.startsWith('p(') && scanned.left.endsWith(')')) {
    const n = parseGoFloat(scanned.left.slice(2, -1));
    if (n === null) return { ok: false, error: `threshold ${JSON.stringify(input)}: malformed percentile value` };
    if (Number.isNaN(n) || n < 0 || n > 100)
      return {
        ok: false,
        error: `threshold ${JSON.stringify(input)}: malformed percentile value, provide a number between 0 and 100`,
      };
    aggregation = 'p';
    percentile = n;
  } else
    return {
      ok: false,
      error: `threshold ${JSON.stringify(input)}: left hand side ${JSON.stringify(scanned.left)} is not an aggregation (value, count, rate, avg, min, med, max, p(N))`,
    };

  const value = parseGoFloat(scanned.right);
  if (value === null)
    return {
      ok: false,
      error: `threshold ${JSON.stringify(input)}: right hand side ${JSON.stringify(scanned.right)} is not a number`,
    };
  // k6 formats the sink key with %g: p(95) stays p(95), p(99.9) stays p(99.9).
  const sinkKey = aggregation === 'p' ? `p(${percentile})` : aggregation;
  return { ok: true, value: { aggregation, percentile, operator: scanned.operator, value, sinkKey } };
}

/** Whether `observed` satisfies the expression, as k6 compares them. */
export function thresholdHolds(expression: ThresholdExpression, observed: number): boolean {
  switch (expression.operator) {
    case '<=':
      return observed <= expression.value;
    case '<':
      return observed < expression.value;
    case '>=':
      return observed >= expression.value;
    case '>':
      return observed > expression.value;
    case '===':
    case '==':
      return observed === expression.value;
    case '!=':
      return observed !== expression.value;
  }
}

export interface MetricSelector {
  readonly metric: string;
  /** `key:value` pairs of a sub-metric selector, trimmed. */
  readonly tags: readonly string[];
}

/** `name{k:v,k2:v2}` as k6's ParseMetricName reads it. */
export function parseMetricSelector(name: string): ParseResult<MetricSelector> {
  const open = name.indexOf('{');
  const close = name.lastIndexOf('}');
  if (open === -1 && close === -1) return { ok: true, value: { metric: name, tags: [] } };
  if (open === -1 || close === -1)
    return { ok: false, error: `metric ${JSON.stringify(name)} has unmatched opening/close curly brace` };
  if (close < open)
    return { ok: false, error: `metric ${JSON.stringify(name)} closing curly brace appears before opening one` };
  if (close !== name.length - 1)
    return { ok: false, error: `metric ${JSON.stringify(name)} lacks a closing curly brace in its last position` };
  const tags = name.slice(open + 1, close).split(',');
  for (const tag of tags) {
    const colon = tag.indexOf(':');
    if (colon === -1 || tag.slice(colon + 1) === '')
      return { ok: false, error: `metric ${JSON.stringify(name)}: tag expression ${JSON.stringify(tag)} is malformed` };
  }
  return { ok: true, value: { metric: name.slice(0, open), tags: tags.map((t) => t.trim()) } };
}

/** k6 metrics/registry.go: what `new Trend(name)` accepts. */
export const METRIC_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]{1,128}$/;

/** k6's built-in metrics and their types (metrics/builtin.go). */
export const BUILTIN_METRICS: Readonly<Record<string, K6MetricType>> = {
  vus: 'gauge',
  vus_max: 'gauge',
  iterations: 'counter',
  iteration_duration: 'trend',
  dropped_iterations: 'counter',
  checks: 'rate',
  group_duration: 'trend',
  http_reqs: 'counter',
  http_req_failed: 'rate',
  http_req_duration: 'trend',
  http_req_blocked: 'trend',
  http_req_connecting: 'trend',
  http_req_tls_handshaking: 'trend',
  http_req_sending: 'trend',
  http_req_waiting: 'trend',
  http_req_receiving: 'trend',
  ws_sessions: 'counter',
  ws_msgs_sent: 'counter',
  ws_msgs_received: 'counter',
  ws_ping: 'trend',
  ws_session_duration: 'trend',
  ws_connecting: 'trend',
  grpc_req_duration: 'trend',
  data_sent: 'counter',
  data_received: 'counter',
};
