import type { Config } from '../../config/schema.ts';
import { normalizeDn } from '../../core/dn.ts';
import type { Finding } from '../../core/doctor/findings.ts';
import { TIERS, type Tier } from '../../core/tiers.ts';
import type { DirectoryProbe, ProbeEntry } from './ports.ts';
import { codeOf, make, messageOf } from './support.ts';

/** slapd's default size limit: a paged read must get past it. */
const DEFAULT_SIZE_LIMIT = 500;

const DIRECTORY = 'directory';

/** The directory step by step: nothing past a failed connection, TLS or bind is tried. */
export async function checkDirectory(config: Config, probe: DirectoryProbe): Promise<Finding[]> {
  const out: Finding[] = [];
  const reachable = await checkDirectoryReachable(probe);
  out.push(reachable);
  if (reachable.status === 'fail') return out;
  const tls = await checkDirectoryTls(config, probe);
  out.push(tls);
  if (tls.status === 'fail') return out;
  const bind = await checkDirectoryBind(config, probe);
  out.push(bind);
  if (bind.status === 'fail') return out;
  const people = await checkReadPeople(config, probe);
  out.push(...people.findings);
  out.push(await checkPagedReads(config, probe));
  for (const tier of TIERS) {
    const group = await checkGroup(config, probe, tier);
    out.push(group.finding);
    out.push(await checkGroupWrite(config, probe, tier, group.placeholder));
  }
  out.push(await checkSshKeyWrite(config, probe, people.sample));
  return out;
}

async function checkDirectoryReachable(probe: DirectoryProbe): Promise<Finding> {
  try {
    await probe.reach();
    return make('directory.reachable', DIRECTORY, 'ok', `${probe.url} accepts connections`);
  } catch (err) {
    return make(
      'directory.reachable',
      DIRECTORY,
      'fail',
      messageOf(err),
      'check directory.url (host and port) and that the LDAP server runs and this machine may reach it',
    );
  }
}

async function checkDirectoryTls(config: Config, probe: DirectoryProbe): Promise<Finding> {
  const { directory } = config;
  try {
    const mode = await probe.secure();
    const ca = directory.ca_file === undefined ? 'the system CA store' : directory.ca_file;
    if (mode === 'none') {
      return make(
        'directory.tls',
        DIRECTORY,
        'warn',
        `${directory.url} without TLS: the bind password travels in clear${directory.allow_cleartext ? ' (allow_cleartext is set)' : ' (allowed only to a loopback address)'}`,
        'use ldaps://… (with directory.ca_file), or set directory.starttls: true',
      );
    }
    return make(
      'directory.tls',
      DIRECTORY,
      'ok',
      `${mode === 'ldaps' ? 'ldaps://' : 'StartTLS'}: the server certificate is verified against ${ca}`,
    );
  } catch (err) {
    return make(
      'directory.tls',
      DIRECTORY,
      'fail',
      messageOf(err),
      directory.starttls
        ? 'the server must offer StartTLS with a certificate for its host name signed by directory.ca_file (or a CA of the system store); or use ldaps://'
        : 'set directory.ca_file to the PEM of the CA that signed the server certificate, and make sure the certificate names the host of directory.url',
    );
  }
}

async function checkDirectoryBind(config: Config, probe: DirectoryProbe): Promise<Finding> {
  const { directory } = config;
  try {
    await probe.bind();
    return make('directory.bind', DIRECTORY, 'ok', `bound as ${directory.bind_dn}`);
  } catch (err) {
    const refused = codeOf(err) === 'RAC_LDAP_INVALID_CREDENTIALS';
    return make(
      'directory.bind',
      DIRECTORY,
      'fail',
      messageOf(err),
      refused
        ? `the directory refuses ${directory.bind_dn} with this password: put the service account's password in ${directory.bind_password_file ?? 'RAC_DIRECTORY_BIND_PASSWORD'} (one line, no other text), or fix directory.bind_dn`
        : `check directory.bind_dn (${directory.bind_dn}) and the service account`,
    );
  }
}

/**
 * Reads a few people with the configured uid attribute. The sample is also where the write check
 * of `sshPublicKey` is done.
 */
async function checkReadPeople(
  config: Config,
  probe: DirectoryProbe,
): Promise<{ findings: Finding[]; sample: ProbeEntry | null }> {
  const { users_base: base, uid_attribute: uid } = config.directory;
  const findings: Finding[] = [];
  let people: readonly ProbeEntry[];
  try {
    people = await probe.findWithAttribute(base, uid, [uid, 'objectClass'], 5);
  } catch (err) {
    findings.push(
      make(
        'directory.read-people',
        DIRECTORY,
        'fail',
        messageOf(err),
        `give the service account read access to ${base} (the ${uid} attribute and sshPublicKey)`,
      ),
    );
    return { findings, sample: null };
  }
  if (people.length === 0) {
    findings.push(
      make(
        'directory.read-people',
        DIRECTORY,
        'fail',
        `no entry with ${uid} is visible under ${base}`,
        `check directory.users_base and directory.uid_attribute (sAMAccountName for Active Directory), and that the service account may read people (search and read access to ${uid})`,
      ),
    );
    return { findings, sample: null };
  }
  findings.push(make('directory.read-people', DIRECTORY, 'ok', `people under ${base} are readable with their ${uid}`));
  findings.push(await checkSshKeyRead(config, probe));
  return { findings, sample: people[0] as ProbeEntry };
}

async function checkSshKeyRead(config: Config, probe: DirectoryProbe): Promise<Finding> {
  const base = config.directory.users_base;
  try {
    const schema = await probe.schemaNames();
    if (!schema.attributeTypes.has('sshpublickey') || !schema.objectClasses.has('ldappublickey')) {
      return make(
        'directory.ssh-keys-read',
        DIRECTORY,
        'fail',
        'the schema has no sshPublicKey attribute or ldapPublicKey object class (openssh-lpk)',
        'load the openssh-lpk schema (infra/ldap/openssh-lpk.ldif: ldapadd -Y EXTERNAL -H ldapi:/// -f openssh-lpk.ldif)',
      );
    }
    const withKeys = await probe.findWithAttribute(base, 'sshPublicKey', ['1.1'], 1);
    if (withKeys.length === 0) {
      return make(
        'directory.ssh-keys-read',
        DIRECTORY,
        'warn',
        `no person under ${base} shows an sshPublicKey: nobody has one yet, or the service account may not read it`,
        `if people do have keys, give the service account read (and search) access to sshPublicKey under ${base}`,
      );
    }
    return make('directory.ssh-keys-read', DIRECTORY, 'ok', 'sshPublicKey values of people are readable');
  } catch (err) {
    return make(
      'directory.ssh-keys-read',
      DIRECTORY,
      'warn',
      `could not be checked: ${messageOf(err)}`,
      'the service account needs read access to the schema and to sshPublicKey of people',
    );
  }
}

/**
 * rac reads the whole users base (and every member of a large group) page by page. slapd stops
 * any non-root search at 500 entries unless the account's limits say otherwise, paged or not.
 */
async function checkPagedReads(config: Config, probe: DirectoryProbe): Promise<Finding> {
  const { users_base: base, uid_attribute: uid, page_size: pageSize } = config.directory;
  try {
    const count = await probe.countPaged(base, uid, DEFAULT_SIZE_LIMIT, pageSize);
    if (count <= DEFAULT_SIZE_LIMIT) {
      return make(
        'directory.paged-reads',
        DIRECTORY,
        'skipped',
        `could not be checked: only ${count} entries with ${uid} under ${base}, and a size limit shows only past ${DEFAULT_SIZE_LIMIT}`,
        null,
      );
    }
    return make('directory.paged-reads', DIRECTORY, 'ok', `a paged search read past ${DEFAULT_SIZE_LIMIT} people`);
  } catch (err) {
    return make(
      'directory.paged-reads',
      DIRECTORY,
      'fail',
      messageOf(err),
      `lift the size limit for the service account, e.g. OpenLDAP: olcLimits: dn.exact="${config.directory.bind_dn}" size.soft=500 size.hard=unlimited size.prtotal=unlimited on the database (Active Directory: MaxPageSize bounds a page, not a paged search)`,
    );
  }
}

const GROUP_CLASSES = ['groupofnames', 'group'] as const;

/**
 * The tier group exists, holds `member` values (groupOfNames, or Active Directory's group), and
 * has a placeholder member outside the users base: groupOfNames needs one value at least, so
 * without it the last person of a group could never be removed.
 */
async function checkGroup(
  config: Config,
  probe: DirectoryProbe,
  tier: Tier,
): Promise<{ finding: Finding; placeholder: string | null }> {
  const dn = config.directory.groups[tier];
  const check = `directory.group.${tier}`;
  let entry: ProbeEntry | null;
  try {
    entry = await probe.readEntry(dn, ['objectClass', 'member']);
  } catch (err) {
    return {
      finding: make(check, DIRECTORY, 'fail', messageOf(err), `give the service account read access to ${dn}`),
      placeholder: null,
    };
  }
  if (entry === null) {
    return {
      finding: make(
        check,
        DIRECTORY,
        'fail',
        `the group ${dn} (directory.groups.${tier}) does not exist`,
        `create it, e.g. ldapadd with:\n  dn: ${dn}\n  objectClass: groupOfNames\n  member: cn=nobody,<a DN outside ${config.directory.users_base}>\nor set directory.groups.${tier} to the group you use`,
      ),
      placeholder: null,
    };
  }
  const classes = (entry.attributes.get('objectclass') ?? []).map((c) => c.toLowerCase());
  // groupOfUniqueNames holds uniqueMember; it passes only where another class lets it hold member too.
  const holdsMember =
    GROUP_CLASSES.some((c) => classes.includes(c)) || (entry.attributes.get('member') ?? []).length > 0;
  if (!holdsMember) {
    const unique = classes.includes('groupofuniquenames');
    return {
      finding: make(
        check,
        DIRECTORY,
        'fail',
        `${dn} is ${classes.join(', ') || 'of no readable object class'}: rac writes member values${unique ? ', and groupOfUniqueNames holds uniqueMember' : ''}`,
        `make ${dn} a groupOfNames (member), as the VPN's auth script and every enforcer check member`,
      ),
      placeholder: null,
    };
  }
  const usersBase = normalizeDn(config.directory.users_base);
  const placeholder =
    (entry.attributes.get('member') ?? []).find((m) => {
      const n = safeNormalize(m);
      return n !== null && n !== usersBase && !n.endsWith(`,${usersBase}`);
    }) ?? null;
  if (placeholder === null && classes.includes('groupofnames')) {
    return {
      finding: make(
        check,
        DIRECTORY,
        'fail',
        `${dn} has no placeholder member outside ${config.directory.users_base}: groupOfNames needs one value, so removing the group's last person would fail`,
        `add one, e.g. ldapmodify with:\n  dn: ${dn}\n  changetype: modify\n  add: member\n  member: cn=nobody,<a DN outside ${config.directory.users_base}>`,
      ),
      placeholder: null,
    };
  }
  if (placeholder === null) {
    return {
      finding: make(
        check,
        DIRECTORY,
        'warn',
        `${dn} exists, without a placeholder member outside ${config.directory.users_base}: the right to write member cannot be proven without changing someone`,
        `add a placeholder member outside ${config.directory.users_base} (Active Directory: a contact)`,
      ),
      placeholder,
    };
  }
  return {
    finding: make(check, DIRECTORY, 'ok', `${dn} exists, with the placeholder member ${placeholder}`),
    placeholder,
  };
}

/**
 * Proves the service account may write `member` of the group without changing its members: ONE
 * modify that deletes the placeholder value and adds it back. A modify is atomic (RFC 4511 §4.6:
 * all of its changes or none), the server checks write access for each value of each change, and
 * the member set afterwards is exactly the one before (only operational attributes such as
 * modifyTimestamp move). The placeholder names no person, so no one's memberOf changes either.
 * The LDAP Assertion control (RFC 4528) was the other candidate — a modify whose assertion is
 * false changes nothing — but slapd evaluates the assertion before the access checks, so a denied
 * write and an allowed one both answer "assertion failed" and nothing is proven.
 */
async function checkGroupWrite(
  config: Config,
  probe: DirectoryProbe,
  tier: Tier,
  placeholder: string | null,
): Promise<Finding> {
  const dn = config.directory.groups[tier];
  const check = `directory.write-members.${tier}`;
  if (placeholder === null)
    return make(check, DIRECTORY, 'skipped', `could not be checked without a placeholder member in ${dn}`, null);
  try {
    await probe.modify(dn, [
      { operation: 'delete', attribute: 'member', value: placeholder },
      { operation: 'add', attribute: 'member', value: placeholder },
    ]);
    return make(check, DIRECTORY, 'ok', `the service account may write member of ${dn} (checked without a change)`);
  } catch (err) {
    return make(
      check,
      DIRECTORY,
      'fail',
      messageOf(err),
      codeOf(err) === 'RAC_LDAP_INSUFFICIENT_ACCESS'
        ? `grant the service account write access to member of ${dn}, e.g. OpenLDAP: olcAccess: to dn.exact="${dn}" attrs=member by dn.exact="${config.directory.bind_dn}" write by users read`
        : `the directory refused a modify of member that changes nothing; rac's membership changes would meet the same refusal: ${messageOf(err)}`,
    );
  }
}

/**
 * Proves the service account may write `sshPublicKey` of people, the same way: one modify that
 * adds a value no one has and deletes it again. The entry ends as it began; the server's schema
 * check sees the final entry, so this works on a person without ldapPublicKey too — which is
 * reported separately, because rac's writes of real keys need it.
 */
async function checkSshKeyWrite(config: Config, probe: DirectoryProbe, person: ProbeEntry | null): Promise<Finding> {
  const check = 'directory.write-ssh-keys';
  if (person === null) return make(check, DIRECTORY, 'skipped', 'could not be checked: no person is readable', null);
  const value = `rac-doctor-write-check ${Date.now()} (added and deleted in one operation)`;
  try {
    await probe.modify(person.dn, [
      { operation: 'add', attribute: 'sshPublicKey', value },
      { operation: 'delete', attribute: 'sshPublicKey', value },
    ]);
  } catch (err) {
    return make(
      check,
      DIRECTORY,
      'fail',
      messageOf(err),
      codeOf(err) === 'RAC_LDAP_INSUFFICIENT_ACCESS'
        ? `grant the service account write access to sshPublicKey of people, e.g. OpenLDAP: olcAccess: to dn.subtree="${config.directory.users_base}" attrs=sshPublicKey by dn.exact="${config.directory.bind_dn}" write by users read`
        : `the directory refused a modify of sshPublicKey that changes nothing (is the openssh-lpk schema loaded?); rac's key changes would meet the same refusal`,
    );
  }
  const classes = (person.attributes.get('objectclass') ?? []).map((c) => c.toLowerCase());
  if (!classes.includes('ldappublickey')) {
    return make(
      check,
      DIRECTORY,
      'warn',
      `the service account may write sshPublicKey, but ${person.dn} has no objectClass ldapPublicKey: storing a key for such a person fails`,
      'add objectClass: ldapPublicKey to people who get the vpn-bastion tier',
    );
  }
  return make(
    check,
    DIRECTORY,
    'ok',
    `the service account may write sshPublicKey of people (checked on ${person.dn} without a change)`,
  );
}

function safeNormalize(dn: string): string | null {
  try {
    return normalizeDn(dn);
  } catch {
    return null; // a value that is no DN is no placeholder either
  }
}
