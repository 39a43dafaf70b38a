import {
  type BastionAccount,
  type BastionLogin,
  parseAccountReport,
  parseObservedAccounts,
  renderAccountManifest,
} from '../../../core/bastion/account-script.ts';
import { parseBastionSessions } from '../../../core/bastion/parse-sessions.ts';
import { AppError } from '../../../core/errors.ts';
import { parseSshPublicKey } from '../../../core/roster/ssh-public-key.ts';
import { sameSshKeys } from '../../../core/ssh-key-id.ts';
import { UID_PATTERN } from '../../../core/uid.ts';
import type { GatewayDriver, GatewayGrant, RemoteShell, Session } from '../../../ports.ts';
import { type Become, hostRunner } from '../../host-programs/program.ts';
import { bastionCalls } from './scripts.ts';

export interface BastionDriverOptions {
  readonly name: string;
  readonly shell: RemoteShell;
  /** How rac gains root there (default: it logs in as root). */
  readonly become?: Become;
  readonly timeoutMs: number;
  /** The account rac logs in as: its own sessions are not people's sessions. */
  readonly adminUser: string;
  /** bastion.login: how keys are written (jump-only: port forwarding, no shell). */
  readonly login: BastionLogin;
}

/**
 * Accounts on a bastion: one batched script per host per apply (never one round trip per
 * person), touching only members of the rac-bastion group. Revoked people are locked, their keys
 * removed and their processes killed by the same script.
 */
export function createBastionDriver(options: BastionDriverOptions): GatewayDriver {
  const { name, shell, timeoutMs, adminUser, login } = options;
  const host = hostRunner(shell, options.become);
  const calls = bastionCalls();

  async function observeAccounts(signal?: AbortSignal, only?: readonly string[]) {
    // Reading every account's keys costs a process per account: a revocation names its people.
    const list = only?.filter((uid) => UID_PATTERN.test(uid));
    if (list !== undefined && list.length === 0) return [];
    const result = await host.run(calls.observe, {
      signal,
      timeoutMs,
      ...(list === undefined ? {} : { stdin: `${list.join('\n')}\n` }),
    });
    if (result.code !== 0)
      throw new AppError('RAC_GATEWAY_OBSERVE', `${name}: listing accounts failed: ${result.stderr.trim()}`);
    return parseObservedAccounts(result.stdout.toString('utf8'));
  }

  /** Runs the account script on `manifest`; returns the accounts it reports failed or does not report at all. */
  async function writeAccounts(manifest: readonly BastionAccount[], signal?: AbortSignal) {
    const result = await host.run(calls.accounts, {
      stdin: renderAccountManifest(manifest, login),
      signal,
      timeoutMs,
    });
    const report = parseAccountReport(result.stdout.toString('utf8'));
    const failed = report
      .filter((r) => r.status === 'conflict' || r.status === 'error')
      .map((r) => ({ uid: r.uid, error: `${r.status}: ${r.detail}` }));
    const reported = new Set(report.map((r) => r.uid));
    for (const m of manifest)
      if (!reported.has(m.uid))
        failed.push({ uid: m.uid, error: `no report (exit ${result.code}): ${result.stderr.trim().slice(0, 200)}` });
    return failed;
  }

  return {
    name,
    kind: 'bastion',

    async probe(signal) {
      const started = performance.now();
      try {
        const r = await shell.exec(['true'], { signal, timeoutMs });
        return {
          up: r.code === 0,
          detail: r.code === 0 ? 'ssh ok' : `exit ${r.code}`,
          latencyMs: performance.now() - started,
        };
      } catch (err) {
        return { up: false, detail: (err as Error).message, latencyMs: performance.now() - started };
      }
    },

    async observe(signal, options) {
      const accounts = await observeAccounts(signal, options?.only);
      const grants = new Map<string, GatewayGrant>();
      for (const a of accounts)
        if (!a.locked) grants.set(a.uid, { uid: a.uid, tier: 'vpn-bastion', keys: a.keys, login: a.login ?? login });
      // What rac did not write (a symlink, a line with options, a file only root may read) is reported, never read out.
      const foreign = accounts.flatMap((a) => a.problems.map((p) => `${a.uid}: ${p}`));
      return { grants, foreign };
    },

    async apply({ desired }, signal) {
      const accounts = new Map((await observeAccounts(signal)).map((a) => [a.uid, a]));
      const manifest: Array<{ uid: string; state: 'present' | 'locked'; keys: readonly string[] }> = [];
      const added: string[] = [];
      const changed: string[] = [];
      const removed: string[] = [];
      const refused: Array<{ uid: string; error: string }> = [];
      for (const grant of desired.values()) {
        const keys = grant.keys ?? [];
        // One person's unusable value fails that person only; their account stays as it is.
        const problem = accountProblem(grant.uid, keys);
        if (problem !== null) {
          refused.push({ uid: grant.uid, error: problem });
          continue;
        }
        const current = accounts.get(grant.uid);
        if (current === undefined) added.push(grant.uid);
        else if (
          current.locked ||
          !sameSshKeys(current.keys, keys) ||
          (keys.length > 0 && current.login !== login) ||
          current.problems.length > 0
        )
          changed.push(grant.uid);
        else continue;
        manifest.push({ uid: grant.uid, state: 'present', keys });
      }
      for (const account of accounts.values()) {
        if (desired.has(account.uid) || account.locked) continue;
        if (!UID_PATTERN.test(account.uid)) continue;
        removed.push(account.uid);
        manifest.push({ uid: account.uid, state: 'locked', keys: [] });
      }
      const unchanged = desired.size - added.length - changed.length - refused.length;
      if (manifest.length === 0) return { added, changed, removed, unchanged, failed: refused, wrote: false };
      const failed = [...refused, ...(await writeAccounts(manifest, signal))];
      return { added, changed, removed, unchanged, failed, wrote: true };
    },

    /** Locks exactly these accounts, reading and writing nobody else's. */
    async revoke(uids, signal) {
      const accounts = await observeAccounts(signal, uids);
      const removed = accounts.filter((a) => !a.locked && UID_PATTERN.test(a.uid)).map((a) => a.uid);
      if (removed.length === 0) return { added: [], changed: [], removed, unchanged: 0, failed: [], wrote: false };
      const failed = await writeAccounts(
        removed.map((uid) => ({ uid, state: 'locked' as const, keys: [] })),
        signal,
      );
      return { added: [], changed: [], removed, unchanged: 0, failed, wrote: true };
    },

    async listSessions(signal) {
      const result = await shell.exec(['ps', '-eo', 'pid=,user:64=,args='], { signal, timeoutMs });
      if (result.code !== 0) throw new AppError('RAC_GATEWAY_OBSERVE', `${name}: ps failed: ${result.stderr.trim()}`);
      return parseBastionSessions(result.stdout.toString('utf8'))
        .filter((s) => s.user !== adminUser)
        .map(
          (s): Session => ({
            gateway: name,
            kind: 'bastion',
            uid: s.user,
            id: String(s.pid),
            since: null,
            address: null,
          }),
        );
    },

    async disconnect(users, signal) {
      const before = await this.listSessions(signal);
      const wanted = new Set(users);
      const targets = [...new Set(before.filter((s) => wanted.has(s.uid)).map((s) => s.uid))];
      if (targets.length === 0) return { disconnected: [], failed: [] };
      const result = await host.run(calls.kill, { stdin: `${targets.join('\n')}\n`, signal, timeoutMs });
      if (result.code > 1) {
        return {
          disconnected: [],
          failed: targets.map((uid) => ({ uid, error: `pkill exit ${result.code}: ${result.stderr.trim()}` })),
        };
      }
      return {
        disconnected: targets.map((uid) => ({ uid, sessions: before.filter((s) => s.uid === uid).length })),
        failed: [],
      };
    },

    async close() {
      await shell.close();
    },
  };
}

/** Why an account cannot be written (a uid that is no account name, a key that is not a plain key), or null. */
function accountProblem(uid: string, keys: readonly string[]): string | null {
  if (!UID_PATTERN.test(uid)) return `'${uid.slice(0, 40)}' cannot be an account name`;
  for (const [i, key] of keys.entries()) {
    const parsed = parseSshPublicKey(key);
    if (!parsed.ok) return `key ${i + 1} ${parsed.reason}`;
  }
  return null;
}
