import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCompany } from '../../infra/local/company.ts';
import { type LocalDirectory, startDirectory } from '../../infra/local/directory.ts';
import { memberUids } from '../../infra/local/ldapsearch.ts';
import { createLdapDirectory } from '../../src/adapters/ldap/directory.ts';
import { escapeDnValue, normalizeDn } from '../../src/core/dn.ts';
import { AppError } from '../../src/core/errors.ts';
import { Secret } from '../../src/core/secret.ts';

const HOSTILE_UIDS = ['*)(uid=*))(|(uid=*', 'a,b=c+d;<>"#\\', ' padded ', 'nul\0byte'];

describe('LDAP directory adapter against a real slapd', () => {
  let ldap: LocalDirectory;
  const people = generateCompany(300, { seed: 7 });

  beforeAll(async () => {
    ldap = await startDirectory({ people, tls: true });
    // Hostile entries are created as root: the roster would never let such uids through,
    // but the adapter must still treat them as data, never as filter or DN syntax.
    const root = new Client({ url: ldap.url });
    await root.bind(ldap.rootDn, ldap.rootPassword);
    for (const uid of HOSTILE_UIDS.filter((u) => !u.includes('\0'))) {
      await root.add(`uid=${escapeDnValue(uid)},${ldap.usersBase}`, {
        objectClass: ['inetOrgPerson', 'ldapPublicKey'],
        uid,
        cn: uid,
        sn: 'hostile',
      });
    }
    await root.unbind();
  });

  afterAll(async () => {
    await ldap?.stop();
  });

  const adapter = (overrides: Partial<Parameters<typeof createLdapDirectory>[0]> = {}) =>
    createLdapDirectory({
      url: ldap.url,
      bindDn: ldap.serviceDn,
      bindPassword: new Secret(ldap.servicePassword),
      usersBase: ldap.usersBase,
      groups: ldap.groups,
      timeoutMs: 5000,
      pageSize: 100,
      ...overrides,
    });

  it('finds people by uid in bulk, paged past the server’s soft limit', async () => {
    await using dir = adapter();
    const found = await dir.findPeople(people.map((p) => p.uid));
    expect(found.size).toBe(300);
    const first = people[0];
    expect(found.get(first?.uid as string)).toMatchObject({
      name: first?.displayName,
      department: first?.department,
      title: first?.title,
    });
  });

  it('treats a filter-injection uid as a literal value and finds nobody else', async () => {
    await using dir = adapter();
    const found = await dir.findPeople(['*)(uid=*))(|(uid=*', '*']);
    expect([...found.keys()]).toEqual(['*)(uid=*))(|(uid=*']);
  });

  it('adds and removes hostile DNs as group members and reads them back equal', async () => {
    await using dir = adapter();
    const found = await dir.findPeople(HOSTILE_UIDS);
    expect(found.has('a,b=c+d;<>"#\\')).toBe(true);
    expect(found.has('nul\0byte')).toBe(false);
    const dns = [...found.values()].map((p) => p.dn);
    await dir.modifyMembers('public', 'add', dns);
    const after = await dir.readMemberships();
    for (const dn of dns) expect(after.public.has(normalizeDn(dn))).toBe(true);
    await dir.modifyMembers('public', 'delete', dns);
    const cleared = await dir.readMemberships();
    for (const dn of dns) expect(cleared.public.has(normalizeDn(dn))).toBe(false);
  });

  it('adds a thousand members in one modify and ldapsearch agrees', async () => {
    await using dir = adapter();
    const found = await dir.findPeople(people.slice(0, 250).map((p) => p.uid));
    await dir.modifyMembers(
      'vpn',
      'add',
      [...found.values()].map((p) => p.dn),
    );
    const seen = await memberUids(ldap, 'vpn');
    for (const p of people.slice(0, 250)) expect(seen.has(p.uid)).toBe(true);
    await dir.modifyMembers(
      'vpn',
      'delete',
      [...found.values()].map((p) => p.dn),
    );
    expect((await memberUids(ldap, 'vpn')).size).toBe(0);
  });

  it('maps a duplicate add and an absent delete to conflict codes', async () => {
    await using dir = adapter();
    const p = (await dir.findPeople([people[1]?.uid as string])).get(people[1]?.uid as string);
    await dir.modifyMembers('vpn', 'add', [p?.dn as string]);
    await expect(dir.modifyMembers('vpn', 'add', [p?.dn as string])).rejects.toMatchObject({
      code: 'RAC_LDAP_VALUE_EXISTS',
    });
    await dir.modifyMembers('vpn', 'delete', [p?.dn as string]);
    await expect(dir.modifyMembers('vpn', 'delete', [p?.dn as string])).rejects.toMatchObject({
      code: 'RAC_LDAP_NO_SUCH_VALUE',
    });
  });

  it('refuses a wrong password without echoing it', async () => {
    await using dir = adapter({ bindPassword: new Secret('not-the-password-42') });
    const err = await dir.readMemberships().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('RAC_LDAP_INVALID_CREDENTIALS');
    expect(JSON.stringify({ m: (err as AppError).message, d: (err as AppError).details })).not.toContain(
      'not-the-password-42',
    );
  });

  it('reports an unreachable server as unavailable with its URL', async () => {
    await using dir = adapter({ url: 'ldap://127.0.0.1:1', timeoutMs: 2000 });
    await expect(dir.readMemberships()).rejects.toMatchObject({
      code: 'RAC_LDAP_UNAVAILABLE',
      message: expect.stringContaining('ldap://127.0.0.1:1'),
    });
  });

  it('speaks ldaps:// with the CA file, and refuses a server it cannot verify', async () => {
    const { readFileSync } = await import('node:fs');
    await using secure = adapter({ url: ldap.ldapsUrl as string, ca: readFileSync(ldap.caFile as string) });
    expect((await secure.readMemberships()).public.size).toBeGreaterThan(0);
    await using unverified = adapter({ url: ldap.ldapsUrl as string });
    await expect(unverified.readMemberships()).rejects.toMatchObject({ code: 'RAC_LDAP_TLS' });
  });

  it('upgrades to StartTLS with the CA file', async () => {
    const { readFileSync } = await import('node:fs');
    await using dir = adapter({ starttls: true, ca: readFileSync(ldap.caFile as string) });
    expect((await dir.findPeople([people[2]?.uid as string])).size).toBe(1);
  });

  it('writes sshPublicKey as the service account', async () => {
    await using dir = adapter();
    const uid = people[3]?.uid as string;
    const p = (await dir.findPeople([uid])).get(uid);
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test';
    await dir.replaceSshPublicKeys(p?.dn as string, [key]);
    expect((await dir.findPeople([uid])).get(uid)?.sshPublicKeys).toEqual([key]);
    await dir.replaceSshPublicKeys(p?.dn as string, []);
    expect((await dir.findPeople([uid])).get(uid)?.sshPublicKeys).toEqual([]);
  });
});
