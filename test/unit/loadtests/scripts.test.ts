import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleScript } from '../../../loadtests/test/bundle.ts';

const ROOT = join(import.meta.dirname, '../../..');
const SCRIPT = join(ROOT, 'loadtests/capacity-check.ts');
const run = promisify(execFile);
// Inside the repository, so that npm packages resolve: the check must refuse what esbuild could bundle.
const scratch = mkdtempSync(join(ROOT, 'loadtests/.scratch-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** `k6 inspect` through the stand-ins: options, declared metrics, problems. */
async function inspect(env: Record<string, string>) {
  const result = await run(process.execPath, [join(ROOT, 'loadtests/test/inspect.ts'), SCRIPT], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
  }).catch((err: { code: number; stdout: string; stderr: string }) => err);
  return {
    code: 'code' in result ? result.code : 0,
    stderr: result.stderr,
    doc:
      result.stdout === ''
        ? null
        : (JSON.parse(result.stdout) as {
            options: { scenarios: Record<string, unknown>; thresholds: Record<string, unknown> };
            problems: string[];
          }),
  };
}

describe('the k6 scripts, checked without k6', () => {
  it('type-check with @types/k6 and our own typings (tsc over loadtests/)', async () => {
    const result = await run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(ROOT, 'loadtests/tsconfig.json')]).catch(
      (err: { stdout: string }) => ({ stdout: err.stdout, failed: true }),
    );
    expect(result.stdout).toBe('');
    expect('failed' in result).toBe(false);
  }, 60_000);

  it('bundle with only k6 modules left outside, and only relative files inside', async () => {
    const report = await bundleScript(SCRIPT);
    expect(report.problems).toEqual([]);
    expect(report.imports).toContain('loadtests/capacity-check.ts: k6/x/ldap');
    expect(report.code).toMatch(/from "k6\/http"/);
    expect(report.code).not.toMatch(/from "(?!k6)[^".]/);
  });

  it('the bundle check refuses npm packages, node: modules and extensionless imports', async () => {
    const bad = join(scratch, 'bad.ts');
    writeFileSync(join(scratch, 'helper.ts'), 'export const x = 1;\n');
    writeFileSync(
      bad,
      "import { x } from './helper';\nimport { Client } from 'ldapts';\nexport default () => [x, Client];\n",
    );
    const report = await bundleScript(bad);
    expect(report.problems.join('\n')).toMatch(/imports \.\/helper without its extension/);
    expect(report.problems.join('\n')).toMatch(/imports ldapts: k6 resolves only k6… modules and relative files/);
    writeFileSync(bad, "import { readFileSync } from 'node:fs';\nexport default () => readFileSync;\n");
    expect((await bundleScript(bad)).problems.length).toBeGreaterThan(0);
  });

  it('export options that pass k6’s rules with every scenario on', async () => {
    writeFileSync(join(scratch, 'accounts.csv'), 'uid,password\nalice,secret\n');
    writeFileSync(join(scratch, 'token'), 'tok\n');
    const { code, doc } = await inspect({
      RAC_TARGET_SESSIONS: '5000',
      RAC_HOLD: '20m',
      RAC_DURATION: '40m',
      RAC_PROMETHEUS_URL: 'http://127.0.0.1:9090',
      RAC_LDAP_URL: 'ldap://127.0.0.1:389',
      RAC_LDAP_USERS_BASE: 'ou=people,dc=corp,dc=example',
      RAC_ACCOUNTS: join(scratch, 'accounts.csv'),
      RAC_PORTAL_URL: 'http://127.0.0.1:8080/',
      RAC_API_URL: 'http://127.0.0.1:9464',
      RAC_API_TOKEN_FILE: join(scratch, 'token'),
      RAC_LOGIN_RATE: '50',
    });
    expect(doc?.problems).toEqual([]);
    expect(code).toBe(0);
    expect(Object.keys(doc?.options.scenarios ?? {})).toEqual(['sessions_held', 'login_storm', 'portal', 'api']);
    expect(doc?.options.scenarios['login_storm']).toMatchObject({ preAllocatedVUs: 100, maxVUs: 200 });
    expect(doc?.options.thresholds).toMatchObject({
      rac_sessions_observed: ['max>=5000'],
      rac_sessions_held_seconds: ['max>=1200'],
      'http_req_failed{scenario:portal}': ['rate<0.01'],
      'http_req_duration{scenario:api}': ['p(95)<1000'],
    });
  });

  it('turn off the scenarios whose target is not configured', async () => {
    const { doc } = await inspect({ RAC_TARGET_SESSIONS: '150', RAC_PROMETHEUS_URL: 'http://127.0.0.1:9090' });
    expect(Object.keys(doc?.options.scenarios ?? {})).toEqual(['sessions_held']);
    expect(doc?.problems).toEqual([]);
  });

  it('dry-run only against loopback: any other address is refused before a packet is sent', async () => {
    const result = await run(process.execPath, [join(ROOT, 'loadtests/test/dry-run.ts'), SCRIPT], {
      cwd: scratch,
      env: {
        PATH: process.env['PATH'] ?? '',
        RAC_TARGET_SESSIONS: '0',
        RAC_HOLD: '0s',
        RAC_PROMETHEUS_URL: 'http://192.0.2.10:9090',
      },
    }).catch((err: { code: number; stdout: string; stderr: string }) => err);
    expect('code' in result ? result.code : 0).toBe(107);
    expect(result.stderr).toContain('refusing http://192.0.2.10:9090/api/v1/query');
    expect(result.stderr).toContain('only loopback addresses and the hosts in RAC_DRY_RUN_LOCAL_HOSTS are allowed');
    expect(result.stderr).toContain('dry run: no load generated');
  });

  it('refuse options k6 would refuse (exit 104), and bad settings at init (exit 107)', async () => {
    const refused = await inspect({
      RAC_TARGET_SESSIONS: '10',
      RAC_PROMETHEUS_URL: 'http://127.0.0.1:9090',
      RAC_LDAP_URL: 'ldap://127.0.0.1:389',
      RAC_LDAP_USERS_BASE: 'ou=people,dc=corp,dc=example',
      RAC_ACCOUNTS: join(scratch, 'accounts.csv'),
      RAC_LOGIN_VUS: '10',
      RAC_LOGIN_MAX_VUS: '5',
    });
    expect(refused.code).toBe(104);
    expect(refused.doc?.problems).toEqual([
      "options.scenarios.login_storm.maxVUs: maxVUs can't be less than preAllocatedVUs",
    ]);
    const bad = await inspect({ RAC_PROMETHEUS_URL: 'prometheus' });
    expect(bad.code).toBe(107);
    expect(bad.stderr).toContain('RAC_TARGET_SESSIONS: required');
    expect(bad.stderr).toContain('RAC_PROMETHEUS_URL: must be an http:// or https:// URL, not prometheus');
  });
});
