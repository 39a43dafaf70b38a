import { readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { TObject, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { LineCounter, parseDocument } from 'yaml';
import { AppError } from '../core/errors.ts';
import { isValidTimeZone } from '../core/expiry.ts';
import { Secret } from '../core/secret.ts';
import { isLoopbackHost } from './loopback.ts';
import { type Config, ConfigSchema } from './schema.ts';
import { wireGuardProblems } from './wireguard.ts';

/** Environment variables that steer the CLI rather than override config keys. */
const RESERVED_ENV = new Set(['RAC_CONFIG', 'RAC_LOG_LEVEL', 'RAC_NO_PROGRESS']);

export interface LoadedConfig {
  readonly config: Config;
  readonly path: string;
  /** Relative paths in the config are relative to the config file's folder. */
  readonly baseDir: string;
  readonly secrets: { readonly directoryBindPassword: Secret };
  /** SSH_AUTH_SOCK, for gateways with `ssh.agent: true`. */
  readonly sshAgentSocket: string | undefined;
  readonly warnings: readonly string[];
}

export interface LoadConfigOptions {
  path?: string | undefined;
  /** Gateways whose missing host key is not an error (rac trust records it); true: any (rac doctor reports it). */
  allowUnpinned?: readonly string[] | true;
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
}

/**
 * The only reader of process.env in the toolkit. Every problem is collected and reported at
 * once as `path: message` (RAC_CONFIG_INVALID → exit 2).
 */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const path = resolve(cwd, options.path ?? env['RAC_CONFIG'] ?? 'rac.yaml');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AppError(
      'RAC_CONFIG_NOT_FOUND',
      `cannot read config ${path}: ${(err as Error).message} (run \`rac init\` to write one)`,
      { cause: err },
    );
  }
  return parseConfig(text, {
    path,
    env,
    ...(options.allowUnpinned === undefined ? {} : { allowUnpinned: options.allowUnpinned }),
  });
}

export function parseConfig(
  text: string,
  {
    path,
    env,
    ...options
  }: { path: string; env: Readonly<Record<string, string | undefined>>; allowUnpinned?: readonly string[] | true },
): LoadedConfig {
  const problems: string[] = [];
  const warnings: string[] = [];
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  for (const error of doc.errors) {
    const pos = lineCounter.linePos(error.pos[0]);
    problems.push(`${path}:${pos.line}:${pos.col}: ${error.message.split('\n')[0]}`);
  }
  if (problems.length > 0) throw configError(path, problems);

  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw configError(path, ['(root): must be a mapping of keys']);
  }
  const value = raw as Record<string, unknown>;
  applyEnvOverrides(value, env, problems, warnings);

  const converted = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, value));
  for (const error of Value.Errors(ConfigSchema, converted)) {
    problems.push(`${pointerToPath(error.path)}: ${describeError(error.message, error.schema)}`);
  }
  const config = converted as Config;
  const baseDir = dirname(path);
  const directory = (converted as { directory?: unknown }).directory;
  const directoryBindPassword =
    typeof directory === 'object' && directory !== null
      ? readBindPassword(directory as Config['directory'], baseDir, problems, warnings)
      : new Secret('');
  const names = new Set<string>();
  (Array.isArray(config.gateways) ? config.gateways : []).forEach((gateway, i) => {
    if (names.has(gateway.name)) problems.push(`gateways.${i}.name: duplicate gateway name ${gateway.name}`);
    names.add(gateway.name);
    // Each kind's section: present exactly for that kind (a wireguard section's own checks follow its own).
    for (const kind of ['openvpn', 'wireguard', 'proxy'] as const) {
      const present = gateway[kind] !== undefined;
      if (gateway.kind === kind && !present) problems.push(`gateways.${i}.${kind}: required for kind ${kind}`);
      if (gateway.kind !== kind && present) problems.push(`gateways.${i}.${kind}: only for kind ${kind}`);
      if (kind === 'wireguard') problems.push(...wireGuardProblems(gateway, `gateways.${i}`));
    }
    if (gateway.ssh?.private_key_file === undefined && gateway.ssh?.agent !== true)
      problems.push(`gateways.${i}.ssh.private_key_file: required (or ssh.agent: true with a key in ssh-agent)`);
    if (gateway.ssh?.agent === true && (env['SSH_AUTH_SOCK'] ?? '') === '')
      problems.push(`gateways.${i}.ssh.agent: SSH_AUTH_SOCK is not set (start ssh-agent and ssh-add the key)`);
    if (
      gateway.ssh?.host_key === undefined &&
      options.allowUnpinned !== true &&
      !options.allowUnpinned?.includes(gateway.name)
    ) {
      problems.push(
        `gateways.${i}.ssh.host_key: required — a host key is pinned, never accepted blindly (rac trust ${gateway.name} shows it and records it)`,
      );
    }
  });
  const dir = (converted as { directory?: Partial<Config['directory']> }).directory;
  if (
    typeof dir?.url === 'string' &&
    cleartextToRemote(dir.url) &&
    dir.starttls !== true &&
    dir.allow_cleartext !== true
  )
    problems.push(
      `directory.url: ${dir.url} would send the bind password in clear to a host that is not loopback; use ldaps://, or starttls: true (set allow_cleartext: true only for a network you trust)`,
    );
  const zone = (converted as { expiry?: { timezone?: unknown } }).expiry?.timezone;
  if (typeof zone === 'string' && !isValidTimeZone(zone))
    problems.push(`expiry.timezone: ${JSON.stringify(zone)} is not an IANA time zone (e.g. Asia/Shanghai, UTC)`);
  if (problems.length > 0) throw configError(path, dedupe(problems));

  return {
    config,
    path,
    baseDir,
    secrets: { directoryBindPassword },
    sshAgentSocket: env['SSH_AUTH_SOCK'],
    warnings,
  };
}

export function resolveFrom(baseDir: string, file: string): string {
  return isAbsolute(file) ? file : resolve(baseDir, file);
}

function readBindPassword(
  directory: Pick<Config['directory'], 'bind_password' | 'bind_password_file'>,
  baseDir: string,
  problems: string[],
  warnings: string[],
): Secret {
  const { bind_password: inline, bind_password_file: file } = directory;
  if (inline !== undefined && file !== undefined) {
    problems.push('directory.bind_password: give either bind_password or bind_password_file, not both');
    return new Secret('');
  }
  if (inline !== undefined) return new Secret(inline);
  if (file === undefined) {
    problems.push('directory.bind_password_file: required (or set RAC_DIRECTORY_BIND_PASSWORD)');
    return new Secret('');
  }
  const full = resolveFrom(baseDir, file);
  try {
    const mode = statSync(full).mode;
    if ((mode & 0o077) !== 0)
      warnings.push(`directory.bind_password_file: ${full} is readable by group or others (chmod 600)`);
    const secret = readFileSync(full, 'utf8').replace(/\r?\n$/, '');
    if (secret.length === 0) problems.push(`directory.bind_password_file: ${full} is empty`);
    return new Secret(secret);
  } catch (err) {
    problems.push(
      `directory.bind_password_file: cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
    return new Secret('');
  }
}

/**
 * RAC_DIRECTORY_URL → directory.url, RAC_CAPACITY_PEAK_CONCURRENCY_VPN_BASTION →
 * capacity.peak_concurrency.vpn-bastion: names are resolved by walking the schema, so keys that
 * contain underscores need no special separator.
 */
function applyEnvOverrides(
  target: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
  problems: string[],
  warnings: string[],
): void {
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('RAC_') || value === undefined || RESERVED_ENV.has(name)) continue;
    const path = resolveEnvPath(ConfigSchema, name.slice(4));
    if (path === null) {
      warnings.push(`${name}: not a config key, ignored`);
      continue;
    }
    let node = target;
    for (const key of path.slice(0, -1)) {
      const child = node[key];
      if (child === undefined || child === null) node[key] = {};
      else if (typeof child !== 'object' || Array.isArray(child)) {
        problems.push(`${name}: cannot override ${path.join('.')} because ${key} is not a mapping`);
        break;
      }
      node = node[key] as Record<string, unknown>;
    }
    node[path.at(-1) as string] = value;
  }
}

function resolveEnvPath(schema: TSchema, rest: string): string[] | null {
  const properties = (schema as TObject).properties as Record<string, TSchema> | undefined;
  if (properties === undefined) return null;
  for (const [key, child] of Object.entries(properties)) {
    const envKey = key.toUpperCase().replaceAll('-', '_');
    if (
      rest === envKey &&
      (child as { type?: string }).type !== 'object' &&
      (child as { type?: string }).type !== 'array'
    ) {
      return [key];
    }
  }
  for (const [key, child] of Object.entries(properties)) {
    const envKey = key.toUpperCase().replaceAll('-', '_');
    if (rest.startsWith(`${envKey}_`)) {
      const tail = resolveEnvPath(child, rest.slice(envKey.length + 1));
      if (tail !== null) return [key, ...tail];
    }
  }
  return null;
}

function pointerToPath(pointer: string): string {
  if (pointer === '') return '(root)';
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .join('.');
}

function describeError(message: string, schema: TSchema): string {
  const record = schema as Record<string, unknown>;
  const options = record['anyOf'];
  if (Array.isArray(options) && options.every((o) => typeof o === 'object' && o !== null && 'const' in o)) {
    return `must be one of: ${options.map((o) => String((o as { const: unknown }).const)).join(', ')}`;
  }
  if (typeof record['description'] === 'string') return `${message} (${record['description']})`;
  return message;
}

function dedupe(items: string[]): string[] {
  return [...new Set(items)];
}

function configError(path: string, problems: string[]): AppError {
  return new AppError('RAC_CONFIG_INVALID', `config ${path} is invalid:\n  ${problems.join('\n  ')}`, {
    details: { problems },
  });
}

export interface CliEnvironment {
  readonly actor: string;
  readonly logLevel: string;
  readonly noProgress: boolean;
}

/**
 * The variables that steer the CLI itself. `actor`, who the audit log names, is the OS user of
 * the process (its uid's name) — under sudo, the invoking user sudo reports — never a free-form
 * variable such as USER that anyone can set.
 */
export function readCliEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
  os: { uid: number; username: string } = osUser(),
): CliEnvironment {
  // SUDO_USER is believed only where only sudo could have set it: in a process running as root.
  const sudoUser = env['SUDO_USER'];
  const viaSudo = os.uid === 0 && sudoUser !== undefined && /^[a-z_][a-z0-9._-]{0,31}\$?$/i.test(sudoUser);
  return {
    actor: `cli:${viaSudo ? `${sudoUser} (sudo)` : os.username}`,
    logLevel: env['RAC_LOG_LEVEL'] ?? 'warn',
    noProgress: env['RAC_NO_PROGRESS'] === '1' || env['CI'] === 'true',
  };
}

function osUser(): { uid: number; username: string } {
  const uid = process.getuid?.() ?? -1;
  try {
    return { uid, username: userInfo().username };
  } catch {
    return { uid, username: `uid ${uid}` };
  }
}

/** An ldap:// URL whose host is not loopback (127.0.0.0/8, ::1, localhost). */
function cleartextToRemote(url: string): boolean {
  if (!url.toLowerCase().startsWith('ldap://')) return false;
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return false; // the schema reports a malformed URL
  }
  return !isLoopbackHost(host);
}
