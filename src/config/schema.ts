import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { HttpServiceFields } from './http-schema.ts';

/**
 * The one config schema: it is the type and the validator. Fields marked `secret: true` are
 * never printed; redaction paths are derived from these marks (see `secretPaths`).
 */

const Ratio = Type.Number({ minimum: 0, maximum: 1 });
const NonEmpty = Type.String({ minLength: 1 });
const AttributeName = Type.String({
  minLength: 1,
  pattern: '^[A-Za-z][A-Za-z0-9-]*$',
  description: 'an LDAP attribute name',
});
const AttributeList = (defaults: readonly string[]) =>
  Type.Union([AttributeName, Type.Array(AttributeName, { minItems: 1 })], { default: [...defaults] });
const Dn = Type.String({ minLength: 3, pattern: '^[A-Za-z][A-Za-z0-9-]*=', description: 'an LDAP DN' });

function perTier<T extends TSchema>(schema: T, defaults?: { public: unknown; vpn: unknown; 'vpn-bastion': unknown }) {
  return Type.Object(
    { public: schema, vpn: schema, 'vpn-bastion': schema },
    { additionalProperties: false, ...(defaults === undefined ? {} : { default: defaults }) },
  );
}

export const CapacitySchema = Type.Object(
  {
    target_sessions: Type.Integer({ minimum: 1, default: 5000 }),
    peak_concurrency: perTier(Ratio, { public: 0.6, vpn: 0.9, 'vpn-bastion': 0.9 }),
    enforce: Type.Union([Type.Literal('refuse'), Type.Literal('warn')], { default: 'refuse' }),
    /** A dry run of the capacity check (no load generated) verifies capacity: demo and e2e only. */
    accept_dry_run: Type.Boolean({ default: false }),
  },
  { additionalProperties: false, default: {} },
);

export const DirectorySchema = Type.Object(
  {
    url: Type.String({ pattern: '^ldaps?://[^\\s]+$', description: 'ldap:// or ldaps:// URL' }),
    bind_dn: Dn,
    bind_password_file: Type.Optional(Type.String({ minLength: 1, description: 'file holding the bind password' })),
    bind_password: Type.Optional(
      Type.String({
        minLength: 1,
        secret: true,
        description: 'prefer bind_password_file or RAC_DIRECTORY_BIND_PASSWORD',
      }),
    ),
    users_base: Dn,
    groups: perTier(Dn, {
      public: 'cn=remote-public,ou=groups,dc=corp,dc=example',
      vpn: 'cn=remote-vpn,ou=groups,dc=corp,dc=example',
      'vpn-bastion': 'cn=remote-bastion,ou=groups,dc=corp,dc=example',
    }),
    /** The attribute that holds a person's login name (uid; sAMAccountName for Active Directory). Never parsed out of a DN. */
    uid_attribute: Type.String({ minLength: 1, pattern: '^[A-Za-z][A-Za-z0-9-]*$', default: 'uid' }),
    /** Where policy rules read department and title: the first attribute of each list that a person has. */
    attributes: Type.Object(
      {
        department: AttributeList(['departmentNumber', 'ou']),
        title: AttributeList(['title']),
      },
      { additionalProperties: false, default: {} },
    ),
    starttls: Type.Boolean({ default: false }),
    /** ldap:// to a host that is not loopback without StartTLS sends the bind password in clear: refused unless this is set. */
    allow_cleartext: Type.Boolean({ default: false }),
    ca_file: Type.Optional(NonEmpty),
    timeout_ms: Type.Integer({ minimum: 100, maximum: 600_000, default: 15_000 }),
    modify_chunk: Type.Integer({ minimum: 1, maximum: 100_000, default: 5000 }),
    page_size: Type.Integer({ minimum: 10, maximum: 10_000, default: 1000 }),
  },
  { additionalProperties: false },
);

const Cidr = Type.String({
  pattern: '^(\\d{1,3}\\.){3}\\d{1,3}/\\d{1,2}$',
  description: 'IPv4 CIDR, e.g. 10.8.0.0/20',
});

/** Where a host keeps rac's programs when rac manages it through sudo. */
export const DEFAULT_HELPERS_DIR = '/usr/local/libexec/rac';

export const SshSchema = Type.Object(
  {
    host: NonEmpty,
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 22 }),
    user: NonEmpty,
    /** Refused when group or others can read it, as ssh does. Optional with `agent: true`. */
    private_key_file: Type.Optional(NonEmpty),
    /** A file holding the passphrase of an encrypted private key. */
    passphrase_file: Type.Optional(NonEmpty),
    /** Authenticate with the key in ssh-agent (SSH_AUTH_SOCK): the key never enters rac. */
    agent: Type.Boolean({ default: false }),
    /** Pinned: an OpenSSH public key line or SHA256:… fingerprint. Missing = refused (rac trust). */
    host_key: Type.Optional(NonEmpty),
    timeout_ms: Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000 }),
    concurrency: Type.Integer({ minimum: 1, maximum: 64, default: 8 }),
    /**
     * How rac gains root on the host: `none` when ssh.user is root; `sudo` for a management
     * account whose sudoers rules name exactly rac's programs in helpers_dir (rac helpers export).
     */
    become: Type.Union([Type.Literal('none'), Type.Literal('sudo')], { default: 'none' }),
    /** Where rac's programs are installed on the host (root-owned), for become: sudo. */
    helpers_dir: Type.String({
      pattern: '^(/[A-Za-z0-9_.+-]+)+$',
      default: DEFAULT_HELPERS_DIR,
      description: 'absolute path on the host',
    }),
  },
  { additionalProperties: false },
);

export const OpenVpnSchema = Type.Object(
  {
    /** A symlink on the gateway; rac swaps it to a complete new directory atomically. */
    ccd_dir: NonEmpty,
    /** The management interface's unix socket on the gateway, reached over SSH. */
    management: NonEmpty,
    /** The server's config file on the gateway: rac doctor reads the options rac relies on from it. */
    config_file: Type.Optional(Type.String({ pattern: '^/', description: 'absolute path on the gateway' })),
    /** The server's own network (`server` directive), for the netmask of ifconfig-push. */
    server_network: Cidr,
    pools: Type.Object({ vpn: Cidr, 'vpn-bastion': Cidr }, { additionalProperties: false }),
    routes: Type.Object(
      { vpn: Type.Array(Cidr, { default: [] }), 'vpn-bastion': Type.Array(Cidr, { default: [] }) },
      { additionalProperties: false, default: {} },
    ),
    /** Where clients reach this gateway (for rac profile). */
    remote: Type.Object(
      {
        host: NonEmpty,
        port: Type.Integer({ minimum: 1, maximum: 65535, default: 1194 }),
        proto: Type.Union([Type.Literal('udp'), Type.Literal('tcp')], { default: 'udp' }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

/** A WireGuard gateway (wireguard-go or the kernel module); rac owns only its peer file. */
export const WireGuardSchema = Type.Object(
  {
    interface: Type.String({ pattern: '^[A-Za-z0-9_.=+-]{1,15}$', description: 'interface name, e.g. wg0' }),
    /** rac's peer file on the gateway ([Peer] sections only): written atomically, loaded with wg syncconf. */
    peers_file: Type.String({ pattern: '^/', description: 'absolute path on the gateway' }),
    server_network: Cidr,
    pools: Type.Object({ vpn: Cidr, 'vpn-bastion': Cidr }, { additionalProperties: false }),
    /** Networks clients route through the tunnel besides server_network (their AllowedIPs). */
    routes: Type.Object(
      { vpn: Type.Array(Cidr, { default: [] }), 'vpn-bastion': Type.Array(Cidr, { default: [] }) },
      { additionalProperties: false, default: {} },
    ),
    /** Where clients reach this gateway, and its public key (for rac profile). */
    endpoint: Type.Object(
      { host: NonEmpty, port: Type.Integer({ minimum: 1, maximum: 65535, default: 51820 }) },
      { additionalProperties: false },
    ),
    public_key: Type.String({ description: 'the gateway’s WireGuard public key (wg show <if> public-key)' }),
    dns: Type.Array(Type.String(), { default: [] }),
    persistent_keepalive: Type.Integer({ minimum: 0, maximum: 65535, default: 25 }),
  },
  { additionalProperties: false },
);

/** The access proxy (nginx) of the public tier: infra/nginx/rac-portal.conf shows the server side. */
export const ProxySchema = Type.Object(
  {
    /** The map body rac writes (temp file + rename in its directory); outside conf.d/*.conf. */
    allow_map: Type.String({ pattern: '^/', description: 'absolute path on the proxy host' }),
    /** The JSON access log (log_format rac_json in infra/nginx/), read incrementally. */
    access_log: Type.String({ pattern: '^/', description: 'absolute path on the proxy host' }),
    /** Where logrotate moves the log (drained after a rotation); default `<access_log>.1`. */
    rotated_log: Type.Optional(Type.String({ pattern: '^/' })),
    /** A person counts as connected for this long after an authenticated request. */
    active_window_seconds: Type.Integer({ minimum: 1, maximum: 86_400, default: 300 }),
    test_command: Type.Array(NonEmpty, { minItems: 1, default: ['nginx', '-t'] }),
    reload_command: Type.Array(NonEmpty, { minItems: 1, default: ['nginx', '-s', 'reload'] }),
    /** Run on the proxy host; prints the allow-map generation the running nginx serves. */
    generation_command: Type.Array(NonEmpty, {
      minItems: 1,
      default: ['curl', '-fsS', '--max-time', '2', 'http://127.0.0.1:8081/_rac/generation'],
    }),
    /** nginx's pid file: the proof waits until the master's pre-reload workers stop accepting. */
    pid_file: Type.String({ pattern: '^/', default: '/run/nginx.pid' }),
    /** How long to wait for the running nginx to serve a new map after a reload. */
    reload_timeout_ms: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
    /** Optional include rac writes with map_hash_max_size/bucket_size sized to the map. */
    map_hash_conf: Type.Optional(Type.String({ pattern: '^/' })),
    map_hash_bucket_size: Type.Integer({ minimum: 32, maximum: 4096, default: 128 }),
    /** The first read of a log starts this far from its end (never the whole file). */
    initial_read_bytes: Type.Integer({ minimum: 0, default: 16 * 1024 * 1024 }),
    /** At most this much log per collection cycle; the rest is read on the next ones. */
    max_read_bytes: Type.Integer({ minimum: 4096, default: 256 * 1024 * 1024 }),
  },
  { additionalProperties: false },
);

export const GatewaySchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
    kind: Type.Union([
      Type.Literal('openvpn'),
      Type.Literal('wireguard'),
      Type.Literal('bastion'),
      Type.Literal('proxy'),
    ]),
    rated_sessions: Type.Integer({ minimum: 0 }),
    ssh: SshSchema,
    openvpn: Type.Optional(OpenVpnSchema),
    wireguard: Type.Optional(WireGuardSchema),
    proxy: Type.Optional(ProxySchema),
  },
  { additionalProperties: false },
);

export const ProfilesSchema = Type.Object(
  {
    /** The CA that signed the gateways' server certificates, inlined in client profiles. */
    ca_file: Type.Optional(NonEmpty),
  },
  { additionalProperties: false, default: {} },
);

export const ConfigSchema = Type.Object(
  {
    capacity: CapacitySchema,
    directory: DirectorySchema,
    gateways: Type.Array(GatewaySchema, { default: [] }),
    profiles: ProfilesSchema,
    policy: Type.String({ minLength: 1, default: './policy.yaml' }),
    store: Type.String({ minLength: 1, default: './rac.db' }),
    http: Type.Object(
      {
        listen: Type.String({ pattern: '^[^\\s]+:[0-9]{1,5}$', default: '127.0.0.1:9464' }),
        ...HttpServiceFields,
      },
      { additionalProperties: false, default: {} },
    ),
    collector: Type.Object(
      { interval_seconds: Type.Integer({ minimum: 1, maximum: 3600, default: 15 }) },
      { additionalProperties: false, default: {} },
    ),
    bastion: Type.Object(
      {
        /** jump-only: keys allow port forwarding (ssh -J) and no shell or command; shell: a normal login. */
        login: Type.Union([Type.Literal('jump-only'), Type.Literal('shell')], { default: 'jump-only' }),
      },
      { additionalProperties: false, default: {} },
    ),
    expiry: Type.Object(
      {
        /** How often rac serve revokes grants whose date has passed. */
        interval_minutes: Type.Integer({ minimum: 1, maximum: 10_080, default: 60 }),
        /** IANA time zone of roster dates; a grant ends at the end of its day there. Default: the machine's. */
        timezone: Type.Optional(Type.String({ minLength: 1 })),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type DirectoryConfig = Static<typeof DirectorySchema>;
export type GatewayConfig = Static<typeof GatewaySchema>;
export type OpenVpnConfig = Static<typeof OpenVpnSchema>;
export type WireGuardConfig = Static<typeof WireGuardSchema>;
export type ProxyConfig = Static<typeof ProxySchema>;

/** Dotted paths of every field marked `secret: true`, for log redaction. */
export function secretPaths(schema: TSchema = ConfigSchema, prefix = ''): string[] {
  const out: string[] = [];
  const record = schema as Record<string, unknown>;
  if (record['secret'] === true) out.push(prefix);
  const properties = record['properties'] as Record<string, TSchema> | undefined;
  if (properties !== undefined) {
    for (const [key, child] of Object.entries(properties)) {
      out.push(...secretPaths(child, prefix === '' ? key : `${prefix}.${key}`));
    }
  }
  return out;
}
