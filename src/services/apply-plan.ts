import { normalizeDn } from '../core/dn.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { observedGroupsOf, personState, recheckCapacity } from '../core/plan/build-plan.ts';
import type { ObservedMemberships, Plan } from '../core/plan/plan.ts';
import { TIERS, type Tier, tiersIncludedBy } from '../core/tiers.ts';
import type { BatchItem, BatchRecord, ItemResult, LockHandle } from '../ports.ts';
import type { ServiceDeps } from './deps.ts';
import { leaveTierGroups } from './leave-tier-groups.ts';
import { withApplyLock } from './locks.ts';
import { type SystemResult, syncGateways } from './sync-gateways.ts';
import { recordRosterWireGuardKeys } from './wireguard-keys.ts';

export interface ApplyOptions {
  /** Apply the first N people, verify them, and stop on any failure before the rest. */
  readonly canary?: number | undefined;
  /** Continue in waves of M people, verifying between waves. */
  readonly waveSize?: number | undefined;
  readonly onProgress?: ((event: ProgressEvent) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
  /**
   * A revocation: runs beside a running apply instead of waiting for its lock (revocation is
   * never held hostage), and leaves the hosts to the caller, which takes exactly these people off.
   */
  readonly revocation?: boolean;
}

export interface ProgressEvent {
  readonly system: string;
  readonly wave: number;
  readonly waves: number;
  readonly done: number;
  readonly total: number;
  readonly failed: number;
}

export type PersonOutcome = 'applied' | 'already' | 'failed' | 'pending' | 'unchanged';

export interface ApplyReport {
  readonly batchId: string;
  readonly planId: string;
  readonly run: number;
  readonly resumed: boolean;
  readonly status: BatchRecord['status'];
  readonly people: ReadonlyArray<{
    uid: string;
    from: Tier | null;
    to: Tier | null;
    action: string;
    outcome: PersonOutcome;
    error: string | null;
    /** Gateways and bastions where this person's change is not in place yet. */
    pendingOn: readonly string[];
  }>;
  /** One line per gateway and bastion: what this run did there. */
  readonly systems: ReadonlyArray<{
    name: string;
    kind: string;
    status: 'applied' | 'unavailable' | 'failed';
    added: number;
    changed: number;
    removed: number;
    unchanged: number;
    wrote: boolean;
    error: string | null;
    durationMs: number;
  }>;
  readonly counts: Readonly<Record<PersonOutcome, number>>;
  /**
   * People outside this batch whose directory data a host cannot use: they failed alone (no host
   * was held up), and are listed here and by rac drift until the data is repaired.
   */
  readonly unusable: ReadonlyArray<{ system: string; uid: string; error: string }>;
  readonly ldap: { readonly modifies: number; readonly retries: number };
  readonly stoppedEarly: string | null;
  readonly durationMs: number;
  readonly lockTakenOver: boolean;
}

/**
 * Carries out exactly a plan. Level-driven: every run re-observes the directory and writes only
 * the difference, so a re-run after a crash, a timeout or a partial failure converges and never
 * applies anything twice. Outcomes are recorded only after they are read back.
 */
export async function applyPlan(deps: ServiceDeps, plan: Plan, options: ApplyOptions = {}): Promise<ApplyReport> {
  const started = performance.now();
  assertSameDirectory(deps, plan);
  const locked = <T>(body: (lock: LockHandle | null) => Promise<T>): Promise<T> =>
    options.revocation === true ? body(null) : withApplyLock(deps, body);
  return locked(async (lock) => {
    const { batch, existing, memberships, keysNow } = await admitBatch(deps, plan);
    const run = deps.store.startRun(batch.id, deps.actor, {
      canary: options.canary ?? null,
      waveSize: options.waveSize ?? null,
      ...(lock?.tookOverFrom == null ? {} : { lockTakenOverFrom: lock.tookOverFrom.id }),
    });
    const log = deps.logger.child({ plan: plan.id, batch: batch.id, run });
    const directory = await runWaves(deps, batch, run, memberships, keysNow, options, log);
    const hosts = await applyToHosts(deps, plan, batch, options, log);
    const report = reportOf(deps, plan, batch, directory, hosts);
    deps.store.finishRun(batch.id, deps.actor, report.status, {
      counts: report.counts,
      modifies: directory.stats.modifies,
      stoppedEarly: directory.stoppedEarly,
      systems: hosts.systems.map((x) => ({ name: x.name, status: x.status })),
    });
    return {
      ...report,
      run,
      resumed: existing !== null,
      durationMs: Math.round(performance.now() - started),
      lockTakenOver: lock?.tookOverFrom != null,
    };
  });
}

/**
 * Step 1. The plan is stored, the directory read now, and the batch admitted: refused when the
 * directory moved under the plan (stale) or, for a new batch, when it no longer fits capacity.
 */
async function admitBatch(deps: ServiceDeps, plan: Plan) {
  const { store, directory, actor, config } = deps;
  store.savePlan(plan);
  const existing = store.getBatchByPlan(plan.id);
  const memberships = await directory.readMemberships();
  const keysNow = await currentKeys(deps, plan);
  const itemsBefore = existing === null ? [] : store.getItems(existing.id);
  assertNotStale(plan, memberships, keysNow, existing, itemsBefore);
  if (existing === null) {
    const capacity = recheckCapacity(plan, memberships, config.directory.users_base, {
      limit: deps.capacityLimit(),
      peakConcurrency: config.capacity.peak_concurrency,
      enforce: config.capacity.enforce,
    });
    if (capacity.verdict === 'refuse') {
      throw new AppError('RAC_CAPACITY_REFUSED', `capacity refused: ${capacity.message}`, { details: { capacity } });
    }
    if (capacity.verdict === 'warn')
      deps.logger.warn({ plan: plan.id, capacity: capacity.message }, 'capacity exceeded (enforce: warn)');
  }
  const batch =
    existing ??
    store.createBatch({ id: newId('b', deps.clock.now()), plan, actor, rollbackOf: plan.source.rollbackOf });
  const trusted = plan.source.trustedRosterAttributes ?? [];
  if (existing === null && trusted.length > 0) {
    store.audit({
      action: 'batch.trust-roster-attributes',
      actor,
      batchId: batch.id,
      detail: { count: trusted.length, people: trusted.slice(0, 1000) },
    });
  }
  return { batch, existing, memberships, keysNow };
}

interface DirectoryOutcome {
  readonly inPlace: ReadonlySet<string>;
  readonly stats: { modifies: number; retries: number };
  readonly stoppedEarly: string | null;
}

/**
 * Step 2. The directory, wave by wave: what is in place already is recorded, never rewritten;
 * each wave skips people revoked since the run began, is written, undone where a revocation
 * landed meanwhile, read back, and recorded. A failed wave stops the next ones.
 */
async function runWaves(
  deps: ServiceDeps,
  batch: BatchRecord,
  run: number,
  memberships: ObservedMemberships,
  keysNow: ReadonlyMap<string, readonly string[]>,
  options: ApplyOptions,
  log: ServiceDeps['logger'],
): Promise<DirectoryOutcome> {
  const { store, actor } = deps;
  const runStartedAt = deps.clock.now().toISOString();
  const open = store.getItems(batch.id).filter((i) => i.outcome !== 'applied');
  // Converged already (a crashed run wrote them, or someone did by hand): record, never rewrite.
  const inPlace = open.filter((i) => isInPlace(i, memberships, keysNow));
  store.recordOutcomes(
    batch.id,
    actor,
    inPlace.map((i) => ({ uid: i.uid, outcome: 'applied' })),
  );
  const todo = open.filter((i) => !isInPlace(i, memberships, keysNow));
  const waves = splitWaves(todo, options);
  const stats = { modifies: 0, retries: 0 };
  const failures = new Map<string, string>();
  let stoppedEarly: string | null = null;
  let done = 0;
  try {
    for (const [index, wave] of waves.entries()) {
      if (options.signal?.aborted) {
        stoppedEarly = 'interrupted';
        break;
      }
      // Revocation outranks the batch: nobody revoked since it started is granted by it.
      const revoked = options.revocation === true ? new Set<string>() : revokedDuring(deps, runStartedAt, wave);
      const waveStartedAt = deps.clock.now().toISOString();
      const go = wave.filter((i) => !revoked.has(i.uid));
      store.recordIntent(batch.id, actor, { run, wave: index + 1, uids: go.map((i) => i.uid) });
      const waveFailures = await applyWave(deps, go, memberships, stats);
      if (options.revocation !== true) await undoRevokedDuringWave(deps, go, waveStartedAt, waveFailures, stats);
      const readBack = await verifyWave(deps, go, waveFailures);
      const verified = [
        ...readBack.results,
        ...wave
          .filter((i) => revoked.has(i.uid))
          .map((i) => ({
            uid: i.uid,
            outcome: 'failed' as const,
            error: 'revoked while this batch ran; not granted',
          })),
      ];
      store.recordOutcomes(batch.id, actor, verified, { startedAt: waveStartedAt });
      for (const r of verified) if (r.outcome === 'failed') failures.set(r.uid, r.error ?? 'failed');
      done += wave.length;
      const failedInWave = verified.filter((r) => r.outcome === 'failed').length;
      options.onProgress?.({
        system: 'ldap',
        wave: index + 1,
        waves: waves.length,
        done,
        total: todo.length,
        failed: failures.size,
      });
      log.info({ wave: index + 1, people: wave.length, failed: failedInWave }, 'wave applied');
      if (failedInWave > 0 && index < waves.length - 1) {
        stoppedEarly = `${failedInWave} of ${wave.length} people failed in ${index === 0 && options.canary ? 'the canary' : `wave ${index + 1}`}; the rest were not started`;
        break;
      }
      // Later waves start from what is there now: the read-back of this wave (one read per wave).
      if (index < waves.length - 1) Object.assign(memberships, readBack.readBack);
    }
  } catch (err) {
    store.finishRun(batch.id, actor, 'partial', { error: err instanceof AppError ? err.code : 'unexpected' });
    throw err;
  }
  return { inPlace: new Set(inPlace.map((i) => i.uid)), stats, stoppedEarly };
}

interface HostsOutcome {
  readonly systems: readonly SystemResult[];
  readonly unusable: ApplyReport['unusable'];
}

/**
 * Step 3. Every gateway and bastion brought to the directory's state (hosts in parallel), each
 * person's outcome recorded per host; people outside the batch whose data a host cannot use are
 * audited, never a reason to hold anyone else.
 */
async function applyToHosts(
  deps: ServiceDeps,
  plan: Plan,
  batch: BatchRecord,
  options: ApplyOptions,
  log: ServiceDeps['logger'],
): Promise<HostsOutcome> {
  const { store, actor } = deps;
  if (options.revocation !== true) recordRosterWireGuardKeys(deps, plan, batch.id);
  const systems =
    deps.gateways.length === 0 || options.revocation === true
      ? []
      : await syncGateways(deps, { signal: options.signal });
  const ldapApplied = store
    .getItems(batch.id)
    .filter((i) => i.outcome === 'applied')
    .map((i) => i.uid);
  for (const system of systems) {
    const failedHere = new Map(system.failed.map((f) => [f.uid, f.error]));
    store.recordSystemOutcomes(
      batch.id,
      system.name,
      ldapApplied.map((uid) => {
        if (system.status !== 'applied') return { uid, outcome: 'pending' as const, error: system.error };
        const error = failedHere.get(uid);
        return error === undefined ? { uid, outcome: 'applied' as const } : { uid, outcome: 'failed' as const, error };
      }),
      actor,
    );
    options.onProgress?.({
      system: system.name,
      wave: 1,
      waves: 1,
      done: ldapApplied.length,
      total: ldapApplied.length,
      failed: failedHere.size,
    });
  }
  const inBatch = new Set(plan.people.map((p) => p.uid));
  const unusable = systems.flatMap((x) =>
    x.failed.filter((f) => !inBatch.has(f.uid)).map((f) => ({ system: x.name, uid: f.uid, error: f.error })),
  );
  if (unusable.length > 0) {
    log.info({ unusable: unusable.length }, 'people outside the batch have directory data a host cannot use');
    store.audit({
      action: 'directory.unusable',
      actor,
      batchId: batch.id,
      detail: {
        people: unusable.slice(0, 100),
        count: unusable.length,
        bySystem: Object.fromEntries(
          [...new Set(unusable.map((u) => u.system))].map((x) => [x, unusable.filter((u) => u.system === x).length]),
        ),
      },
    });
  }
  return { systems, unusable };
}

/** Step 4. Each person's outcome across the directory and every host, counted. */
function reportOf(
  deps: ServiceDeps,
  plan: Plan,
  batch: BatchRecord,
  directory: DirectoryOutcome,
  hosts: HostsOutcome,
): Omit<ApplyReport, 'run' | 'resumed' | 'durationMs' | 'lockTakenOver'> {
  const { store } = deps;
  const notOnSystems = new Map<string, string[]>();
  for (const row of store.getSystemOutcomes(batch.id)) {
    if (row.outcome === 'applied') continue;
    notOnSystems.set(row.uid, [...(notOnSystems.get(row.uid) ?? []), row.system]);
  }
  const finalItems = new Map(store.getItems(batch.id).map((i) => [i.uid, i]));
  const people = plan.people.map((p) => {
    const item = finalItems.get(p.uid);
    let outcome: PersonOutcome = 'unchanged';
    if (item !== undefined) {
      if (item.outcome === 'applied') outcome = directory.inPlace.has(p.uid) ? 'already' : 'applied';
      else outcome = item.outcome;
    }
    const pendingOn = notOnSystems.get(p.uid) ?? [];
    return { uid: p.uid, from: p.from, to: p.to, action: p.action, outcome, error: item?.error ?? null, pendingOn };
  });
  const counts = { applied: 0, already: 0, failed: 0, pending: 0, unchanged: 0 };
  for (const p of people) counts[p.outcome]++;
  const status: BatchRecord['status'] =
    counts.failed + counts.pending === 0 && notOnSystems.size === 0 ? 'applied' : 'partial';
  return {
    systems: hosts.systems.map((x) => ({
      name: x.name,
      kind: x.kind,
      status: x.status,
      added: x.report?.added.length ?? 0,
      changed: x.report?.changed.length ?? 0,
      removed: x.report?.removed.length ?? 0,
      unchanged: x.report?.unchanged ?? 0,
      wrote: x.report?.wrote ?? false,
      error: x.error,
      durationMs: Math.round(x.durationMs),
    })),
    batchId: batch.id,
    planId: plan.id,
    status,
    people,
    counts,
    unusable: hosts.unusable,
    ldap: directory.stats,
    stoppedEarly: directory.stoppedEarly,
  };
}

/** Items of `wave` whose person was revoked at or after `since`. */
function revokedDuring(deps: ServiceDeps, since: string, wave: readonly BatchItem[]): Set<string> {
  return deps.store.revokedSince(
    since,
    wave.filter((i) => i.afterTier !== null).map((i) => i.uid),
  );
}

/**
 * A revocation that landed while this wave's modifies were in flight may have been undone by
 * them: take those people out of every group again and fail them in this batch.
 */
async function undoRevokedDuringWave(
  deps: ServiceDeps,
  wave: readonly BatchItem[],
  waveStartedAt: string,
  failures: Map<string, string>,
  stats: { modifies: number; retries: number },
): Promise<void> {
  const revoked = revokedDuring(deps, waveStartedAt, wave);
  if (revoked.size === 0) return;
  const items = wave.filter((i) => revoked.has(i.uid));
  await leaveTierGroups(
    deps,
    items.map((i) => i.dn),
    (err) => {
      if (isUpstreamDown(err)) throw err;
    },
    stats,
  );
  for (const i of items) failures.set(i.uid, 'revoked while this batch ran; not granted');
}

function assertSameDirectory(deps: ServiceDeps, plan: Plan): void {
  const { url, groups } = deps.config.directory;
  const same =
    plan.directory.url === url && TIERS.every((t) => normalizeDn(plan.directory.groups[t]) === normalizeDn(groups[t]));
  if (!same) {
    throw new AppError(
      'RAC_PLAN_STALE',
      `plan ${plan.id} was made for ${plan.directory.url}, not for the configured ${url}`,
    );
  }
}

async function currentKeys(deps: ServiceDeps, plan: Plan): Promise<Map<string, readonly string[]>> {
  const uids = plan.people.filter((p) => p.setSshKeys !== null || p.observedSshKeys.length > 0).map((p) => p.uid);
  if (uids.length === 0) return new Map();
  const found = await deps.directory.findPeople(uids);
  return new Map(uids.map((uid) => [uid, found.get(uid)?.sshPublicKeys ?? []]));
}

/**
 * Refuses (exit 7) when the directory changed, since the plan was made, for anyone the plan
 * names. Resumed batches may also find people already at their target.
 */
function assertNotStale(
  plan: Plan,
  memberships: ObservedMemberships,
  keysNow: ReadonlyMap<string, readonly string[]>,
  batch: BatchRecord | null,
  items: readonly BatchItem[],
): void {
  const byUid = new Map(items.map((i) => [i.uid, i]));
  const changed: string[] = [];
  for (const person of plan.people) {
    const groups = observedGroupsOf(memberships, normalizeDn(person.dn));
    const keys = keysNow.get(person.uid) ?? [];
    const now = personState(person.uid, groups, keys);
    const planned = personState(person.uid, person.observedGroups, person.observedSshKeys);
    const target = personState(person.uid, tiersIncludedBy(person.to), person.setSshKeys ?? person.observedSshKeys);
    const item = byUid.get(person.uid);
    const ok = item?.outcome === 'applied' ? now === target : now === planned || (batch !== null && now === target);
    if (!ok) changed.push(person.uid);
  }
  if (changed.length > 0) {
    const sample = changed.slice(0, 20).join(', ');
    throw new AppError(
      'RAC_PLAN_STALE',
      `plan ${plan.id} is stale: the directory changed since it was made for ${changed.length} ${changed.length === 1 ? 'person' : 'people'} (${sample}${changed.length > 20 ? ', …' : ''}); make a new plan`,
      { details: { changed } },
    );
  }
}

function isInPlace(
  item: BatchItem,
  memberships: ObservedMemberships,
  keysNow: ReadonlyMap<string, readonly string[]>,
): boolean {
  const groups = observedGroupsOf(memberships, normalizeDn(item.dn));
  const wanted = tiersIncludedBy(item.afterTier);
  const groupsOk = groups.length === wanted.length && wanted.every((t) => groups.includes(t));
  if (!groupsOk) return false;
  if (item.afterSshKeys === null) return true;
  return personState('', [], keysNow.get(item.uid) ?? []) === personState('', [], item.afterSshKeys);
}

function splitWaves(items: readonly BatchItem[], options: ApplyOptions): BatchItem[][] {
  const waves: BatchItem[][] = [];
  let rest = [...items];
  if (options.canary !== undefined && options.canary > 0) {
    waves.push(rest.slice(0, options.canary));
    rest = rest.slice(options.canary);
  }
  const size = options.waveSize !== undefined && options.waveSize > 0 ? options.waveSize : rest.length;
  for (let i = 0; i < rest.length; i += size) waves.push(rest.slice(i, i + size));
  return waves.filter((w) => w.length > 0);
}

/**
 * One modify per group per chunk. Adds go lowest tier first and removals highest tier first,
 * so nobody is ever in a higher group without the lower ones. Returns per-person failures.
 */
async function applyWave(
  deps: ServiceDeps,
  wave: readonly BatchItem[],
  memberships: ObservedMemberships,
  stats: { modifies: number; retries: number },
): Promise<Map<string, string>> {
  const failures = new Map<string, string>();
  // Keys first, read back, and only then the groups: a host never sees a new bastion person
  // with keys that are not (yet) theirs.
  const withKeys = wave.filter((i) => i.afterSshKeys !== null);
  for (const item of withKeys) {
    try {
      await deps.directory.replaceSshPublicKeys(item.dn, item.afterSshKeys as readonly string[]);
      stats.modifies++;
    } catch (err) {
      if (isUpstreamDown(err)) throw err;
      failures.set(item.uid, `sshPublicKey: ${describe(err)}`);
    }
  }
  if (withKeys.length > 0) {
    const people = await deps.directory.findPeople(withKeys.map((i) => i.uid));
    for (const item of withKeys) {
      if (failures.has(item.uid)) continue;
      const now = people.get(item.uid)?.sshPublicKeys ?? [];
      if (personState('', [], now) !== personState('', [], item.afterSshKeys as readonly string[]))
        failures.set(item.uid, 'sshPublicKey: the directory does not show the written keys; groups not changed');
    }
  }
  const go = wave.filter((i) => !failures.has(i.uid));
  const uidByDn = new Map(go.map((i) => [normalizeDn(i.dn), i.uid]));
  const ops: Array<{ tier: Tier; operation: 'add' | 'delete'; dns: string[] }> = [];
  for (const tier of TIERS) {
    const dns = go.filter(
      (i) => tiersIncludedBy(i.afterTier).includes(tier) && !memberships[tier].has(normalizeDn(i.dn)),
    );
    ops.push({ tier, operation: 'add', dns: dns.map((i) => i.dn) });
  }
  for (const tier of [...TIERS].reverse()) {
    const dns = go.filter(
      (i) => !tiersIncludedBy(i.afterTier).includes(tier) && memberships[tier].has(normalizeDn(i.dn)),
    );
    ops.push({ tier, operation: 'delete', dns: dns.map((i) => i.dn) });
  }
  const chunk = deps.config.directory.modify_chunk;
  for (const op of ops) {
    for (let i = 0; i < op.dns.length; i += chunk) {
      await modifyNarrowly(deps, op.tier, op.operation, op.dns.slice(i, i + chunk), failures, uidByDn, stats, 0);
    }
  }
  return failures;
}

const MAX_CONFLICT_RETRIES = 3;

/**
 * A chunk that fails because someone changed the group concurrently (value exists / no such
 * value) is retried with exactly the values still needed; any other per-value error is
 * isolated by halving the chunk, so one bad person fails alone. A server that is down aborts.
 */
async function modifyNarrowly(
  deps: ServiceDeps,
  tier: Tier,
  operation: 'add' | 'delete',
  dns: readonly string[],
  failures: Map<string, string>,
  uidByDn: ReadonlyMap<string, string>,
  stats: { modifies: number; retries: number },
  attempt: number,
): Promise<void> {
  if (dns.length === 0) return;
  try {
    stats.modifies++;
    await deps.directory.modifyMembers(tier, operation, dns);
    return;
  } catch (err) {
    if (isUpstreamDown(err)) throw err;
    const code = err instanceof AppError ? err.code : '';
    const conflict =
      (operation === 'add' && code === 'RAC_LDAP_VALUE_EXISTS') ||
      (operation === 'delete' && code === 'RAC_LDAP_NO_SUCH_VALUE');
    if (conflict && attempt < MAX_CONFLICT_RETRIES) {
      stats.retries++;
      const members = (await deps.directory.readMemberships())[tier];
      const still = dns.filter((dn) => (operation === 'add') !== members.has(normalizeDn(dn)));
      await modifyNarrowly(deps, tier, operation, still, failures, uidByDn, stats, attempt + 1);
      return;
    }
    if (dns.length === 1) {
      const uid = uidByDn.get(normalizeDn(dns[0] as string)) ?? (dns[0] as string);
      failures.set(uid, `${operation} ${tier} group: ${describe(err)}`);
      return;
    }
    stats.retries++;
    const half = Math.ceil(dns.length / 2);
    await modifyNarrowly(deps, tier, operation, dns.slice(0, half), failures, uidByDn, stats, attempt);
    await modifyNarrowly(deps, tier, operation, dns.slice(half), failures, uidByDn, stats, attempt);
  }
}

/** Reads the wave back: a person counts as applied only when the directory shows the target. */
async function verifyWave(
  deps: ServiceDeps,
  wave: readonly BatchItem[],
  failures: ReadonlyMap<string, string>,
): Promise<{ results: ItemResult[]; readBack: ObservedMemberships }> {
  const memberships = await deps.directory.readMemberships();
  const keyUids = wave.filter((i) => i.afterSshKeys !== null).map((i) => i.uid);
  const people = keyUids.length === 0 ? new Map() : await deps.directory.findPeople(keyUids);
  const keysNow = new Map(keyUids.map((uid) => [uid, people.get(uid)?.sshPublicKeys ?? []]));
  const results = wave.map((item): ItemResult => {
    const failure = failures.get(item.uid);
    if (failure !== undefined) return { uid: item.uid, outcome: 'failed', error: failure };
    if (isInPlace(item, memberships, keysNow)) return { uid: item.uid, outcome: 'applied' };
    const groups = observedGroupsOf(memberships, normalizeDn(item.dn));
    return {
      uid: item.uid,
      outcome: 'failed',
      error: `read-back shows groups [${groups.join(', ')}], expected [${tiersIncludedBy(item.afterTier).join(', ')}]`,
    };
  });
  return { results, readBack: memberships };
}

function isUpstreamDown(err: unknown): boolean {
  return (
    err instanceof AppError &&
    (err.code === 'RAC_LDAP_UNAVAILABLE' ||
      err.code === 'RAC_LDAP_TIMEOUT' ||
      err.code === 'RAC_LDAP_INVALID_CREDENTIALS' ||
      err.code === 'RAC_LDAP_TLS')
  );
}

function describe(err: unknown): string {
  return err instanceof AppError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
}
