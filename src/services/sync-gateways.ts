import { firstRdnValue } from '../core/dn.ts';
import { AppError } from '../core/errors.ts';
import { allocateAddresses } from '../core/openvpn/allocate-addresses.ts';
import { highestTierByDn } from '../core/plan/build-plan.ts';
import type { ObservedMemberships } from '../core/plan/plan.ts';
import type { Tier } from '../core/tiers.ts';
import type { GatewayApplyReport, GatewayDriver, GatewayGrant } from '../ports.ts';
import type { ServiceDeps } from './deps.ts';
import { proxyDesiredState } from './proxy-desired.ts';

/** Every person's tier as the directory says it, by uid (the gateways mirror the directory). */
export function tiersByUid(memberships: ObservedMemberships, usersBase: string): Map<string, Tier> {
  const out = new Map<string, Tier>();
  for (const [dn, tier] of highestTierByDn(memberships, usersBase)) {
    const uid = firstRdnValue(dn, 'uid');
    if (uid !== null) out.set(uid, tier);
  }
  return out;
}

export interface DesiredState {
  readonly desired: Map<string, GatewayGrant>;
  /** People who should be on this host but cannot be (an exhausted address pool). */
  readonly unplaceable: ReadonlyArray<{ uid: string; error: string }>;
}

/**
 * The complete desired state of one host, derived from the directory: OpenVPN gateways carry
 * everyone with vpn or vpn-bastion (with a stable address from the tier's pool), bastions everyone
 * with vpn-bastion (with their keys from the directory). `persist` stores new address
 * assignments; drift reports compute without it.
 */
export async function desiredStateOf(
  deps: ServiceDeps,
  driver: GatewayDriver,
  tiers: ReadonlyMap<string, Tier>,
  keys: () => Promise<ReadonlyMap<string, readonly string[]>>,
  persist: boolean,
): Promise<DesiredState> {
  const gateway = deps.config.gateways.find((g) => g.name === driver.name);
  if (gateway === undefined) throw new AppError('RAC_CONFIG_INVALID', `no gateway ${driver.name} in the config`);
  if (driver.kind === 'proxy') return proxyDesiredState(tiers);
  const desired = new Map<string, GatewayGrant>();
  if (driver.kind === 'bastion') {
    const byUid = await keys();
    for (const [uid, tier] of tiers)
      if (tier === 'vpn-bastion') desired.set(uid, { uid, tier, keys: byUid.get(uid) ?? [] });
    return { desired, unplaceable: [] };
  }
  const openvpn = gateway.openvpn;
  if (openvpn === undefined) throw new AppError('RAC_CONFIG_INVALID', `gateway ${driver.name} has no openvpn section`);
  const wanted = new Map<string, 'vpn' | 'vpn-bastion'>();
  for (const [uid, tier] of tiers) if (tier === 'vpn' || tier === 'vpn-bastion') wanted.set(uid, tier);
  const allocation = allocateAddresses({
    pools: openvpn.pools,
    serverNetwork: openvpn.server_network,
    current: deps.store.getAddresses(driver.name),
    wanted,
  });
  if (persist) deps.store.saveAddresses(driver.name, allocation.assignments, allocation.released);
  for (const [uid, a] of allocation.assignments) desired.set(uid, { uid, tier: a.tier, address: a.address });
  return {
    desired,
    unplaceable: allocation.exhausted.map((e) => ({
      uid: e.uid,
      error: `${e.tier} address pool of ${driver.name} is exhausted`,
    })),
  };
}

export interface SystemResult {
  readonly name: string;
  readonly kind: GatewayDriver['kind'];
  readonly status: 'applied' | 'unavailable' | 'failed';
  readonly report: GatewayApplyReport | null;
  readonly error: string | null;
  readonly durationMs: number;
  /** Per-person failures on this host (conflicts, exhausted pools). */
  readonly failed: ReadonlyArray<{ uid: string; error: string }>;
}

/**
 * Brings every gateway and bastion to the directory's state, all hosts in parallel; a host that
 * is down does not hold up the others and is reported, not thrown.
 */
export async function syncGateways(
  deps: ServiceDeps,
  options: { signal?: AbortSignal; only?: readonly string[] } = {},
): Promise<SystemResult[]> {
  const drivers = deps.gateways.filter((d) => options.only === undefined || options.only.includes(d.name));
  if (drivers.length === 0) return [];
  const memberships = await deps.directory.readMemberships();
  const tiers = tiersByUid(memberships, deps.config.directory.users_base);
  let keysPromise: Promise<ReadonlyMap<string, readonly string[]>> | null = null;
  const keys = () => {
    keysPromise ??= (async () => {
      const bastionUids = [...tiers].filter(([, t]) => t === 'vpn-bastion').map(([uid]) => uid);
      const people = await deps.directory.findPeople(bastionUids);
      return new Map(bastionUids.map((uid) => [uid, people.get(uid)?.sshPublicKeys ?? []]));
    })();
    return keysPromise;
  };
  return Promise.all(
    drivers.map(async (driver): Promise<SystemResult> => {
      const started = performance.now();
      const log = deps.logger.child({ gateway: driver.name });
      try {
        const state = await desiredStateOf(deps, driver, tiers, keys, true);
        const report = await driver.apply({ desired: state.desired }, options.signal);
        log.info(
          {
            added: report.added.length,
            changed: report.changed.length,
            removed: report.removed.length,
            wrote: report.wrote,
          },
          'gateway applied',
        );
        return {
          name: driver.name,
          kind: driver.kind,
          status: 'applied',
          report,
          error: null,
          durationMs: performance.now() - started,
          failed: [...report.failed, ...state.unplaceable],
        };
      } catch (err) {
        const code = err instanceof AppError ? err.code : 'RAC_UNEXPECTED';
        const unavailable =
          code === 'RAC_SSH_UNAVAILABLE' ||
          code === 'RAC_SSH_TIMEOUT' ||
          code === 'RAC_GATEWAY_UNAVAILABLE' ||
          code === 'RAC_GATEWAY_TIMEOUT';
        log.warn({ err }, 'gateway not applied');
        return {
          name: driver.name,
          kind: driver.kind,
          status: unavailable ? 'unavailable' : 'failed',
          report: null,
          error: `${code}: ${(err as Error).message}`,
          durationMs: performance.now() - started,
          failed: [],
        };
      }
    }),
  );
}
