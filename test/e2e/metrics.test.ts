import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HeldSession, sshLogin } from '../../infra/local/bastion-host.ts';
import { type CompanyPerson, generateCompany } from '../../infra/local/company.ts';
import { freePort, type LocalPrometheus, startPrometheus } from '../../infra/local/prometheus.ts';
import { type LocalStack, startStack } from '../../infra/local/stack.ts';
import { connectVpnClients, stopVpnClients, type VpnClient } from '../../infra/local/vpn-clients.ts';
import { rosterFor } from '../../infra/local/workspace.ts';
import { type RacServe, runRac, startRacServe } from '../support/rac-env.ts';

const POLICY = 'default: { tier: public, max: vpn-bastion }\nrules: []\n';
const company = generateCompany(230, { seed: 404 });
const vpnPeople = company.slice(0, 210);
const bastionPeople = company.slice(210, 213);
const publicPeople = company.slice(213, 218);
const sum = (r: Array<{ value: [number, string] }>) => r.reduce((s, x) => s + Number(x.value[1]), 0);

describe('sessions and capacity metrics through a real Prometheus', () => {
  let stack: LocalStack;
  let dir: string;
  let serve: RacServe;
  let prometheus: LocalPrometheus;
  let metricsUrl: string;
  const clients: VpnClient[] = [];
  const held: HeldSession[] = [];
  const keyFiles = new Map<string, string>();

  beforeAll(async () => {
    stack = await startStack({ people: company, gateways: 2, bastions: 1 });
    dir = mkdtempSync(join(tmpdir(), 'rac-metrics-'));
    for (const p of bastionPeople) {
      const file = join(dir, `${p.uid}.key`);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
      keyFiles.set(p.uid, file);
    }
    const port = await freePort();
    writeFileSync(
      join(dir, 'rac.yaml'),
      `${stack.config({ sshTimeoutMs: 5000 })}collector: { interval_seconds: 1 }\nhttp: { listen: "127.0.0.1:${port}" }\n`,
    );
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    writeFileSync(
      join(dir, 'roster.csv'),
      rosterFor([...vpnPeople, ...bastionPeople, ...publicPeople], (p) =>
        bastionPeople.includes(p)
          ? { tier: 'vpn-bastion', ssh_key: readFileSync(`${keyFiles.get(p.uid)}.pub`, 'utf8').trim() }
          : publicPeople.includes(p)
            ? { tier: 'public' }
            : { tier: 'vpn' },
      ),
    );
    const applied = await runRac(dir, ['apply', 'roster.csv', '--yes']);
    if (applied.code !== 0) throw new Error(`apply failed: ${applied.stdout}${applied.stderr}`);

    // 200 real clients of vpn people (100 per gateway) and 3 bastion logins.
    for (const [i, gateway] of stack.gateways.entries()) {
      const people = vpnPeople.slice(i * 100, i * 100 + 100);
      const connected = await connectVpnClients(
        gateway as never,
        people.map((p) => ({ username: p.uid, password: p.password })),
        { concurrency: 25, timeoutMs: 30_000 },
      );
      clients.push(...connected);
    }
    for (const p of bastionPeople) {
      held.push(
        await sshLogin({
          bastion: stack.bastions[0] as never,
          user: p.uid,
          privateKeyFile: keyFiles.get(p.uid) as string,
          hold: true,
        }),
      );
    }
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    serve = await startRacServe(dir, { port, env: { ...process.env } });
    prometheus = await startPrometheus(`127.0.0.1:${port}`);
  }, 180_000);

  afterAll(async () => {
    await serve?.stop();
    await prometheus?.stop();
    await stopVpnClients(clients);
    await Promise.all(held.map((h) => h.stop()));
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('connected all 200 clients', () => {
    expect(clients.filter((c) => c.outcome === 'connected')).toHaveLength(200);
  });

  it('counts exactly the real sessions, by gateway and tier, in Prometheus; failed logins are not counted', async () => {
    // Clients that fail authentication show up on the server while they try: never as sessions.
    const failing = await connectVpnClients(
      stack.gateways[0] as never,
      publicPeople
        .map((p) => ({ username: p.uid, password: p.password }))
        .concat([{ username: (vpnPeople[205] as CompanyPerson).uid, password: 'wrong' }]),
      { timeoutMs: 15_000 },
    );
    try {
      expect(failing.every((c) => c.outcome === 'auth-failed')).toBe(true);
      const result = await prometheus.waitFor('sum(remote_access_sessions)', (r) => sum(r) === 203, 30_000);
      expect(sum(result)).toBe(203);
      const byGateway = await prometheus.query('sum by (gateway, tier) (remote_access_sessions) > 0');
      expect(
        Object.fromEntries(byGateway.map((r) => [`${r.metric['gateway']}/${r.metric['tier']}`, Number(r.value[1])])),
      ).toEqual({
        'gw-1/vpn': 100,
        'gw-2/vpn': 100,
        'bastion-1/vpn-bastion': 3,
      });
      // The recording rule counts VPN sessions: a bastion session rides on one.
      const recorded = await prometheus.waitFor('remote_access:sessions:sum', (r) => sum(r) === 200, 30_000);
      expect(sum(recorded)).toBe(200);
      expect(sum(await prometheus.query('remote_access_users_online{tier="vpn"}'))).toBe(200);
      expect(sum(await prometheus.query('remote_access_grants'))).toBe(218);
    } finally {
      await stopVpnClients(failing);
    }
  });

  it('exports metrics that promtool accepts, with no per-person label', async () => {
    const body = await (await fetch(metricsUrl)).text();
    const check = execFileSync('sh', ['-c', 'promtool check metrics; echo "exit=$?"'], {
      input: body,
      encoding: 'utf8',
    });
    expect(check.trim().split('\n').at(-1)).toBe('exit=0');
    for (const p of vpnPeople.slice(0, 20)) expect(body).not.toContain(p.uid);
    expect(body).toMatch(/remote_access_onboarding_people\{tier="vpn",stage="connected_once"\} 200/);
  });

  it('evaluates the project’s recording and alert rules', async () => {
    const rules = (await prometheus.rules()) as {
      groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }>;
    };
    const all = rules.groups.flatMap((g) => g.rules);
    expect(all.length).toBeGreaterThan(5);
    for (const rule of all)
      expect({ name: rule.name, health: rule.health, error: rule.lastError ?? '' }).toEqual({
        name: rule.name,
        health: 'ok',
        error: '',
      });
    const ratio = await prometheus.waitFor('remote_access:capacity_utilization:ratio', (r) => r.length > 0, 30_000);
    expect(ratio, JSON.stringify(await prometheus.query('{__name__=~"remote_access:.*"}'))).toHaveLength(1);
    expect(Number(ratio[0]?.value[1])).toBeCloseTo(200 / 5000, 5);
  });

  it('lists the same sessions with rac sessions, and shows them on the capacity board', async () => {
    const sessions = await runRac(dir, ['sessions', '--json']);
    expect(sessions.code, sessions.stderr).toBe(0);
    const list = sessions.json<{ sessions: Array<{ uid: string; gateway: string; tier: string }> }>().sessions;
    expect(list).toHaveLength(203);
    expect(new Set(list.filter((s) => s.tier === 'vpn').map((s) => s.uid)).size).toBe(200);
    const onGw2 = await runRac(dir, ['sessions', '--gateway', 'gw-2', '--tier', 'vpn', '--json']);
    expect(onGw2.json<{ sessions: unknown[] }>().sessions).toHaveLength(100);
    const board = await runRac(dir, ['capacity', '--json']);
    expect(board.code).toBe(0);
    expect(board.json()).toMatchObject({
      targetSessions: 5000,
      limit: { sessions: 5000, source: 'target' },
      verified: null,
      sessions: 203,
      gateways: [
        { name: 'gw-1', up: true, sessions: 100, rated: 2500 },
        { name: 'gw-2', up: true, sessions: 100, rated: 2500 },
        { name: 'bastion-1', up: true, sessions: 3, rated: 400 },
      ],
    });
    const human = await runRac(dir, ['capacity']);
    expect(human.stdout).toContain('203 / 5000');
  });

  it('flips gateway_up to 0 for a gateway that stops answering while the others keep reporting', async () => {
    // The OpenVPN server of gw-2 stops: its management socket is gone, the host stays reachable.
    await stack.gateways[1]?.stopServer();
    try {
      const down = await prometheus.waitFor(
        'remote_access_gateway_up{gateway="gw-2"}',
        (r) => r[0]?.value[1] === '0',
        30_000,
      );
      expect(down[0]?.value[1]).toBe('0');
      expect((await prometheus.query('remote_access_gateway_up{gateway="gw-1"}'))[0]?.value[1]).toBe('1');
      expect((await prometheus.query('remote_access_gateway_up{gateway="bastion-1"}'))[0]?.value[1]).toBe('1');
      const pending = await prometheus.waitFor(
        'ALERTS{alertname="RemoteAccessGatewayDown"}',
        (r) => r.length > 0,
        15_000,
      );
      expect(pending[0]?.metric['gateway']).toBe('gw-2');
      const errors = await prometheus.waitFor(
        'sum(remote_access_collect_errors_total{gateway="gw-2"})',
        (r) => sum(r) > 0,
        15_000,
      );
      expect(sum(errors)).toBeGreaterThan(0);
    } finally {
      await stack.gateways[1]?.startServer();
    }
  });
});
