import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_CONFIG } from '../../../src/cli/commands/init.ts';
import { parseConfig, readCliEnvironment } from '../../../src/config/load.ts';
import { secretPaths } from '../../../src/config/schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'rac-config-'));
const path = join(dir, 'rac.yaml');
writeFileSync(join(dir, 'ldap.secret'), 's3cret-bind\n', { mode: 0o600 });

describe('config', () => {
  it('accepts the example config that rac init writes, with defaults filled in', () => {
    const loaded = parseConfig(EXAMPLE_CONFIG, { path, env: {} });
    expect(loaded.config.capacity).toEqual({
      target_sessions: 5000,
      peak_concurrency: { public: 0.6, vpn: 0.9, 'vpn-bastion': 0.9 },
      enforce: 'refuse',
      accept_dry_run: false,
    });
    expect(loaded.config.directory.modify_chunk).toBe(5000);
    expect(loaded.config.http.listen).toBe('127.0.0.1:9464');
    expect(loaded.secrets.directoryBindPassword.reveal()).toBe('s3cret-bind');
  });

  it('accepts dry runs of the capacity check only when told to (capacity.accept_dry_run)', () => {
    const fromEnv = parseConfig(EXAMPLE_CONFIG, { path, env: { RAC_CAPACITY_ACCEPT_DRY_RUN: 'true' } });
    expect(fromEnv.config.capacity.accept_dry_run).toBe(true);
    expect(() => parseConfig(EXAMPLE_CONFIG, { path, env: { RAC_CAPACITY_ACCEPT_DRY_RUN: 'maybe' } })).toThrow(
      /capacity\.accept_dry_run/,
    );
  });

  it('bastion.login: jump-only unless set to shell; anything else is an error naming the key', () => {
    const without = EXAMPLE_CONFIG.replace(/^bastion:.*\n/m, '');
    expect(without).not.toMatch(/^bastion:/m);
    expect(parseConfig(without, { path, env: {} }).config.bastion.login).toBe('jump-only');
    expect(parseConfig(`${without}bastion: { login: shell }\n`, { path, env: {} }).config.bastion.login).toBe('shell');
    expect(parseConfig(without, { path, env: { RAC_BASTION_LOGIN: 'shell' } }).config.bastion.login).toBe('shell');
    expect(() => parseConfig(`${without}bastion: { login: full }\n`, { path, env: {} })).toThrow(/bastion\.login/);
  });

  it('never prints the bind password, whatever prints the loaded config', () => {
    const loaded = parseConfig(EXAMPLE_CONFIG, { path, env: {} });
    expect(JSON.stringify(loaded)).not.toContain('s3cret-bind');
    expect(inspect(loaded, { depth: 10 })).not.toContain('s3cret-bind');
    expect(String(loaded.secrets.directoryBindPassword)).toBe('[redacted]');
  });

  it('applies RAC_* overrides resolved through the schema, including keys with dashes and underscores', () => {
    const loaded = parseConfig(EXAMPLE_CONFIG, {
      path,
      env: {
        RAC_DIRECTORY_URL: 'ldaps://ldap.test:636',
        RAC_CAPACITY_PEAK_CONCURRENCY_VPN_BASTION: '0.5',
        RAC_DIRECTORY_MODIFY_CHUNK: '250',
        RAC_DIRECTORY_BIND_PASSWORD_FILE: './ldap.secret',
      },
    });
    expect(loaded.config.directory.url).toBe('ldaps://ldap.test:636');
    expect(loaded.config.capacity.peak_concurrency['vpn-bastion']).toBe(0.5);
    expect(loaded.config.directory.modify_chunk).toBe(250);
  });

  it('takes the bind password from RAC_DIRECTORY_BIND_PASSWORD without a file', () => {
    const text = EXAMPLE_CONFIG.replace(/^ {2}bind_password_file:.*$/m, '');
    const loaded = parseConfig(text, { path, env: { RAC_DIRECTORY_BIND_PASSWORD: 'from-env' } });
    expect(loaded.secrets.directoryBindPassword.reveal()).toBe('from-env');
  });

  it('warns about RAC_ variables that are not config keys', () => {
    const loaded = parseConfig(EXAMPLE_CONFIG, { path, env: { RAC_DIRECTORY_ULR: 'x' } });
    expect(loaded.warnings).toContain('RAC_DIRECTORY_ULR: not a config key, ignored');
  });

  it('reports every problem at once as path: message', () => {
    const text = `capacity:
  target_sessions: 0
  enforce: sometimes
  surprise: 1
directory:
  url: http://ldap
  users_base: people
gateways:
  - { name: gw-1, kind: openvpn, rated_sessions: 10 }
  - { name: gw-1, kind: ipsec, rated_sessions: -1 }
`;
    let message = '';
    try {
      parseConfig(text, { path, env: {} });
    } catch (err) {
      message = (err as Error).message;
      expect((err as { code: string }).code).toBe('RAC_CONFIG_INVALID');
    }
    for (const expected of [
      'capacity.target_sessions',
      'capacity.enforce: must be one of: refuse, warn',
      'capacity.surprise: Unexpected property',
      'directory.url',
      'directory.bind_dn',
      'directory.users_base',
      'directory.bind_password_file: required',
      'gateways.1.kind',
      'gateways.1.rated_sessions',
    ]) {
      expect(message).toContain(expected);
    }
  });

  it('points at the line of a YAML syntax error', () => {
    expect(() => parseConfig('capacity:\n  target_sessions: [1,\n', { path, env: {} })).toThrowError(
      /rac\.yaml:\d+:\d+/,
    );
  });

  it('derives redaction paths from the secret marks in the schema', () => {
    expect(secretPaths()).toEqual(['directory.bind_password']);
  });
});

describe('who did it', () => {
  it('names the OS user of the process, never a variable anyone can set', () => {
    const env = readCliEnvironment({ USER: 'ceo', LOGNAME: 'ceo', RAC_ACTOR: 'ceo' }, { uid: 1000, username: 'alice' });
    expect(env.actor).toBe('cli:alice');
  });

  it('names the invoking user under sudo (only a root process can carry SUDO_USER from sudo)', () => {
    expect(readCliEnvironment({ SUDO_USER: 'bob' }, { uid: 0, username: 'root' }).actor).toBe('cli:bob (sudo)');
    expect(readCliEnvironment({ SUDO_USER: 'bob' }, { uid: 1000, username: 'mallory' }).actor).toBe('cli:mallory');
    expect(readCliEnvironment({ SUDO_USER: 'x; rm -rf' }, { uid: 0, username: 'root' }).actor).toBe('cli:root');
  });
});

describe('cleartext LDAP', () => {
  const withUrl = (url: string, extra = '') =>
    EXAMPLE_CONFIG.replace(/url: .*/, `url: ${url}`).replace('  ca_file: ./ldap-ca.pem', extra);
  const path = join(mkdtempSync(join(tmpdir(), 'rac-cfg-')), 'rac.yaml');
  writeFileSync(join(path, '..', 'ldap.secret'), 'secret');

  it('refuses ldap:// to a host that is not loopback without StartTLS', () => {
    expect(() => parseConfig(withUrl('ldap://ldap.corp.example'), { path, env: {} })).toThrowError(
      /directory\.url: ldap:\/\/ldap\.corp\.example would send the bind password in clear/,
    );
    expect(() => parseConfig(withUrl('ldap://10.0.0.5:389'), { path, env: {} })).toThrowError(/in clear/);
  });

  it('accepts ldaps://, StartTLS, loopback, and allow_cleartext when asked', () => {
    for (const [url, extra] of [
      ['ldaps://ldap.corp.example', ''],
      ['ldap://ldap.corp.example', '  starttls: true'],
      ['ldap://127.0.0.1:389', ''],
      ['ldap://[::1]:389', ''],
      ['ldap://localhost', ''],
      ['ldap://ldap.corp.example', '  allow_cleartext: true'],
    ] as const) {
      expect(() => parseConfig(withUrl(url, extra), { path, env: {} }), url).not.toThrow();
    }
  });
});
