import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCompany } from '../../infra/local/company.ts';
import { freePort, type LocalPrometheus, startPrometheus } from '../../infra/local/prometheus.ts';
import { type LocalStack, startStack } from '../../infra/local/stack.ts';
import { connectVpnClients, stopVpnClients, type VpnClient } from '../../infra/local/vpn-clients.ts';
import { rosterFor } from '../../infra/local/workspace.ts';
import { type RacServe, runDryRunCheck, runRac, startRacServe } from '../support/rac-env.ts';

const company = generateCompany(6, { seed: 4242 });
const online = company.slice(0, 3);

describe('a dry-run capacity check over real VPN sessions verifies capacity where the config accepts dry runs', () => {
  let stack: LocalStack;
  let dir: string;
  let serve: RacServe;
  let prometheus: LocalPrometheus;
  const clients: VpnClient[] = [];

  beforeAll(async () => {
    stack = await startStack({ people: company, gateways: 1, bastions: 0 });
    dir = mkdtempSync(join(tmpdir(), 'rac-check-'));
    const port = await freePort();
    writeFileSync(
      join(dir, 'rac.yaml'),
      `${stack.config({ sshTimeoutMs: 5000, acceptDryRun: true })}collector: { interval_seconds: 1 }\nhttp: { listen: "127.0.0.1:${port}" }\n`,
    );
    writeFileSync(join(dir, 'policy.yaml'), 'default: { tier: public, max: vpn }\nrules: []\n');
    writeFileSync(
      join(dir, 'roster.csv'),
      rosterFor(online, () => ({ tier: 'vpn' })),
    );
    const applied = await runRac(dir, ['apply', 'roster.csv', '--yes']);
    if (applied.code !== 0) throw new Error(`apply failed: ${applied.stdout}${applied.stderr}`);
    clients.push(
      ...(await connectVpnClients(
        stack.gateways[0] as never,
        online.map((p) => ({ username: p.uid, password: p.password })),
        { timeoutMs: 30_000 },
      )),
    );
    serve = await startRacServe(dir, { env: { ...process.env } });
    prometheus = await startPrometheus(`127.0.0.1:${port}`);
    writeFileSync(
      join(dir, 'accounts.csv'),
      `uid,password\n${online.map((p) => `${p.uid},"${p.password.replaceAll('"', '""')}"`).join('\n')}\n`,
    );
  }, 180_000);

  afterAll(async () => {
    await serve?.stop();
    await prometheus?.stop();
    await stopVpnClients(clients);
    await stack?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('holds the real sessions, sees them through Prometheus, records them and exports the verified figure', async () => {
    expect(clients.map((c) => c.outcome)).toEqual(['connected', 'connected', 'connected']);
    const seen = await prometheus.waitFor(
      'sum(remote_access_sessions)',
      (r) => Number(r[0]?.value[1] ?? 0) === 3,
      30_000,
    );
    expect(Number(seen[0]?.value[1])).toBe(3);
    const board = await runRac(dir, ['capacity', '--json']);
    const topology = board.json<{ topology: { digest: string } }>().topology.digest;

    const run = await runDryRunCheck(dir, {
      RAC_TARGET_SESSIONS: '3',
      RAC_HOLD: '0s',
      RAC_DURATION: '1m',
      RAC_PROMETHEUS_URL: prometheus.url,
      RAC_LDAP_URL: stack.directory.url,
      RAC_LDAP_USERS_BASE: stack.directory.usersBase,
      RAC_ACCOUNTS: join(dir, 'accounts.csv'),
      RAC_TOPOLOGY: topology,
    });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain('capacity check PASSED: peak 3 sessions, target 3');

    const recorded = await runRac(dir, ['check', 'record', 'summary.json']);
    expect(recorded.code, recorded.stderr).toBe(0);
    expect(recorded.stdout).toContain('dry run: no load generated');
    expect(recorded.stdout).toContain('capacity: verified by a dry run (capacity.accept_dry_run): 3 sessions');

    const human = await runRac(dir, ['capacity']);
    expect(human.stdout).toContain('verified by a dry run (no load generated)');
    expect((await runRac(dir, ['capacity', '--json'])).json()).toMatchObject({
      limit: { sessions: 3, source: 'verified' },
      verified: { sessions: 3, dryRun: true },
    });
    // The same stored dry run verifies nothing once the config stops accepting dry runs.
    const strict = await runRac(dir, ['capacity', '--json'], { env: { RAC_CAPACITY_ACCEPT_DRY_RUN: 'false' } });
    expect(strict.json()).toMatchObject({ verified: null, limit: { source: 'target' } });
    const exported = await prometheus.waitFor('remote_access_capacity_verified_sessions', (r) => r.length > 0, 30_000);
    expect(exported[0]?.metric['topology']).toBe(topology);
    expect(Number(exported[0]?.value[1])).toBe(3);
  });
});
