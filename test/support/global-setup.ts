import { existsSync } from 'node:fs';

/** Integration and e2e tests start real servers; fail early and clearly when they are missing. */
export default function setup(): void {
  const missing = [
    '/usr/sbin/slapd',
    '/usr/sbin/slapadd',
    '/usr/bin/ldapsearch',
    '/usr/bin/openssl',
    '/usr/sbin/openvpn',
    '/usr/sbin/sshd',
    '/usr/bin/ssh',
    '/usr/bin/ssh-keygen',
    '/usr/bin/prometheus',
    '/usr/bin/promtool',
    '/usr/bin/wg',
    '/usr/bin/wireguard-go',
    '/usr/bin/ping',
    '/usr/sbin/nginx',
    '/usr/bin/curl',
  ].filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new Error(`missing ${missing.join(', ')}: run sh scripts/bootstrap.sh (npm test does)`);
  }
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24)
    throw new Error(`tests run on Node ${process.versions.node}; the project needs 24 (npm test provides it)`);
}
