/**
 * A private OpenLDAP server (slapd) for tests, demos and benchmarks: a fresh data directory,
 * cn=config and seed data generated here and loaded offline with slapadd, then slapd on a
 * loopback port (and a unix socket) as a child of this process.
 *
 *   node infra/local/directory.ts --people 2000 [--seed 1] [--port 3890] [--tls] [--sync] [--keep-data]
 *
 * Layout of the directory (base dc=corp,dc=example):
 *   ou=people    uid=<uid>, inetOrgPerson + ldapPublicKey, userPassword {SSHA}
 *   ou=groups    cn=remote-public | cn=remote-vpn | cn=remote-bastion (groupOfNames; every group
 *                always holds PLACEHOLDER_MEMBER_DN so the last real member can be removed)
 *   ou=services  cn=rac: the service account (writes only `member` of the three tier groups and
 *                `sshPublicKey` of people; reads everything except userPassword)
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, InvalidCredentialsError, NoSuchObjectError } from 'ldapts';
import { type CompanyPerson, generateCompany, UID_PATTERN } from './company.ts';

export type SeedTier = 'public' | 'vpn' | 'vpn-bastion';

export interface LocalDirectoryOptions {
  /** Data directory; default a fresh mkdtemp under os.tmpdir(). Must not exist or be empty (or be a stopped dir of ours). */
  dataDir?: string;
  /** ldap:// port; default a free loopback port. */
  port?: number;
  /** ldaps:// port when `tls`; default a free loopback port. */
  ldapsPort?: number;
  /** People to seed (default none). */
  people?: readonly CompanyPerson[];
  /** uid -> tier already granted at seed time (cumulative: vpn also means public). */
  memberships?: ReadonlyMap<string, SeedTier>;
  /** false (default) => olcDbNoSync TRUE (tests); true => fsync on (benchmarks). */
  sync?: boolean;
  /** Also listen on ldaps:// with a per-run CA + server cert, and allow StartTLS on ldap://. */
  tls?: boolean;
  /** Keep the data directory on stop() (default false). */
  keepData?: boolean;
  /**
   * Where people live: `uid` (default) = uid=<uid>,ou=people,…; `nested-cn` = people named by
   * their full name in nested OUs, cn=<name>,ou=<department>,ou=总部,ou=people,…, many of them
   * with commas, '+' and other characters that need escaping in a DN.
   */
  layout?: 'uid' | 'nested-cn';
}

export interface LocalDirectory {
  /** ldap://127.0.0.1:PORT */
  url: string;
  /** ldaps://127.0.0.1:PORT2 when `tls` */
  ldapsUrl?: string;
  /** PEM file of the per-run CA when `tls` */
  caFile?: string;
  /** ldapi:// URL of the unix socket (root gets EXTERNAL manage access over it). */
  ldapiUrl: string;
  baseDn: string;
  usersBase: string;
  groups: { public: string; vpn: string; 'vpn-bastion': string };
  /** For tests' independent checks only. */
  rootDn: string;
  rootPassword: string;
  serviceDn: string;
  servicePassword: string;
  /** File in dataDir holding servicePassword (no trailing newline), mode 0600. */
  servicePasswordFile: string;
  /** The DN of a seeded person (by uid), as the directory holds it. */
  dnOf(uid: string): string;
  dataDir: string;
  pid: number;
  /** SIGTERM, wait for exit (SIGKILL after 5 s), remove dataDir unless keepData. Idempotent. */
  stop(): Promise<void>;
}

export const BASE_DN = 'dc=corp,dc=example';
export const USERS_BASE = `ou=people,${BASE_DN}`;
export const GROUPS_BASE = `ou=groups,${BASE_DN}`;
export const SERVICES_BASE = `ou=services,${BASE_DN}`;
export const ROOT_DN = `cn=admin,${BASE_DN}`;
export const SERVICE_DN = `cn=rac,${SERVICES_BASE}`;
/** Every tier group always holds this member (groupOfNames needs one); it names no entry. */
export const PLACEHOLDER_MEMBER_DN = `cn=nobody,${GROUPS_BASE}`;
export const TIER_GROUPS = {
  public: `cn=remote-public,${GROUPS_BASE}`,
  vpn: `cn=remote-vpn,${GROUPS_BASE}`,
  'vpn-bastion': `cn=remote-bastion,${GROUPS_BASE}`,
} as const;
const TIER_ORDER: readonly SeedTier[] = ['public', 'vpn', 'vpn-bastion'];

const SCHEMA_DIR = '/etc/ldap/schema';
const MODULE_DIR = '/usr/lib/ldap';
const OPENSSH_LPK_LDIF = fileURLToPath(new URL('../ldap/openssh-lpk.ldif', import.meta.url));
const DATA_DIR_MARKER = '.rac-local-directory';
const READY_TIMEOUT_MS = 10_000;
const READY_POLL_MS = 20;
const STOP_KILL_AFTER_MS = 5_000;
/** Unix socket paths are limited to 107 bytes on Linux. */
const MAX_SOCKET_PATH = 107;
/** 1 GiB map: 50 000 people with all indexes take ~110 MB (measured); the file is sparse. */
const DB_MAX_SIZE = 1024 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Children: never outlive this process.

const running = new Set<ChildProcess>();
let exitHandlerInstalled = false;

function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (!exitHandlerInstalled) {
    exitHandlerInstalled = true;
    process.on('exit', () => {
      for (const c of running) {
        try {
          c.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** {SSHA}: base64(SHA1(password + salt) + salt), with 8 bytes of salt (random unless given). */
export function sshaHash(password: string, salt: Uint8Array = randomBytes(8)): string {
  const digest = createHash('sha1').update(password, 'utf8').update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

function randomSecret(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * One LDIF attribute line: plain when the value is printable ASCII that is safe to write as is
 * (RFC 2849 SAFE-STRING, no leading space, ':' or '<', no trailing space), else `attr:: base64`.
 */
function ldifLine(attr: string, value: string): string {
  if (/^[ -~]*$/.test(value) && !/^[ :<]/.test(value) && !value.endsWith(' ')) return `${attr}: ${value}\n`;
  return `${attr}:: ${Buffer.from(value, 'utf8').toString('base64')}\n`;
}

/** The OU that holds the nested-cn layout's department OUs. */
const NESTED_ROOT = `ou=总部,${USERS_BASE}`;

/** A person's RDN value in the nested-cn layout: a full name, unique thanks to the uid in it. */
function nestedName(person: CompanyPerson, index: number): string {
  switch (index % 4) {
    case 0:
      return `${person.sn}, ${person.givenName} (${person.uid})`;
    case 1:
      return `${person.cn}+${person.uid}`;
    case 2:
      return `${person.cn} "${person.uid}" <R&D; #1>`;
    default:
      return `${person.cn} ${person.uid}`;
  }
}

/** uid → DN for the chosen layout. */
export function personDns(
  people: readonly CompanyPerson[],
  layout: 'uid' | 'nested-cn' = 'uid',
): Map<string, { dn: string; rdnValue: string | null }> {
  const out = new Map<string, { dn: string; rdnValue: string | null }>();
  for (const [i, p] of people.entries()) {
    if (layout === 'uid') out.set(p.uid, { dn: `uid=${p.uid},${USERS_BASE}`, rdnValue: null });
    else {
      const name = nestedName(p, i);
      out.set(p.uid, {
        dn: `cn=${escapeRdnValue(name)},ou=${escapeRdnValue(p.department)},${NESTED_ROOT}`,
        rdnValue: name,
      });
    }
  }
  return out;
}

/** RFC 4514 escaping of an attribute value in a DN. */
function escapeRdnValue(value: string): string {
  let out = '';
  for (const [i, ch] of [...value].entries()) {
    if (',+"\\<>;='.includes(ch)) out += `\\${ch}`;
    else if ((i === 0 && (ch === ' ' || ch === '#')) || (i === value.length - 1 && ch === ' ')) out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

async function freePort(): Promise<number> {
  return await new Promise<number>((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error('could not find a free port'))));
    });
  });
}

async function freePorts(count: number, exclude: readonly number[]): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (!ports.includes(port) && !exclude.includes(port)) ports.push(port);
  }
  return ports;
}

interface RunResult {
  stdout: string;
  stderr: string;
}

async function run(command: string, args: readonly string[], what: string): Promise<RunResult> {
  return await new Promise<RunResult>((resolveRun, reject) => {
    execFile(command, args, { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) {
        const detail = stderr.trim() || stdout.trim() || error.message;
        reject(new Error(`${what} failed (${command} ${args.join(' ')}):\n${tail(detail, 40)}`, { cause: error }));
      } else {
        resolveRun({ stdout, stderr });
      }
    });
  });
}

function tail(text: string, lines: number): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

async function readTail(file: string, lines = 30): Promise<string> {
  try {
    return tail(await readFile(file, 'utf8'), lines) || '(empty log)';
  } catch {
    return '(no log)';
  }
}

async function prepareDataDir(requested: string | undefined): Promise<string> {
  if (requested === undefined) return await mkdtemp(join(tmpdir(), 'rac-ldap-'));
  const dir = resolve(requested);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const entries = await readdir(dir);
  if (entries.length > 0) {
    // Always a FRESH data dir: wipe only what is recognisably ours, refuse anything else.
    if (!entries.includes(DATA_DIR_MARKER)) {
      throw new Error(`data dir ${dir} is not empty and not a local directory of ours; remove it or pick another`);
    }
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
  }
  await chmod(dir, 0o700);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// cn=config

interface ConfigInput {
  dataDir: string;
  rootPasswordHash: string;
  sync: boolean;
  tls: { caFile: string; certFile: string; keyFile: string } | undefined;
}

async function buildConfigLdif(input: ConfigInput): Promise<string> {
  const { dataDir, rootPasswordHash, sync, tls } = input;
  const schemaFiles = ['core', 'cosine', 'nis', 'inetorgperson'].map((name) => join(SCHEMA_DIR, `${name}.ldif`));
  const schemas = await Promise.all([...schemaFiles, OPENSSH_LPK_LDIF].map((file) => readFile(file, 'utf8')));

  const peercredRoot = 'gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth';
  const svc = `dn.exact="${SERVICE_DN}"`;
  const tierGroupRules = Object.values(TIER_GROUPS).map(
    (group) => `to dn.exact="${group}" attrs=member by ${svc} write by users read by * none`,
  );
  const access = [
    // root over ldapi:// (SASL EXTERNAL) may do anything: handy for humans, never used by rac.
    `to * by dn.exact="${peercredRoot}" manage by * break`,
    // Passwords: people change their own; anonymous may only bind; nobody else sees them.
    'to attrs=userPassword by self write by anonymous auth by * none',
    // The service account writes exactly two things: tier group membership ...
    ...tierGroupRules,
    // ... and SSH keys of people.
    `to dn.subtree="${USERS_BASE}" attrs=sshPublicKey by ${svc} write by users read by * none`,
    // Everything else: authenticated read, anonymous nothing.
    `to dn.subtree="${BASE_DN}" by users read by * none`,
  ];

  const global = [
    'dn: cn=config',
    'objectClass: olcGlobal',
    'cn: config',
    `olcPidFile: ${join(dataDir, 'slapd.pid')}`,
    `olcArgsFile: ${join(dataDir, 'slapd.args')}`,
    'olcLogLevel: none',
    ...(tls
      ? [
          `olcTLSCACertificateFile: ${tls.caFile}`,
          `olcTLSCertificateFile: ${tls.certFile}`,
          `olcTLSCertificateKeyFile: ${tls.keyFile}`,
          'olcTLSVerifyClient: never',
        ]
      : []),
  ];

  const parts = [
    `${global.join('\n')}\n`,
    `dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: ${MODULE_DIR}
olcModuleLoad: back_mdb
olcModuleLoad: memberof
olcModuleLoad: refint
`,
    `dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema
`,
    ...schemas.map((text) => `${text.trimEnd()}\n`),
    `dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 500
olcSortVals: member
olcAccess: {0}to dn.base="" by * read
olcAccess: {1}to dn.base="cn=Subschema" by * read
`,
    `dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact="${peercredRoot}" manage by * none
`,
    `dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: ${join(dataDir, 'db')}
olcSuffix: ${BASE_DN}
olcRootDN: ${ROOT_DN}
olcRootPW: ${rootPasswordHash}
olcDbMaxSize: ${DB_MAX_SIZE}
olcDbNoSync: ${sync ? 'FALSE' : 'TRUE'}
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: member eq
olcDbIndex: memberOf eq
olcDbIndex: cn eq,sub
olcLimits: {0}dn.exact="${SERVICE_DN}" size.soft=500 size.hard=unlimited size.prtotal=unlimited
${access.map((rule, i) => `olcAccess: {${i}}${rule}`).join('\n')}
`,
    `dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfDangling: ignore
olcMemberOfRefInt: TRUE
olcMemberOfGroupOC: groupOfNames
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf
`,
    `dn: olcOverlay={1}refint,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcRefintConfig
olcOverlay: {1}refint
olcRefintAttribute: member
olcRefintNothing: ${PLACEHOLDER_MEMBER_DN}
`,
  ];
  return parts.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Seed data

function buildSeedLdif(
  people: readonly CompanyPerson[],
  memberships: ReadonlyMap<string, SeedTier>,
  servicePasswordHash: string,
  layout: 'uid' | 'nested-cn' = 'uid',
): string {
  const dns = personDns(people, layout);
  const personDn = (uid: string) => (dns.get(uid) as { dn: string }).dn;
  const uids = new Set<string>();
  for (const person of people) {
    if (!UID_PATTERN.test(person.uid))
      throw new Error(`invalid uid ${JSON.stringify(person.uid)}: must match ${UID_PATTERN}`);
    if (uids.has(person.uid)) throw new Error(`duplicate uid ${person.uid}`);
    uids.add(person.uid);
  }
  const members: Record<SeedTier, string[]> = { public: [], vpn: [], 'vpn-bastion': [] };
  for (const [uid, tier] of memberships) {
    if (!uids.has(uid)) throw new Error(`membership for unknown uid ${JSON.stringify(uid)}`);
    const rank = TIER_ORDER.indexOf(tier);
    if (rank < 0) throw new Error(`unknown tier ${JSON.stringify(tier)} for ${uid}`);
    for (const t of TIER_ORDER.slice(0, rank + 1)) members[t].push(personDn(uid));
  }

  const chunks: string[] = [];
  chunks.push(`dn: ${BASE_DN}
objectClass: top
objectClass: dcObject
objectClass: organization
o: Corp
dc: corp

dn: ${USERS_BASE}
objectClass: organizationalUnit
ou: people

dn: ${GROUPS_BASE}
objectClass: organizationalUnit
ou: groups

dn: ${SERVICES_BASE}
objectClass: organizationalUnit
ou: services

dn: ${SERVICE_DN}
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: rac
description: remote-access-capacity service account
userPassword: ${servicePasswordHash}
`);

  const groupDescriptions: Record<SeedTier, string> = {
    public: 'remote access tier public',
    vpn: 'remote access tier vpn (includes public)',
    'vpn-bastion': 'remote access tier vpn-bastion (includes vpn and public)',
  };
  for (const tier of TIER_ORDER) {
    const dn = TIER_GROUPS[tier];
    const cn = dn.slice(3, dn.indexOf(','));
    let entry = `dn: ${dn}\nobjectClass: groupOfNames\ncn: ${cn}\ndescription: ${groupDescriptions[tier]}\nmember: ${PLACEHOLDER_MEMBER_DN}\n`;
    for (const member of members[tier]) entry += `member: ${member}\n`;
    chunks.push(entry);
  }

  if (layout === 'nested-cn') {
    chunks.push(`${ldifLine('dn', NESTED_ROOT)}objectClass: organizationalUnit\n${ldifLine('ou', '总部')}`);
    for (const department of new Set(people.map((p) => p.department))) {
      chunks.push(
        `${ldifLine('dn', `ou=${escapeRdnValue(department)},${NESTED_ROOT}`)}objectClass: organizationalUnit\n${ldifLine('ou', department)}`,
      );
    }
  }
  const salts = randomBytes(8 * people.length); // one call: 50 000 small ones cost ~0.2 s
  for (const [i, person] of people.entries()) {
    const rdnValue = (dns.get(person.uid) as { rdnValue: string | null }).rdnValue;
    let entry =
      ldifLine('dn', personDn(person.uid)) +
      'objectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: inetOrgPerson\nobjectClass: ldapPublicKey\n' +
      `uid: ${person.uid}\n` +
      ldifLine('cn', person.cn) +
      (rdnValue === null ? '' : ldifLine('cn', rdnValue)) +
      ldifLine('sn', person.sn) +
      ldifLine('givenName', person.givenName) +
      ldifLine('displayName', person.displayName) +
      ldifLine('ou', person.department) +
      ldifLine('title', person.title) +
      ldifLine('mail', person.mail) +
      `userPassword: ${sshaHash(person.password, salts.subarray(8 * i, 8 * i + 8))}\n`;
    const tier = memberships.get(person.uid);
    if (tier !== undefined) {
      // slapadd skips overlays: write what memberof would have written.
      for (const t of TIER_ORDER.slice(0, TIER_ORDER.indexOf(tier) + 1)) entry += `memberOf: ${TIER_GROUPS[t]}\n`;
    }
    chunks.push(entry);
  }
  return chunks.join('\n');
}

// ---------------------------------------------------------------------------------------------
// TLS

async function makeCertificates(dataDir: string): Promise<{ caFile: string; certFile: string; keyFile: string }> {
  const dir = join(dataDir, 'tls');
  await mkdir(dir, { mode: 0o700 });
  const caKey = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.crt');
  const keyFile = join(dir, 'server.key');
  const certFile = join(dir, 'server.crt');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run(
    'openssl',
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      caKey,
      '-out',
      caFile,
      '-days',
      '7',
      '-sha256',
      '-subj',
      '/CN=rac local directory test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    'openssl (CA)',
  );
  await run(
    'openssl',
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '7',
      '-sha256',
      '-CA',
      caFile,
      '-CAkey',
      caKey,
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      '-addext',
      'keyUsage=critical,digitalSignature',
      '-addext',
      'extendedKeyUsage=serverAuth',
    ],
    'openssl (server certificate)',
  );
  await Promise.all([chmod(caKey, 0o600), chmod(keyFile, 0o600)]);
  return { caFile, certFile, keyFile };
}

// ---------------------------------------------------------------------------------------------
// Start / stop

async function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return await new Promise<boolean>((resolveWait) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolveWait(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(timer);
      resolveWait(true);
    };
    child.once('exit', onExit);
  });
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (!(await waitForExit(child, STOP_KILL_AFTER_MS))) {
    child.kill('SIGKILL');
    await waitForExit(child, STOP_KILL_AFTER_MS);
  }
}

type Probe = 'ours' | 'not-ready' | 'foreign';

/**
 * Readiness: an anonymous rootDSE search answers, then a bind with this run's random root
 * password proves the server is ours (a port taken by another slapd would otherwise look ready).
 */
async function probe(url: string, rootDn: string, rootPassword: string): Promise<Probe> {
  const client = new Client({ url, connectTimeout: 1000, timeout: 1000 });
  try {
    const { searchEntries } = await client.search('', {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: ['namingContexts'],
    });
    if (searchEntries.length !== 1) return 'not-ready';
    try {
      await client.bind(rootDn, rootPassword);
      return 'ours';
    } catch (err) {
      return err instanceof InvalidCredentialsError || err instanceof NoSuchObjectError ? 'foreign' : 'not-ready';
    }
  } catch {
    return 'not-ready';
  } finally {
    await client.unbind().catch(() => {});
  }
}

export async function startDirectory(options: LocalDirectoryOptions = {}): Promise<LocalDirectory> {
  const people = options.people ?? [];
  const memberships = options.memberships ?? new Map<string, SeedTier>();
  const tlsWanted = options.tls ?? false;
  const keepData = options.keepData ?? false;

  const dataDir = await prepareDataDir(options.dataDir);
  let child: ChildProcess | undefined;
  try {
    await writeFile(join(dataDir, DATA_DIR_MARKER), 'a data directory of infra/local/directory.ts\n');
    const socketPath = join(dataDir, 'ldapi');
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
      throw new Error(`data dir path too long for a unix socket (${socketPath}); use a shorter dataDir`);
    }

    const [port, ldapsPort] = await (async () => {
      const needed = (options.port === undefined ? 1 : 0) + (tlsWanted && options.ldapsPort === undefined ? 1 : 0);
      const given = [options.port, options.ldapsPort].filter((p): p is number => p !== undefined);
      const found = await freePorts(needed, given);
      const p = options.port ?? (found.shift() as number);
      const s = tlsWanted ? (options.ldapsPort ?? (found.shift() as number)) : undefined;
      return [p, s] as const;
    })();

    const rootPassword = randomSecret();
    const servicePassword = randomSecret();
    const servicePasswordFile = join(dataDir, 'service-password');
    await writeFile(servicePasswordFile, servicePassword, { mode: 0o600 });

    const configDir = join(dataDir, 'slapd.d');
    await Promise.all([mkdir(configDir, { mode: 0o700 }), mkdir(join(dataDir, 'db'), { mode: 0o700 })]);
    const tls = tlsWanted ? await makeCertificates(dataDir) : undefined;

    const configFile = join(dataDir, 'config.ldif');
    await writeFile(
      configFile,
      await buildConfigLdif({ dataDir, rootPasswordHash: sshaHash(rootPassword), sync: options.sync ?? false, tls }),
      { mode: 0o600 },
    );
    await run('slapadd', ['-n0', '-F', configDir, '-l', configFile], 'slapadd of cn=config');

    const seedFile = join(dataDir, 'seed.ldif');
    const layout = options.layout ?? 'uid';
    await writeFile(seedFile, buildSeedLdif(people, memberships, sshaHash(servicePassword), layout), { mode: 0o600 });
    const dnByUid = personDns(people, layout);
    await run('slapadd', ['-q', '-n1', '-F', configDir, '-l', seedFile], 'slapadd of the seed data');

    const url = `ldap://127.0.0.1:${port}`;
    const ldapsUrl = ldapsPort === undefined ? undefined : `ldaps://127.0.0.1:${ldapsPort}`;
    const ldapiUrl = `ldapi://${encodeURIComponent(socketPath)}`;
    const listen = [`${url}/`, ...(ldapsUrl ? [`${ldapsUrl}/`] : []), ldapiUrl].join(' ');

    const logFile = join(dataDir, 'slapd.log');
    const log = await open(logFile, 'a', 0o600);
    let spawnedOk: Promise<void>;
    try {
      // `-d none`: stay in the foreground and log only messages of no particular level, i.e. fatal
      // errors such as "daemon: bind(6) failed errno=98"; `-d 0` prints nothing, even on failure.
      const c = spawn('slapd', ['-d', 'none', '-h', listen, '-F', configDir], {
        detached: false,
        stdio: ['ignore', log.fd, log.fd],
      });
      child = c;
      // Listen before any await: 'spawn' / 'error' fire on a later tick.
      spawnedOk = new Promise<void>((resolveSpawn, reject) => {
        c.once('spawn', resolveSpawn);
        c.once('error', (err) => reject(new Error(`cannot start slapd: ${err.message}`, { cause: err })));
      });
      spawnedOk.catch(() => {}); // awaited below; avoid an unhandled rejection meanwhile
      track(c);
    } finally {
      await log.close();
    }
    const spawned = child;
    await spawnedOk;

    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last: Probe = 'not-ready';
    for (;;) {
      if (spawned.exitCode !== null || spawned.signalCode !== null) {
        const foreign = last === 'foreign' ? ` (another server answers on ${url})` : '';
        throw new Error(
          `slapd exited during start (${spawned.exitCode ?? spawned.signalCode})${foreign}; log tail:\n${await readTail(logFile)}`,
        );
      }
      last = await probe(url, ROOT_DN, rootPassword);
      if (last === 'ours') break;
      if (Date.now() > deadline) {
        const why = last === 'foreign' ? `another server answers on ${url}` : `slapd did not answer on ${url}`;
        throw new Error(`${why} within ${READY_TIMEOUT_MS / 1000} s; log tail:\n${await readTail(logFile)}`);
      }
      await new Promise((r) => setTimeout(r, READY_POLL_MS));
    }

    let stopping: Promise<void> | undefined;
    const directory: LocalDirectory = {
      url,
      ldapiUrl,
      baseDn: BASE_DN,
      usersBase: USERS_BASE,
      groups: { ...TIER_GROUPS },
      rootDn: ROOT_DN,
      rootPassword,
      serviceDn: SERVICE_DN,
      servicePassword,
      servicePasswordFile,
      dnOf: (uid) => {
        const found = dnByUid.get(uid);
        if (found === undefined) throw new Error(`no seeded person ${uid}`);
        return found.dn;
      },
      dataDir,
      pid: spawned.pid as number,
      stop: () => {
        stopping ??= (async () => {
          await killChild(spawned);
          if (!keepData) await rm(dataDir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
    if (ldapsUrl !== undefined && tls !== undefined) {
      directory.ldapsUrl = ldapsUrl;
      directory.caFile = tls.caFile;
    }
    return directory;
  } catch (err) {
    if (child) await killChild(child);
    if (!keepData) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Script: node infra/local/directory.ts --people 2000

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      people: { type: 'string', default: '0' },
      seed: { type: 'string', default: '1' },
      port: { type: 'string' },
      'ldaps-port': { type: 'string' },
      'data-dir': { type: 'string' },
      tls: { type: 'boolean', default: false },
      sync: { type: 'boolean', default: false },
      'keep-data': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      'usage: node infra/local/directory.ts [--people N] [--seed N] [--port P] [--tls [--ldaps-port P]] [--sync] [--data-dir D] [--keep-data]\n' +
        'Starts a private slapd seeded with N synthetic people, prints its connection facts as JSON, stops on SIGINT/SIGTERM.',
    );
    return;
  }
  const int = (name: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${text}`);
    return n;
  };
  const started = performance.now();
  const people = generateCompany(int('people', values.people) ?? 0, { seed: int('seed', values.seed) ?? 1 });
  const directory = await startDirectory({
    people,
    port: int('port', values.port),
    ldapsPort: int('ldaps-port', values['ldaps-port']),
    dataDir: values['data-dir'],
    tls: values.tls,
    sync: values.sync,
    keepData: values['keep-data'],
  });
  const { stop: _stop, ...facts } = directory;
  console.log(
    JSON.stringify({ ...facts, people: people.length, startMs: Math.round(performance.now() - started) }, null, 2),
  );
  console.error(`slapd ${directory.pid} listening on ${directory.url}; Ctrl-C to stop`);
  const shutdown = (signal: string): void => {
    console.error(`${signal}: stopping slapd ${directory.pid}`);
    directory.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
