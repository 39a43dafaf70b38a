import { AppError } from '../core/errors.ts';
import type { DisconnectReport, Session } from '../ports.ts';
import { type ApplyReport, applyPlan } from './apply-plan.ts';
import type { ServiceDeps } from './deps.ts';
import { planRevoke } from './plan-batch.ts';

export interface RevokeReport {
  readonly apply: ApplyReport;
  readonly unknown: readonly string[];
  readonly disconnected: ReadonlyArray<{ gateway: string } & DisconnectReport>;
  /** What the verification still found: any of these means the revocation is not proven. */
  readonly remaining: {
    readonly sessions: readonly Session[];
    readonly grants: ReadonlyArray<{ gateway: string; uid: string }>;
    readonly unreachable: readonly string[];
  };
  readonly verified: boolean;
  /** From the start of the command to the moment no session and no grant was left. */
  readonly latencyMs: number;
}

const VERIFY_ATTEMPTS = 10;
const VERIFY_PAUSE_MS = 200;

/**
 * Revocation that is proven (Teleport's order): commit the revoke everywhere first — group
 * membership, CCD files, bastion accounts — so nothing can come back, then kill live sessions,
 * then check on every host that no session and no grant is left.
 */
export async function revokeAccess(
  deps: ServiceDeps,
  uids: readonly string[],
  signal?: AbortSignal,
): Promise<RevokeReport> {
  const started = performance.now();
  const plan = await planRevoke(deps, uids);
  const unknown = plan.problems.map((p) => p.uid).filter((u): u is string => u !== null);
  if (plan.people.length === 0) {
    throw new AppError('RAC_ROSTER_UNKNOWN_PEOPLE', `nobody to revoke: ${unknown.join(', ')} not in the directory`, {
      details: { problems: plan.problems },
    });
  }
  const report = await applyPlan(deps, plan, { signal });
  const targets = plan.people.map((p) => p.uid);
  const reachable = report.systems.filter((s) => s.status === 'applied').map((s) => s.name);
  const disconnected = await Promise.all(
    deps.gateways
      .filter((g) => reachable.includes(g.name))
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

  let remaining: RevokeReport['remaining'] = { sessions: [], grants: [], unreachable: [] };
  for (let attempt = 0; attempt < VERIFY_ATTEMPTS; attempt++) {
    remaining = await findRemaining(deps, targets, signal);
    if (remaining.sessions.length === 0 && remaining.grants.length === 0) break;
    // A session killed a moment ago may still be listed; kill again what is still there.
    for (const g of deps.gateways) {
      const left = remaining.sessions.filter((s) => s.gateway === g.name).map((s) => s.uid);
      if (left.length > 0) await g.disconnect(left, signal).catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, VERIFY_PAUSE_MS));
  }
  const verified =
    remaining.sessions.length === 0 &&
    remaining.grants.length === 0 &&
    remaining.unreachable.length === 0 &&
    report.status === 'applied';
  const latencyMs = Math.round(performance.now() - started);
  deps.store.audit({
    action: verified ? 'revoke.verified' : 'revoke.unverified',
    actor: deps.actor,
    batchId: report.batchId,
    detail: { uids: targets, latencyMs, remaining },
  });
  return { apply: report, unknown, disconnected, remaining, verified, latencyMs };
}

async function findRemaining(
  deps: ServiceDeps,
  uids: readonly string[],
  signal?: AbortSignal,
): Promise<RevokeReport['remaining']> {
  const wanted = new Set(uids);
  const sessions: Session[] = [];
  const grants: Array<{ gateway: string; uid: string }> = [];
  const unreachable: string[] = [];
  await Promise.all(
    deps.gateways.map(async (g) => {
      try {
        const [live, observed] = await Promise.all([g.listSessions(signal), g.observe(signal)]);
        sessions.push(...live.filter((s) => wanted.has(s.uid)));
        for (const uid of wanted) if (observed.grants.has(uid)) grants.push({ gateway: g.name, uid });
      } catch {
        unreachable.push(g.name);
      }
    }),
  );
  return { sessions, grants, unreachable };
}
