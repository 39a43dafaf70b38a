import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';

const dir = mkdtempSync(join(tmpdir(), 'rac-doctor-config-'));
const path = join(dir, 'rac.yaml');
writeFileSync(join(dir, 'ldap.secret'), 'x\n', { mode: 0o600 });

function config(
  openvpnExtra: string,
  hostKey = ', host_key: "SHA256:hZo7R+d9veweEe98wnebDRMe+vSPN/wANf6zeZAnUEs"',
): string {
  return `directory:
  url: ldap://127.0.0.1:389
  bind_dn: cn=rac,dc=example
  bind_password_file: ldap.secret
  users_base: ou=people,dc=example
gateways:
  - name: gw-1
    kind: openvpn
    rated_sessions: 100
    ssh: { host: 10.0.0.2, user: rac, private_key_file: /k${hostKey} }
    openvpn:
      ccd_dir: /etc/openvpn/ccd
      management: /run/openvpn/server.sock
      server_network: 10.8.0.0/16
      pools: { vpn: 10.8.0.0/20, vpn-bastion: 10.8.16.0/24 }
      remote: { host: vpn.corp.example }
${openvpnExtra}`;
}

const message = (fn: () => unknown) => {
  try {
    fn();
    return '';
  } catch (err) {
    return (err as Error).message;
  }
};

describe('config for rac doctor', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes openvpn.config_file as an absolute path on the gateway', () => {
    const loaded = parseConfig(config('      config_file: /etc/openvpn/server/server.conf\n'), { path, env: {} });
    expect(loaded.config.gateways[0]?.openvpn?.config_file).toBe('/etc/openvpn/server/server.conf');
    expect(message(() => parseConfig(config('      config_file: server.conf\n'), { path, env: {} }))).toContain(
      'gateways.0.openvpn.config_file',
    );
  });

  it('lets every gateway go unpinned when asked (the doctor reports it), and no other caller', () => {
    const unpinned = config('', '');
    expect(message(() => parseConfig(unpinned, { path, env: {} }))).toContain('rac trust gw-1');
    expect(parseConfig(unpinned, { path, env: {}, allowUnpinned: true }).config.gateways[0]?.ssh.host_key).toBe(
      undefined,
    );
  });
});
