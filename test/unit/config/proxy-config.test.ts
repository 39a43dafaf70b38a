import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_CONFIG } from '../../../src/cli/commands/init.ts';
import { parseConfig } from '../../../src/config/load.ts';

const dir = mkdtempSync(join(tmpdir(), 'rac-config-proxy-'));
const path = join(dir, 'rac.yaml');
writeFileSync(join(dir, 'ldap.secret'), 's3cret-bind\n', { mode: 0o600 });
const ssh = '{ host: 10.0.0.20, user: rac, private_key_file: ./id, host_key: "ssh-ed25519 AAAA" }';
const withGateways = (gateways: string) => `${EXAMPLE_CONFIG.replace(/^gateways:.*$/m, '')}\ngateways:\n${gateways}`;

describe('config of an access proxy', () => {
  it('fills the proxy defaults: 5-minute window, nginx -t, nginx -s reload, the loopback generation probe', () => {
    const loaded = parseConfig(
      withGateways(
        `  - name: portal-1\n    kind: proxy\n    rated_sessions: 4000\n    ssh: ${ssh}\n    proxy: { allow_map: /etc/nginx/rac-allow.map, access_log: /var/log/nginx/portal.json.log }\n`,
      ),
      { path, env: {} },
    );
    expect(loaded.config.gateways[0]?.proxy).toMatchObject({
      active_window_seconds: 300,
      test_command: ['nginx', '-t'],
      reload_command: ['nginx', '-s', 'reload'],
      generation_command: ['curl', '-fsS', '--max-time', '2', 'http://127.0.0.1:8081/_rac/generation'],
      pid_file: '/run/nginx.pid',
    });
  });

  it('refuses a proxy without its section, a proxy section elsewhere, relative paths and empty commands', () => {
    let message = '';
    try {
      parseConfig(
        withGateways(
          [
            `  - { name: portal-1, kind: proxy, rated_sessions: 1, ssh: ${ssh} }`,
            `  - { name: bastion-1, kind: bastion, rated_sessions: 1, ssh: ${ssh}, proxy: { allow_map: /a, access_log: /b } }`,
            `  - { name: portal-2, kind: proxy, rated_sessions: 1, ssh: ${ssh}, proxy: { allow_map: rac.map, access_log: /b, reload_command: [] } }`,
            '',
          ].join('\n'),
        ),
        { path, env: {} },
      );
    } catch (err) {
      message = (err as Error).message;
    }
    for (const expected of [
      'gateways.0.proxy: required for kind proxy',
      'gateways.1.proxy: only for kind proxy',
      'gateways.2.proxy.allow_map',
      'gateways.2.proxy.reload_command',
    ])
      expect(message).toContain(expected);
  });
});
