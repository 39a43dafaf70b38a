import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCompany } from '../../infra/local/company.ts';
import { freePort, type LocalPrometheus, startPrometheus } from '../../infra/local/prometheus.ts';
import { type LocalStack, startStack } from '../../infra/local/stack.ts';
import { connectVpnClients, stopVpnClients, type VpnClient } from '../../infra/local/vpn-clients.ts';
import { rosterFor } from '../../infra/local/workspace.ts';
import { RAC, runDryRunCheck, runRac } from '../support/rac-env.ts';

const company = generateCompany(8, { seed: 9090 });
const [p0, p1, p2, p3, p4, p5] = company as [
  (typeof company)[0],
  (typeof company)[0],
  (typeof company)[0],
  (typeof company)[0],
  (typeof company)[0],
  (typeof company)[0],
];
const granted = [p0, p1, p2];

/** The stack's rac.yaml with only the named gateways (the stack runs more than the config lists). */
function configWith(stack: LocalStack, port: number, names: readonly string[]): string {
  return `${stack.config({ sshTimeoutMs: 5000, only: names, acceptDryRun: true })}collector: { interval_seconds: 1 }\nhttp: { listen: "127.0.0.1:${port}" }\n`;
}

describe('rac expand: a second gateway, capacity unverified, then verified again by a check of the new topology', () => {
  let stack: LocalStack;
  let dir: string;
  let port: number;
  let serve: ChildProcess | null = null;
  let prometheus: LocalPrometheus;
  const clients: VpnClient[] = [];

  const startServe = () => {
    serve = spawn(RAC, ['serve'], { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env } });
  };
  const stopServe = async () => {
    const s = serve;
    serve = null;
    if (s === null || s.exitCode !== null) return;
    await new Promise((r) => {
      s.once('exit', r);
      s.kill('SIGTERM');
    });
  };
  /** What rac serve says on stderr when it starts (it is stopped again once it listens). */
  const serveWarning = () =>
    new Promise<string>((done, fail) => {
      const child = spawn(RAC, ['serve', '--listen', '127.0.0.1:0'], {
        cwd: dir,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env },
      });
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (stderr.includes('rac serve: /metrics')) child.kill('SIGTERM');
      });
      child.on('error', fail);
      child.on('close', () => {
        clearTimeout(timer);
        done(stderr);
      });
    });
  /** A dry-run capacity check of the config's topology over the sessions held now, recorded. */
  const checkCapacity = async (target: number) => {
    const seen = await prometheus.waitFor(
      'sum(remote_access_sessions)',
      (r) => Number(r[0]?.value[1] ?? 0) === target,
      30_000,
    );
    expect(Number(seen[0]?.value[1])).toBe(target);
    const topology = (await runRac(dir, ['capacity', '--json'])).json<{ topology: { digest: string } }>().topology
      .digest;
    const run = await runDryRunCheck(dir, {
      RAC_TARGET_SESSIONS: String(target),
      RAC_HOLD: '0s',
      RAC_DURATION: '1m',
      RAC_PROMETHEUS_URL: prometheus.url,
      RAC_LDAP_URL: stack.directory.url,
      RAC_LDAP_USERS_BASE: stack.directory.usersBase,
      RAC_ACCOUNTS: join(dir, 'accounts.csv'),
      RAC_TOPOLOGY: topology,
    });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const recorded = await runRac(dir, ['check', 'record', 'summary.json']);
    expect(recorded.code, `${recorded.stdout}${recorded.stderr}`).toBe(0);
    return topology;
  };

  beforeAll(async () => {
    stack = await startStack({ people: company, gateways: 2, bastions: 0 });
    dir = mkdtempSync(join(tmpdir(), 'rac-expand-'));
    port = await freePort();
    writeFileSync(join(dir, 'rac.yaml'), configWith(stack, port, ['gw-1']));
    writeFileSync(join(dir, 'policy.yaml'), 'default: { tier: public, max: vpn }\nrules: []\n');
    const vpn = () => ({ tier: 'vpn' });
    writeFileSync(join(dir, 'granted.csv'), rosterFor(granted, vpn));
    writeFileSync(join(dir, 'one-more.csv'), rosterFor([p3], vpn));
    writeFileSync(join(dir, 'two-more.csv'), rosterFor([p4, p5], vpn));
    writeFileSync(
      join(dir, 'accounts.csv'),
      `uid,password\n${granted.map((p) => `${p.uid},"${p.password.replaceAll('"', '""')}"`).join('\n')}\n`,
    );
    const applied = await runRac(dir, ['apply', 'granted.csv', '--yes']);
    if (applied.code !== 0) throw new Error(`apply failed: ${applied.stdout}${applied.stderr}`);
    clients.push(
      ...(await connectVpnClients(
        stack.gateways[0] as never,
        granted.map((p) => ({ username: p.uid, password: p.password })),
        { timeoutMs: 30_000 },
      )),
    );
    startServe();
    prometheus = await startPrometheus(`127.0.0.1:${port}`);
  }, 180_000);

  afterAll(async () => {
    await stopServe();
    await prometheus?.stop();
    await stopVpnClients(clients);
    await stack?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('takes the expansion in, grants against the previous verified figure, then against the new one', async () => {
    // 1. The one-gateway topology verified at 3 real sessions (a dry run, accepted by the config).
    expect(clients.map((c) => c.outcome)).toEqual(['connected', 'connected', 'connected']);
    const small = await checkCapacity(3);
    expect((await runRac(dir, ['capacity', '--json'])).json()).toMatchObject({
      limit: { sessions: 3, source: 'verified' },
    });

    // 2. The config now lists both gateways: every command that reads it says so, and nothing is guessed.
    await stopServe();
    writeFileSync(join(dir, 'rac.yaml'), configWith(stack, port, ['gw-1', 'gw-2']));
    const plan = await runRac(dir, ['plan', 'one-more.csv']);
    expect(plan.stderr).toContain(`is not the recorded one (${small}`);
    expect(plan.stderr).toContain('+ gw-2 (openvpn, rated 2500)');
    expect(plan.stderr).toContain('run rac expand');
    // Not proven yet, so not granted against: 4 vpn people × 0.9 = 4 > the 3 verified for one gateway.
    expect(plan.code, plan.stdout).toBe(4);
    expect(plan.stdout).toContain('against previous-verified capacity 3');
    const apply = await runRac(dir, ['apply', 'one-more.csv', '--yes']);
    expect(apply.code, apply.stdout).toBe(4);
    expect(apply.stderr).toContain('+ gw-2 (openvpn, rated 2500)');
    expect(await serveWarning()).toContain('+ gw-2 (openvpn, rated 2500)');
    // Without a terminal, expand needs --yes; nothing is recorded.
    const unconfirmed = await runRac(dir, ['expand']);
    expect(unconfirmed.code, unconfirmed.stderr).toBe(2);
    expect(unconfirmed.stdout).toContain('+ gw-2 (openvpn, rated 2500)');
    expect(unconfirmed.stderr).toContain('--yes');

    // A new host that cannot be reached: exit 5, the topology stays unrecorded, so a re-run finishes the job.
    await stack.pauseHost('gw-2');
    try {
      const down = await runRac(dir, ['expand', '--yes', '--json']);
      expect(down.code, down.stderr).toBe(5);
      expect(down.json()).toMatchObject({ status: 'partial', hosts: [{ name: 'gw-2', status: 'unavailable' }] });
    } finally {
      await stack.resumeHost('gw-2');
    }
    expect((await runRac(dir, ['capacity', '--json'])).stderr).toContain('+ gw-2 (openvpn, rated 2500)');

    // 3. rac expand pushes every existing grant to gw-2 (read back), records the topology, capacity unverified.
    const expanded = await runRac(dir, ['expand', '--yes', '--json']);
    expect(expanded.code, expanded.stderr).toBe(0);
    const report = expanded.json<{
      status: string;
      from: string;
      to: string;
      hosts: Array<{ name: string; status: string; verified: number; expected: number }>;
      capacity: { sessions: number; source: string; detail: string };
    }>();
    expect(report).toMatchObject({
      status: 'recorded',
      from: small,
      hosts: [{ name: 'gw-2', status: 'applied', verified: 3, expected: 3 }],
      capacity: { sessions: 3, source: 'previous-verified' },
    });
    expect(report.capacity.detail).toContain(`verified for the previous topology ${small}`);
    const again = await runRac(dir, ['expand']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Nothing to do');
    expect(again.stderr).not.toContain('warning');
    // People granted before the expansion connect to the new gateway (ccd-exclusive: only with their grant).
    const onNew = await connectVpnClients(
      stack.gateways[1] as never,
      [p0, p1].map((p) => ({ username: p.uid, password: p.password })),
      { timeoutMs: 30_000 },
    );
    clients.push(...onNew);
    expect(onNew.map((c) => c.outcome)).toEqual(['connected', 'connected']);

    const board = (await runRac(dir, ['capacity', '--json'])).json<Record<string, unknown>>();
    expect(board).toMatchObject({
      verified: null,
      topology: { digest: report.to },
      limit: { sessions: 3, source: 'previous-verified' },
    });
    const human = await runRac(dir, ['capacity']);
    expect(human.stdout).toContain('limit      3 — previous-verified: this topology is unverified');
    expect(human.stdout).toContain('verified none for this topology');
    startServe();
    // The exporter of the new topology is scraped, and exports no verified figure for it.
    await prometheus.waitFor('remote_access_capacity_rated_sessions{gateway="gw-2"}', (r) => r.length > 0, 30_000);
    expect(await prometheus.query('remote_access_capacity_verified_sessions')).toEqual([]);
    const previous = await prometheus.query('remote_access_capacity_previous_verified_sessions');
    expect(previous.map((r) => [r.metric['topology'], r.value[1]])).toEqual([[small, '3']]);
    // The recording rule the capacity alerts use agrees with the gate.
    const limit = await prometheus.waitFor(
      'remote_access:capacity_limit:sessions',
      (r) => r[0]?.value[1] === '3',
      10_000,
    );
    expect(limit[0]?.value[1]).toBe('3');

    // 4. Onboarding beyond the previous verified capacity is refused, with the numbers.
    const refused = await runRac(dir, ['apply', 'one-more.csv', '--yes']);
    expect(refused.code, refused.stdout).toBe(4);
    expect(refused.stderr).toContain('expected peak 3 → 4 sessions against previous-verified capacity 3');
    expect(refused.stderr).toContain('over by 1');

    // 5. A check of the two-gateway topology: 5 real sessions over both gateways.
    const big = await checkCapacity(5);
    expect(big).toBe(report.to);
    expect((await runRac(dir, ['capacity', '--json'])).json()).toMatchObject({
      limit: { sessions: 5, source: 'verified' },
      verified: { sessions: 5, dryRun: true },
    });
    const exported = await prometheus.waitFor('remote_access_capacity_verified_sessions', (r) => r.length > 0, 30_000);
    expect(exported[0]?.metric['topology']).toBe(big);
    expect(Number(exported[0]?.value[1])).toBe(5);
    expect(
      await prometheus.waitFor('remote_access_capacity_previous_verified_sessions', (r) => r.length === 0, 10_000),
    ).toEqual([]);

    // 6. Within it: allowed. Beyond it: refused.
    const within = await runRac(dir, ['apply', 'one-more.csv', '--yes']);
    expect(within.code, `${within.stdout}${within.stderr}`).toBe(0);
    const beyond = await runRac(dir, ['apply', 'two-more.csv', '--yes']);
    expect(beyond.code, beyond.stdout).toBe(4);
    expect(beyond.stderr).toContain('expected peak 4 → 6 sessions against verified capacity 5');
  }, 300_000);
});
