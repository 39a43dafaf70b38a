import { type AddressAssignment, allocateAddresses, type VpnTier } from '../core/openvpn/allocate-addresses.ts';
import type { ServiceDeps } from './deps.ts';

/**
 * Stable addresses on one gateway (OpenVPN or WireGuard) for the people it should serve.
 * `persist` reads, allocates and saves in one write transaction, so concurrent writers never
 * share an address; without it (drift) the allocation is computed and nothing is stored. A full
 * pool fails the people it could not place, each on their own.
 */
export function addressesOn(
  deps: Pick<ServiceDeps, 'store'>,
  gatewayName: string,
  network: { readonly pools: Partial<Record<VpnTier, string>>; readonly server_network?: string },
  wanted: ReadonlyMap<string, VpnTier>,
  persist: boolean,
): { assignments: ReadonlyMap<string, AddressAssignment>; failed: Array<{ uid: string; error: string }> } {
  const decide = (current: Map<string, { tier: VpnTier; address: string }>) =>
    allocateAddresses({ pools: network.pools, serverNetwork: network.server_network, current, wanted });
  const allocation = persist
    ? deps.store.allocateAddresses(gatewayName, decide)
    : decide(deps.store.getAddresses(gatewayName));
  return {
    assignments: allocation.assignments,
    failed: allocation.exhausted.map((e) => ({
      uid: e.uid,
      error: `${e.tier} address pool of ${gatewayName} is exhausted`,
    })),
  };
}
