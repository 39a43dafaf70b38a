import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change, PresenceFilter } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCompany } from '../../infra/local/company.ts';
import { asDirectoryRoot } from '../../infra/local/ldap-root.ts';
import { managerYaml } from '../../infra/local/manager.ts';
import { type LocalStack, startStack } from '../../infra/local/stack.ts';
import { rosterFor } from '../../infra/local/workspace.ts';
import type { Finding } from '../../src/core/doctor/findings.ts';
import { runRac } from '../support/rac-env.ts';

interface DoctorDocument {
  ok: boolean;
  exitCode: number;
  findings: Finding[];
}

/** More than slapd's default size limit of 500, so the paged read is really put to the test. */
const company = generateCompany(520, { seed: 88 });
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ3bZ0q0m8xEw0nH7eXv5f1C8yN0hQe3mX3m9q2t9Jk ops@laptop';

describe('rac doctor on the real local stack', () => {
  let stack: LocalStack;
  let dir: string;
  let good: string;
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text, { mode: 0o600 });
    return join(dir, name);
  };
  const doctor = async (config: string, json = true) => {
    write('rac.yaml', config);
    return runRac(dir, ['doctor', ...(json ? ['--json'] : [])]);
  };
  const find = (doc: DoctorDocument, check: string, target: string) => {
    const found = doc.findings.find((f) => f.check === check && f.target === target);
    if (found === undefined) throw new Error(`no finding ${check} on ${target}: ${JSON.stringify(doc.findings)}`);
    return found;
  };
  /** Everything the doctor's write checks touch, read as the directory root. */
  const directoryState = () =>
    asDirectoryRoot(stack.directory, async (c) => {
      const groups = await Promise.all(
        Object.values(stack.directory.groups).map(async (dn) => {
          const { searchEntries } = await c.search(dn, { scope: 'base', attributes: ['member'] });
          return [dn, [searchEntries[0]?.['member']].flat().map(String).sort()];
        }),
      );
      const { searchEntries } = await c.search(stack.directory.usersBase, {
        scope: 'sub',
        filter: new PresenceFilter({ attribute: 'sshPublicKey' }),
        attributes: ['sshPublicKey'],
      });
      return { groups, keys: searchEntries.map((e) => [e.dn, [e['sshPublicKey']].flat().map(String)]) };
    });

  beforeAll(async () => {
    stack = await startStack({ people: company, gateways: 1, bastions: 1, wireguardGateways: 1, tls: true });
    dir = mkdtempSync(join(tmpdir(), 'rac-doctor-'));
    write('policy.yaml', 'default: { tier: public, max: vpn-bastion }\nrules: []\n');
    const { ldapsUrl, caFile, url } = stack.directory;
    good = stack.config().replace(`url: ${url}`, `url: ${ldapsUrl}\n  ca_file: ${caFile}`);
    // One person with a key, as a site that already keeps keys in LDAP has.
    await asDirectoryRoot(stack.directory, (c) =>
      c.modify(
        stack.directory.dnOf((company[3] as { uid: string }).uid),
        new Change({ operation: 'add', modification: new Attribute({ type: 'sshPublicKey', values: [KEY] }) }),
      ),
    );
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('passes every check on the prepared stack, and its write checks change nothing', async () => {
    const before = await directoryState();
    const out = await doctor(good);
    expect(out.code, out.stderr).toBe(0);
    const doc = out.json<DoctorDocument>();
    expect(doc.ok).toBe(true);
    expect(doc.findings.filter((f) => f.status !== 'ok')).toEqual([]);
    const checks = new Set(doc.findings.map((f) => `${f.target} ${f.check}`));
    for (const expected of [
      'directory directory.tls',
      'directory directory.bind',
      'directory directory.read-people',
      'directory directory.ssh-keys-read',
      'directory directory.paged-reads',
      'directory directory.group.vpn-bastion',
      'directory directory.write-members.public',
      'directory directory.write-members.vpn',
      'directory directory.write-members.vpn-bastion',
      'directory directory.write-ssh-keys',
      'gw-1 host.pin',
      'gw-1 host.privilege',
      'gw-1 openvpn.ccd-symlink',
      'gw-1 openvpn.management',
      'gw-1 openvpn.ccd-exclusive',
      'gw-1 openvpn.username-as-common-name',
      'gw-1 openvpn.auth-script',
      'bastion-1 host.pin',
      'bastion-1 bastion.commands',
      'wg-1 wireguard.interface',
    ])
      expect(checks).toContain(expected);
    expect(find(doc, 'directory.tls', 'directory').detail).toContain(stack.directory.caFile as string);
    expect(await directoryState()).toEqual(before);

    const { url, caFile, ldapsUrl } = stack.directory;
    const starttls = await doctor(good.replace(`url: ${ldapsUrl}`, `url: ${url}\n  starttls: true`));
    expect(find(starttls.json<DoctorDocument>(), 'directory.tls', 'directory')).toMatchObject({
      status: 'ok',
      detail: `StartTLS: the server certificate is verified against ${caFile}`,
    });
  });

  it('fails a broken site with what to fix: wrong password, plain ccd directory, wrong pin, wrong WireGuard key', async () => {
    const gw = stack.gateways[0] as LocalStack['gateways'][number];
    const wg = stack.wireguardGateways[0] as LocalStack['wireguardGateways'][number];
    const wrongPassword = write('wrong-password', 'not-the-password');
    // The gateway's client-config-dir becomes a plain directory, as on a server set up by hand.
    execFileSync('sh', ['-c', 'rm "$1" && cp -a "$2" "$1"', 'sh', gw.ccdDir, join(gw.dataDir, 'ccd.d/0')]);
    const otherKey = wg.ssh.hostKeyLine.split(' ').slice(1, 3).join(' ');
    const broken = stack
      .config({ hostKeyOverride: { 'bastion-1': otherKey } })
      .replace(`bind_password_file: ${stack.directory.servicePasswordFile}`, `bind_password_file: ${wrongPassword}`)
      .replace(`public_key: "${wg.publicKey}"`, 'public_key: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="');
    const out = await doctor(broken);
    expect(out.code, out.stderr).toBe(2);
    const doc = out.json<DoctorDocument>();

    const bind = find(doc, 'directory.bind', 'directory');
    expect(bind.status).toBe('fail');
    expect(bind.fix).toContain(wrongPassword);
    // Nothing past a failed bind is tried.
    expect(doc.findings.some((f) => f.check === 'directory.group.vpn')).toBe(false);

    const ccd = find(doc, 'openvpn.ccd-symlink', 'gw-1');
    expect(ccd.status).toBe('fail');
    expect(ccd.detail).toContain('plain directory');
    expect(ccd.fix).toContain(`mv -T ${gw.ccdDir} ${gw.ccdDir}.0 && ln -s ${gw.ccdDir}.0 ${gw.ccdDir}`);

    const pin = find(doc, 'host.pin', 'bastion-1');
    expect(pin.status).toBe('fail');
    expect(pin.fix).toMatch(/rac trust bastion-1 --replace SHA256:/);
    // A host with the wrong key is never logged in to.
    expect(doc.findings.some((f) => f.target === 'bastion-1' && f.check === 'host.ssh-login')).toBe(false);

    const key = find(doc, 'wireguard.interface', 'wg-1');
    expect(key.status).toBe('fail');
    expect(key.fix).toBe(`set wireguard.public_key: "${wg.publicKey}" for gateway wg-1`);

    // The README's recipe turns the plain directory into the symlink rac swaps.
    execFileSync('sh', ['-c', 'mv -T "$1" "$1.0" && ln -s "$1.0" "$1"', 'sh', gw.ccdDir]);
    const fixed = (await doctor(good)).json<DoctorDocument>();
    expect(find(fixed, 'openvpn.ccd-symlink', 'gw-1').status).toBe('ok');
  });

  it('names a missing group and a missing pin, in words on the terminal', async () => {
    const missingGroup = 'cn=remote-nope,ou=groups,dc=corp,dc=example';
    const wg = stack.wireguardGateways[0] as LocalStack['wireguardGateways'][number];
    const config = good
      .replace(`vpn: ${stack.directory.groups.vpn}`, `vpn: ${missingGroup}`)
      .replace(`host_key: "${wg.ssh.hostKeyLine.split(' ').slice(1, 3).join(' ')}"`, 'timeout_ms: 30000');
    expect(config).not.toContain(wg.ssh.hostKeyLine.split(' ')[2]);
    const out = await doctor(config, false);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stdout).toContain(
      `FAIL directory.group.vpn: the group ${missingGroup} (directory.groups.vpn) does not exist`,
    );
    expect(out.stdout).toContain(`fix: create it, e.g. ldapadd with:\n         dn: ${missingGroup}`);
    expect(out.stdout).toContain('skip directory.write-members.vpn');
    expect(out.stdout).toContain('FAIL host.pin: no host key is pinned for wg-1');
    expect(out.stdout).toContain('fix: rac trust wg-1');
    expect(out.stdout).toMatch(/failed, .* fix the failed checks before applying/);
  });

  it('fails rights the service account lacks: paged reads past the size limit, writing a group', async () => {
    const ldapi = stack.directory.ldapiUrl;
    const db = 'dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\n';
    const publicRule = (by: string) =>
      `olcAccess: {2}to dn.exact="${stack.directory.groups.public}" attrs=member ${by}by users read by * none\n`;
    const svc = `by dn.exact="${stack.directory.serviceDn}" write `;
    const ldapmodify = (ldif: string) =>
      execFileSync('ldapmodify', ['-Q', '-Y', 'EXTERNAL', '-H', ldapi], { input: ldif });
    // As on a site whose service account has the defaults: slapd's size limit, and read-only groups.
    ldapmodify(`${db}delete: olcLimits\n-\ndelete: olcAccess\nolcAccess: {2}\n-\nadd: olcAccess\n${publicRule('')}`);
    try {
      const before = await directoryState();
      const doc = (await doctor(good)).json<DoctorDocument>();
      const write = find(doc, 'directory.write-members.public', 'directory');
      expect(write.status).toBe('fail');
      expect(write.detail).toContain('insufficient access');
      expect(write.fix).toContain(
        `olcAccess: to dn.exact="${stack.directory.groups.public}" attrs=member by dn.exact=`,
      );
      expect(find(doc, 'directory.write-members.vpn', 'directory').status).toBe('ok');
      expect(await directoryState()).toEqual(before);
      const paged = find(doc, 'directory.paged-reads', 'directory');
      expect(paged.status).toBe('fail');
      expect(paged.fix).toContain(
        `olcLimits: dn.exact="${stack.directory.serviceDn}" size.soft=500 size.hard=unlimited size.prtotal=unlimited`,
      );
      expect(doc.exitCode).toBe(2);
    } finally {
      ldapmodify(
        `${db}add: olcLimits\nolcLimits: dn.exact="${stack.directory.serviceDn}" size.soft=500 size.hard=unlimited size.prtotal=unlimited\n-\ndelete: olcAccess\nolcAccess: {2}\n-\nadd: olcAccess\n${publicRule(svc)}`,
      );
    }
  });

  it('exits 6 when a host cannot be reached, and refuses a directory certificate from another CA', async () => {
    const gw = stack.gateways[0] as LocalStack['gateways'][number];
    const b = stack.bastions[0] as LocalStack['bastions'][number];
    const config = good
      .replace(`ca_file: ${stack.directory.caFile}`, `ca_file: ${gw.caFile}`)
      .replace(`host: ${b.address}, port: ${b.ssh.port},`, 'host: 127.0.0.1, port: 9,');
    const out = await doctor(config);
    expect(out.code, out.stderr).toBe(6);
    const doc = out.json<DoctorDocument>();
    expect(find(doc, 'host.reachable', 'bastion-1').status).toBe('fail');
    const tls = find(doc, 'directory.tls', 'directory');
    expect(tls.status).toBe('fail');
    expect(tls.fix).toContain('directory.ca_file');
    expect(doc.findings.some((f) => f.check === 'directory.bind')).toBe(false);
  });

  it('fails a login that is neither root nor allowed to sudo', async () => {
    // A real non-root account on the bastion, made by rac itself: a vpn-bastion person with a key.
    const person = company[7] as (typeof company)[number];
    const keyFile = join(dir, 'person-key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'doctor-test', '-f', keyFile]);
    const publicKey = execFileSync('cat', [`${keyFile}.pub`], { encoding: 'utf8' }).trim();
    write(
      'roster.csv',
      rosterFor([person], () => ({ tier: 'vpn-bastion', ssh_key: publicKey })),
    );
    write('rac.yaml', good);
    const applied = await runRac(dir, ['apply', 'roster.csv', '--yes', '--json']);
    expect(applied.code, applied.stderr).toBe(0);

    const b = stack.bastions[0] as LocalStack['bastions'][number];
    const asPerson = good.replace(
      `port: ${b.ssh.port}, ${managerYaml(stack.manager)}, private_key_file: ${b.ssh.privateKeyFile},`,
      `port: ${b.ssh.port}, user: ${person.uid}, private_key_file: ${keyFile},`,
    );
    expect(asPerson).toContain(`user: ${person.uid}`);
    const out = await doctor(asPerson);
    expect(out.code, out.stderr).toBe(2);
    const doc = out.json<DoctorDocument>();
    expect(find(doc, 'host.ssh-login', 'bastion-1')).toMatchObject({ status: 'ok' });
    const privilege = find(doc, 'host.privilege', 'bastion-1');
    expect(privilege.status).toBe('fail');
    expect(privilege.detail).toMatch(new RegExp(`^${person.uid} \\(uid \\d+\\) is not root and ssh.become is none`));
    expect(privilege.fix).toContain('set ssh.become: sudo for it, then run rac helpers export');
    // Nothing past the login is tried: every later check would only repeat the refusal.
    expect(doc.findings.some((f) => f.target === 'bastion-1' && f.check === 'bastion.commands')).toBe(false);
  });

  it('passes once the README’s ACL example is loaded into a directory that lacked it', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const example = /```ldif\n(# rac-acl\.ldif[\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const ldapmodify = (ldif: string) =>
      execFileSync('ldapmodify', ['-Q', '-Y', 'EXTERNAL', '-H', stack.directory.ldapiUrl], { input: ldif });
    // The service account as a fresh directory has it: slapd's size limit, no write rule (the four at {2}…{5}).
    const deleteRule = '-\ndelete: olcAccess\nolcAccess: {2}\n';
    ldapmodify(`dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\ndelete: olcLimits\n${deleteRule.repeat(4)}`);
    const stripped = (await doctor(good)).json<DoctorDocument>();
    expect(stripped.findings.filter((f) => f.status === 'fail').map((f) => f.check)).toEqual([
      'directory.paged-reads',
      'directory.write-members.public',
      'directory.write-members.vpn',
      'directory.write-members.vpn-bastion',
      'directory.write-ssh-keys',
    ]);

    ldapmodify(example as string);
    const out = await doctor(good);
    expect(out.code, out.stdout).toBe(0);
  });
});
