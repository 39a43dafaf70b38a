import type { Finding } from '../../core/doctor/findings.ts';
import type { HostContext } from './host-checks.ts';
import { make } from './support.ts';

/** The interface exists and has the public key that client profiles name. */
export async function checkWireGuardInterface(ctx: HostContext): Promise<Finding[]> {
  const { name } = ctx.gateway;
  const wireguard = ctx.gateway.wireguard;
  if (wireguard === undefined) return [];
  const iface = wireguard.interface;
  const r = await ctx.runAsRoot('publicKey');
  if (r.code !== 0) {
    return [
      make(
        'wireguard.interface',
        name,
        'fail',
        `wg show ${iface} public-key failed (exit ${r.code}): ${r.stderr.trim()}`,
        `bring the interface up on ${name} (wg-quick up ${iface}, or your own unit), or fix wireguard.interface`,
      ),
    ];
  }
  const key = r.stdout.toString('utf8').trim();
  if (key !== wireguard.public_key) {
    return [
      make(
        'wireguard.interface',
        name,
        'fail',
        `${iface} has the public key ${key}, the config says ${wireguard.public_key}: client profiles would not connect`,
        `set wireguard.public_key: "${key}" for gateway ${name}`,
      ),
    ];
  }
  return [make('wireguard.interface', name, 'ok', `${iface} is up with the configured public key`)];
}
