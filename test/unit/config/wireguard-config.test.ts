import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';

const dir = mkdtempSync(join(tmpdir(), 'rac-wg-config-'));
const path = join(dir, 'rac.yaml');
writeFileSync(join(dir, 'ldap.secret'), 'x\n', { mode: 0o600 });

const DIRECTORY = `directory:
  url: ldap://127.0.0.1:389
  bind_dn: cn=rac,dc=example
  bind_password_file: ldap.secret
  users_base: ou=people,dc=example
`;
const SSH = '{ host: 10.0.0.2, user: rac, private_key_file: /k, host_key: "ssh-ed25519 AAAA" }';
const KEY = 'PSgtbqWkwJOvO3rppCcxQqEsKenjg32wR7Cw4XKVf2U=';

function config(wireguard: string, kind = 'wireguard'): string {
  return `${DIRECTORY}gateways:\n  - name: wg-1\n    kind: ${kind}\n    rated_sessions: 3000\n    ssh: ${SSH}\n${wireguard}`;
}

function problems(text: string): string {
  try {
    parseConfig(text, { path, env: {} });
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}

const GOOD = `    wireguard:
      interface: wg0
      peers_file: /etc/wireguard/wg0.peers.conf
      server_network: 10.60.0.0/16
      pools: { vpn: 10.60.0.0/19, vpn-bastion: 10.60.32.0/22 }
      routes: { vpn: [10.100.0.0/16] }
      endpoint: { host: wg.corp.example }
      public_key: "${KEY}"
`;

describe('config: WireGuard gateways', () => {
  it('accepts kind wireguard with its section, defaults filled in', () => {
    const loaded = parseConfig(config(GOOD), { path, env: {} });
    expect(loaded.config.gateways[0]?.wireguard).toEqual({
      interface: 'wg0',
      peers_file: '/etc/wireguard/wg0.peers.conf',
      server_network: '10.60.0.0/16',
      pools: { vpn: '10.60.0.0/19', 'vpn-bastion': '10.60.32.0/22' },
      routes: { vpn: ['10.100.0.0/16'], 'vpn-bastion': [] },
      endpoint: { host: 'wg.corp.example', port: 51820 },
      public_key: KEY,
      dns: [],
      persistent_keepalive: 25,
    });
  });

  it('requires the section for kind wireguard and refuses it elsewhere', () => {
    expect(problems(config(''))).toContain('gateways.0.wireguard: required for kind wireguard');
    expect(problems(config(GOOD, 'bastion'))).toContain('gateways.0.wireguard: only for kind wireguard');
  });

  it('reports every bad value of the section at once', () => {
    const bad = `    wireguard:
      interface: "wg0; reboot"
      peers_file: etc/wireguard/peers.conf
      server_network: 10.60.0.0/16
      pools: { vpn: 10.60.0.0/19, vpn-bastion: 10.70.0.0/24 }
      routes: { vpn: [10.100.0.1/16] }
      endpoint: { host: "wg corp", port: 70000 }
      public_key: "zwT+UlHld5iwp7Ws+MpLoJztDei3PhbNIBRvx1RvIVJ="
      dns: [resolver]
`;
    const message = problems(config(bad));
    for (const expected of [
      'gateways.0.wireguard.interface',
      'gateways.0.wireguard.peers_file',
      'gateways.0.wireguard.endpoint.port',
    ])
      expect(message).toContain(expected);
    const semantic = problems(
      config(
        bad
          .replace('"wg0; reboot"', 'wg0')
          .replace('etc/wireguard/peers.conf', '/etc/wireguard/../peers.conf')
          .replace('port: 70000', 'port: 51820'),
      ),
    );
    for (const expected of [
      'gateways.0.wireguard.public_key: must be 32 bytes',
      'gateways.0.wireguard.peers_file: must be a plain absolute file path',
      'gateways.0.wireguard.endpoint.host: not a hostname',
      'gateways.0.wireguard.dns.0: not an IPv4 address',
      'gateways.0.wireguard.routes.vpn.0: not an IPv4 CIDR',
      'gateways.0.wireguard.pools: vpn-bastion pool 10.70.0.0/24 is not inside the server network',
    ])
      expect(semantic).toContain(expected);
  });
});
