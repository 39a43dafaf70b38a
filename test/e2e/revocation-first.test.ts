import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshLogin } from '../../infra/local/bastion-host.ts';
import { type CompanyPerson, generateCompany } from '../../infra/local/company.ts';
import { asDirectoryRoot } from '../../infra/local/ldap-root.ts';
import { execIn } from '../../infra/local/netns.ts';
import { type LocalStack, startStack } from '../../infra/local/stack.ts';
import { connectVpnClient, type VpnClient } from '../../infra/local/vpn-clients.ts';
import { rosterFor } from '../../infra/local/workspace.ts';
import type { ApplyReport } from '../../src/services/apply-plan.ts';
import type { DriftReport } from '../../src/services/drift.ts';
import type { RevokeReport } from '../../src/services/revoke-access.ts';
import { runRac } from '../support/rac-env.ts';

const POLICY = 'default: { tier: public, max: vpn-bastion }\nrules: []\n';
const company = generateCompany(40, { seed: 1207 });
const [alice, bob, carol, dave, erin] = company as [
  CompanyPerson,
  CompanyPerson,
  CompanyPerson,
  CompanyPerson,
  CompanyPerson,
];

/** One person's bad value, written by another system, holds up nobody else (issue: revocation first). */
describe('revocation that nothing can block, on the real stack', () => {
  let stack: LocalStack;
  let dir: string;
  const keys = new Map<string, { file: string; pub: string }>();
  const clients: VpnClient[] = [];
  const rac = (args: string[]) => runRac(dir, args);
  const write = (name: string, text: string) => {
    execFileSync('sh', ['-c', 'cat > "$1"', 'sh', join(dir, name)], { input: text });
    return join(dir, name);
  };
  const connect = async (p: CompanyPerson) => {
    const c = await connectVpnClient({
      gateway: stack.gateways[0] as never,
      username: p.uid,
      password: p.password,
      timeoutMs: 15_000,
    });
    clients.push(c);
    return c;
  };
  const login = (p: CompanyPerson, command: string[] = ['id', '-un']) =>
    sshLogin({
      bastion: stack.bastions[0] as never,
      user: p.uid,
      privateKeyFile: keys.get(p.uid)?.file as string,
      command,
    });
  const authorizedKeys = (p: CompanyPerson) =>
    readFileSync(join(stack.bastions[0]?.homeDir as string, p.uid, '.ssh/authorized_keys'), 'utf8');

  beforeAll(async () => {
    stack = await startStack({ people: company, gateways: 1, bastions: 1 });
    dir = mkdtempSync(join(tmpdir(), 'rac-revfirst-'));
    for (const p of [alice, bob, carol]) {
      const file = join(dir, `${p.uid}.key`);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${p.uid}@laptop`, '-f', file]);
      keys.set(p.uid, { file, pub: readFileSync(`${file}.pub`, 'utf8').trim() });
    }
    write('rac.yaml', stack.config({ sshTimeoutMs: 5000 }));
    write('policy.yaml', POLICY);
    write(
      'day1.csv',
      rosterFor([alice, bob, dave], (p) =>
        p === dave ? { tier: 'vpn' } : { tier: 'vpn-bastion', ssh_key: keys.get(p.uid)?.pub as string },
      ),
    );
    const out = await rac(['apply', 'day1.csv', '--yes', '--json']);
    expect(out.code, out.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) await c.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('revokes a connected person while a neighbour’s key carries options; a newcomer gets in; the line reaches no host', async () => {
    // Another system writes a key with a forced command for alice.
    const poisoned = `command="/bin/sh -c id" ${keys.get(alice.uid)?.pub}`;
    await asDirectoryRoot(stack.directory, (c) =>
      c.modify(
        stack.directory.dnOf(alice.uid),
        new Change({ operation: 'add', modification: new Attribute({ type: 'sshPublicKey', values: [poisoned] }) }),
      ),
    );
    const vpnClient = await connect(bob);
    expect(vpnClient.outcome).toBe('connected');
    const held = await sshLogin({
      bastion: stack.bastions[0] as never,
      user: bob.uid,
      privateKeyFile: keys.get(bob.uid)?.file as string,
      hold: true,
    });

    const out = await rac(['revoke', bob.uid, '--json']);
    expect(out.code, out.stdout + out.stderr).toBe(0);
    const report = out.json<RevokeReport>();
    expect(report.verified).toBe(true);
    expect(report.latencyMs).toBeLessThan(2_000);
    expect(await vpnClient.waitForExit(5_000)).toBe(true);
    expect(await held.waitForExit(5_000)).toBe(true);
    expect((await login(bob, ['true'])).code).not.toBe(0);
    expect((await connect(bob)).outcome).toBe('auth-failed');

    write(
      'day2.csv',
      rosterFor([carol], () => ({ tier: 'vpn-bastion', ssh_key: keys.get(carol.uid)?.pub as string })),
    );
    const applied = await rac(['apply', 'day2.csv', '--yes', '--json']);
    expect(applied.code, applied.stderr).toBe(0);
    const { report: batch } = applied.json<{ report: ApplyReport }>();
    expect(batch.status).toBe('applied');
    expect(batch.unusable).toEqual([
      expect.objectContaining({ system: 'bastion-1', uid: alice.uid, error: expect.stringContaining('sshPublicKey') }),
    ]);
    expect((await login(carol)).stdout.trim()).toBe(carol.uid);

    // The poisoned line is on no host; alice keeps exactly what she had (her own data failed, nobody else's).
    expect(authorizedKeys(alice)).not.toContain('command=');
    expect((await login(alice)).stdout.trim()).toBe(alice.uid);

    const drift = await rac(['drift', '--json']);
    const found = drift.json<DriftReport>();
    expect(found.unusable).toEqual([
      expect.objectContaining({ uid: alice.uid, reason: expect.stringContaining('sshPublicKey 2 of 2') }),
    ]);
  });

  it('revokes a connected person while a member of the VPN group has a uid no host can use; a newcomer gets in', async () => {
    const strange = `cn=Strange Entry,${stack.directory.usersBase}`;
    await asDirectoryRoot(stack.directory, async (c) => {
      await c.add(strange, {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
        cn: 'Strange Entry',
        sn: 'Entry',
        uid: 'Bad Uid;touch /tmp/x',
      });
      for (const group of [stack.directory.groups.public, stack.directory.groups.vpn])
        await c.modify(
          group,
          new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [strange] }) }),
        );
    });
    const client = await connect(dave);
    expect(client.outcome).toBe('connected');

    const out = await rac(['revoke', dave.uid, '--json']);
    expect(out.code, out.stdout + out.stderr).toBe(0);
    expect(out.json<RevokeReport>().verified).toBe(true);
    expect(await client.waitForExit(5_000)).toBe(true);
    expect((await connect(dave)).outcome).toBe('auth-failed');

    write(
      'day3.csv',
      rosterFor([erin], () => ({ tier: 'vpn' })),
    );
    const applied = await rac(['apply', 'day3.csv', '--yes', '--json']);
    expect(applied.code, applied.stderr).toBe(0);
    const { report } = applied.json<{ report: ApplyReport }>();
    expect(report.systems.find((s) => s.name === 'gw-1')).toMatchObject({ status: 'applied', added: 1 });
    expect(report.unusable).toEqual(
      expect.arrayContaining([expect.objectContaining({ system: 'gw-1', error: expect.stringContaining('Bad Uid') })]),
    );
    expect((await connect(erin)).outcome).toBe('connected');
    const files = (
      await execIn(stack.gateways[0]?.namespace as string, ['ls', '-A', stack.gateways[0]?.ccdDir as string])
    ).stdout;
    expect(files.split('\n').filter(Boolean).sort()).toEqual([alice.uid, carol.uid, erin.uid].sort());

    const drift = (await rac(['drift', '--json'])).json<DriftReport>();
    expect(drift.unusable).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dn: strange, reason: expect.stringContaining('cannot be an account name') }),
      ]),
    );
  });

  it('refuses an apply while another holds the lock with exit 8 and the holder’s lock id', async () => {
    const { openStore } = await import('../../src/adapters/store/sqlite-store.ts');
    const store = openStore(join(dir, 'rac.db'));
    const lock = store.acquireLock('apply', 'someone-else');
    try {
      write(
        'day4.csv',
        rosterFor([company[5] as CompanyPerson], () => ({ tier: 'public' })),
      );
      const out = await rac(['apply', 'day4.csv', '--yes']);
      expect(out.code).toBe(8);
      expect(out.stderr).toContain(lock.id);
      const drift = await rac(['drift', '--fix']);
      expect(drift.code).toBe(8);
      // Revocation never waits for it.
      const revoke = await rac(['revoke', erin.uid, '--json']);
      expect(revoke.code, revoke.stderr).toBe(0);
    } finally {
      store.releaseLock('apply', lock.id);
      store.close();
    }
  });

  it('refuses a host key that changed unless the old fingerprint is named, and audits the replacement', async () => {
    const other = execFileSync(
      'sh',
      ['-c', `d=$(mktemp -d) && ssh-keygen -q -t ed25519 -N '' -f $d/k && cut -d' ' -f1,2 $d/k.pub && rm -rf $d`],
      { encoding: 'utf8' },
    ).trim();
    write('moved.yaml', stack.config({ hostKeyOverride: { 'gw-1': other } }));
    const refused = await rac(['trust', 'gw-1', '--yes', '--config', 'moved.yaml']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--replace SHA256:');
    expect(readFileSync(join(dir, 'moved.yaml'), 'utf8')).toContain(other);
    const old = /--replace (SHA256:\S+)/.exec(refused.stderr)?.[1] as string;
    const replaced = await rac(['trust', 'gw-1', '--yes', '--config', 'moved.yaml', '--replace', old]);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(readFileSync(join(dir, 'moved.yaml'), 'utf8')).not.toContain(other);
    const { openStore } = await import('../../src/adapters/store/sqlite-store.ts');
    const store = openStore(join(dir, 'rac.db'));
    try {
      expect(store.listAudit().filter((a) => a.action === 'host-key.replace')).toEqual([
        expect.objectContaining({ detail: expect.objectContaining({ gateway: 'gw-1', replaced: old }) }),
      ]);
    } finally {
      store.close();
    }
  });
});
