import { AppError } from '../core/errors.ts';
import { allocateAddresses, parseIpv4, parseIpv4Cidr } from '../core/openvpn/allocate-addresses.ts';
import { isValidRemoteHost } from '../core/openvpn/render-profile.ts';
import { explainBadWireGuardKey } from '../core/wireguard/keys.ts';
import type { GatewayConfig } from './schema.ts';

/**
 * Checks of a wireguard gateway's `wireguard:` section that the schema cannot express: a real
 * public key, pools inside the server network and apart, a sane endpoint. Returns `path: message`
 * problems (all of them), like the rest of the loader. That the section is present exactly for kind
 * wireguard is the loader's check, with the other kinds' sections.
 */
export function wireGuardProblems(gateway: GatewayConfig, path: string): string[] {
  const wg = gateway.wireguard;
  if (gateway.kind !== 'wireguard' || wg === undefined) return [];
  const problems: string[] = [];
  const at = `${path}.wireguard`;
  if (typeof wg.public_key === 'string') {
    const bad = explainBadWireGuardKey(wg.public_key);
    if (bad !== null) problems.push(`${at}.public_key: ${bad}`);
  }
  if (typeof wg.peers_file === 'string' && (/\/\.\.?(\/|$)/.test(wg.peers_file) || wg.peers_file.endsWith('/')))
    problems.push(`${at}.peers_file: must be a plain absolute file path (no . or .. parts)`);
  if (typeof wg.endpoint?.host === 'string' && !isValidRemoteHost(wg.endpoint.host))
    problems.push(`${at}.endpoint.host: not a hostname or IPv4 address`);
  for (const [i, dns] of (Array.isArray(wg.dns) ? wg.dns : []).entries())
    if (typeof dns !== 'string' || parseIpv4(dns) === null) problems.push(`${at}.dns.${i}: not an IPv4 address`);
  for (const tier of ['vpn', 'vpn-bastion'] as const)
    for (const [i, route] of (wg.routes?.[tier] ?? []).entries())
      if (parseIpv4Cidr(route) === null)
        problems.push(`${at}.routes.${tier}.${i}: not an IPv4 CIDR with host bits zero`);
  if (typeof wg.server_network === 'string' && wg.pools !== undefined) {
    try {
      // The allocator's own checks: CIDRs with host bits zero, inside the server network, apart.
      allocateAddresses({ pools: wg.pools, serverNetwork: wg.server_network, current: new Map(), wanted: new Map() });
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      problems.push(`${at}.pools: ${err.message}`);
    }
  }
  return problems;
}
