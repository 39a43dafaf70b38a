import type { WireGuardConfig } from '../../../config/schema.ts';
import { AppError } from '../../../core/errors.ts';
import { isLivePeer, parseWireGuardDump, type WireGuardPeer } from '../../../core/wireguard/parse-dump.ts';
import { type PeerEntry, parsePeerSet, renderPeerSet } from '../../../core/wireguard/render-peers.ts';
import type { GatewayDriver, GatewayGrant, ObservedGrants, RemoteShell, Session } from '../../../ports.ts';

/**
 * Loads a whole peer set in one step. The set arrives on stdin and goes to a temp file next to
 * the peer file; `wg syncconf` then brings the live interface to exactly it (peers added, changed
 * and removed; live sessions of unchanged peers untouched), and only then is the temp file
 * renamed onto the peer file, so the file never names a peer set the interface refused.
 * `wg syncconf` also resets what its input leaves out — the interface's private key and listen
 * port included — so the input starts with the live interface's own section, read here with
 * `wg showconf` into a shell variable: the gateway's private key never leaves the gateway and
 * never touches its disk. Static text: the data is stdin, the interface in $1, the file in $2.
 */
const APPLY_SCRIPT = `set -eu
umask 077
iface=$1
file=$2
case "$file" in /*) ;; *) echo "peers_file must be an absolute path: $file" >&2; exit 3 ;; esac
if [ -L "$file" ]; then echo "peers_file $file is a symlink: refused" >&2; exit 3; fi
dir=$(dirname -- "$file")
[ -d "$dir" ] || { echo "peers_file directory $dir does not exist" >&2; exit 3; }
conf=$(wg showconf "$iface")
tmp=$(mktemp "$dir/.rac-peers.XXXXXXXX")
trap 'rm -f -- "$tmp"' EXIT
cat > "$tmp"
{ printf '%s\\n' "$conf" | sed -n '/^\\[Peer\\]/q;p'; cat -- "$tmp"; } | wg syncconf "$iface" /dev/stdin
mv -f -- "$tmp" "$file"
trap - EXIT
`;

/** The gateway's clock with the dump, so "a handshake in the last 180 s" is judged by one clock. */
const SHOW_SCRIPT = 'date +%s && exec wg show "$1" dump';
const READ_PEERS_SCRIPT = '[ ! -e "$1" ] || exec cat -- "$1"';

export interface WireGuardDriverOptions {
  readonly name: string;
  readonly shell: RemoteShell;
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

  async function show(signal?: AbortSignal): Promise<{ now: number; peers: readonly WireGuardPeer[] }> {
    const result = await shell.exec(['sh', '-c', SHOW_SCRIPT, 'rac-wg-show', iface], { signal, timeoutMs });
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
    const result = await shell.exec(['sh', '-c', READ_PEERS_SCRIPT, 'rac-wg-peers', file], { signal, timeoutMs });
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
        const r = await shell.exec(['wg', 'show', iface, 'public-key'], { signal, timeoutMs });
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
      const result = await shell.exec(['sh', '-c', APPLY_SCRIPT, 'rac-wg-apply', iface, file], {
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
      const argv = ['wg', 'set', iface];
      for (const { peer } of mine) argv.push('peer', peer.publicKey, 'remove');
      const result = await shell.exec(argv, { signal, timeoutMs });
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
