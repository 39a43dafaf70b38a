import { sameSshKeys } from '../core/ssh-key-id.ts';
import type { GatewayGrant } from '../ports.ts';
import type { ServiceDeps } from './deps.ts';
import { desiredStateOf, type SystemResult, syncGateways, tiersByUid } from './sync-gateways.ts';

export interface DriftItem {
  /** 'store' (rac's record vs the directory) or a gateway's name. */
  readonly system: string;
  readonly uid: string;
  readonly expected: string;
  readonly observed: string;
}

export interface DriftReport {
  readonly items: readonly DriftItem[];
  readonly foreign: ReadonlyArray<{ system: string; artifact: string }>;
  readonly unreachable: ReadonlyArray<{ system: string; error: string }>;
  readonly fixed: readonly SystemResult[] | null;
}

const describeGrant = (g: GatewayGrant | undefined): string => {
  if (g === undefined) return 'none';
  const parts: string[] = [g.tier];
  if (g.address !== undefined) parts.push(g.address);
  if (g.keys !== undefined) parts.push(`${g.keys.length} key${g.keys.length === 1 ? '' : 's'}`);
  return parts.join(' ');
};

/**
 * Compares rac's records, the directory and every gateway and bastion. The directory is the
 * authority for tiers; gateways and bastions must mirror it. `fix` brings every host back to the
 * directory's state (one bulk apply per host); differences between rac's records and the
 * directory are reported for a person to decide (a new plan, or a rollback).
 */
export async function detectDrift(
  deps: ServiceDeps,
  options: { fix?: boolean; signal?: AbortSignal } = {},
): Promise<DriftReport> {
  const memberships = await deps.directory.readMemberships();
  const tiers = tiersByUid(memberships, deps.config.directory.users_base);
  const items: DriftItem[] = [];
  const recorded = deps.store.listGrants();
  for (const [uid, tier] of recorded) {
    const actual = tiers.get(uid) ?? null;
    if (actual !== tier) items.push({ system: 'store', uid, expected: tier, observed: actual ?? 'none' });
  }
  const bastionKeys = async () => {
    const uids = [...tiers].filter(([, t]) => t === 'vpn-bastion').map(([u]) => u);
    const people = await deps.directory.findPeople(uids);
    return new Map(uids.map((uid) => [uid, people.get(uid)?.sshPublicKeys ?? []]));
  };
  const foreign: Array<{ system: string; artifact: string }> = [];
  const unreachable: Array<{ system: string; error: string }> = [];
  for (const driver of deps.gateways) {
    try {
      const [{ desired }, observed] = await Promise.all([
        desiredStateOf(deps, driver, tiers, bastionKeys, false),
        driver.observe(options.signal),
      ]);
      for (const artifact of observed.foreign) foreign.push({ system: driver.name, artifact });
      for (const [uid, want] of desired) {
        const have = observed.grants.get(uid);
        const same =
          have !== undefined &&
          have.tier === want.tier &&
          (want.address === undefined || have.address === want.address) &&
          (want.keys === undefined || sameSshKeys(have.keys ?? [], want.keys));
        if (!same)
          items.push({ system: driver.name, uid, expected: describeGrant(want), observed: describeGrant(have) });
      }
      for (const [uid, have] of observed.grants) {
        if (!desired.has(uid))
          items.push({ system: driver.name, uid, expected: 'none', observed: describeGrant(have) });
      }
    } catch (err) {
      unreachable.push({ system: driver.name, error: (err as Error).message });
    }
  }
  let fixed: SystemResult[] | null = null;
  if (options.fix === true) {
    const hosts = [
      ...new Set([...items.filter((i) => i.system !== 'store').map((i) => i.system), ...foreign.map((f) => f.system)]),
    ];
    fixed =
      hosts.length === 0
        ? []
        : await syncGateways(deps, { ...(options.signal ? { signal: options.signal } : {}), only: hosts });
    deps.store.audit({
      action: 'drift.fix',
      actor: deps.actor,
      detail: { hosts, items: items.length, foreign: foreign.length },
    });
  }
  return { items, foreign, unreachable, fixed };
}
