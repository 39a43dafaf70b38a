import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateOpensshPublicKey } from '../../infra/local/ssh-keys.ts';
import { openStore } from '../../src/adapters/store/sqlite-store.ts';
import { EXAMPLE_CONFIG } from '../../src/cli/commands/init.ts';
import { writePlan } from '../../src/cli/commands/plan.ts';
import { composeServices } from '../../src/compose.ts';
import { parseConfig } from '../../src/config/load.ts';
import { buildPlan } from '../../src/core/plan/build-plan.ts';

const mode = (path: string) => statSync(path).mode & 0o777;

describe('files rac writes are private whatever the umask', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rac-modes-'));
  const umask = process.umask(0);
  afterAll(() => {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the store 0600 (and its WAL), in a new directory 0700', () => {
    const path = join(dir, 'state', 'rac.db');
    const store = openStore(path);
    store.audit({ action: 'test', actor: 'test' });
    expect(mode(join(dir, 'state'))).toBe(0o700);
    expect(mode(path)).toBe(0o600);
    expect(mode(`${path}-wal`)).toBe(0o600);
    store.close();
  });

  it('writes plan files 0600', () => {
    const plan = buildPlan({
      id: 'p-1',
      createdAt: new Date().toISOString(),
      mode: 'roster',
      source: { file: null, digest: null, rows: 0, encoding: null, rollbackOf: null },
      directory: { url: 'ldap://127.0.0.1', groups: { public: 'cn=a', vpn: 'cn=b', 'vpn-bastion': 'cn=c' } },
      usersBase: 'ou=people,dc=x',
      targets: [],
      memberships: { public: new Set(), vpn: new Set(), 'vpn-bastion': new Set() },
      problems: [],
      warnings: [],
      capacity: {
        limit: { sessions: 10, source: 'target', detail: '' },
        peakConcurrency: { public: 1, vpn: 1, 'vpn-bastion': 1 },
        enforce: 'refuse',
      },
    });
    writePlan(plan, join(dir, 'plan.json'), null);
    expect(mode(join(dir, 'plan.json'))).toBe(0o600);
  });

  it('refuses an SSH private key that group or others can read, as ssh does', () => {
    writeFileSync(join(dir, 'ldap.secret'), 'x', { mode: 0o600 });
    writeFileSync(join(dir, 'id'), 'not read', { mode: 0o644 });
    const text = `${EXAMPLE_CONFIG.replace(/^ {2}ca_file: .*\n/m, '').replace(
      'gateways: []',
      `gateways:\n  - { name: bastion-1, kind: bastion, rated_sessions: 10, ssh: { host: 127.0.0.1, user: rac, private_key_file: ./id, host_key: "${generateOpensshPublicKey('h')}" } }`,
    )}`;
    const loaded = parseConfig(text, { path: join(dir, 'rac.yaml'), env: {} });
    expect(() => composeServices(loaded, { actor: 'test', logLevel: 'silent' })).toThrowError(
      /ssh\.private_key_file: .*id is readable by group or others \(mode 644\); chmod 600 it/,
    );
  });
});
