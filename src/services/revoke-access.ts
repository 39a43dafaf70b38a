import { normalizeDn } from '../core/dn.ts';
import { AppError } from '../core/errors.ts';
import { TIERS } from '../core/tiers.ts';
import type { DisconnectReport, Session } from '../ports.ts';
import { type ApplyReport, applyPlan } from './apply-plan.ts';
import type { ServiceDeps } from './deps.ts';
import { leaveTierGroups } from './leave-tier-groups.ts';
import { planRevoke } from './plan-batch.ts';
import { revokeOnHosts, type SystemResult } from './sync-gateways.ts';

export interface RevokeReport {
  readonly apply: ApplyReport;
  /** Why: `revoked` by a person, `expired` by rac expire, … (audited). */
  readonly reason: string;
  readonly unknown: readonly string[];
  /** What each gateway and bastion did to take these people off. */
  readonly hosts: readonly SystemResult[];
  readonly disconnected: ReadonlyArray<{ gateway: string } & DisconnectReport>;
  /** What the verification still found: any of these means the revocation is not proven. */
  readonly remaining: {
    readonly sessions: readonly Session[];
    readonly grants: ReadonlyArray<{ gateway: string; uid: string }>;
    /** People still in a tier group of the directory. */
    readonly groups: readonly string[];
    readonly unreachable: readonly string[];
  };
  readonly verified: boolean;
  /** From the start of the command to the moment no session and no grant was left. */
  readonly latencyMs: number;
}

const VERIFY_ATTEMPTS = 10;
const VERIFY_PAUSE_MS = 200;

/**
 * Revocation that is proven (Teleport's order) and that nothing can hold up: the revocation is
 * recorded first (every running or later batch then leaves these people out), group membership
 * goes, then each host loses exactly these people — whatever anyone else's data says — then live
 * sessions are killed, and every host and the directory are checked until nothing is left.
 * It takes no apply lock: it runs at once, beside a running apply.
 */
export async function revokeAccess(
  deps: ServiceDeps,
  uids: readonly string[],
  options: { signal?: AbortSignal | undefined; reason?: string } = {},
): Promise<RevokeReport> {
  const { signal } = options;
  const reason = options.reason ?? 'revoked';
  const started = performance.now();
  const plan = await planRevoke(deps, uids);
  const unknown = plan.problems.map((p) => p.uid).filter((u): u is string => u !== null);
  if (plan.people.length === 0) {
    throw new AppError('RAC_ROSTER_UNKNOWN_PEOPLE', `nobody to revoke: ${unknown.join(', ')} not in the directory`, {
      details: { problems: plan.problems },
    });
  }
  const targets = plan.people.map((p) => p.uid);
  deps.store.recordRevocations(targets, deps.actor, reason);
  const report = await applyPlan(deps, plan, { signal, revocation: true });
  const hosts = await revokeOnHosts(deps, targets, { signal });
  const reachable = new Set(hosts.filter((s) => s.status === 'applied').map((s) => s.name));
  const disconnected = await Promise.all(
    deps.gateways
      .filter((g) => reachable.has(g.name))
      .map(async (g) => {
        try {
          return { gateway: g.name, ...(await g.disconnect(targets, signal)) };
        } catch (err) {
          return {
            gateway: g.name,
            disconnected: [],
            failed: targets.map((uid) => ({ uid, error: (err as Error).message })),
          };
        }
      }),
  );

  const dns = new Map(plan.people.map((p) => [p.uid, p.dn]));
  let remaining: RevokeReport['remaining'] = { sessions: [], grants: [], groups: [], unreachable: [] };
  for (let attempt = 0; attempt < VERIFY_ATTEMPTS; attempt++) {
    remaining = await findRemaining(deps, targets, dns, signal);
    if (remaining.sessions.length === 0 && remaining.grants.length === 0 && remaining.groups.length === 0) break;
    // Something put them back (a batch that was already writing), or a session killed a moment
    // ago is still listed: take them off again where they are.
    if (remaining.groups.length > 0) await leaveGroups(deps, remaining.groups, dns);
    const hostsWithGrants = [...new Set(remaining.grants.map((g) => g.gateway))];
    if (hostsWithGrants.length > 0) await revokeOnHosts(deps, targets, { signal, only: hostsWithGrants });
    for (const g of deps.gateways) {
      const left = remaining.sessions.filter((s) => s.gateway === g.name).map((s) => s.uid);
      if (left.length > 0) await g.disconnect(left, signal).catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, VERIFY_PAUSE_MS));
  }
  const hostsOk = hosts.every((h) => h.status === 'applied' && h.failed.length === 0);
  const verified =
    remaining.sessions.length === 0 &&
    remaining.grants.length === 0 &&
    remaining.groups.length === 0 &&
    remaining.unreachable.length === 0 &&
    report.counts.failed === 0 &&
    hostsOk;
  const latencyMs = Math.round(performance.now() - started);
  deps.store.audit({
    action: verified ? 'revoke.verified' : 'revoke.unverified',
    actor: deps.actor,
    batchId: report.batchId,
    detail: { uids: targets, reason, latencyMs, remaining },
  });
  return { apply: report, reason, unknown, hosts, disconnected, remaining, verified, latencyMs };
}

async function leaveGroups(
  deps: ServiceDeps,
  uids: readonly string[],
  dns: ReadonlyMap<string, string>,
): Promise<void> {
  await leaveTierGroups(
    deps,
    uids.map((uid) => dns.get(uid) as string),
    () => undefined,
  );
}

async function findRemaining(
  deps: ServiceDeps,
  uids: readonly string[],
  dns: ReadonlyMap<string, string>,
  signal?: AbortSignal,
): Promise<RevokeReport['remaining']> {
  const wanted = new Set(uids);
  const sessions: Session[] = [];
  const grants: Array<{ gateway: string; uid: string }> = [];
  const unreachable: string[] = [];
  const [memberships] = await Promise.all([
    deps.directory.readMemberships(),
    ...deps.gateways.map(async (g) => {
      try {
        const [live, observed] = await Promise.all([g.listSessions(signal), g.observe(signal, { only: uids })]);
        sessions.push(...live.filter((s) => wanted.has(s.uid)));
        for (const uid of wanted)
          if (observed.grants.has(uid) || observed.foreign.includes(uid)) grants.push({ gateway: g.name, uid });
      } catch {
        unreachable.push(g.name);
      }
    }),
  ]);
  const groups = uids.filter((uid) => {
    const dn = normalizeDn(dns.get(uid) as string);
    return TIERS.some((t) => memberships[t].has(dn));
  });
  return { sessions, grants, groups, unreachable };
}
