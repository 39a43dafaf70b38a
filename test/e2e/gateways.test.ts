import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshLogin } from '../../infra/local/bastion-host.ts';
import { type CompanyPerson, generateCompany } from '../../infra/local/company.ts';
import { execIn } from '../../infra/local/netns.ts';
import { type LocalStack, startStack } from '../../infra/local/stack.ts';
import { connectVpnClient, type VpnClient } from '../../infra/local/vpn-clients.ts';
import { rosterFor } from '../../infra/local/workspace.ts';
import type { ApplyReport } from '../../src/services/apply-plan.ts';
import type { DriftReport } from '../../src/services/drift.ts';
import type { RevokeReport } from '../../src/services/revoke-access.ts';
import type { PersonStatus } from '../../src/services/user-status.ts';
import { runRac } from '../support/rac-env.ts';

const POLICY = 'default: { tier: public, max: vpn-bastion }\nrules: []\n';
const company = generateCompany(40, { seed: 77 });
const vpn = company.slice(0, 10);
const pub = company.slice(10, 14);
const bastion = company.slice(14, 17);
const later = company.slice(17, 22);

describe('gateways and bastions over SSH, on the real stack', () => {
  let stack: LocalStack;
  let dir: string;
  let keyDir: string;
  const keyOf = new Map<string, { privateKeyFile: string; publicKey: string }>();
  const clients: VpnClient[] = [];
  const rac = (args: string[], env?: Record<string, string>) => runRac(dir, args, env === undefined ? {} : { env });
  const write = (name: string, text: string) => {
    execFileSync('sh', ['-c', 'cat > "$1"', 'sh', join(dir, name)], { input: text });
    return join(dir, name);
  };
  const connect = async (p: CompanyPerson, gateway = 0) => {
    const client = await connectVpnClient({
      gateway: stack.gateways[gateway] as never,
      username: p.uid,
      password: p.password,
      timeoutMs: 15_000,
    });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    stack = await startStack({ people: company, gateways: 2, bastions: 1 });
    dir = mkdtempSync(join(tmpdir(), 'rac-gw-'));
    keyDir = mkdtempSync(join(tmpdir(), 'rac-keys-'));
    for (const p of bastion) {
      const file = join(keyDir, p.uid);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${p.uid}@laptop`, '-f', file]);
      keyOf.set(p.uid, { privateKeyFile: file, publicKey: readFileSync(`${file}.pub`, 'utf8').trim() });
    }
    write('rac.yaml', stack.config({ sshTimeoutMs: 4000 }));
    write('policy.yaml', POLICY);
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) await c.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(keyDir, { recursive: true, force: true });
  });

  it('applies a roster to LDAP, both gateways and the bastion; real clients then get exactly their tier', async () => {
    write(
      'day1.csv',
      rosterFor([...vpn, ...pub, ...bastion], (p) =>
        vpn.includes(p)
          ? { tier: 'vpn' }
          : pub.includes(p)
            ? { tier: 'public' }
            : { tier: 'vpn-bastion', ssh_key: keyOf.get(p.uid)?.publicKey as string },
      ),
    );
    const out = await rac(['apply', 'day1.csv', '--yes', '--json']);
    expect(out.code, out.stderr).toBe(0);
    const { report } = out.json<{ report: ApplyReport }>();
    expect(report.status).toBe('applied');
    expect(report.systems.map((s) => [s.name, s.status, s.added])).toEqual([
      ['gw-1', 'applied', 13],
      ['gw-2', 'applied', 13],
      ['bastion-1', 'applied', 3],
    ]);

    const [a, b] = vpn as [CompanyPerson, CompanyPerson];
    expect((await connect(a, 0)).outcome).toBe('connected');
    expect((await connect(b, 1)).outcome).toBe('connected');
    expect((await connect(pub[0] as CompanyPerson, 0)).outcome).toBe('auth-failed');
    const ops = bastion[0] as CompanyPerson;
    const login = await sshLogin({
      bastion: stack.bastions[0] as never,
      user: ops.uid,
      privateKeyFile: keyOf.get(ops.uid)?.privateKeyFile as string,
      command: ['id', '-un'],
    });
    expect(login.stdout.trim()).toBe(ops.uid);
    // Not on the machine itself: accounts live in the bastion's own /etc.
    expect(readFileSync('/etc/passwd', 'utf8')).not.toContain(`${ops.uid}:`);
    expect(
      (
        await sshLogin({
          bastion: stack.bastions[0] as never,
          user: (vpn[2] as CompanyPerson).uid,
          privateKeyFile: keyOf.get(ops.uid)?.privateKeyFile as string,
          command: ['true'],
        })
      ).code,
    ).not.toBe(0);
  });

  it('shows a person’s access and live session on every host', async () => {
    const a = vpn[0] as CompanyPerson;
    const out = await rac(['status', a.uid, '--json']);
    expect(out.code).toBe(0);
    const status = out.json<PersonStatus>();
    expect(status.hosts.map((h) => [h.gateway, h.grant?.tier ?? null, h.sessions.length])).toEqual([
      ['gw-1', 'vpn', 1],
      ['gw-2', 'vpn', 0],
      ['bastion-1', null, 0],
    ]);
    expect(status.hosts[0]?.grant?.address).toBe(status.hosts[0]?.sessions[0]?.address);
  });

  it('writes a client profile with every gateway and the CA', async () => {
    const out = await rac(['profile', (vpn[0] as CompanyPerson).uid]);
    expect(out.code).toBe(0);
    for (const g of stack.gateways) expect(out.stdout).toContain(`remote ${g.vpnAddress} ${g.vpnPort} udp`);
    expect(out.stdout).toContain('remote-random');
    expect(out.stdout).toContain('auth-user-pass');
    expect(out.stdout).toContain(readFileSync(stack.gateways[0]?.caFile as string, 'utf8').trim());
    expect((await rac(['profile', (pub[0] as CompanyPerson).uid])).code).toBe(2);
  });

  it('applies the others when a gateway is down (exit 5, pending there) and converges on re-run', async () => {
    write(
      'day2.csv',
      rosterFor(later, () => ({ tier: 'vpn' })),
    );
    await stack.pauseHost('gw-2');
    let out: Awaited<ReturnType<typeof rac>>;
    try {
      out = await rac(['apply', 'day2.csv', '--yes', '--json']);
    } finally {
      await stack.resumeHost('gw-2');
    }
    expect(out.code, out.stderr).toBe(5);
    const first = out.json<{ report: ApplyReport }>().report;
    expect(first.systems.find((s) => s.name === 'gw-2')?.status).toBe('unavailable');
    expect(first.systems.find((s) => s.name === 'gw-1')).toMatchObject({ status: 'applied', added: 5 });
    for (const p of first.people) expect(p.pendingOn).toEqual(['gw-2']);
    expect((await connect(later[0] as CompanyPerson, 0)).outcome).toBe('connected');

    const again = await rac(['apply', 'day2.csv', '--yes', '--json']);
    expect(again.code, again.stderr).toBe(0);
    const second = again.json<{ report: ApplyReport }>().report;
    expect(second).toMatchObject({ batchId: first.batchId, run: 2, status: 'applied' });
    expect(second.systems.find((s) => s.name === 'gw-1')?.wrote).toBe(false);
    expect(second.systems.find((s) => s.name === 'gw-2')).toMatchObject({ status: 'applied', added: 5 });
    expect((await connect(later[1] as CompanyPerson, 1)).outcome).toBe('connected');
  });

  it('revokes a connected person everywhere, kills the sessions, proves it and refuses the reconnect', async () => {
    const victim = vpn[0] as CompanyPerson;
    const ops = bastion[1] as CompanyPerson;
    const vpnClient = clients[0] as VpnClient;
    expect(vpnClient.exited).toBe(false);
    const held = await sshLogin({
      bastion: stack.bastions[0] as never,
      user: ops.uid,
      privateKeyFile: keyOf.get(ops.uid)?.privateKeyFile as string,
      hold: true,
    });
    const opsClient = await connect(ops, 1);
    expect(opsClient.outcome).toBe('connected');

    const out = await rac(['revoke', victim.uid, ops.uid, '--json']);
    expect(out.code, out.stderr).toBe(0);
    const report = out.json<RevokeReport>();
    expect(report.verified).toBe(true);
    expect(report.latencyMs).toBeGreaterThan(0);
    expect(await vpnClient.waitForExit(5_000)).toBe(true);
    expect(await opsClient.waitForExit(5_000)).toBe(true);
    expect(await held.waitForExit(5_000)).toBe(true);
    expect((await connect(victim, 0)).outcome).toBe('auth-failed');
    const relogin = await sshLogin({
      bastion: stack.bastions[0] as never,
      user: ops.uid,
      privateKeyFile: keyOf.get(ops.uid)?.privateKeyFile as string,
      command: ['true'],
    });
    expect(relogin.code).not.toBe(0);
  });

  it('finds hand-made drift on the hosts and repairs it', async () => {
    const gw = stack.gateways[0];
    const host = stack.bastions[0];
    await execIn(gw?.namespace as string, [
      'sh',
      '-c',
      `printf 'ifconfig-push 10.81.0.99 255.255.0.0\\n' > ${gw?.ccdDir}/stranger`,
    ]);
    const keep = bastion[2] as CompanyPerson;
    await execIn(host?.namespace as string, ['true']);
    execFileSync(
      'ssh',
      [
        '-i',
        host?.ssh.privateKeyFile as string,
        '-o',
        `UserKnownHostsFile=${host?.ssh.knownHostsFile}`,
        '-o',
        'BatchMode=yes',
        `root@${host?.address}`,
        'userdel',
        '-r',
        keep.uid,
      ],
      { stdio: 'ignore' },
    );

    const found = await rac(['drift', '--json']);
    expect(found.code).toBe(5);
    const drift = found.json<DriftReport>();
    expect(drift.foreign).toEqual([{ system: 'gw-1', artifact: 'stranger' }]);
    expect(drift.items).toEqual([expect.objectContaining({ system: 'bastion-1', uid: keep.uid, observed: 'none' })]);

    const fixed = await rac(['drift', '--fix']);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    const clean = await rac(['drift', '--json']);
    expect(clean.code).toBe(0);
    expect(clean.json<DriftReport>()).toMatchObject({ items: [], foreign: [] });
    const login = await sshLogin({
      bastion: host as never,
      user: keep.uid,
      privateKeyFile: keyOf.get(keep.uid)?.privateKeyFile as string,
      command: ['id', '-un'],
    });
    expect(login.stdout.trim()).toBe(keep.uid);
  });

  it('refuses a gateway whose host key changed, before running anything there', async () => {
    const other = execFileSync(
      'sh',
      ['-c', `d=$(mktemp -d) && ssh-keygen -q -t ed25519 -N '' -f $d/k && cut -d' ' -f1,2 $d/k.pub && rm -rf $d`],
      { encoding: 'utf8' },
    ).trim();
    write('pinned-wrong.yaml', stack.config({ hostKeyOverride: { 'gw-1': other }, sshTimeoutMs: 4000 }));
    const before = execFileSync('ls', [stack.gateways[0]?.ccdDir as string], { encoding: 'utf8' });
    write(
      'day3.csv',
      rosterFor(company.slice(22, 24), () => ({ tier: 'vpn' })),
    );
    const out = await rac(['apply', 'day3.csv', '--yes', '--json', '--config', 'pinned-wrong.yaml']);
    expect(out.code).toBe(5);
    const { report } = out.json<{ report: ApplyReport }>();
    expect(report.systems.find((s) => s.name === 'gw-1')).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('RAC_SSH_HOST_KEY_MISMATCH'),
    });
    expect(execFileSync('ls', [stack.gateways[0]?.ccdDir as string], { encoding: 'utf8' })).toBe(before);
    for (const secret of [
      readFileSync(stack.gateways[0]?.ssh.privateKeyFile as string, 'utf8'),
      stack.directory.servicePassword,
    ]) {
      expect(out.stdout + out.stderr).not.toContain(secret.trim().split('\n')[1] ?? secret);
    }
  });
});
