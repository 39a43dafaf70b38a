import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCompany } from '../../infra/local/company.ts';
import { freePort, type LocalPrometheus, startPrometheus } from '../../infra/local/prometheus.ts';
import { type RacEnv, type RacServe, runDryRunCheck, startRacEnv, startRacServe } from '../support/rac-env.ts';

const company = generateCompany(8, { seed: 909 });

describe('the k6 capacity check, dry run on the real local stack (slapd, rac serve, Prometheus)', () => {
  let env: RacEnv;
  let serve: RacServe;
  let prometheus: LocalPrometheus;
  let checkEnv: Record<string, string>;

  beforeAll(async () => {
    const port = await freePort();
    env = await startRacEnv({
      people: company,
      config: (d) => `${d}collector: { interval_seconds: 1 }\nhttp: { listen: "127.0.0.1:${port}" }\n`,
    });
    serve = await startRacServe(env.dir, { port, env: { ...process.env } });
    prometheus = await startPrometheus(`127.0.0.1:${port}`);
    await prometheus.waitFor('count(remote_access_capacity_target_sessions)', (r) => r.length > 0, 30_000);
    env.write(
      'accounts.csv',
      `uid,password\n${company
        .slice(0, 4)
        .map((p) => `${p.uid},"${p.password.replaceAll('"', '""')}"`)
        .join('\n')}\n`,
    );
    checkEnv = {
      RAC_TARGET_SESSIONS: '0',
      RAC_HOLD: '0s',
      RAC_DURATION: '1m',
      RAC_PROMETHEUS_URL: prometheus.url,
      RAC_LDAP_URL: env.directory.url,
      RAC_LDAP_USERS_BASE: env.directory.usersBase,
      RAC_ACCOUNTS: join(env.dir, 'accounts.csv'),
      RAC_SUMMARY_PATH: 'summary.json',
    };
  }, 90_000);

  afterAll(async () => {
    await serve?.stop();
    await prometheus?.stop();
    await env?.stop();
  }, 60_000);

  it('runs every configured scenario once against the real servers, says no load was generated, and passes', async () => {
    const run = await runDryRunCheck(env.dir, checkEnv);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('dry run: no load generated');
    expect(run.stderr).toMatch(/scenario sessions_held \(constant-vus, sessionsHeld\): one iteration/);
    expect(run.stderr).toMatch(/scenario login_storm \(ramping-arrival-rate, loginStorm\): one iteration/);
    expect(run.stdout).toContain('dry run: no load generated');
    expect(run.stdout).toContain('capacity check PASSED: peak 0 sessions, target 0');
    expect(run.stdout).toContain('portal skipped (RAC_PORTAL_URL not set)');
    expect(run.stdout).toContain('api skipped (RAC_API_URL not set)');
    const summary = JSON.parse(readFileSync(join(env.dir, 'summary.json'), 'utf8'));
    expect(summary.rac).toMatchObject({ dryRun: true, targetSessions: 0 });
    // One real LDAP bind that succeeded, and one real read of the exporter through Prometheus.
    expect(summary.metrics.rac_login_success.values).toMatchObject({ rate: 1, passes: 1, fails: 0 });
    expect(summary.metrics.rac_sessions_observed.values).toMatchObject({ max: 0, count: 1 });
    expect(summary.metrics.rac_gateways_up.values).toMatchObject({ passes: 1 });
    expect(summary.metrics.checks.values).toMatchObject({ fails: 0 });
  });

  it('records the dry run with rac check record, stored and listed as a dry run', async () => {
    const human = await env.rac(['check', 'record', 'summary.json']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('dry run: no load generated');
    expect(human.stdout).toMatch(/recorded chk-[0-9a-f]{8} against topology sha256:[0-9a-f]{16} \(handle-summary/);
    const json = await env.rac(['check', 'record', 'summary.json', '--json']);
    expect(json.json()).toMatchObject({
      shape: 'handle-summary',
      dryRun: true,
      note: 'dry run: no load generated',
      passed: true,
      peakSessions: 0,
      verifiesCapacity: false,
    });
    const list = await env.rac(['check', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout.match(/dry run: no load generated/g)).toHaveLength(2);
    const board = await env.rac(['capacity', '--json']);
    expect(board.json()).toMatchObject({ verified: null });
  });

  it('fails when a real bind fails: the directory, not a stand-in, decides', async () => {
    env.write('bad-accounts.csv', `uid,password\n${company[5]?.uid},not-the-password\n`);
    const run = await runDryRunCheck(env.dir, {
      ...checkEnv,
      RAC_ACCOUNTS: join(env.dir, 'bad-accounts.csv'),
      RAC_SUMMARY_PATH: 'failed.json',
    });
    expect(run.code, run.stderr).toBe(99);
    expect(run.stdout).toContain('capacity check FAILED');
    expect(run.stdout).toContain('✗ connect-success: 0% of 1 logins succeeded');
    expect(run.stderr).toContain('threshold failed: rac_login_success: rate>=0.99');
    expect(existsSync(join(env.dir, 'failed.json'))).toBe(true);
    const recorded = await env.rac(['check', 'record', 'failed.json']);
    expect(recorded.code).toBe(4);
    expect(recorded.stdout).toContain('capacity check FAILED');
  });

  it('refuses a script whose options k6 would refuse, before running anything', async () => {
    const run = await runDryRunCheck(env.dir, { ...checkEnv, RAC_LOGIN_VUS: '8', RAC_LOGIN_MAX_VUS: '4' });
    expect(run.code).toBe(104);
    expect(run.stderr).toContain("options.scenarios.login_storm.maxVUs: maxVUs can't be less than preAllocatedVUs");
  });
});
