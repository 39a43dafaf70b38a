import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCompany } from '../../infra/local/company.ts';
import type { ManagerAccount } from '../../infra/local/manager.ts';
import { sshRun } from '../../infra/local/ssh-host.ts';
import { type LocalStack, startStack } from '../../infra/local/stack.ts';
import { rosterFor } from '../../infra/local/workspace.ts';
import { renderSudoers } from '../../src/adapters/host-programs/index.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Finding } from '../../src/core/doctor/findings.ts';
import { runRac } from '../support/rac-env.ts';

interface DoctorDocument {
  ok: boolean;
  findings: Finding[];
}

const company = generateCompany(40, { seed: 808 });
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ3bZ0q0m8xEw0nH7eXv5f1C8yN0hQe3mX3m9q2t9Jk ops@laptop';

/**
 * rac manages every kind of host as the account `rac`, which gains root only through sudo rules
 * for exactly rac's installed programs with their arguments: the whole onboarding and a
 * revocation work that way, anything else is refused by sudo, and rac doctor notices a missing
 * rule or a program that is not the one this rac would run.
 */
describe('a non-root management account through sudo, on every kind of host', () => {
  let stack: LocalStack;
  let dir: string;
  const hosts = ['gw-1', 'bastion-1', 'wg-1', 'portal-1'];
  const account = (name: string): ManagerAccount => {
    const host = [...stack.gateways, ...stack.bastions, ...stack.wireguardGateways, ...stack.proxies].find(
      (h) => h.name === name,
    );
    const manager = host?.ssh.manager;
    if (manager === undefined) throw new Error(`${name} has no rac account`);
    return manager;
  };
  const doctor = async () => {
    const out = await runRac(dir, ['doctor', '--json']);
    return { code: out.code, doc: out.json<DoctorDocument>() };
  };
  const finding = (doc: DoctorDocument, check: string, target: string) =>
    doc.findings.find((f) => f.check === check && f.target === target);

  beforeAll(async () => {
    stack = await startStack({ people: company, gateways: 1, bastions: 1, wireguardGateways: 1, proxies: 1 });
    dir = mkdtempSync(join(tmpdir(), 'rac-least-privilege-'));
    writeFileSync(join(dir, 'rac.yaml'), stack.config(), { mode: 0o600 });
    writeFileSync(join(dir, 'policy.yaml'), 'default: { tier: public, max: vpn-bastion }\nrules: []\n');
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('the config logs in as rac with become: sudo on every host', () => {
    const loaded = parseConfig(stack.config(), { path: 'rac.yaml', env: {} });
    expect(loaded.config.gateways.map((g) => [g.name, g.ssh.user, g.ssh.become])).toEqual(
      hosts.map((h) => [h, 'rac', 'sudo']),
    );
  });

  it('rac doctor finds rac’s programs installed and every call allowed, on every host', async () => {
    const { code, doc } = await doctor();
    // The stack's directory is plain ldap:// on loopback and holds no keys yet: two directory warnings.
    expect(
      doc.findings.filter((f) => f.status === 'fail' || (f.target !== 'directory' && f.status === 'warn')),
    ).toEqual([]);
    expect(code).toBe(0);
    for (const host of hosts) {
      expect(finding(doc, 'host.privilege', host)?.detail).toMatch(/gains root only through sudo/);
      expect(finding(doc, 'host.programs', host)).toMatchObject({ status: 'ok' });
    }
  });

  it('onboards and revokes through sudo alone', async () => {
    const [a, b, c] = company as [(typeof company)[0], (typeof company)[0], (typeof company)[0]];
    writeFileSync(
      join(dir, 'roster.csv'),
      rosterFor([a, b, c], (p) => ({
        tier: p === a ? 'vpn-bastion' : p === b ? 'vpn' : 'public',
        ssh_key: p === a ? KEY : '',
      })),
    );
    const apply = await runRac(dir, ['apply', 'roster.csv', '--yes', '--json']);
    expect(apply.code, apply.stderr).toBe(0);
    const drift = await runRac(dir, ['drift', '--json']);
    expect(drift.code, drift.stdout + drift.stderr).toBe(0);
    const gw = stack.gateways[0] as LocalStack['gateways'][number];
    expect(readFileSync(join(gw.ccdDir, a.uid), 'utf8')).toContain('ifconfig-push');
    const revoke = await runRac(dir, ['revoke', a.uid, '--json']);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(() => readFileSync(join(gw.ccdDir, a.uid), 'utf8')).toThrow(/ENOENT/);
  });

  it('sudo refuses rac anything else: a shell, another command, a program with other arguments', async () => {
    const rac = account('gw-1');
    const gw = stack.gateways[0] as LocalStack['gateways'][number];
    expect((await sshRun(rac, ['id', '-un'])).stdout.trim()).toBe('rac');
    for (const argv of [
      ['sudo', '-n', '/bin/sh', '-c', 'id'],
      ['sudo', '-n', '/usr/bin/cat', '/etc/shadow'],
      ['sudo', '-n', '/usr/local/libexec/rac/rac-openvpn-ccd-swap', '/etc'],
      ['sudo', '-n', '/usr/local/libexec/rac/rac-openvpn-config', '/etc/shadow'],
    ]) {
      const r = await sshRun(rac, argv);
      expect(r.code, `${argv.join(' ')}: ${r.stdout}`).not.toBe(0);
      expect(r.stderr).toMatch(/a password is required|not allowed|may not run/i);
    }
    const allowed = await sshRun(rac, ['sudo', '-n', '/usr/local/libexec/rac/rac-openvpn-ccd-kind', gw.ccdDir]);
    expect(allowed.stdout).toMatch(/^symlink /);
  });

  it('an allowed program does its job only: no WireGuard private key out, no [Interface] in', async () => {
    const wg = stack.wireguardGateways[0] as LocalStack['wireguardGateways'][number];
    const rac = account('wg-1');
    const program = (name: string) => `/usr/local/libexec/rac/${name}`;
    const shown = await sshRun(rac, ['sudo', '-n', program('rac-wg-show'), wg.interfaceName]);
    expect(shown.code, shown.stderr).toBe(0);
    const [, first] = shown.stdout.split('\n');
    expect(first?.split('\t')).toEqual(['(hidden)', wg.publicKey, expect.any(String), expect.any(String)]);
    const rekey = await sshRun(rac, ['sudo', '-n', program('rac-wg-apply'), wg.interfaceName, wg.peersFile], {
      input: '[Interface]\nListenPort = 1\n',
    });
    expect(rekey.code).toBe(3);
    expect(rekey.stderr).toMatch(/besides \[Peer\] sections: refused/);
    const keyFirst = await sshRun(rac, ['sudo', '-n', program('rac-wg-apply'), wg.interfaceName, wg.peersFile], {
      input: 'ListenPort = 1\n[Peer]\n',
    });
    expect(keyFirst.code).toBe(3);
    // sudo matches the two pinned arguments joined by a space: given as one, it lets the call
    // through, and the program itself refuses it.
    const merged = await sshRun(rac, ['sudo', '-n', program('rac-wg-apply'), `${wg.interfaceName} ${wg.peersFile}`], {
      input: '[Peer]\n',
    });
    expect(merged.code).toBe(2);
    expect(merged.stderr).toMatch(/is not one rac pins: refused/);
    const after = await sshRun(rac, ['sudo', '-n', program('rac-wg-public-key'), wg.interfaceName]);
    expect(after.stdout.trim()).toBe(wg.publicKey);
  });

  it('rac doctor names a missing rule and a changed program, with the fix', async () => {
    const gw = stack.config();
    const entry = parseConfig(gw, { path: 'rac.yaml', env: {} }).config.gateways.find((g) => g.name === 'gw-1');
    if (entry === undefined) throw new Error('no gw-1');
    const withoutSwap = renderSudoers(entry)
      .split('\n')
      .filter((line) => !line.includes('rac-openvpn-ccd-swap'))
      .join('\n');
    await stack.installHostFiles('gw-1', { sudoers: withoutSwap });
    try {
      const { code, doc } = await doctor();
      expect(code).toBe(2);
      expect(finding(doc, 'host.programs', 'gw-1')).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(/does not let rac run.*rac-openvpn-ccd-swap/) as unknown,
        fix: expect.stringContaining('rac helpers export') as unknown,
      });
      expect(finding(doc, 'host.programs', 'bastion-1')).toMatchObject({ status: 'ok' });
    } finally {
      await stack.installHostFiles('gw-1');
    }
    const program = join(account('bastion-1').programsDir, 'rac-bastion-kill');
    writeFileSync(program, `${readFileSync(program, 'utf8')}\n# changed by hand\n`);
    try {
      const { doc } = await doctor();
      expect(finding(doc, 'host.programs', 'bastion-1')).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining('rac-bastion-kill differs') as unknown,
      });
    } finally {
      await stack.installHostFiles('bastion-1');
    }
    // A directory above the programs that others may write: they could swap the programs.
    const above = join(account('bastion-1').programsDir, '..', 'usr-local', 'libexec');
    chmodSync(above, 0o777);
    try {
      const { doc } = await doctor();
      expect(finding(doc, 'host.programs', 'bastion-1')).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining('/usr/local/libexec is root 777: whoever may write it may swap') as unknown,
      });
    } finally {
      chmodSync(above, 0o755);
    }
    expect((await doctor()).code).toBe(0);
  });
});

/** Root stays supported: no programs installed, no sudoers, every call inline as root. */
describe('the same site managed as root', () => {
  let stack: LocalStack;
  let dir: string;

  beforeAll(async () => {
    stack = await startStack({ people: company, gateways: 1, bastions: 1, manager: 'root' });
    dir = mkdtempSync(join(tmpdir(), 'rac-as-root-'));
    writeFileSync(join(dir, 'rac.yaml'), stack.config(), { mode: 0o600 });
    writeFileSync(join(dir, 'policy.yaml'), 'default: { tier: public, max: vpn-bastion }\nrules: []\n');
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('passes rac doctor as root, onboards and revokes', async () => {
    const loaded = parseConfig(stack.config(), { path: 'rac.yaml', env: {} });
    expect(loaded.config.gateways.map((g) => [g.ssh.user, g.ssh.become])).toEqual([
      ['root', 'none'],
      ['root', 'none'],
    ]);
    const out = await runRac(dir, ['doctor', '--json']);
    const doc = out.json<DoctorDocument>();
    expect(doc.findings.filter((f) => f.status === 'fail')).toEqual([]);
    expect(doc.findings.find((f) => f.check === 'host.privilege' && f.target === 'gw-1')?.detail).toBe('root is root');
    expect(doc.findings.some((f) => f.check === 'host.programs')).toBe(false);
    const [a] = company as [(typeof company)[0]];
    writeFileSync(
      join(dir, 'roster.csv'),
      rosterFor([a], () => ({ tier: 'vpn-bastion', ssh_key: KEY })),
    );
    expect((await runRac(dir, ['apply', 'roster.csv', '--yes'])).code).toBe(0);
    const gw = stack.gateways[0] as LocalStack['gateways'][number];
    expect(readFileSync(join(gw.ccdDir, a.uid), 'utf8')).toContain('ifconfig-push');
    expect((await runRac(dir, ['revoke', a.uid])).code).toBe(0);
    expect(() => readFileSync(join(gw.ccdDir, a.uid), 'utf8')).toThrow(/ENOENT/);
  });
});
