import type { GatewayConfig, WireGuardConfig } from '../config/schema.ts';
import { AppError } from '../core/errors.ts';
import type { Tier } from '../core/tiers.ts';
import { assignGateways } from '../core/wireguard/assign-gateways.ts';
import type { GatewayGrant } from '../ports.ts';
import type { ServiceDeps } from './deps.ts';
import { addressesOn } from './gateway-addresses.ts';

type VpnTier = 'vpn' | 'vpn-bastion';

export interface WireGuardDesiredState {
  readonly desired: Map<string, GatewayGrant>;
  readonly unplaceable: ReadonlyArray<{ uid: string; error: string }>;
  /** Assigned here but without a key yet: they become peers once `rac profile` issues one. */
  readonly awaitingKey: readonly string[];
}

export function wireGuardGateways(deps: Pick<ServiceDeps, 'config'>): GatewayConfig[] {
  return deps.config.gateways.filter((g) => g.kind === 'wireguard');
}

function vpnPeople(tiers: ReadonlyMap<string, Tier>): Map<string, VpnTier> {
  const out = new Map<string, VpnTier>();
  for (const [uid, tier] of tiers) if (tier === 'vpn' || tier === 'vpn-bastion') out.set(uid, tier);
  return out;
}

/**
 * Which WireGuard gateway each vpn / vpn-bastion person is on: sticky, new people by rated
 * capacity (core/wireguard/assign-gateways). `persist` records new and released assignments.
 */
export function wireGuardAssignments(
  deps: Pick<ServiceDeps, 'config' | 'store'>,
  tiers: ReadonlyMap<string, Tier>,
  persist: boolean,
): Map<string, string> {
  const result = assignGateways({
    gateways: wireGuardGateways(deps).map((g) => ({ name: g.name, ratedSessions: g.rated_sessions })),
    current: deps.store.wireguard.getAssignments(),
    wanted: vpnPeople(tiers).keys(),
  });
  if (persist) deps.store.wireguard.saveAssignments(result.assignments, result.changed, result.released);
  return result.assignments;
}

/**
 * The complete peer set of one WireGuard gateway: every vpn / vpn-bastion person assigned to it
 * who has a public key (from the roster, or issued by `rac profile`), each with a stable address
 * from the tier's pool on this gateway (stored per gateway, like OpenVPN's).
 */
export function wireGuardDesiredState(
  deps: Pick<ServiceDeps, 'config' | 'store'>,
  gatewayName: string,
  tiers: ReadonlyMap<string, Tier>,
  persist: boolean,
  /** A key about to be issued (rac profile checks the person would get an address before issuing it). */
  pendingKey?: { readonly uid: string; readonly publicKey: string },
): WireGuardDesiredState {
  const gateway = deps.config.gateways.find((g) => g.name === gatewayName);
  const wg: WireGuardConfig | undefined = gateway?.wireguard;
  if (wg === undefined) throw new AppError('RAC_CONFIG_INVALID', `gateway ${gatewayName} has no wireguard section`);
  const assigned = wireGuardAssignments(deps, tiers, persist);
  const keys = new Map([...deps.store.wireguard.listKeys()].map(([uid, k]) => [uid, k.publicKey]));
  if (pendingKey !== undefined) keys.set(pendingKey.uid, pendingKey.publicKey);
  const people = vpnPeople(tiers);
  const wanted = new Map<string, VpnTier>();
  const awaitingKey: string[] = [];
  for (const [uid, tier] of people) {
    if (assigned.get(uid) !== gatewayName) continue;
    if (keys.has(uid)) wanted.set(uid, tier);
    else awaitingKey.push(uid);
  }
  const allocation = addressesOn(deps, gatewayName, wg, wanted, persist);
  const desired = new Map<string, GatewayGrant>();
  for (const [uid, a] of allocation.assignments) {
    desired.set(uid, { uid, tier: a.tier, address: a.address, publicKey: keys.get(uid) as string });
  }
  return {
    desired,
    unplaceable: allocation.failed,
    awaitingKey: awaitingKey.sort(),
  };
}
