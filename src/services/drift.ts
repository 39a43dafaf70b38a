import { sameSshKeys } from '../core/ssh-key-id.ts';
import type { GatewayGrant } from '../ports.ts';
import type { ServiceDeps } from './deps.ts';
import { withApplyLock } from './locks.ts';
import {
  type DirectoryView,
  desiredStateOf,
  readDirectoryView,
  type SystemResult,
  syncGateways,
} from './sync-gateways.ts';

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
  /** Group members rac cannot act on (no uid, a uid that cannot be an account, a key with options …). */
  readonly unusable: ReadonlyArray<{ uid: string | null; dn: string | null; reason: string }>;
  /** People rac revoked who are back in a tier group in the directory: kept off every host. */
  readonly revokedInDirectory: ReadonlyArray<{ uid: string; revokedAt: string; reason: string }>;
  /** Group members outside the users base (placeholders, services): not people, ignored. */
  readonly outside: readonly string[];
  readonly fixed: readonly SystemResult[] | null;
}

const describeGrant = (g: GatewayGrant | undefined): string => {
  if (g === undefined) return 'none';
  const parts: string[] = [g.tier];
  if (g.address !== undefined) parts.push(g.address);
  if (g.keys !== undefined) parts.push(`${g.keys.length} key${g.keys.length === 1 ? '' : 's'}`);
  if (g.login !== undefined) parts.push(g.login);
  return parts.join(' ');
};

/**
 * Compares rac's records, the directory and every gateway and bastion. The directory is the
 * authority for tiers; gateways and bastions must mirror it (less people rac revoked). `fix`
 * brings every drifted host back (one bulk apply per host) under the apply lock; differences
 * between rac's records and the directory are reported for a person to decide.
 */
export async function detectDrift(
  deps: ServiceDeps,
  options: { fix?: boolean; signal?: AbortSignal } = {},
): Promise<DriftReport> {
  if (options.fix === true) return withApplyLock(deps, () => drift(deps, options));
  return drift(deps, options);
}

async function drift(deps: ServiceDeps, options: { fix?: boolean; signal?: AbortSignal }): Promise<DriftReport> {
  const view: DirectoryView = await readDirectoryView(deps);
  const { tiers } = view.people;
  const items: DriftItem[] = [];
  for (const [uid, tier] of deps.store.listGrants()) {
    const actual = tiers.get(uid) ?? null;
    if (actual !== tier && !view.revoked.has(uid))
      items.push({ system: 'store', uid, expected: tier, observed: actual ?? 'none' });
  }
  const unusable = new Map<string, { uid: string | null; dn: string | null; reason: string }>();
  /** Every DN and uid already listed, so that a host's failure for the same person is not listed twice. */
  const listed = new Set<string>();
  for (const u of view.people.unusable) {
    unusable.set(u.dn, { uid: u.uid, dn: u.dn, reason: u.reason });
    listed.add(u.dn);
    if (u.uid !== null) listed.add(u.uid);
  }
  const revokedInDirectory = [...view.revoked]
    .filter(([uid]) => tiers.has(uid))
    .map(([uid, r]) => ({ uid, revokedAt: r.at, reason: r.reason }));
  const foreign: Array<{ system: string; artifact: string }> = [];
  const unreachable: Array<{ system: string; error: string }> = [];
  for (const driver of deps.gateways) {
    try {
      const state = desiredStateOf(deps, driver, view, false);
      for (const f of state.failed) {
        if (listed.has(f.uid)) continue;
        listed.add(f.uid);
        unusable.set(f.uid, { uid: f.uid, dn: view.people.dns.get(f.uid) ?? null, reason: f.error });
      }
      const observed = await driver.observe(options.signal);
      for (const artifact of observed.foreign) foreign.push({ system: driver.name, artifact });
      // A bastion key written in the other login mode grants something else: a difference.
      const login = driver.kind === 'bastion' ? deps.config.bastion.login : undefined;
      for (const [uid, wanted] of state.desired) {
        const want = login === undefined ? wanted : { ...wanted, login };
        const have = observed.grants.get(uid);
        const same =
          have !== undefined &&
          have.tier === want.tier &&
          (want.address === undefined || have.address === want.address) &&
          (want.keys === undefined || sameSshKeys(have.keys ?? [], want.keys)) &&
          (want.login === undefined || have.login === want.login);
        if (!same)
          items.push({ system: driver.name, uid, expected: describeGrant(want), observed: describeGrant(have) });
      }
      for (const [uid, have] of observed.grants) {
        if (!state.desired.has(uid) && !state.hold.has(uid))
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
        : // The view the differences were found in, read under the same lock: the fix applies what was reported.
          await syncGateways(deps, { signal: options.signal, only: hosts, view });
    deps.store.audit({
      action: 'drift.fix',
      actor: deps.actor,
      detail: { hosts, items: items.length, foreign: foreign.length },
    });
  }
  return {
    items,
    foreign,
    unreachable,
    unusable: [...unusable.values()],
    revokedInDirectory,
    outside: view.people.outside,
    fixed,
  };
}
