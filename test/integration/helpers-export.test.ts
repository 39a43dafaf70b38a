import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPrograms, renderSudoers } from '../../src/adapters/host-programs/index.ts';
import { parseConfig } from '../../src/config/load.ts';
import { runRac } from '../support/rac-env.ts';

const CONFIG = `capacity: { target_sessions: 5000 }
directory:
  url: ldaps://ldap.example.com
  bind_dn: cn=rac,ou=services,dc=example,dc=com
  bind_password_file: ./ldap.secret
  users_base: ou=people,dc=example,dc=com
  groups:
    public: cn=remote-public,ou=groups,dc=example,dc=com
    vpn: cn=remote-vpn,ou=groups,dc=example,dc=com
    vpn-bastion: cn=remote-vpn-bastion,ou=groups,dc=example,dc=com
gateways:
  - name: gw-sh-1
    kind: openvpn
    rated_sessions: 2500
    ssh: { host: 10.0.0.11, user: opsrac, become: sudo, helpers_dir: /opt/rac/libexec, private_key_file: ./key }
    openvpn: { ccd_dir: /srv/ovpn/ccd, management: /run/ovpn/m.sock, config_file: /srv/ovpn/server.conf, server_network: 10.8.0.0/16, pools: { vpn: 10.8.0.0/19, vpn-bastion: 10.8.32.0/22 }, remote: { host: vpn.example.com } }
  - name: bastion-sh-1
    kind: bastion
    rated_sessions: 400
    ssh: { host: 10.0.0.21, user: root, private_key_file: ./key }
`;

/** rac helpers export as an administrator runs it: files, modes, digests, and nothing written on a refusal. */
describe('rac helpers export', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rac-helpers-'));
    writeFileSync(join(dir, 'ldap.secret'), 'secret\n', { mode: 0o600 });
    writeFileSync(join(dir, 'rac.yaml'), CONFIG, { mode: 0o600 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes every program, the sudoers file of each become-sudo host and the digests', async () => {
    const out = await runRac(dir, ['helpers', 'export', '--out', 'out', '--json']);
    expect(out.code, out.stderr).toBe(0);
    const doc = out.json<{ programs: string[]; sudoers: Array<{ host: string; calls: number }> }>();
    expect(doc.programs.sort()).toEqual(
      hostPrograms()
        .map((p) => p.name)
        .sort(),
    );
    expect(doc.sudoers).toEqual([{ host: 'gw-sh-1', calls: 4 }]);
    for (const p of hostPrograms()) {
      const file = join(dir, 'out', 'libexec', p.name);
      expect(readFileSync(file, 'utf8')).toBe(p.text);
      expect(statSync(file).mode & 0o777).toBe(0o755);
    }
    const gateway = parseConfig(CONFIG, { path: join(dir, 'rac.yaml'), env: {}, allowUnpinned: true }).config
      .gateways[0];
    const sudoers = join(dir, 'out', 'sudoers', 'gw-sh-1');
    expect(readFileSync(sudoers, 'utf8')).toBe(renderSudoers(gateway as NonNullable<typeof gateway>));
    expect(readFileSync(sudoers, 'utf8')).toContain('/opt/rac/libexec/rac-openvpn-ccd-swap /srv/ovpn/ccd');
    expect(readFileSync(sudoers, 'utf8')).toMatch(/^opsrac ALL=\(root\) NOPASSWD: RAC_GW_SH_1$/m);
    expect(statSync(sudoers).mode & 0o777).toBe(0o440);
    expect(readdirSync(join(dir, 'out', 'sudoers'))).toEqual(['gw-sh-1']);
    const sums = readFileSync(join(dir, 'out', 'SHA256SUMS'), 'utf8');
    for (const p of hostPrograms())
      expect(sums).toContain(`${createHash('sha256').update(p.text).digest('hex')}  ${p.name}\n`);
  });

  it('refuses a directory that is not empty, and a value no rule can pin, writing nothing', async () => {
    mkdirSync(join(dir, 'full'));
    writeFileSync(join(dir, 'full', 'old'), 'x');
    const full = await runRac(dir, ['helpers', 'export', '--out', 'full']);
    expect(full.code).not.toBe(0);
    expect(full.stderr).toMatch(/is not empty/);
    expect(readdirSync(join(dir, 'full'))).toEqual(['old']);

    writeFileSync(join(dir, 'rac.yaml'), CONFIG.replace('ccd_dir: /srv/ovpn/ccd', 'ccd_dir: "/srv/open vpn/ccd"'));
    const spaced = await runRac(dir, ['helpers', 'export', '--out', 'spaced']);
    expect(spaced.code).not.toBe(0);
    expect(spaced.stderr).toContain(
      'gateways gw-sh-1: rac-openvpn-ccd-read would be run with the argument "/srv/open vpn/ccd"',
    );
    expect(existsSync(join(dir, 'spaced'))).toBe(false);
  });
});
