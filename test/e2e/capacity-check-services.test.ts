import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCompany } from '../../infra/local/company.ts';
import { freePort, type LocalPrometheus, startPrometheus } from '../../infra/local/prometheus.ts';
import { type LocalStack, startStack } from '../../infra/local/stack.ts';
import { rosterFor } from '../../infra/local/workspace.ts';
import { type RacServe, runDryRunCheck, runRac, startRacServe } from '../support/rac-env.ts';

const company = generateCompany(8, { seed: 6060 });
const people = company.slice(0, 4);

/**
 * The capacity check's `portal` and `api` scenarios, dry run once each against the real access
 * proxy (nginx, LDAP sign-in, the allow map rac keeps) and the real provisioning service, whose
 * capacity-check route then records the summary.
 */
describe('the k6 portal and api scenarios, dry run against the real proxy and rac serve', () => {
  let stack: LocalStack;
  let dir: string;
  let serve: RacServe;
  let prometheus: LocalPrometheus;
  let port: number;

  beforeAll(async () => {
    stack = await startStack({ people: company, gateways: 0, bastions: 0, proxies: 1 });
    dir = mkdtempSync(join(tmpdir(), 'rac-check-svc-'));
    port = await freePort();
    writeFileSync(
      join(dir, 'rac.yaml'),
      `${stack.config({ sshTimeoutMs: 5000 }).replace('  enforce: refuse\n', '  enforce: refuse\n  accept_dry_run: true\n')}collector: { interval_seconds: 1 }\nhttp: { listen: "127.0.0.1:${port}" }\n`,
    );
    writeFileSync(join(dir, 'policy.yaml'), 'default: { tier: public, max: vpn }\nrules: []\n');
    writeFileSync(
      join(dir, 'roster.csv'),
      rosterFor(people, () => ({ tier: 'public' })),
    );
    const applied = await runRac(dir, ['apply', 'roster.csv', '--yes']);
    if (applied.code !== 0) throw new Error(`apply failed: ${applied.stdout}${applied.stderr}`);
    const token = await runRac(dir, ['token', 'create', '--role', 'admin', '--name', 'k6', '--json']);
    if (token.code !== 0) throw new Error(`token create failed: ${token.stderr}`);
    writeFileSync(join(dir, 'token'), token.json<{ token: string }>().token, { mode: 0o600 });
    writeFileSync(join(dir, 'portal.crt'), stack.proxies[0]?.certificate as string);
    writeFileSync(
      join(dir, 'accounts.csv'),
      `uid,password\n${people.map((p) => `${p.uid},"${p.password.replaceAll('"', '""')}"`).join('\n')}\n`,
      { mode: 0o600 },
    );
    serve = await startRacServe(dir, { env: { ...process.env, RAC_LOG_LEVEL: 'error' } });
    prometheus = await startPrometheus(`127.0.0.1:${port}`);
  }, 180_000);

  afterAll(async () => {
    await serve?.stop();
    await prometheus?.stop();
    await stack?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('signs in through the proxy, reads the service, passes, and the service records the summary', async () => {
    const proxy = stack.proxies[0] as (typeof stack.proxies)[number];
    // One person active on the portal: the check has a session to see.
    expect(
      (await proxy.get('/', { user: people[0]?.uid as string, password: people[0]?.password as string })).status,
    ).toBe(200);
    await prometheus.waitFor('sum(remote_access_sessions)', (r) => Number(r[0]?.value[1] ?? 0) >= 1, 30_000);
    const topology = (await runRac(dir, ['capacity', '--json'])).json<{ topology: { digest: string } }>().topology
      .digest;
    const run = await runDryRunCheck(dir, {
      RAC_TARGET_SESSIONS: '1',
      RAC_HOLD: '0s',
      RAC_DURATION: '1m',
      RAC_PROMETHEUS_URL: prometheus.url,
      RAC_ACCOUNTS: join(dir, 'accounts.csv'),
      RAC_PORTAL_URL: `https://${proxy.address}/`,
      RAC_API_URL: `http://127.0.0.1:${port}`,
      RAC_API_TOKEN_FILE: join(dir, 'token'),
      RAC_TOPOLOGY: topology,
      RAC_DRY_RUN_LOCAL_HOSTS: proxy.address,
      NODE_EXTRA_CA_CERTS: join(dir, 'portal.crt'),
    });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain('dry run: no load generated');
    expect(run.stdout).toMatch(/portal ran \(\d+ iterations?\)/);
    expect(run.stdout).toMatch(/api ran \(\d+ iterations?\)/);
    expect(run.stdout).toMatch(/recorded by http:\/\/127\.0\.0\.1:\d+ \(HTTP 20[01]\)/);
    const listed = await runRac(dir, ['check', 'list']);
    expect(listed.stdout).toContain('dry run');

    // The portal scenario fails when the proxy refuses its people: the threshold is real.
    await runRac(dir, ['revoke', ...people.map((p) => p.uid)]);
    const refused = await runDryRunCheck(dir, {
      RAC_TARGET_SESSIONS: '0',
      RAC_HOLD: '0s',
      RAC_DURATION: '1m',
      RAC_PROMETHEUS_URL: prometheus.url,
      RAC_ACCOUNTS: join(dir, 'accounts.csv'),
      RAC_PORTAL_URL: `https://${proxy.address}/`,
      RAC_TOPOLOGY: topology,
      RAC_DRY_RUN_LOCAL_HOSTS: proxy.address,
      NODE_EXTRA_CA_CERTS: join(dir, 'portal.crt'),
    });
    expect(refused.code, refused.stdout).toBe(99);
  });
});
