import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  Attribute,
  Change,
  Client,
  type Entry,
  InsufficientAccessError,
  InvalidCredentialsError,
  NoSuchObjectError,
  SizeLimitExceededError,
} from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CompanyPerson, DEPARTMENTS, generateCompany, UID_PATTERN } from '../../infra/local/company.ts';
import {
  type LocalDirectory,
  PLACEHOLDER_MEMBER_DN,
  type SeedTier,
  startDirectory,
} from '../../infra/local/directory.ts';

const run = promisify(execFile);
const PEOPLE = 2000;
const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@example';

/** Values of an attribute as strings (ldapts gives a string or an array). */
function values(entry: Entry | undefined, attr: string): string[] {
  const key = Object.keys(entry ?? {}).find((k) => k.toLowerCase() === attr.toLowerCase());
  if (entry === undefined || key === undefined) return [];
  const v = entry[key];
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : x));
}

/** DNs as slapd returns them are normalised in case/spacing only for these simple ASCII DNs. */
const norm = (dn: string): string => dn.toLowerCase().replaceAll(' ', '');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('local directory (real slapd)', () => {
  let dir: LocalDirectory;
  const people = generateCompany(PEOPLE, { seed: 42 });
  // Seeded grants: 60 public, 40 vpn, 20 vpn-bastion (cumulative).
  const memberships = new Map<string, SeedTier>();
  for (const p of people.slice(0, 60)) memberships.set(p.uid, 'public');
  for (const p of people.slice(60, 100)) memberships.set(p.uid, 'vpn');
  for (const p of people.slice(100, 120)) memberships.set(p.uid, 'vpn-bastion');
  const ungranted = people.slice(120);
  const clients: Client[] = [];

  async function bound(dn: string, password: string): Promise<Client> {
    const client = new Client({ url: dir.url, timeout: 10_000, connectTimeout: 5_000 });
    clients.push(client);
    await client.bind(dn, password);
    return client;
  }
  const asRoot = () => bound(dir.rootDn, dir.rootPassword);
  const asService = () => bound(dir.serviceDn, dir.servicePassword);
  const personDn = (p: CompanyPerson) => `uid=${p.uid},${dir.usersBase}`;
  const person = (i: number) => people[i] as CompanyPerson;

  async function groupMembers(group: string): Promise<Set<string>> {
    const root = await asRoot();
    const { searchEntries } = await root.search(group, { scope: 'base', attributes: ['member'] });
    return new Set(values(searchEntries[0], 'member').map(norm));
  }
  async function memberOf(p: CompanyPerson): Promise<Set<string>> {
    const root = await asRoot();
    const { searchEntries } = await root.search(personDn(p), { scope: 'base', attributes: ['memberOf'] });
    return new Set(values(searchEntries[0], 'memberOf').map(norm));
  }

  beforeAll(async () => {
    dir = await startDirectory({ people, memberships });
  });

  afterAll(async () => {
    for (const c of clients) await c.unbind().catch(() => undefined);
    await dir?.stop();
  });

  it('starts and answers an anonymous rootDSE search', async () => {
    expect(dir.url).toMatch(/^ldap:\/\/127\.0\.0\.1:\d+$/);
    expect(isAlive(dir.pid)).toBe(true);
    const anon = new Client({ url: dir.url });
    clients.push(anon);
    const { searchEntries } = await anon.search('', { scope: 'base', attributes: ['namingContexts'] });
    expect(values(searchEntries[0], 'namingContexts')).toEqual([dir.baseDn]);
    // Anonymous users see nothing under the base, not even that it exists.
    await expect(anon.search(dir.usersBase, { scope: 'one', filter: '(uid=*)' })).rejects.toBeInstanceOf(
      NoSuchObjectError,
    );
  });

  it('keeps the service password in a 0600 file in the data dir', () => {
    expect(dir.servicePasswordFile.startsWith(`${dir.dataDir}/`)).toBe(true);
    expect(statSync(dir.servicePasswordFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(dir.servicePasswordFile, 'utf8')).toBe(dir.servicePassword);
  });

  it(`seeds ${PEOPLE} people whose Chinese attributes round-trip`, async () => {
    const root = await asRoot();
    const { searchEntries } = await root.search(dir.usersBase, {
      scope: 'one',
      filter: '(objectClass=inetOrgPerson)',
      attributes: ['uid', 'cn', 'sn', 'givenName', 'displayName', 'ou', 'title', 'mail', 'objectClass'],
    });
    expect(searchEntries).toHaveLength(PEOPLE);
    const byUid = new Map(searchEntries.map((e) => [values(e, 'uid')[0], e]));
    for (const p of people) {
      const e = byUid.get(p.uid);
      expect(values(e, 'cn'), p.uid).toEqual([p.cn]);
      expect(values(e, 'sn')).toEqual([p.sn]);
      expect(values(e, 'givenName')).toEqual([p.givenName]);
      expect(values(e, 'displayName')).toEqual([p.displayName]);
      expect(values(e, 'ou')).toEqual([p.department]);
      expect(values(e, 'title')).toEqual([p.title]);
      expect(values(e, 'mail')).toEqual([p.mail]);
      expect(values(e, 'objectClass')).toEqual(expect.arrayContaining(['inetOrgPerson', 'ldapPublicKey']));
    }
    // Equality and substring filters on Chinese cn work (cn eq,sub index).
    const p = person(7);
    const eq = await root.search(dir.usersBase, { filter: `(cn=${p.cn})`, attributes: ['uid'] });
    expect(eq.searchEntries.map((e) => values(e, 'uid')[0])).toContain(p.uid);
    const sub = await root.search(dir.usersBase, { filter: `(cn=${p.sn}*)`, attributes: ['uid'] });
    expect(sub.searchEntries.length).toBeGreaterThan(1);
  });

  it('seeds memberships cumulatively, with placeholder and memberOf', async () => {
    const dnsFor = (tiers: SeedTier[]) =>
      new Set([
        norm(PLACEHOLDER_MEMBER_DN),
        ...[...memberships].filter(([, t]) => tiers.includes(t)).map(([uid]) => norm(`uid=${uid},${dir.usersBase}`)),
      ]);
    expect(await groupMembers(dir.groups.public)).toEqual(dnsFor(['public', 'vpn', 'vpn-bastion']));
    expect(await groupMembers(dir.groups.vpn)).toEqual(dnsFor(['vpn', 'vpn-bastion']));
    expect(await groupMembers(dir.groups['vpn-bastion'])).toEqual(dnsFor(['vpn-bastion']));

    expect(await memberOf(person(0))).toEqual(new Set([norm(dir.groups.public)]));
    expect(await memberOf(person(60))).toEqual(new Set([norm(dir.groups.public), norm(dir.groups.vpn)]));
    expect(await memberOf(person(100))).toEqual(new Set(Object.values(dir.groups).map(norm)));
    expect(await memberOf(ungranted[0] as CompanyPerson)).toEqual(new Set());

    // memberOf is indexed and searchable.
    const root = await asRoot();
    const { searchEntries } = await root.search(dir.usersBase, {
      filter: `(memberOf=${dir.groups.vpn})`,
      attributes: ['uid'],
    });
    expect(searchEntries).toHaveLength(60);
  });

  it('lets the service account add and remove a member of a tier group (memberof overlay live)', async () => {
    const rac = await asService();
    const p = person(500);
    await rac.modify(
      dir.groups.vpn,
      new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [personDn(p)] }) }),
    );
    expect(await groupMembers(dir.groups.vpn)).toContain(norm(personDn(p)));
    expect(await memberOf(p)).toEqual(new Set([norm(dir.groups.vpn)]));

    await rac.modify(
      dir.groups.vpn,
      new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [personDn(p)] }) }),
    );
    expect(await groupMembers(dir.groups.vpn)).not.toContain(norm(personDn(p)));
    expect(await memberOf(p)).toEqual(new Set());
  });

  it('lets the service account write sshPublicKey of a person', async () => {
    const rac = await asService();
    const p = person(501);
    await rac.modify(
      personDn(p),
      new Change({ operation: 'replace', modification: new Attribute({ type: 'sshPublicKey', values: [SSH_KEY] }) }),
    );
    const { searchEntries } = await rac.search(personDn(p), { scope: 'base', attributes: ['sshPublicKey'] });
    expect(values(searchEntries[0], 'sshPublicKey')).toEqual([SSH_KEY]);
  });

  it('refuses the service account everything else', async () => {
    const rac = await asService();
    const p = person(502);
    const refused = (promise: Promise<unknown>) => expect(promise).rejects.toBeInstanceOf(InsufficientAccessError);

    // cn of a person.
    await refused(
      rac.modify(
        personDn(p),
        new Change({ operation: 'replace', modification: new Attribute({ type: 'cn', values: ['x'] }) }),
      ),
    );
    // userPassword of a person.
    await refused(
      rac.modify(
        personDn(p),
        new Change({ operation: 'replace', modification: new Attribute({ type: 'userPassword', values: ['x'] }) }),
      ),
    );
    // Another attribute of a tier group.
    await refused(
      rac.modify(
        dir.groups.vpn,
        new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values: ['x'] }) }),
      ),
    );
    // member of a group that is not a tier group (created by root).
    const root = await asRoot();
    const otherGroup = `cn=finance-admins,ou=groups,${dir.baseDn}`;
    await root.add(otherGroup, { objectClass: 'groupOfNames', cn: 'finance-admins', member: PLACEHOLDER_MEMBER_DN });
    await refused(
      rac.modify(
        otherGroup,
        new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [personDn(p)] }) }),
      ),
    );
    // Adding entries.
    await refused(
      rac.add(`uid=intruder,${dir.usersBase}`, { objectClass: 'inetOrgPerson', uid: 'intruder', cn: 'i', sn: 'i' }),
    );

    // Reading userPassword: never returned, not even matchable, and compare is refused.
    const { searchEntries } = await rac.search(personDn(p), { scope: 'base', attributes: ['userPassword', 'cn'] });
    expect(values(searchEntries[0], 'cn')).toEqual([p.cn]);
    expect(values(searchEntries[0], 'userPassword')).toEqual([]);
    const withPw = await rac.search(dir.usersBase, { filter: '(userPassword=*)', attributes: ['uid'] });
    expect(withPw.searchEntries).toHaveLength(0);
    await refused(rac.compare(personDn(p), 'userPassword', p.password));

    // Nothing changed.
    const check = await root.search(personDn(p), { scope: 'base', attributes: ['cn'] });
    expect(values(check.searchEntries[0], 'cn')).toEqual([p.cn]);
  });

  it('lets a person bind with their own password, and nothing more than read', async () => {
    const p = person(503);
    const self = await bound(personDn(p), p.password);
    const { searchEntries } = await self.search(personDn(p), { scope: 'base', attributes: ['mail'] });
    expect(values(searchEntries[0], 'mail')).toEqual([p.mail]);
    await expect(
      self.modify(
        dir.groups.public,
        new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [personDn(p)] }) }),
      ),
    ).rejects.toBeInstanceOf(InsufficientAccessError);
    await expect(bound(personDn(p), `${p.password}x`)).rejects.toBeInstanceOf(InvalidCredentialsError);
    await expect(bound(personDn(person(504)), p.password)).rejects.toBeInstanceOf(InvalidCredentialsError);
  });

  it('gives the service account all people with a paged search, beyond the 500 soft limit', async () => {
    const rac = await asService();
    const paged = await rac.search(dir.usersBase, {
      scope: 'one',
      filter: '(objectClass=inetOrgPerson)',
      attributes: ['uid'],
      paged: { pageSize: 400 },
    });
    expect(paged.searchEntries).toHaveLength(PEOPLE);
    expect(new Set(paged.searchEntries.map((e) => values(e, 'uid')[0]))).toEqual(new Set(people.map((p) => p.uid)));
    // An unpaged search keeps the soft limit of 500: clients must page.
    await expect(
      rac.search(dir.usersBase, { scope: 'one', filter: '(objectClass=inetOrgPerson)', attributes: ['uid'] }),
    ).rejects.toBeInstanceOf(SizeLimitExceededError);
  });

  it('keeps the placeholder when the service account removes the last real member', async () => {
    const rac = await asService();
    const bastion = [...memberships]
      .filter(([, t]) => t === 'vpn-bastion')
      .map(([uid]) => `uid=${uid},${dir.usersBase}`);
    expect(bastion).toHaveLength(20);
    await rac.modify(
      dir.groups['vpn-bastion'],
      new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: bastion }) }),
    );
    expect(await groupMembers(dir.groups['vpn-bastion'])).toEqual(new Set([norm(PLACEHOLDER_MEMBER_DN)]));
    expect(await memberOf(person(100))).toEqual(new Set([norm(dir.groups.public), norm(dir.groups.vpn)]));
    // Removing the placeholder itself is a schema violation (groupOfNames needs a member), not silent.
    await expect(
      rac.modify(
        dir.groups['vpn-bastion'],
        new Change({
          operation: 'delete',
          modification: new Attribute({ type: 'member', values: [PLACEHOLDER_MEMBER_DN] }),
        }),
      ),
    ).rejects.toThrow();
  });

  it('fails with slapd’s own words when its port is taken', async () => {
    const port = Number(new URL(dir.url).port);
    const err = await startDirectory({ port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/slapd exited during start .*another server answers/);
    expect((err as Error).message).toMatch(/bind\(\d+\) failed errno=98 \(Address already in use\)/);
  });

  it('refuses memberships for people it does not seed', async () => {
    await expect(startDirectory({ memberships: new Map([['nosuchuid', 'vpn']]) })).rejects.toThrow(/unknown uid/);
  });
});

describe('local directory lifecycle and TLS', () => {
  it('stop() ends slapd and removes the data dir', async () => {
    const d = await startDirectory({ people: generateCompany(3) });
    expect(isAlive(d.pid)).toBe(true);
    expect(existsSync(d.dataDir)).toBe(true);
    await d.stop();
    expect(isAlive(d.pid)).toBe(false);
    expect(existsSync(d.dataDir)).toBe(false);
    await d.stop(); // idempotent
  });

  it('does not leave slapd running when the process that started it exits without stop()', async () => {
    const module = pathToFileURL(join(import.meta.dirname, '../../infra/local/directory.ts')).href;
    const code = `import { startDirectory } from ${JSON.stringify(module)};
const d = await startDirectory();
console.log(JSON.stringify({ pid: d.pid, dataDir: d.dataDir }));
process.exit(0);`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { timeout: 30_000 });
    const { pid, dataDir } = JSON.parse(stdout) as { pid: number; dataDir: string };
    try {
      // Orphans are re-parented; where PID 1 does not reap, a killed slapd lingers as a zombie.
      const deadline = Date.now() + 5000;
      const state = () =>
        existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] : 'gone';
      while (!['gone', 'Z', 'X'].includes(state() ?? 'gone') && Date.now() < deadline) await sleep(20);
      expect(['gone', 'Z', 'X']).toContain(state() ?? 'gone');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('serves ldaps:// and StartTLS with a per-run CA', async () => {
    const d = await startDirectory({ people: generateCompany(3), tls: true });
    const clients: Client[] = [];
    try {
      expect(d.ldapsUrl).toMatch(/^ldaps:\/\/127\.0\.0\.1:\d+$/);
      const ca = readFileSync(d.caFile as string);

      const ldaps = new Client({ url: d.ldapsUrl as string, tlsOptions: { ca } });
      clients.push(ldaps);
      await ldaps.bind(d.serviceDn, d.servicePassword);
      const { searchEntries } = await ldaps.search(d.usersBase, { scope: 'one', attributes: ['uid'] });
      expect(searchEntries).toHaveLength(3);

      const startTls = new Client({ url: d.url });
      clients.push(startTls);
      await startTls.startTLS({ ca, servername: 'localhost' });
      await startTls.bind(d.serviceDn, d.servicePassword);

      // Without the CA the certificate is not trusted.
      const untrusted = new Client({ url: d.ldapsUrl as string, connectTimeout: 2000 });
      clients.push(untrusted);
      await expect(untrusted.bind(d.serviceDn, d.servicePassword)).rejects.toThrow(/certificate/i);
    } finally {
      for (const c of clients) await c.unbind().catch(() => undefined);
      await d.stop();
    }
  });
});

describe('generateCompany', () => {
  it('gives 50 000 unique, well-formed uids, deterministically', () => {
    const a = generateCompany(50_000);
    const b = generateCompany(50_000);
    expect(a).toEqual(b);
    expect(new Set(a.map((p) => p.uid)).size).toBe(50_000);
    for (const p of a) {
      expect(p.uid).toMatch(UID_PATTERN);
      expect(p.mail).toBe(`${p.uid}@corp.example`);
      expect(p.password).toMatch(/^[A-Za-z0-9_-]{16}$/);
      expect(p.cn).toBe(p.sn + p.givenName);
    }
    expect(a.some((p) => /^[a-z]+2$/.test(p.uid))).toBe(true);
    expect(generateCompany(10, { seed: 2 })).not.toEqual(generateCompany(10, { seed: 1 }));
  });

  it('staffs a 2000-person company in realistic proportions', () => {
    const staff = generateCompany(2000, { domain: 'example.cn' });
    const count = (d: string) => staff.filter((p) => p.department === d).length;
    expect(count('技术中心')).toBe(300);
    expect(count('客服中心')).toBe(700);
    expect(DEPARTMENTS.reduce((n, d) => n + count(d), 0)).toBe(2000);
    expect(Math.max(...DEPARTMENTS.map(count))).toBe(count('客服中心'));
    expect(new Set(staff.filter((p) => p.department === '技术中心').map((p) => p.title))).toEqual(
      new Set(['软件工程师', '高级工程师', '运维工程师', '测试工程师', '技术经理']),
    );
    expect(staff[0]?.mail.endsWith('@example.cn')).toBe(true);
  });
});
