import { AppError } from '../errors.ts';
import { isWireGuardKey } from './keys.ts';

/** One peer of `wg show <if> dump`. The preshared key is never kept: only whether there is one. */
export interface WireGuardPeer {
  readonly publicKey: string;
  readonly hasPresharedKey: boolean;
  /** 'ip:port' or '[v6]:port' as the gateway last saw it; null before the peer ever sent anything. */
  readonly endpoint: string | null;
  readonly allowedIps: readonly string[];
  /** Unix seconds of the last completed handshake; null for never. */
  readonly latestHandshake: number | null;
  readonly rxBytes: number;
  readonly txBytes: number;
  /** Seconds; null for off. */
  readonly persistentKeepalive: number | null;
}

export interface WireGuardDump {
  /** The interface's public key and port: the private key of its line is dropped, never returned. */
  readonly interface: { readonly publicKey: string; readonly listenPort: number } | null;
  readonly peers: readonly WireGuardPeer[];
}

/** "Connected" for WireGuard (README.md, "One definition of connected"): a handshake within the last 180 s. */
export const LIVE_HANDSHAKE_SECONDS = 180;

export function isLivePeer(peer: WireGuardPeer, nowSeconds: number): boolean {
  return peer.latestHandshake !== null && nowSeconds - peer.latestHandshake <= LIVE_HANDSHAKE_SECONDS;
}

const COUNTER = /^(?:0|[1-9][0-9]{0,19})$/;

/**
 * Parses the output of `wg show <interface> dump` (one interface). Its first line is the
 * interface's own — private key, public key, listen port, fwmark — and the private key is cut
 * off right here, before anything else sees the line; the remaining lines are peers, 8
 * tab-separated fields each. Anything else is refused with the line number (never with the
 * line, which could be the first).
 */
export function parseWireGuardDump(text: string): WireGuardDump {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const first = lines.shift();
  let iface: WireGuardDump['interface'] = null;
  if (first !== undefined) {
    // Fields 2..4 only: field 1 is the private key.
    const fields = first.split('\t');
    if (fields.length !== 4) throw dumpError(1, `the interface line has ${fields.length} fields, not 4`);
    const publicKey = fields[1] as string;
    const port = Number(fields[2]);
    iface = {
      publicKey: isWireGuardKey(publicKey) ? publicKey : '',
      listenPort: Number.isInteger(port) ? port : 0,
    };
  }
  const peers: WireGuardPeer[] = [];
  for (const [i, line] of lines.entries()) {
    const n = i + 2;
    const f = line.split('\t');
    if (f.length !== 8) throw dumpError(n, `a peer line has ${f.length} fields, not 8`);
    const [publicKey, psk, endpoint, allowed, handshake, rx, tx, keepalive] = f as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if (!isWireGuardKey(publicKey)) throw dumpError(n, 'the peer public key is not a WireGuard key');
    if (psk !== '(none)' && !isWireGuardKey(psk)) throw dumpError(n, 'the preshared key field is malformed');
    for (const [name, value] of [
      ['latest handshake', handshake],
      ['rx bytes', rx],
      ['tx bytes', tx],
    ] as const) {
      if (!COUNTER.test(value)) throw dumpError(n, `${name} is not a number`);
    }
    if (keepalive !== 'off' && !COUNTER.test(keepalive)) throw dumpError(n, 'persistent keepalive is not a number');
    const since = Number(handshake);
    peers.push({
      publicKey,
      hasPresharedKey: psk !== '(none)',
      endpoint: endpoint === '(none)' ? null : endpoint,
      allowedIps: allowed === '(none)' ? [] : allowed.split(','),
      latestHandshake: since === 0 ? null : since,
      rxBytes: Number(rx),
      txBytes: Number(tx),
      persistentKeepalive: keepalive === 'off' ? null : Number(keepalive),
    });
  }
  return { interface: iface, peers };
}

function dumpError(line: number, reason: string): AppError {
  return new AppError('RAC_WIREGUARD_DUMP', `wg show dump, line ${line}: ${reason}`);
}
