import type { Config, GatewayConfig } from '../config/schema.ts';
import { normalizeDn } from '../core/dn.ts';
import { countFindings, doctorExitCode, type Finding, type FindingStatus } from '../core/doctor/findings.ts';
import { AppError } from '../core/errors.ts';
import { parseOpenVpnServerConfig } from '../core/openvpn/parse-server-config.ts';
import { TIERS, type Tier } from '../core/tiers.ts';
import type { RemoteShell } from '../ports.ts';

// ── Ports: what the doctor needs of the directory and the hosts ──────────────────────────────────

export interface ProbeEntry {
  readonly dn: string;
  /** Attribute values by lower-cased attribute name. */
  readonly attributes: ReadonlyMap<string, readonly string[]>;
}

/** The directory, looked at step by step so that each step's failure is reported as itself. */
export interface DirectoryProbe {
  readonly url: string;
  /** A TCP connection to the server. */
  reach(): Promise<void>;
  /** TLS as configured, certificate verified: ldaps:// handshake, StartTLS, or 'none' (cleartext). */
  secure(): Promise<'ldaps' | 'starttls' | 'none'>;
  bind(): Promise<void>;
  /** One entry, or null when it does not exist. */
  readEntry(dn: string, attributes: readonly string[]): Promise<ProbeEntry | null>;
  /** Up to `limit` entries under `base` that have `attribute`. */
  findWithAttribute(
    base: string,
    attribute: string,
    attributes: readonly string[],
    limit: number,
  ): Promise<readonly ProbeEntry[]>;
  /** Entries with `attribute` read by a paged search, stopping once more than `stopAfter` are seen. */
  countPaged(base: string, attribute: string, stopAfter: number, pageSize: number): Promise<number>;
  /** One modify operation: its changes are applied together or not at all. */
  modify(
    dn: string,
    changes: ReadonlyArray<{ operation: 'add' | 'delete'; attribute: string; value: string }>,
  ): Promise<void>;
  /** Lower-cased names of the attribute types and object classes the server's schema defines. */
  schemaNames(): Promise<{ attributeTypes: ReadonlySet<string>; objectClasses: ReadonlySet<string> }>;
  close(): Promise<void>;
}

/** One managed host, as the doctor reaches it. */
export interface DoctorHost {
  readonly gateway: GatewayConfig;
  /** The host key the host offers now (nothing past key exchange is sent). */
  scanHostKey(): Promise<{ keyLine: string; fingerprint: string }>;
  /** The fingerprint of the configured pin (throws RAC_SSH_HOST_KEY_PIN_INVALID), null when none is configured. */
  pinnedFingerprint(): string | null;
  /** A shell over SSH with the pinned host key (throws on an unusable client key). */
  shell(): RemoteShell;
  /** OpenVPN: one management command answered by SUCCESS:/ERROR:. */
  management(command: string): Promise<{ ok: boolean; text: string }>;
  close(): Promise<void>;
}

export interface DoctorDeps {
  readonly config: Config;
  readonly directory: DirectoryProbe;
  readonly hosts: readonly DoctorHost[];
}

export interface DoctorReport {
  readonly findings: readonly Finding[];
  readonly counts: Record<FindingStatus, number>;
  /** 0 nothing blocks an apply, 2 something does, 6 the directory or a host could not be reached. */
  readonly exitCode: number;
}

/** How many hosts are looked at at once. */
const HOST_CONCURRENCY = 4;
/** slapd's default size limit: a paged read must get past it. */
const DEFAULT_SIZE_LIMIT = 500;

/**
 * `rac doctor`: everything a site must have before the first apply, with what to fix. Nothing on
 * the directory or a host is changed (the write checks are no-op modifies, see checkGroupWrite).
 */
export async function runDoctor(deps: DoctorDeps): Promise<DoctorReport> {
  const hostFindings: Finding[][] = deps.hosts.map(() => []);
  let next = 0;
  const worker = async () => {
    while (next < deps.hosts.length) {
      const i = next++;
      hostFindings[i] = await checkHost(deps.hosts[i] as DoctorHost);
    }
  };
  const [directoryFindings] = await Promise.all([
    checkDirectory(deps.config, deps.directory),
    ...Array.from({ length: Math.min(HOST_CONCURRENCY, deps.hosts.length) }, worker),
  ]);
  const findings = [...directoryFindings, ...hostFindings.flat()];
  return { findings, counts: countFindings(findings), exitCode: doctorExitCode(findings) };
}

const make = (check: string, target: string, status: FindingStatus, detail: string, fix: string | null = null) =>
  ({ check, target, status, detail, fix }) satisfies Finding;

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
const codeOf = (err: unknown) => (err instanceof AppError ? err.code : '');

// ── The directory ────────────────────────────────────────────────────────────────────────────────

const DIRECTORY = 'directory';

async function checkDirectory(config: Config, probe: DirectoryProbe): Promise<Finding[]> {
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

// ── Hosts ────────────────────────────────────────────────────────────────────────────────────────

export interface HostContext {
  readonly host: DoctorHost;
  readonly gateway: GatewayConfig;
  readonly shell: RemoteShell;
  readonly timeoutMs: number;
  /** argv as root: itself when logged in as root, through `sudo -n` where sudo works, else as is. */
  privileged(argv: readonly string[]): readonly string[];
}

export type HostCheck = (ctx: HostContext) => Promise<Finding[]>;

async function checkHost(host: DoctorHost): Promise<Finding[]> {
  const out: Finding[] = [];
  try {
    const pin = await checkHostPin(host);
    out.push(pin);
    if (pin.status === 'fail') return out;
    const login = await checkSshLogin(host);
    out.push(login.finding);
    if (login.shell === null) return out;
    const privilege = await checkRootOrSudo(host, login.shell, login.uid);
    out.push(privilege.finding);
    const ctx: HostContext = {
      host,
      gateway: host.gateway,
      shell: login.shell,
      timeoutMs: Math.min(host.gateway.ssh.timeout_ms, 15_000),
      privileged: (argv) => (privilege.viaSudo ? ['sudo', '-n', '--', ...argv] : argv),
    };
    const checks = HOST_CHECKS_BY_KIND[host.gateway.kind];
    if (checks === undefined) {
      out.push(
        make(
          `${host.gateway.kind}.checks`,
          host.gateway.name,
          'skipped',
          `rac doctor has no checks for kind ${host.gateway.kind} yet`,
        ),
      );
      return out;
    }
    for (const check of checks) out.push(...(await check(ctx)));
    return out;
  } finally {
    await host.close().catch(() => undefined);
  }
}

async function checkHostPin(host: DoctorHost): Promise<Finding> {
  const { name, ssh } = host.gateway;
  let pinned: string | null;
  try {
    pinned = host.pinnedFingerprint();
  } catch (err) {
    return make('host.pin', name, 'fail', messageOf(err), `rac trust ${name}`);
  }
  if (pinned === null) {
    return make(
      'host.pin',
      name,
      'fail',
      `no host key is pinned for ${name} (gateways: ssh.host_key): rac never talks to an unpinned host`,
      `rac trust ${name}   (compare the fingerprint it shows with ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the host itself)`,
    );
  }
  let offered: { fingerprint: string };
  try {
    offered = await host.scanHostKey();
  } catch (err) {
    return make(
      'host.reachable',
      name,
      'fail',
      messageOf(err),
      `check ssh.host and ssh.port (${ssh.host}:${ssh.port}) and that sshd runs there and this machine may reach it`,
    );
  }
  if (offered.fingerprint !== pinned) {
    return make(
      'host.pin',
      name,
      'fail',
      `${name} offers the host key ${offered.fingerprint}, but ${pinned} is pinned: nothing was sent to it`,
      `if the host was rebuilt, check the new key on the host itself (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then: rac trust ${name} --replace ${pinned}. Otherwise something else answers at ${ssh.host}:${ssh.port}: find out what before going on`,
    );
  }
  return make('host.pin', name, 'ok', `${name} offers the pinned host key ${pinned}`);
}

async function checkSshLogin(host: DoctorHost): Promise<{ finding: Finding; shell: RemoteShell | null; uid: number }> {
  const { name, ssh } = host.gateway;
  let shell: RemoteShell;
  try {
    shell = host.shell();
  } catch (err) {
    return {
      finding: make('host.ssh-login', name, 'fail', messageOf(err), 'fix the client key settings under ssh'),
      shell: null,
      uid: -1,
    };
  }
  try {
    const r = await shell.exec(['id', '-u'], { timeoutMs: Math.min(ssh.timeout_ms, 15_000) });
    const uid = Number(r.stdout.toString('utf8').trim());
    if (r.code !== 0 || !Number.isInteger(uid))
      return {
        finding: make(
          'host.ssh-login',
          name,
          'fail',
          `id -u failed (exit ${r.code}): ${r.stderr.trim()}`,
          'check the account’s shell',
        ),
        shell: null,
        uid: -1,
      };
    return { finding: make('host.ssh-login', name, 'ok', `logged in as ${ssh.user} (uid ${uid})`), shell, uid };
  } catch (err) {
    const code = codeOf(err);
    const unreachable = code === 'RAC_SSH_UNAVAILABLE' || code === 'RAC_SSH_TIMEOUT';
    return {
      finding: make(
        unreachable ? 'host.reachable' : 'host.ssh-login',
        name,
        'fail',
        messageOf(err),
        code === 'RAC_SSH_AUTH'
          ? `put the public half of ssh.private_key_file in ~${ssh.user}/.ssh/authorized_keys on ${name}`
          : `check the SSH login of ${ssh.user} on ${ssh.host}:${ssh.port}`,
      ),
      shell: null,
      uid: -1,
    };
  }
}

async function checkRootOrSudo(
  host: DoctorHost,
  shell: RemoteShell,
  uid: number,
): Promise<{ finding: Finding; viaSudo: boolean }> {
  const { name, ssh } = host.gateway;
  if (uid === 0) return { finding: make('host.privilege', name, 'ok', `${ssh.user} is root`), viaSudo: false };
  const r = await shell
    .exec(['sudo', '-n', 'true'], { timeoutMs: Math.min(ssh.timeout_ms, 15_000) })
    .catch((err: unknown) => ({ code: -1, stderr: messageOf(err) }));
  if (r.code === 0)
    return {
      finding: make('host.privilege', name, 'ok', `${ssh.user} may use sudo without a password`),
      viaSudo: true,
    };
  return {
    finding: make(
      'host.privilege',
      name,
      'fail',
      r.code === 127
        ? `${ssh.user} is not root and sudo is not installed on ${name}`
        : `${ssh.user} is not root and sudo -n true fails (exit ${r.code}): ${r.stderr.trim().split('\n')[0] ?? ''}`,
      `give ${ssh.user} password-less sudo on ${name} for the commands rac runs (a rule in /etc/sudoers.d, checked with visudo -cf), or manage the host as root`,
    ),
    viaSudo: false,
  };
}

// ── OpenVPN gateways ─────────────────────────────────────────────────────────────────────────────

/** Prints what ccd_dir is: `symlink <target>`, `directory`, `other` or `missing`. Static text; the path is $1. */
const CCD_KIND_SCRIPT = `if [ -L "$1" ]; then
  if [ -d "$1/" ]; then echo "symlink $(readlink -- "$1")"; else echo "dangling $(readlink -- "$1")"; fi
elif [ -d "$1" ]; then echo directory
elif [ -e "$1" ]; then echo other
else echo missing; fi`;

async function checkCcdSymlink(ctx: HostContext): Promise<Finding[]> {
  const { name } = ctx.gateway;
  const ccd = ctx.gateway.openvpn?.ccd_dir as string;
  const check = 'openvpn.ccd-symlink';
  const r = await ctx.shell.exec(ctx.privileged(['sh', '-c', CCD_KIND_SCRIPT, 'rac-doctor', ccd]), {
    timeoutMs: ctx.timeoutMs,
  });
  const answer = r.stdout.toString('utf8').trim();
  if (r.code !== 0) return [make(check, name, 'fail', `cannot look at ${ccd}: ${r.stderr.trim()}`, null)];
  if (answer.startsWith('symlink ')) {
    if (!ccd.startsWith('/'))
      return [
        make(check, name, 'fail', `ccd_dir ${ccd} is not an absolute path`, 'give openvpn.ccd_dir as an absolute path'),
      ];
    return [make(check, name, 'ok', `${ccd} is a symlink to ${answer.slice('symlink '.length)}`)];
  }
  const parent = ccd.replace(/\/+$/, '').replace(/\/[^/]*$/, '') || '/';
  const link = `ln -s ${ccd}.0 ${ccd}`;
  const fixes: Record<string, { detail: string; fix: string }> = {
    directory: {
      detail: `${ccd} is a plain directory: rac swaps client-config-dir as a symlink, in one rename, so OpenVPN never reads a half-written set`,
      fix: `on ${name}, as root:\n  mv -T ${ccd} ${ccd}.0 && ${link}\n(a login in the instant between the two commands is refused by ccd-exclusive; nothing needs a restart, OpenVPN reads ${ccd}/<user> at each connect). rac writes its sets as ${parent}/.rac-ccd.* next to it.`,
    },
    missing: {
      detail: `${ccd} does not exist`,
      fix: `on ${name}, as root: mkdir ${ccd}.0 && ${link}, and point client-config-dir in the server config at ${ccd}`,
    },
    other: {
      detail: `${ccd} is neither a directory nor a symlink`,
      fix: `make ${ccd} a symlink to a directory: ${link}`,
    },
  };
  const known = fixes[answer];
  if (known !== undefined) return [make(check, name, 'fail', known.detail, known.fix)];
  return [
    make(
      check,
      name,
      'fail',
      `${ccd} is a symlink to ${answer.replace(/^dangling /, '')}, which is not a directory`,
      `on ${name}, as root: mkdir ${ccd}.0 && ln -sfn ${ccd}.0 ${ccd}`,
    ),
  ];
}

async function checkManagement(ctx: HostContext): Promise<Finding[]> {
  const { name } = ctx.gateway;
  const socket = ctx.gateway.openvpn?.management as string;
  try {
    const reply = await ctx.host.management('load-stats');
    if (reply.ok) return [make('openvpn.management', name, 'ok', `${socket} answers load-stats: ${reply.text}`)];
    return [make('openvpn.management', name, 'fail', `${socket} answers load-stats with ${reply.text}`, null)];
  } catch (err) {
    return [
      make(
        'openvpn.management',
        name,
        'fail',
        messageOf(err),
        `in the server config:\n  management ${socket} unix\n  management-client-user root\nthen restart OpenVPN; the socket's directory should be 0700 root. rac reaches it over SSH (stream-local forwarding: AllowStreamLocalForwarding must not be "no" in sshd_config)`,
      ),
    ];
  }
}

/**
 * The options rac relies on, read from the server's config file: ccd-exclusive (no CCD file, no
 * login: removing the file revokes), username-as-common-name (the CCD file and `kill` go by the
 * person's name) and the auth script (the password and the tier group are checked at each login).
 */
async function checkOpenVpnServerConfig(ctx: HostContext): Promise<Finding[]> {
  const { name } = ctx.gateway;
  const openvpn = ctx.gateway.openvpn;
  const file = openvpn?.config_file;
  if (openvpn === undefined || file === undefined) {
    return [
      make(
        'openvpn.server-config',
        name,
        'skipped',
        'could not be checked: ccd-exclusive, username-as-common-name and auth-user-pass-verify are read from the server config file, and openvpn.config_file is not set',
        `set openvpn.config_file (e.g. /etc/openvpn/server/server.conf) for gateway ${name}`,
      ),
    ];
  }
  const r = await ctx.shell.exec(ctx.privileged(['cat', '--', file]), { timeoutMs: ctx.timeoutMs });
  if (r.code !== 0) {
    return [
      make(
        'openvpn.server-config',
        name,
        'warn',
        `could not be checked: cannot read ${file}: ${r.stderr.trim()}`,
        'check openvpn.config_file: the file the running server was started with',
      ),
    ];
  }
  const options = parseOpenVpnServerConfig(r.stdout.toString('utf8'));
  const out: Finding[] = [];
  const includes =
    options.includes.length === 0 ? '' : ` (${file} includes ${options.includes.join(', ')}, which is not read)`;
  out.push(
    options.ccdExclusive
      ? make('openvpn.ccd-exclusive', name, 'ok', `${file} has ccd-exclusive`)
      : make(
          'openvpn.ccd-exclusive',
          name,
          'fail',
          `${file} has no ccd-exclusive${includes}: people without a CCD file could still log in, and revocation would not hold`,
          `add the line "ccd-exclusive" to ${file} and restart OpenVPN`,
        ),
  );
  out.push(
    options.usernameAsCommonName
      ? make('openvpn.username-as-common-name', name, 'ok', `${file} has username-as-common-name`)
      : make(
          'openvpn.username-as-common-name',
          name,
          'fail',
          `${file} has no username-as-common-name${includes}: CCD files are named by person, and OpenVPN would look them up by certificate name`,
          `add the line "username-as-common-name" to ${file} and restart OpenVPN`,
        ),
  );
  out.push(authScriptFinding(name, file, options, includes));
  if (
    options.clientConfigDir !== null &&
    options.clientConfigDir.replace(/\/+$/, '') !== openvpn.ccd_dir.replace(/\/+$/, '')
  )
    out.push(
      make(
        'openvpn.client-config-dir',
        name,
        'fail',
        `${file} reads client-config-dir ${options.clientConfigDir}, but rac writes openvpn.ccd_dir ${openvpn.ccd_dir}`,
        'make both the same path',
      ),
    );
  if (options.managementSocket !== null && options.managementSocket !== openvpn.management)
    out.push(
      make(
        'openvpn.management-path',
        name,
        'warn',
        `${file} opens the management socket ${options.managementSocket}, but rac talks to openvpn.management ${openvpn.management}`,
        'make both the same path',
      ),
    );
  return out;
}

function authScriptFinding(
  name: string,
  file: string,
  options: ReturnType<typeof parseOpenVpnServerConfig>,
  includes: string,
): Finding {
  const check = 'openvpn.auth-script';
  if (options.authUserPassVerify === null) {
    return make(
      check,
      name,
      'fail',
      `${file} has no auth-user-pass-verify${includes}: nothing checks the password and the tier group at login`,
      `add to ${file}:\n  script-security 2\n  auth-user-pass-verify "/bin/sh /etc/openvpn/auth-ldap.sh /etc/openvpn/auth-ldap.conf" via-file\n(the script is infra/openvpn/auth-ldap.sh) and restart OpenVPN`,
    );
  }
  if (options.scriptSecurity === null || options.scriptSecurity < 2) {
    return make(
      check,
      name,
      'fail',
      `${file} has auth-user-pass-verify but script-security ${options.scriptSecurity ?? '1 (the default)'}: OpenVPN will not run the script`,
      `add "script-security 2" to ${file} and restart OpenVPN`,
    );
  }
  return make(check, name, 'ok', `${file} checks logins with ${options.authUserPassVerify}`);
}

// ── Bastions ─────────────────────────────────────────────────────────────────────────────────────

/** The commands the bastion account script runs, with the Debian package that has each. */
const BASTION_COMMANDS: ReadonlyArray<{ command: string; package: string; required: boolean }> = [
  { command: 'setpriv', package: 'util-linux', required: true },
  { command: 'flock', package: 'util-linux', required: false },
  { command: 'useradd', package: 'passwd', required: true },
  { command: 'usermod', package: 'passwd', required: true },
  { command: 'groupadd', package: 'passwd', required: true },
  { command: 'chpasswd', package: 'passwd', required: true },
  { command: 'getent', package: 'libc-bin', required: true },
  { command: 'pkill', package: 'procps', required: true },
  { command: 'ps', package: 'procps', required: true },
  { command: 'awk', package: 'mawk', required: true },
  { command: 'xargs', package: 'findutils', required: true },
  { command: 'mktemp', package: 'coreutils', required: true },
];

/** Prints each argument that is not a command, with the PATH the account script sets. */
const MISSING_COMMANDS_SCRIPT = `PATH=/usr/sbin:/usr/bin:/sbin:/bin
for c in "$@"; do command -v "$c" >/dev/null 2>&1 || echo "$c"; done`;

async function checkBastionCommands(ctx: HostContext): Promise<Finding[]> {
  const { name } = ctx.gateway;
  const r = await ctx.shell.exec(
    ['sh', '-c', MISSING_COMMANDS_SCRIPT, 'rac-doctor', ...BASTION_COMMANDS.map((c) => c.command)],
    { timeoutMs: ctx.timeoutMs },
  );
  if (r.code !== 0)
    return [make('bastion.commands', name, 'warn', `could not be checked: exit ${r.code}: ${r.stderr.trim()}`, null)];
  const missing = new Set(r.stdout.toString('utf8').split('\n').filter(Boolean));
  const lacking = BASTION_COMMANDS.filter((c) => missing.has(c.command));
  if (lacking.length === 0)
    return [
      make(
        'bastion.commands',
        name,
        'ok',
        `the account script's commands are there (${BASTION_COMMANDS.map((c) => c.command).join(', ')})`,
      ),
    ];
  const required = lacking.filter((c) => c.required);
  const packages = [...new Set(lacking.map((c) => c.package))].join(' ');
  return [
    make(
      'bastion.commands',
      name,
      required.length > 0 ? 'fail' : 'warn',
      `missing on ${name}: ${lacking.map((c) => c.command).join(', ')}${required.length === 0 ? ' (optional: without flock two rac runs could interleave)' : ''}`,
      `apt-get install --no-install-recommends ${packages}`,
    ),
  ];
}

// ── WireGuard gateways ───────────────────────────────────────────────────────────────────────────

async function checkWireGuardInterface(ctx: HostContext): Promise<Finding[]> {
  const { name } = ctx.gateway;
  const wireguard = ctx.gateway.wireguard;
  if (wireguard === undefined) return [];
  const iface = wireguard.interface;
  const r = await ctx.shell.exec(ctx.privileged(['wg', 'show', iface, 'public-key']), { timeoutMs: ctx.timeoutMs });
  if (r.code !== 0) {
    return [
      make(
        'wireguard.interface',
        name,
        'fail',
        `wg show ${iface} public-key failed (exit ${r.code}): ${r.stderr.trim()}`,
        `bring the interface up on ${name} (wg-quick up ${iface}, or your own unit), or fix wireguard.interface`,
      ),
    ];
  }
  const key = r.stdout.toString('utf8').trim();
  if (key !== wireguard.public_key) {
    return [
      make(
        'wireguard.interface',
        name,
        'fail',
        `${iface} has the public key ${key}, the config says ${wireguard.public_key}: client profiles would not connect`,
        `set wireguard.public_key: "${key}" for gateway ${name}`,
      ),
    ];
  }
  return [make('wireguard.interface', name, 'ok', `${iface} is up with the configured public key`)];
}

// ── The checks of each kind of host ──────────────────────────────────────────────────────────────

/**
 * The extension point for a new kind of host: its checks, run after the pin, the login and the
 * root/sudo check that every host gets. A kind without an entry is reported as not checked.
 * Access proxies (kind `proxy`): add `proxy: [checkProxyMapInclude, …]` here.
 */
export const HOST_CHECKS_BY_KIND: Readonly<Record<string, readonly HostCheck[]>> = {
  openvpn: [checkCcdSymlink, checkManagement, checkOpenVpnServerConfig],
  bastion: [checkBastionCommands],
  wireguard: [checkWireGuardInterface],
};
