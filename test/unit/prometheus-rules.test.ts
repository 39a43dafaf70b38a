import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

const repoRoot = join(import.meta.dirname, '..', '..');
const rulesPath = join(repoRoot, 'infra/prometheus/rules.yml');
const testsPath = join(repoRoot, 'infra/prometheus/rules.test.yml');

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RulesFile {
  groups: { name: string; rules: Rule[] }[];
}
interface AlertCase {
  eval_time: string;
  alertname: string;
  exp_alerts?: { exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }[];
}
interface ExprCase {
  expr: string;
  eval_time: string;
  exp_samples?: { labels: string; value: number }[];
}
interface TestsFile {
  rule_files: string[];
  group_eval_order?: string[];
  tests: { name: string; alert_rule_test?: AlertCase[]; promql_expr_test?: ExprCase[] }[];
}

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  if (result.error) {
    throw new Error(
      `cannot run promtool (${result.error.message}): install Debian's prometheus package (it ships /usr/bin/promtool)`,
    );
  }
  return { status: result.status, output: `$ promtool ${args.join(' ')}\n${result.stdout}${result.stderr}` };
}

/** Asserts exit 0, with promtool's own output as the failure message. */
function expectPass(...args: string[]): string {
  const { status, output } = promtool(...args);
  expect(status, output).toBe(0);
  return output;
}

const rules = parse(readFileSync(rulesPath, 'utf8')) as RulesFile;
const tests = parse(readFileSync(testsPath, 'utf8')) as TestsFile;
const allRules = rules.groups.flatMap((g) => g.rules);
const alertNames = [...new Set(allRules.flatMap((r) => (r.alert ? [r.alert] : [])))];
const recordNames = allRules.flatMap((r) => (r.record ? [r.record] : []));
const alertCases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
const exprCases = tests.tests.flatMap((t) => t.promql_expr_test ?? []);

/** A copy of the unit tests in a temp dir, pointing at the real rules file, changed by `mutate`. */
function testsCopy(mutate: (doc: TestsFile) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'rac-promtool-'));
  scratch.push(dir);
  const doc = parse(readFileSync(testsPath, 'utf8')) as TestsFile;
  doc.rule_files = [rulesPath];
  mutate(doc);
  const file = join(dir, 'rules.test.yml');
  writeFileSync(file, stringify(doc));
  return file;
}

function findTest(doc: TestsFile, name: string) {
  const test = doc.tests.find((t) => t.name === name);
  if (!test) throw new Error(`no test named ${name} in rules.test.yml`);
  return test;
}

describe('Prometheus rules and config (promtool)', () => {
  it('promtool check rules passes', () => {
    expect(expectPass('check', 'rules', 'infra/prometheus/rules.yml')).toContain('SUCCESS');
  });

  it('promtool check config passes, rule files included', () => {
    expect(expectPass('check', 'config', 'infra/prometheus/prometheus.yml')).toContain('1 rule files found');
  });

  it('promtool test rules passes', () => {
    expect(expectPass('test', 'rules', 'infra/prometheus/rules.test.yml')).toContain('SUCCESS');
  });

  it('the copy used for the negative tests passes unchanged', () => {
    const unchanged = testsCopy(() => {});
    expectPass('test', 'rules', unchanged);
  });

  it('fails when an expected alert annotation carries the wrong value', () => {
    const file = testsCopy((doc) => {
      const firing = findTest(doc, 'more people online in a tier than are granted it')
        .alert_rule_test?.flatMap((c) => c.exp_alerts ?? [])
        .find((a) => a.exp_annotations?.['description']);
      if (!firing?.exp_annotations?.['description']) throw new Error('no firing case with a description');
      expect(firing.exp_annotations['description']).toContain('905 distinct people');
      firing.exp_annotations['description'] = firing.exp_annotations['description'].replace('905', '906');
    });
    const { status, output } = promtool('test', 'rules', file);
    expect(status, output).not.toBe(0);
    expect(output).toContain('RemoteAccessSessionsBeyondGrants');
  });

  it('fails when an expected alert label is wrong', () => {
    const file = testsCopy((doc) => {
      const firing = findTest(doc, 'gateway down and stale observations').alert_rule_test?.find(
        (c) => c.alertname === 'RemoteAccessGatewayDown' && c.exp_alerts?.length,
      )?.exp_alerts?.[0];
      if (!firing?.exp_labels) throw new Error('no firing GatewayDown case');
      firing.exp_labels['gateway'] = 'gw-sh-1';
    });
    const { status, output } = promtool('test', 'rules', file);
    expect(status, output).not.toBe(0);
    expect(output).toContain('RemoteAccessGatewayDown');
  });

  it('fails when a recording rule is expected to have another value', () => {
    const file = testsCopy((doc) => {
      const sample = findTest(doc, 'recording rules with a verified topology').promql_expr_test?.find(
        (c) => c.expr === 'remote_access:capacity_limit:sessions',
      )?.exp_samples?.[0];
      if (!sample) throw new Error('no capacity limit sample');
      sample.value = 4000;
    });
    const { status, output } = promtool('test', 'rules', file);
    expect(status, output).not.toBe(0);
    expect(output).toContain('remote_access:capacity_limit:sessions');
  });
});

// promtool 2.42 does not notice a test about an alert that does not exist (exp_alerts: [] passes),
// nor an unknown group in group_eval_order: these checks keep the tests honest.
describe('rules.test.yml covers rules.yml', () => {
  it.each(alertNames)('%s has a firing case and a silent case', (name) => {
    const cases = alertCases.filter((c) => c.alertname === name);
    expect(cases.some((c) => (c.exp_alerts ?? []).length > 0)).toBe(true);
    expect(cases.some((c) => (c.exp_alerts ?? []).length === 0)).toBe(true);
  });

  it.each(recordNames)('%s has its value tested', (name) => {
    expect(exprCases.some((c) => c.expr === name && (c.exp_samples ?? []).length > 0)).toBe(true);
  });

  it('tests only alerts that exist', () => {
    expect(alertCases.map((c) => c.alertname).filter((n) => !alertNames.includes(n))).toEqual([]);
  });

  it('orders exactly the groups of rules.yml', () => {
    expect(tests.group_eval_order).toEqual(rules.groups.map((g) => g.name));
  });

  it.each(allRules.filter((r) => r.alert))('$alert has a severity, summary, description and runbook', (rule) => {
    expect(['warning', 'critical']).toContain(rule.labels?.['severity']);
    for (const key of ['summary', 'description', 'runbook']) expect(rule.annotations?.[key]).toBeTruthy();
  });

  it('exports no per-user labels from recording rules', () => {
    for (const rule of allRules.filter((r) => r.record)) expect(rule.expr).not.toMatch(/\b(uid|user|username)\b/);
  });
});
