import type { DirectoryPerson, ObservedMemberships, Plan } from './core/plan/plan.ts';
import type { MemberEntry } from './core/plan/resolve-people.ts';
import type { WrittenPlan } from './core/plan/serialize-plan.ts';
import type { Tier } from './core/tiers.ts';
import type { Topology } from './core/topology.ts';

/** The company directory, as the services need it. Implemented over ldapts in adapters/ldap. */
export interface Directory {
  readonly url: string;
  /** People by uid (lower-case keys); uids not found are simply absent from the map. */
  findPeople(uids: readonly string[]): Promise<Map<string, DirectoryPerson>>;
  /** Every member of the three tier groups, as normalised DNs. */
  readMemberships(): Promise<ObservedMemberships>;
  /**
   * The entries behind member DNs (keys: normalised DNs), with their uid attribute and keys as
   * stored. DNs outside the users base, and entries that do not exist, are absent.
   */
  resolveMembers(dns: ReadonlySet<string>): Promise<Map<string, MemberEntry>>;
  /** One modify of one group with all `dns` (the caller chunks). */
  modifyMembers(tier: Tier, operation: 'add' | 'delete', dns: readonly string[]): Promise<void>;
  replaceSshPublicKeys(dn: string, keys: readonly string[]): Promise<void>;
  /**
   * The person's own password, checked by a bind as them on a connection of its own (never
   * stored): their DN when it is right, null when the uid is unknown or the password wrong.
   */
  verifyPassword(uid: string, password: string): Promise<{ dn: string } | null>;
  /** Mail addresses by uid (lower-case keys), for the profiles' mail-merge list. */
  findEmails(uids: readonly string[]): Promise<Map<string, string>>;
  close(): Promise<void>;
}

export interface Clock {
  now(): Date;
}

/** Five methods, like Backstage's logger port: services never see pino or the console. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  child(fields: Record<string, unknown>): Logger;
}

// ── Gateways and bastions ─────────────────────────────────────────────────────────────────────

export interface ExecOptions {
  /** Bytes for the command's stdin (secrets and bulk data travel here, never in argv). */
  readonly stdin?: string | Uint8Array;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /** Bound on stdout (default 256 MiB): past it the command is stopped and RAC_SSH_OUTPUT_TOO_LARGE thrown. */
  readonly maxStdoutBytes?: number;
}

export interface ExecResult {
  /** Exit status; a command that was killed by a signal reports 128 + signal number. */
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/**
 * A shell on a managed host, over SSH with a pinned host key. Commands are argv arrays, quoted in
 * exactly one place; a non-zero exit is a result, not an error. Connection problems throw
 * AppError RAC_SSH_* (RAC_SSH_HOST_KEY_MISMATCH before any command runs).
 */
export interface RemoteShell {
  /** The managed host's name, for messages. */
  readonly name: string;
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** A stream to a unix socket on the host (OpenSSH stream-local forwarding). */
  openUnixSocket(
    path: string,
    options?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<import('node:stream').Duplex>;
  close(): Promise<void>;
}

export type GatewayKind = 'openvpn' | 'wireguard' | 'bastion' | 'proxy';

/** What one person should have (or has) on one gateway or bastion. */
export interface GatewayGrant {
  readonly uid: string;
  readonly tier: Tier;
  /** OpenVPN: the stable tunnel address. */
  readonly address?: string;
  /** Bastion: the person's OpenSSH public keys. */
  readonly keys?: readonly string[];
  /** Bastion: what the keys let the person do there (bastion.login); 'mixed' when the host has both. */
  readonly login?: 'jump-only' | 'shell' | 'mixed';
  /** WireGuard: the person's public key (the peer). */
  readonly publicKey?: string;
}

export interface ObservedGrants {
  /** Grants present on the host, by uid. */
  readonly grants: ReadonlyMap<string, GatewayGrant>;
  /** Artifacts the host has that rac did not make or cannot read (a hand-written file). */
  readonly foreign: readonly string[];
}

/** The complete desired state of one host: people absent from `desired` lose their access there. */
export interface GatewayChangeSet {
  readonly desired: ReadonlyMap<string, GatewayGrant>;
}

export interface GatewayApplyReport {
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly removed: readonly string[];
  readonly unchanged: number;
  readonly failed: ReadonlyArray<{ uid: string; error: string }>;
  /** false when the host already matched: nothing was written. */
  readonly wrote: boolean;
}

/** One live session, in the one definition of "connected" (README.md, "One definition of connected"). */
export interface Session {
  readonly gateway: string;
  readonly kind: GatewayKind;
  readonly uid: string;
  /** OpenVPN client id or sshd pid: what disconnect acts on. */
  readonly id: string;
  readonly since: number | null;
  readonly address: string | null;
  /**
   * The tier of access this session uses, when the host knows it (the access proxy: `public`,
   * whatever the person's highest tier). Absent: the person's granted tier.
   */
  readonly tier?: Tier;
}

export interface DisconnectReport {
  readonly disconnected: ReadonlyArray<{ uid: string; sessions: number }>;
  readonly failed: ReadonlyArray<{ uid: string; error: string }>;
}

export interface GatewayHealth {
  readonly up: boolean;
  readonly detail: string;
  readonly latencyMs: number;
}

export interface GatewayDriver {
  readonly name: string;
  readonly kind: GatewayKind;
  probe(signal?: AbortSignal): Promise<GatewayHealth>;
  /** `only`: the people the caller asks about; a driver may return more (never fewer of them). */
  observe(signal?: AbortSignal, options?: { readonly only?: readonly string[] }): Promise<ObservedGrants>;
  apply(changes: GatewayChangeSet, signal?: AbortSignal): Promise<GatewayApplyReport>;
  listSessions(signal?: AbortSignal): Promise<readonly Session[]>;
  disconnect(users: readonly string[], signal?: AbortSignal): Promise<DisconnectReport>;
  /**
   * Optional: takes exactly these people off the host, reading and touching nobody else (for
   * hosts where reading everyone is costly). Without it, revocation applies the host's own state
   * less these people.
   */
  revoke?(uids: readonly string[], signal?: AbortSignal): Promise<GatewayApplyReport>;
  close(): Promise<void>;
}

// ── The state store ─────────────────────────────────────────────────────────────────────────

export type BatchStatus = 'applying' | 'applied' | 'partial' | 'failed';

export type ItemOutcome = 'pending' | 'applied' | 'failed';

export interface BatchRecord {
  readonly seq: number;
  readonly id: string;
  readonly planId: string;
  readonly mode: Plan['mode'];
  readonly status: BatchStatus;
  readonly actor: string;
  readonly runs: number;
  readonly rollbackOf: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface BatchItem {
  readonly batchId: string;
  readonly seq: number;
  readonly uid: string;
  readonly dn: string;
  readonly action: string;
  readonly beforeTier: Tier | null;
  readonly afterTier: Tier | null;
  readonly beforeGroups: readonly Tier[];
  readonly beforeSshKeys: readonly string[];
  readonly afterSshKeys: readonly string[] | null;
  readonly expires: string | null;
  readonly outcome: ItemOutcome;
  readonly error: string | null;
  readonly appliedAt: string | null;
}

export interface GrantRecord {
  readonly uid: string;
  readonly tier: Tier;
  readonly batchId: string;
  readonly expires: string | null;
  readonly grantedAt: string;
  readonly updatedAt: string;
}

export interface AuditRecord {
  readonly id: number;
  /** Why, as the operator said it (--reason), or null. */
  readonly reason: string | null;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly batchId: string | null;
  readonly uid: string | null;
  readonly detail: Record<string, unknown>;
}

export interface AuditEntry {
  readonly action: string;
  readonly actor: string;
  readonly batchId?: string | null;
  readonly uid?: string | null;
  readonly detail?: Record<string, unknown>;
}

export interface ItemResult {
  readonly uid: string;
  readonly outcome: 'applied' | 'failed';
  readonly error?: string | null;
}

export interface LockHandle {
  readonly id: string;
  /** Set when a lock left by a dead process on this host was taken over. */
  readonly tookOverFrom: {
    id: string;
    holder: string;
    pid: number;
    acquiredAt: string;
  } | null;
}

/** One recorded capacity check (k6 summary judged by core/capacity-check). */
export interface CapacityCheckRecord {
  readonly id: string;
  readonly at: string;
  readonly topology: string;
  /** Peak concurrent sessions observed (what a passing check verifies). */
  readonly peakSessions: number;
  readonly passed: boolean;
  readonly dryRun: boolean;
  readonly targetSessions: number | null;
  readonly k6Version: string | null;
  readonly durationSeconds: number | null;
  readonly shape: string | null;
  readonly scenarios: Record<string, unknown>;
  readonly conditions: readonly unknown[];
  readonly source: string | null;
  readonly recordedBy: string;
  /** The summary document as recorded. */
  readonly summary: string;
}

export type TokenRole = 'viewer' | 'operator' | 'admin';

export interface TokenRecord {
  readonly id: string;
  readonly name: string;
  readonly role: TokenRole;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}

export interface HistoryPoint {
  readonly at: string;
  readonly sessions: number;
  readonly limit: number;
  readonly byTier: Readonly<Record<string, number>>;
}

export interface ServiceBatch {
  readonly batchId: string;
  readonly planId: string;
  readonly options: {
    canary?: number;
    waveSize?: number;
  };
  readonly actor: string;
  readonly state: 'running' | 'checkpointed' | 'finished';
}

export interface RecordedTopology {
  readonly seq: number;
  readonly topology: Topology;
  readonly recordedAt: string;
  readonly actor: string;
}

export type WireGuardKeySource = 'roster' | 'generated';

export interface WireGuardKeyRecord {
  readonly uid: string;
  readonly publicKey: string;
  readonly source: WireGuardKeySource;
  readonly issuedAt: string;
}

/** Plans as they were made: a header and its people, with the digest of the text. */
export interface PlanStore {
  /**
   * Stores a plan once: its header, its people, and the digest of its text (see
   * serializePlan), against which apply checks a plan file. `written` is that text as the caller wrote it.
   */
  savePlan(plan: Plan, written?: WrittenPlan): void;
  getPlan(id: string): Plan | null;
  getPlanDigest(id: string): string | null;
}

/** Batches and their runs, items, outcomes per person and per host. */
export interface BatchStore {
  getBatch(id: string): BatchRecord | null;
  getBatchByPlan(planId: string): BatchRecord | null;
  /** The newest unfinished batch made from a roster with this digest: a re-run resumes it. */
  findUnfinishedBatchBySource(digest: string): BatchRecord | null;
  listBatches(limit?: number): BatchRecord[];
  /** Creates the batch with one pending item per person who needs a change, and audits it. */
  createBatch(input: { id: string; plan: Plan; actor: string; rollbackOf?: string | null }): BatchRecord;
  /** Marks the start of one run of a batch (a resumed batch gets run 2, 3, …) and audits it. */
  startRun(batchId: string, actor: string, detail?: Record<string, unknown>): number;
  finishRun(batchId: string, actor: string, status: BatchStatus, detail: Record<string, unknown>): void;
  setBatchStatus(batchId: string, status: BatchStatus): void;
  getItems(batchId: string): BatchItem[];
  /**
   * Writes the intent before a wave touches the directory (Vault's rule: no change without
   * its audit record).
   */
  recordIntent(batchId: string, actor: string, detail: Record<string, unknown>): void;
  /**
   * Records a wave's verified outcomes, the resulting grants and one audit record per person,
   * in one transaction.
   */
  recordOutcomes(
    batchId: string,
    actor: string,
    results: readonly ItemResult[],
    options?: {
      startedAt?: string;
    },
  ): void;
  /** Batches after `batchId` that changed any of `uids`, newest first. */
  laterChanges(batchId: string, uids: readonly string[]): Map<string, string>;
  /** Outcome of a batch's people on one gateway or bastion ('applied', or 'pending' while it is down). */
  recordSystemOutcomes(
    batchId: string,
    system: string,
    results: ReadonlyArray<{
      uid: string;
      outcome: 'applied' | 'pending' | 'failed';
      error?: string | null;
    }>,
    actor: string,
  ): void;
  getSystemOutcomes(batchId: string): Array<{
    uid: string;
    system: string;
    outcome: string;
    error: string | null;
  }>;
  /** How long each finished batch took, from its creation to its last update (all its runs). */
  batchSeconds(): Array<{
    mode: string;
    status: string;
    seconds: number;
  }>;
}

/** Current grants, revocations that outrank running batches, and stable gateway addresses. */
export interface GrantStore {
  getGrant(uid: string): GrantRecord | null;
  listGrants(): Map<string, Tier>;
  grantCounts(): Record<Tier, number>;
  /** Grants that carry an end date. */
  datedGrants(): Array<{
    uid: string;
    tier: Tier;
    expires: string;
  }>;
  /** Ends rac's record of grants of people who are gone (no longer in the directory), audited. */
  closeGrants(uids: readonly string[], actor: string, reason: string): void;
  /**
   * Revocations are written before anything is removed, and outrank every batch that started
   * before them: hosts never get these people back until a later batch grants them again.
   */
  recordRevocations(uids: readonly string[], actor: string, reason: string): string;
  /** People revoked and not granted again since, with when, by whom and why. */
  activeRevocations(): Map<
    string,
    {
      at: string;
      actor: string;
      reason: string;
    }
  >;
  /** Of `uids`, those revoked at or after `since` (a running batch's start). */
  revokedSince(since: string, uids?: readonly string[]): Set<string>;
  /** Stable VPN addresses of one gateway (core/openvpn/allocate-addresses decides them). */
  getAddresses(gateway: string): Map<
    string,
    {
      tier: 'vpn' | 'vpn-bastion';
      address: string;
    }
  >;
  /**
   * Reads the gateway's addresses, lets `decide` allocate, and saves the result, all in one
   * write transaction: two writers (an apply and a revocation) never hand out one address twice.
   */
  allocateAddresses<
    T extends {
      assignments: ReadonlyMap<
        string,
        {
          tier: 'vpn' | 'vpn-bastion';
          address: string;
        }
      >;
      released: readonly string[];
    },
  >(
    gateway: string,
    decide: (
      current: Map<
        string,
        {
          tier: 'vpn' | 'vpn-bastion';
          address: string;
        }
      >,
    ) => T,
  ): T;
}

/** The append-only audit log. */
export interface AuditStore {
  audit(entry: AuditEntry): void;
  /** Audit records, oldest first; at most `limit` (default 1000) — the newest ones with `newest`. */
  listAudit(filter?: {
    batchId?: string;
    uid?: string;
    action?: string;
    limit?: number;
    newest?: boolean;
  }): AuditRecord[];
  /**
   * Audit records the exporter counts (revocations, provisioning operations), newer than
   * `afterId`, oldest first, at most `limit`: each collection cycle reads only what is new (the
   * primary key bounds the scan), never the whole log.
   */
  auditEventsAfter(
    afterId: number,
    limit?: number,
  ): Array<{
    id: number;
    action: string;
    detail: string;
  }>;
}

/** The apply lock. */
export interface LockStore {
  /**
   * One applying batch at a time (Terraform's state lock). A lock whose holder process is gone
   * from this host is taken over and the takeover is reported; a live holder refuses.
   */
  acquireLock(name: string, holder: string): LockHandle;
  releaseLock(name: string, id: string): void;
}

/** Topologies and the capacity checks recorded against them. */
export interface CapacityStore {
  /** When this topology was first seen (recorded now if new). */
  topologySeen(digest: string, at: Date): string;
  /**
   * The newest passing capacity check recorded for this topology that saw sessions, if any. A
   * dry run counts only when the config accepts dry runs (capacity.accept_dry_run).
   */
  latestPassingCheck(
    topology: string,
    options?: {
      acceptDryRun?: boolean;
    },
  ): {
    sessions: number;
    at: string;
    dryRun: boolean;
  } | null;
  /** Stores one capacity check result with its metadata, and audits it. */
  saveCapacityCheck(check: CapacityCheckRecord): void;
  /** Recorded capacity checks, newest first, without the raw summaries. */
  listCapacityChecks(limit?: number): Array<
    Omit<CapacityCheckRecord, 'summary'> & {
      note?: string;
    }
  >;
}

/** When people were first and last seen connected (the onboarding funnel). */
export interface ActivityStore {
  /** Marks people as seen connected now: first_seen once, last_seen every time. */
  recordSeen(uids: Iterable<string>, at: Date): void;
  /** The onboarding funnel per tier, and each connected person's time to first connection. */
  funnel(now: Date): {
    stages: Record<
      Tier,
      {
        granted: number;
        connectedOnce: number;
        active24h: number;
        active7d: number;
      }
    >;
    firstConnectionSeconds: number[];
  };
}

/** The topologies rac was told about (rac expand), newest current; append only. */
export interface TopologyStore {
  /** The topology recorded last, or null before the first `rac expand` (or check). */
  current(): RecordedTopology | null;
  /** Every recorded topology, newest first. */
  history(limit?: number): RecordedTopology[];
  /** Records `topology` as the current one and audits it with `detail` (what changed, and why). */
  record(topology: Topology, actor: string, detail: Record<string, unknown>): RecordedTopology;
}

/** What rac serve keeps: API tokens (hashed), capacity history, background batches. */
export interface ServiceStore {
  createToken(input: { id: string; name: string; role: TokenRole; hash: string; actor: string }): TokenRecord;
  /** The live token with this hash (the caller compares in constant time), or null. */
  tokenByHash(hash: string):
    | (TokenRecord & {
        hash: string;
      })
    | null;
  touchToken(id: string): void;
  listTokens(): TokenRecord[];
  revokeToken(nameOrId: string, actor: string): TokenRecord;
  /** One point of the capacity page's history; the oldest beyond HISTORY_LIMIT go. */
  addHistory(point: HistoryPoint): void;
  history(since: string): HistoryPoint[];
  /** The audit log, newest first, filtered; `before` (an id) pages back. */
  auditPage(filter: {
    actor?: string;
    action?: string;
    uid?: string;
    batchId?: string;
    since?: string;
    before?: number;
    limit: number;
  }): AuditRecord[];
  saveServiceBatch(batch: ServiceBatch): void;
  /** Batches the service started and did not finish: stopped by a shutdown or a crash. */
  unfinishedServiceBatches(): ServiceBatch[];
}

/** WireGuard public keys (never a private one) and gateway assignments. */
export interface WireGuardKeyStore {
  getKey(uid: string): WireGuardKeyRecord | null;
  /** Every person's public key, by uid. */
  listKeys(): Map<string, WireGuardKeyRecord>;
  /**
   * Records a person's public key. `expectIssuedAt` makes it a compare-and-set: the key is
   * replaced only if the stored one is still the one the caller saw (null: none), so two
   * concurrent `rac profile` runs cannot both hand out a key. Returns false when it lost.
   */
  setKey(input: {
    uid: string;
    publicKey: string;
    source: WireGuardKeySource;
    actor: string;
    expect?: {
      issuedAt: string | null;
    };
    batchId?: string | null;
  }): boolean;
  getAssignments(): Map<string, string>;
  saveAssignments(
    assignments: ReadonlyMap<string, string>,
    changed: readonly string[],
    released: readonly string[],
  ): void;
}

/**
 * The state store, as the services see it: one interface per aggregate. Implemented over
 * node:sqlite in adapters/store.
 */
export interface Store extends PlanStore, BatchStore, GrantStore, AuditStore, LockStore, CapacityStore, ActivityStore {
  readonly path: string;
  readonly topologies: TopologyStore;
  readonly service: ServiceStore;
  readonly wireguard: WireGuardKeyStore;
  close(): void;
}
