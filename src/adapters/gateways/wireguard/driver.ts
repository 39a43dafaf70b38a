import type { WireGuardConfig } from '../../../config/schema.ts';
import { AppError } from '../../../core/errors.ts';
import { isLivePeer, parseWireGuardDump, type WireGuardPeer } from '../../../core/wireguard/parse-dump.ts';
import { type PeerEntry, parsePeerSet, renderPeerSet } from '../../../core/wireguard/render-peers.ts';
import type { GatewayDriver, GatewayGrant, ObservedGrants, RemoteShell, Session } from '../../../ports.ts';
import { type Become, hostRunner } from '../../host-programs/program.ts';
import { wireGuardCalls } from './programs.ts';

export interface WireGuardDriverOptions {
  readonly name: string;
  readonly shell: RemoteShell;
  /** How rac gains root there (default: it logs in as root). */
  readonly become?: Become;
  readonly wireguard: Pick<WireGuardConfig, 'interface' | 'peers_file' | 'public_key'>;
  readonly timeoutMs: number;
  /**
   * rac's record of whose public key is whose (key → uid). A live peer with a person's key is
   * theirs even when the peer file does not name it (a peer re-added by hand), so revocation
   * finds it and apply removes it.
   */
  readonly keyOwners?: () => ReadonlyMap<string, string>;
}

interface Observation extends ObservedGrants {
  readonly now: number;
  /** Live peers that are rac's, with their owner. */
  readonly owned: ReadonlyArray<{ peer: WireGuardPeer; entry: PeerEntry }>;
  readonly fileText: string;
}

export function createWireGuardDriver(options: WireGuardDriverOptions): GatewayDriver {
  const { name, shell, wireguard, timeoutMs } = options;
  const iface = wireguard.interface;
  const file = wireguard.peers_file;
  const host = hostRunner(shell, options.become);
  const calls = wireGuardCalls(wireguard);

  async function show(signal?: AbortSignal): Promise<{ now: number; peers: readonly WireGuardPeer[] }> {
    const result = await host.run(calls.show, { signal, timeoutMs });
    const out = result.stdout;
    try {
      if (result.code !== 0)
        throw new AppError('RAC_GATEWAY_OBSERVE', `${name}: wg show ${iface} dump failed: ${result.stderr.trim()}`);
      const newline = out.indexOf(10);
      const now = Number(out.subarray(0, newline).toString('utf8'));
      if (newline === -1 || !Number.isInteger(now))
        throw new AppError('RAC_GATEWAY_OBSERVE', `${name}: no clock reading before wg show`);
      // The dump's first line holds the interface's private key: the parser drops it, and the
      // bytes are wiped once parsed.
      return { now, peers: parseWireGuardDump(out.subarray(newline + 1).toString('utf8')).peers };
    } finally {
      out.fill(0);
    }
  }

  async function readPeerFile(signal?: AbortSignal): Promise<string> {
    const result = await host.run(calls.peers, { signal, timeoutMs });
    if (result.code !== 0)
      throw new AppError('RAC_GATEWAY_OBSERVE', `${name}: cannot read ${file}: ${result.stderr.trim()}`);
    return result.stdout.toString('utf8');
  }

  async function observeAll(signal?: AbortSignal): Promise<Observation> {
    const [live, fileText] = await Promise.all([show(signal), readPeerFile(signal)]);
    const owners = parsePeerSet(fileText).byKey;
    const known = options.keyOwners?.() ?? new Map<string, string>();
    const grants = new Map<string, GatewayGrant>();
    const owned: Array<{ peer: WireGuardPeer; entry: PeerEntry }> = [];
    const foreign: string[] = [];
    for (const peer of live.peers) {
      const listed = owners.get(peer.publicKey);
      const uid = known.get(peer.publicKey) ?? listed?.uid;
      if (uid === undefined) {
        foreign.push(peer.publicKey);
        continue;
      }
      // Not in rac's file (added by hand): the person's, in a tier rac cannot tell; apply rewrites it.
      const entry: PeerEntry =
        listed?.uid === uid ? listed : { uid, tier: 'vpn', publicKey: peer.publicKey, address: '' };
      owned.push({ peer, entry });
      if (grants.has(uid) || listed?.uid !== uid) {
        // A second peer of one person, or one rac did not write: never what apply leaves behind.
        foreign.push(peer.publicKey);
        if (grants.has(uid)) continue;
      }
      const only = peer.allowedIps.length === 1 ? (peer.allowedIps[0] as string) : null;
      grants.set(entry.uid, {
        uid: entry.uid,
        tier: entry.tier,
        // What the interface routes, not what the file says: a peer changed by hand shows as changed.
        address: only?.endsWith('/32') ? only.slice(0, -3) : peer.allowedIps.join(','),
        publicKey: peer.publicKey,
      });
    }
    return { grants, foreign, now: live.now, owned, fileText };
  }

  function toEntry(grant: GatewayGrant): PeerEntry {
    if (grant.tier !== 'vpn' && grant.tier !== 'vpn-bastion')
      throw new AppError('RAC_WIREGUARD_RENDER', `${grant.uid}: ${grant.tier} has no VPN peer`);
    if (grant.address === undefined || grant.publicKey === undefined)
      throw new AppError('RAC_WIREGUARD_RENDER', `${grant.uid}: no address or no public key on ${name}`);
    return { uid: grant.uid, tier: grant.tier, address: grant.address, publicKey: grant.publicKey };
  }

  return {
    name,
    kind: 'wireguard',

    async probe(signal) {
      const started = performance.now();
      try {
        const r = await host.run(calls.publicKey, { signal, timeoutMs });
        const key = r.stdout.toString('utf8').trim();
        const up = r.code === 0 && key === wireguard.public_key;
        const detail =
          r.code !== 0
            ? `wg show ${iface}: ${r.stderr.trim()}`
            : up
              ? `${iface} up`
              : `${iface} has public key ${key}, the config says ${wireguard.public_key}: profiles would not connect`;
        return { up, detail, latencyMs: performance.now() - started };
      } catch (err) {
        return { up: false, detail: (err as Error).message, latencyMs: performance.now() - started };
      }
    },

    async observe(signal) {
      const { grants, foreign } = await observeAll(signal);
      return { grants, foreign };
    },

    async apply({ desired }, signal) {
      const observed = await observeAll(signal);
      const added: string[] = [];
      const changed: string[] = [];
      const entries: PeerEntry[] = [];
      for (const grant of desired.values()) {
        const entry = toEntry(grant);
        entries.push(entry);
        const now = observed.grants.get(grant.uid);
        if (now === undefined) added.push(grant.uid);
        else if (now.tier !== entry.tier || now.address !== entry.address || now.publicKey !== entry.publicKey)
          changed.push(grant.uid);
      }
      const removed = [...observed.grants.keys()].filter((uid) => !desired.has(uid));
      const unchanged = desired.size - added.length - changed.length;
      const text = renderPeerSet(entries);
      const differs = added.length + changed.length + removed.length + observed.foreign.length > 0;
      if (!differs && text === observed.fileText) {
        return { added, changed, removed, unchanged, failed: [], wrote: false };
      }
      const result = await host.run(calls.apply, {
        stdin: text,
        signal,
        timeoutMs,
      });
      if (result.code !== 0) {
        throw new AppError(
          'RAC_GATEWAY_APPLY',
          // wg quotes a line it cannot read; the interface section it was given holds the private key.
          `${name}: loading the peer set into ${iface} failed (exit ${result.code}): ${result.stderr.trim().replace(/PrivateKey\s*=\s*\S+/gi, 'PrivateKey = [redacted]')}`,
        );
      }
      return { added, changed, removed, unchanged, failed: [], wrote: true };
    },

    async listSessions(signal) {
      const { owned, now } = await observeAll(signal);
      return owned
        .filter(({ peer }) => isLivePeer(peer, now))
        .map(
          ({ peer, entry }): Session => ({
            gateway: name,
            kind: 'wireguard',
            uid: entry.uid,
            id: peer.publicKey,
            since: null,
            address: peer.allowedIps.length === 1 ? (peer.allowedIps[0] as string).replace(/\/32$/, '') : null,
          }),
        );
    },

    /**
     * Removes the people's peers from the live interface (`wg set … peer <key> remove`, all in
     * one command). Without its peer the gateway ignores the client's handshakes: the session
     * cannot come back. The peer file is left to apply (a person still granted returns there).
     */
    async disconnect(users, signal) {
      const wanted = new Set(users);
      const { owned, now } = await observeAll(signal);
      const mine = owned.filter(({ entry }) => wanted.has(entry.uid));
      if (mine.length === 0) return { disconnected: [], failed: [] };
      const keys = [...new Set(mine.map(({ peer }) => peer.publicKey))];
      const result = await host.run(calls.remove, { stdin: `${keys.join('\n')}\n`, signal, timeoutMs });
      if (result.code !== 0) {
        const error = `wg set ${iface} … remove failed: ${result.stderr.trim()}`;
        return {
          disconnected: [],
          failed: [...new Set(mine.map(({ entry }) => entry.uid))].map((uid) => ({ uid, error })),
        };
      }
      const counts = new Map<string, number>();
      for (const { peer, entry } of mine)
        if (isLivePeer(peer, now)) counts.set(entry.uid, (counts.get(entry.uid) ?? 0) + 1);
      return { disconnected: [...counts].map(([uid, sessions]) => ({ uid, sessions })), failed: [] };
    },

    async close() {
      await shell.close();
    },
  };
}
