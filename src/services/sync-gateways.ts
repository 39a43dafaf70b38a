import { AppError } from '../core/errors.ts';
import type { ObservedMemberships } from '../core/plan/plan.ts';
import { type ResolvedPeople, resolvePeople, type UnusableMember, usableKeys } from '../core/plan/resolve-people.ts';
import { type Tier, tierRank } from '../core/tiers.ts';
import type { GatewayApplyReport, GatewayDriver, GatewayGrant } from '../ports.ts';
import type { ServiceDeps } from './deps.ts';
import { addressesOn } from './gateway-addresses.ts';
import { wireGuardDesiredState } from './wireguard-desired.ts';

/**
 * What every host mirrors, read once: the directory's people (by the uid of their entries, each
 * judged on its own data) less the people rac revoked and nobody granted again since.
 */
export interface DirectoryView {
  readonly people: ResolvedPeople;
  readonly revoked: ReadonlyMap<string, { at: string; actor: string; reason: string }>;
}

export async function readDirectoryView(
  deps: ServiceDeps,
  /** The tier groups when the caller has just read them. */
  readMemberships?: ObservedMemberships,
): Promise<DirectoryView> {
  const memberships = readMemberships ?? (await deps.directory.readMemberships());
  const dns = new Set<string>();
  for (const members of Object.values(memberships)) for (const dn of members) dns.add(dn);
  const entries = await deps.directory.resolveMembers(dns);
  const people = resolvePeople({
    memberships,
    entries,
    usersBase: deps.config.directory.users_base,
    uidAttribute: deps.config.directory.uid_attribute,
  });
  return { people, revoked: deps.store.activeRevocations() };
}

/** A person a host cannot get: a value that cannot be used, or an exhausted pool. */
export interface HostFailure {
  /** The uid, or the entry's DN when it has no usable uid. */
  readonly uid: string;
  readonly error: string;
}

export interface DesiredState {
  readonly desired: Map<string, GatewayGrant>;
  /** People left exactly as the host has them: their own data failed, nobody else's did. */
  readonly hold: ReadonlySet<string>;
  readonly failed: readonly HostFailure[];
}

/** The lowest tier a host of this kind serves. */
function servedFrom(kind: GatewayDriver['kind']): Tier {
  if (kind === 'proxy') return 'public';
  return kind === 'bastion' ? 'vpn-bastion' : 'vpn';
}

/**
 * The complete desired state of one host: OpenVPN gateways carry everyone with vpn or
 * vpn-bastion (a stable address from the tier's pool), bastions everyone with vpn-bastion (their
 * directory keys, every one of them a plain key). `persist` stores new address assignments
 * (atomically with reading the current ones); drift reports compute without it.
 */
export function desiredStateOf(
  deps: ServiceDeps,
  driver: GatewayDriver,
  view: DirectoryView,
  persist: boolean,
): DesiredState {
  const gateway = deps.config.gateways.find((g) => g.name === driver.name);
  if (gateway === undefined) throw new AppError('RAC_CONFIG_INVALID', `no gateway ${driver.name} in the config`);
  const from = tierRank(servedFrom(driver.kind));
  const desired = new Map<string, GatewayGrant>();
  const hold = new Set<string>();
  const failed: HostFailure[] = [];
  for (const u of view.people.unusable) {
    if (tierRank(u.tier) < from) continue;
    failed.push({ uid: u.uid ?? u.dn, error: describeUnusable(u) });
    if (u.uid !== null && !view.revoked.has(u.uid)) hold.add(u.uid);
  }
  const tiers = new Map<string, Tier>();
  for (const [uid, tier] of view.people.tiers)
    if (tierRank(tier) >= from && !view.revoked.has(uid)) tiers.set(uid, tier);

  if (driver.kind === 'proxy') {
    // Everyone in the public group (a higher tier includes it), with their highest tier as the
    // map's value: the site allows any tier value and denies the rest.
    for (const [uid, tier] of tiers) desired.set(uid, { uid, tier });
    return { desired, hold, failed };
  }
  if (driver.kind === 'bastion') {
    for (const [uid, tier] of tiers) {
      const keys = usableKeys(view.people.keys.get(uid) ?? []);
      if (keys.ok) desired.set(uid, { uid, tier, keys: keys.keys });
      else {
        failed.push({ uid, error: `unusable directory data: ${keys.reason}` });
        hold.add(uid);
      }
    }
    return { desired, hold, failed };
  }
  if (driver.kind === 'wireguard') {
    const wg = wireGuardDesiredState(deps, driver.name, tiers, persist);
    return { desired: wg.desired, hold, failed: [...failed, ...wg.unplaceable] };
  }
  const openvpn = gateway.openvpn;
  if (openvpn === undefined) throw new AppError('RAC_CONFIG_INVALID', `gateway ${driver.name} has no openvpn section`);
  const wanted = new Map<string, 'vpn' | 'vpn-bastion'>();
  for (const [uid, tier] of tiers) if (tier === 'vpn' || tier === 'vpn-bastion') wanted.set(uid, tier);
  const allocation = addressesOn(deps, driver.name, openvpn, wanted, persist);
  for (const [uid, a] of allocation.assignments) desired.set(uid, { uid, tier: a.tier, address: a.address });
  return { desired, hold, failed: [...failed, ...allocation.failed] };
}

function describeUnusable(u: UnusableMember): string {
  return `unusable directory data: ${u.reason} (${u.dn})`;
}

export interface SystemResult {
  readonly name: string;
  readonly kind: GatewayDriver['kind'];
  readonly status: 'applied' | 'unavailable' | 'failed';
  readonly report: GatewayApplyReport | null;
  readonly error: string | null;
  readonly durationMs: number;
  /** Per-person failures on this host (unusable directory data, exhausted pools, host refusals). */
  readonly failed: readonly HostFailure[];
}

const UNAVAILABLE = new Set([
  'RAC_SSH_UNAVAILABLE',
  'RAC_SSH_TIMEOUT',
  'RAC_GATEWAY_UNAVAILABLE',
  'RAC_GATEWAY_TIMEOUT',
]);

/** Runs `body` for one host and turns an error into a reported result: one host never holds up another. */
async function onHost(
  deps: ServiceDeps,
  driver: GatewayDriver,
  body: () => Promise<{ report: GatewayApplyReport | null; failed: readonly HostFailure[] }>,
): Promise<SystemResult> {
  const started = performance.now();
  const log = deps.logger.child({ gateway: driver.name });
  try {
    const { report, failed } = await body();
    if (report !== null)
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
      failed,
    };
  } catch (err) {
    const code = err instanceof AppError ? err.code : 'RAC_UNEXPECTED';
    log.warn({ err }, 'gateway not applied');
    return {
      name: driver.name,
      kind: driver.kind,
      status: UNAVAILABLE.has(code) ? 'unavailable' : 'failed',
      report: null,
      error: `${code}: ${(err as Error).message}`,
      durationMs: performance.now() - started,
      failed: [],
    };
  }
}

/**
 * Brings every gateway and bastion to the directory's state, all hosts in parallel. A host that
 * is down does not hold up the others and is reported, not thrown; a person whose own data
 * cannot be used fails alone and is left as the host has them. Revocations are read again right
 * before each host is written, so a revocation made while this runs is never undone.
 */
export async function syncGateways(
  deps: ServiceDeps,
  options: { signal?: AbortSignal | undefined; only?: readonly string[]; view?: DirectoryView } = {},
): Promise<SystemResult[]> {
  const drivers = deps.gateways.filter((d) => options.only === undefined || options.only.includes(d.name));
  if (drivers.length === 0) return [];
  const view = options.view ?? (await readDirectoryView(deps));
  return Promise.all(
    drivers.map((driver) =>
      onHost(deps, driver, async () => {
        const state = desiredStateOf(deps, driver, view, true);
        const desired = new Map(state.desired);
        if (state.hold.size > 0) {
          const observed = await driver.observe(options.signal);
          for (const uid of state.hold) {
            const have = observed.grants.get(uid);
            if (have !== undefined) desired.set(uid, have);
          }
        }
        for (const uid of deps.store.activeRevocations().keys()) desired.delete(uid);
        const report = await driver.apply({ desired }, options.signal);
        return { report, failed: [...report.failed, ...state.failed] };
      }),
    ),
  );
}

/**
 * Takes exactly these people off every host, touching nobody else: each host's own state less
 * them, whatever anyone else's directory data says. Hosts that have none of them are not written.
 */
export async function revokeOnHosts(
  deps: ServiceDeps,
  uids: readonly string[],
  options: { signal?: AbortSignal | undefined; only?: readonly string[] } = {},
): Promise<SystemResult[]> {
  const gone = new Set(uids);
  const drivers = deps.gateways.filter((d) => options.only === undefined || options.only.includes(d.name));
  return Promise.all(
    drivers.map((driver) =>
      onHost(deps, driver, async () => {
        if (driver.revoke !== undefined) {
          const report = await driver.revoke(uids, options.signal);
          return { report, failed: report.failed.filter((f) => gone.has(f.uid)) };
        }
        const observed = await driver.observe(options.signal);
        // A hand-written file under a revoked person's name grants access too (ccd-exclusive).
        const present = [...observed.grants.keys(), ...observed.foreign].filter((uid) => gone.has(uid));
        if (present.length === 0) return { report: null, failed: [] };
        const desired = new Map([...observed.grants].filter(([uid]) => !gone.has(uid)));
        const report = await driver.apply({ desired }, options.signal);
        return { report, failed: report.failed.filter((f) => gone.has(f.uid)) };
      }),
    ),
  );
}
