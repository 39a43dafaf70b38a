import { describe, expect, it } from 'vitest';
import { parseK6Duration, type ScriptFacts, validateOptions } from '../../../loadtests/test/validate-options.ts';

const facts: ScriptFacts = {
  declaredMetrics: new Map([
    ['rac_sessions_observed', 'trend'],
    ['rac_gateways_up', 'rate'],
    ['rac_peak', 'gauge'],
    ['rac_logins', 'counter'],
  ]),
  exportedFunctions: new Set(['sessionsHeld', 'loginStorm']),
};

const storm = {
  executor: 'ramping-arrival-rate',
  exec: 'loginStorm',
  startRate: 0,
  timeUnit: '1s',
  stages: [{ duration: '1m', target: 10 }],
  preAllocatedVUs: 20,
  maxVUs: 40,
};
const held = { executor: 'constant-vus', exec: 'sessionsHeld', vus: 1, duration: '20m' };

/** The problems of options with one scenario changed. */
const scenario = (s: Record<string, unknown>, name = 'x') => validateOptions({ scenarios: { [name]: s } }, facts);
const thresholds = (t: Record<string, unknown>) => validateOptions({ thresholds: t }, facts);

describe('validateOptions: k6’s executor rules', () => {
  it('accepts well-formed scenarios of every executor', () => {
    expect(
      validateOptions(
        {
          scenarios: {
            storm,
            held,
            ramp: {
              executor: 'ramping-vus',
              exec: 'loginStorm',
              startVUs: 0,
              stages: [{ duration: '10s', target: 5 }],
            },
            rate: {
              executor: 'constant-arrival-rate',
              exec: 'loginStorm',
              rate: 5,
              duration: '1m',
              preAllocatedVUs: 2,
            },
            per: { executor: 'per-vu-iterations', exec: 'loginStorm', vus: 2, iterations: 3 },
            shared: { executor: 'shared-iterations', exec: 'loginStorm', vus: 2, iterations: 2, maxDuration: '1d2h' },
          },
        },
        facts,
      ),
    ).toEqual([]);
  });

  it('requires preAllocatedVUs of the arrival-rate executors', () => {
    const { preAllocatedVUs: _, ...noPre } = storm;
    expect(scenario(noPre)).toContain(
      "options.scenarios.x.preAllocatedVUs: the number of preAllocatedVUs isn't specified",
    );
    expect(scenario({ executor: 'constant-arrival-rate', exec: 'loginStorm', rate: 1, duration: '1m' })).toContain(
      "options.scenarios.x.preAllocatedVUs: the number of preAllocatedVUs isn't specified",
    );
  });

  it('refuses maxVUs below preAllocatedVUs', () => {
    expect(scenario({ ...storm, maxVUs: 10 })).toEqual([
      "options.scenarios.x.maxVUs: maxVUs can't be less than preAllocatedVUs",
    ]);
  });

  it('requires the duration of constant-vus and constant-arrival-rate, at least 1s', () => {
    expect(scenario({ executor: 'constant-vus', exec: 'sessionsHeld', vus: 1 })).toEqual([
      'options.scenarios.x.duration: the duration is unspecified',
    ]);
    expect(scenario({ ...held, duration: '500ms' })).toEqual([
      'options.scenarios.x.duration: the duration must be at least 1s, but is 500ms',
    ]);
  });

  it('requires stages, each with a duration and a non-negative target', () => {
    expect(scenario({ ...storm, stages: [] })).toContain(
      'options.scenarios.x.stages: at least one stage has to be specified',
    );
    expect(scenario({ ...storm, stages: [{ target: 5 }] })).toContain(
      "options.scenarios.x.stages[0]: stage 1 doesn't have a duration",
    );
    expect(scenario({ ...storm, stages: [{ duration: '1m', target: -1 }] })).toContain(
      "options.scenarios.x.stages[0]: the target for stage 1 can't be negative",
    );
    expect(
      scenario({ executor: 'ramping-vus', exec: 'loginStorm', startVUs: 0, stages: [{ duration: '1m', target: 0 }] }),
    ).toContain(
      "options.scenarios.x.stages: either startVUs or one of the stages' target values must be greater than 0",
    );
  });

  it('checks the counts each executor needs', () => {
    expect(scenario({ ...held, vus: 0 })).toEqual(['options.scenarios.x.vus: the number of VUs must be more than 0']);
    expect(scenario({ ...storm, startRate: -1 })).toEqual([
      "options.scenarios.x.startRate: the startRate value can't be negative",
    ]);
    expect(scenario({ ...storm, preAllocatedVUs: 2.5 })).toContain(
      'options.scenarios.x.preAllocatedVUs: must be an integer, not 2.5',
    );
    expect(
      scenario({ executor: 'constant-arrival-rate', exec: 'loginStorm', duration: '1m', preAllocatedVUs: 1 }),
    ).toEqual(["options.scenarios.x.rate: the iteration rate isn't specified"]);
    expect(scenario({ executor: 'shared-iterations', exec: 'loginStorm', vus: 5, iterations: 2 })).toEqual([
      "options.scenarios.x.iterations: the number of iterations (2) can't be less than the number of VUs (5)",
    ]);
    expect(scenario({ executor: 'per-vu-iterations', exec: 'loginStorm', iterations: 0 })).toEqual([
      'options.scenarios.x.iterations: the number of iterations must be more than 0',
    ]);
  });

  it('refuses unknown executors and fields, bad names and exec functions the script does not export', () => {
    expect(scenario({ ...held, executor: 'externally-controlled' })).toEqual([
      "options.scenarios.x.executor: unknown executor type 'externally-controlled' (removed in k6 v2)",
    ]);
    expect(scenario({ vus: 1 })).toEqual(["options.scenarios.x.executor: doesn't have a specified executor type"]);
    expect(scenario({ ...storm, maxVus: 40 })[0]).toMatch(/^options\.scenarios\.x\.maxVus: unknown field "maxVus"/);
    expect(scenario(held, 'held sessions')).toEqual([
      'options.scenarios.held sessions: the scenario name should contain only numbers, latin letters, underscores, and dashes',
    ]);
    expect(scenario({ ...held, exec: 'sessionHeld' })).toEqual([
      "options.scenarios.x.exec: function 'sessionHeld' is not an exported function of the script",
    ]);
  });

  it('refuses durations k6 cannot parse and negative start times', () => {
    expect(scenario({ ...held, duration: '20 minutes' })).toEqual([
      'options.scenarios.x.duration: "20 minutes" is not a valid duration value',
    ]);
    expect(scenario({ ...held, startTime: '-1s' })).toEqual([
      "options.scenarios.x.startTime: the startTime can't be negative",
    ]);
    expect(scenario({ ...storm, timeUnit: '0s' })).toEqual([
      'options.scenarios.x.timeUnit: the timeUnit must be more than 0',
    ]);
  });
});

describe('validateOptions: thresholds', () => {
  it('accepts the aggregations each metric type allows, on built-in and declared metrics and sub-metrics', () => {
    expect(
      thresholds({
        rac_sessions_observed: ['max>=5000', 'p(95)>100', 'avg>1', 'min>=0', 'med>1'],
        rac_gateways_up: ['rate==1'],
        rac_peak: ['value>0'],
        rac_logins: ['count>0', 'rate>1'],
        'http_req_duration{scenario:portal}': [{ threshold: 'p(95)<2000', abortOnFail: true, delayAbortEval: '1m' }],
      }),
    ).toEqual([]);
  });

  it('refuses an aggregation the metric type does not have', () => {
    expect(thresholds({ rac_peak: ['max>=5000'] })).toEqual([
      'options.thresholds["rac_peak"][0]: invalid threshold "max>=5000": unsupported aggregation method max on metric of type gauge; supported: value',
    ]);
    expect(thresholds({ http_req_failed: ['count<1'] })[0]).toContain(
      'unsupported aggregation method count on metric of type rate',
    );
    expect(thresholds({ rac_logins: ['p(95)<1'] })[0]).toContain('on metric of type counter');
    expect(thresholds({ rac_sessions_observed: ['rate>1'] })[0]).toContain('on metric of type trend');
  });

  it('refuses a threshold on a metric that is neither built in nor declared', () => {
    expect(thresholds({ rac_sessions_obsrved: ['max>=1'] })).toEqual([
      'options.thresholds["rac_sessions_obsrved"]: invalid threshold: no metric name "rac_sessions_obsrved" found (neither built in nor declared)',
    ]);
  });

  it('refuses malformed expressions and selectors', () => {
    expect(thresholds({ checks: ['rate>>1'] })[0]).toContain('options.thresholds["checks"][0]: threshold "rate>>1"');
    expect(thresholds({ checks: ['p(200)<1'] })).toHaveLength(1);
    expect(thresholds({ 'checks{scenario}': ['rate>0'] })[0]).toContain('malformed');
    expect(thresholds({ checks: [{ threshold: 'rate>0', abortOnFail: 'yes' }] })).toEqual([
      'options.thresholds["checks"][0].abortOnFail: must be true or false',
    ]);
    expect(thresholds({ checks: 'rate>0' })).toEqual(['options.thresholds["checks"]: must be an array of thresholds']);
  });
});

describe('validateOptions: metrics and summary stats', () => {
  it('refuses custom metric names k6 refuses and a built-in name with another type', () => {
    const bad: ScriptFacts = {
      ...facts,
      declaredMetrics: new Map([
        ['rac-peak', 'trend'],
        ['checks', 'trend'],
      ]),
    };
    expect(validateOptions({}, bad)).toEqual([
      'metric "rac-peak": metric names must only include up to 128 ASCII letters, numbers, or underscores and start with a letter or an underscore',
      'metric "checks": already registered as a rate, declared again as a trend',
    ]);
  });

  it('refuses summary trend stats k6 does not compute', () => {
    expect(validateOptions({ summaryTrendStats: ['avg', 'p(95)', 'p99', 'count'] }, facts)).toEqual([
      "options.summaryTrendStats[2]: stat 'p99' is not supported (avg, min, med, max, count, p(N))",
    ]);
  });
});

describe('validateOptions: system tags', () => {
  it('refuses a threshold that selects on a system tag the options drop (its sub-metric would stay empty)', () => {
    expect(
      validateOptions(
        { systemTags: ['status', 'name'], thresholds: { 'http_req_failed{scenario:portal}': ['rate<0.01'] } },
        facts,
      ),
    ).toEqual([
      'options.thresholds["http_req_failed{scenario:portal}"]: selects on the system tag scenario, which options.systemTags leaves out: the sub-metric would stay empty',
    ]);
    expect(
      validateOptions(
        { systemTags: ['scenario'], thresholds: { 'http_req_failed{scenario:portal}': ['rate<0.01'] } },
        facts,
      ),
    ).toEqual([]);
    expect(validateOptions({ systemTags: ['scenarios'] }, facts)).toEqual([
      'options.systemTags: "scenarios" is not a k6 system tag (k6 ignores it)',
    ]);
  });
});

describe('parseK6Duration', () => {
  it('reads k6 durations in milliseconds', () => {
    expect(parseK6Duration('1h30m')).toBe(5_400_000);
    expect(parseK6Duration('1.5s')).toBe(1500);
    expect(parseK6Duration('2d')).toBe(172_800_000);
    expect(parseK6Duration('1d12h')).toBe(129_600_000);
    expect(parseK6Duration('250')).toBe(250);
    expect(parseK6Duration(250)).toBe(250);
    expect(parseK6Duration('0')).toBe(0);
    expect(parseK6Duration('10 m')).toBeNull();
    expect(parseK6Duration('1w')).toBeNull();
    expect(parseK6Duration('m')).toBeNull();
  });
});
