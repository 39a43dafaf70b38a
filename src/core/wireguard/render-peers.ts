import { AppError } from '../errors.ts';
import { parseIpv4 } from '../openvpn/allocate-addresses.ts';
import { UID_PATTERN } from '../uid.ts';
import { isWireGuardKey } from './keys.ts';

/** One person's peer on a WireGuard gateway. */
export interface PeerEntry {
  readonly uid: string;
  readonly tier: 'vpn' | 'vpn-bastion';
  readonly publicKey: string;
  /** The stable tunnel address; the gateway routes exactly this /32 to the peer. */
  readonly address: string;
}

const HEADER = '# managed by rac (remote-access-capacity): rewritten as a whole by every apply; do not edit';
const OWNER = /^# rac: ([a-z_][a-z0-9._-]{0,31}) (vpn|vpn-bastion)$/;

/**
 * The gateway's whole peer set in `wg` config syntax (the [Peer] sections `wg syncconf` and
 * `wg addconf` read), sorted by uid so the same grants always give the same bytes. Each section
 * is preceded by a comment naming its person: `wg show dump` has no names, and this file is how
 * rac (and an operator) tells whose key a peer is. Every value is checked first, so nothing from
 * a roster or the store can add a line or a directive.
 */
export function renderPeerSet(entries: Iterable<PeerEntry>): string {
  const sorted = [...entries].sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
  const keys = new Set<string>();
  const addresses = new Set<string>();
  const out = [HEADER, ''];
  for (const e of sorted) {
    if (typeof e.uid !== 'string' || !UID_PATTERN.test(e.uid)) throw renderError('a uid is not a valid account name');
    if (e.tier !== 'vpn' && e.tier !== 'vpn-bastion') throw renderError(`${e.uid}: tier has no VPN peer`);
    if (!isWireGuardKey(e.publicKey)) throw renderError(`${e.uid}: public key is not a WireGuard key`);
    if (parseIpv4(e.address) === null) throw renderError(`${e.uid}: address is not an IPv4 address`);
    // Two peers with one key: wg keeps the last; two with one address: traffic goes to the last.
    if (keys.has(e.publicKey)) throw renderError(`${e.uid}: public key is used by another person`);
    if (addresses.has(e.address)) throw renderError(`${e.uid}: address ${e.address} is used by another person`);
    keys.add(e.publicKey);
    addresses.add(e.address);
    out.push(`# rac: ${e.uid} ${e.tier}`, '[Peer]', `PublicKey = ${e.publicKey}`, `AllowedIPs = ${e.address}/32`, '');
  }
  return `${out.join('\n')}`;
}

/** What rac's peer file says, by public key; sections it did not write are listed in `foreign`. */
export interface ParsedPeerSet {
  readonly byKey: ReadonlyMap<string, PeerEntry>;
  readonly foreign: readonly string[];
}

/** Reads a file renderPeerSet wrote (or someone edited): only exact rac sections count. */
export function parsePeerSet(text: string): ParsedPeerSet {
  const byKey = new Map<string, PeerEntry>();
  const foreign: string[] = [];
  type Owner = { uid: string; tier: PeerEntry['tier'] };
  type Section = { owner: Owner | null; key: string | null; allowed: string | null; other: boolean };
  let owner: Owner | null = null;
  let section = null as Section | null;
  const close = () => {
    if (section === null) return;
    const address = section.allowed?.endsWith('/32') ? section.allowed.slice(0, -3) : null;
    if (
      section.owner !== null &&
      section.key !== null &&
      address !== null &&
      parseIpv4(address) !== null &&
      !section.other
    ) {
      byKey.set(section.key, { ...section.owner, publicKey: section.key, address });
    } else {
      foreign.push(section.key ?? '(a [Peer] without a key)');
    }
    section = null;
  };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '') continue;
    const ownerMatch = OWNER.exec(line);
    if (ownerMatch !== null) {
      close();
      owner = { uid: ownerMatch[1] as string, tier: ownerMatch[2] as PeerEntry['tier'] };
      continue;
    }
    if (line.startsWith('#')) continue;
    if (line === '[Peer]') {
      close();
      section = { owner, key: null, allowed: null, other: false };
      owner = null;
      continue;
    }
    if (section === null) continue;
    const eq = line.indexOf('=');
    const name = eq === -1 ? line : line.slice(0, eq).trim().toLowerCase();
    const value = eq === -1 ? '' : line.slice(eq + 1).trim();
    if (name === 'publickey' && section.key === null && isWireGuardKey(value)) section.key = value;
    else if (name === 'allowedips' && section.allowed === null) section.allowed = value;
    else section.other = true;
  }
  close();
  return { byKey, foreign };
}

function renderError(message: string): AppError {
  return new AppError('RAC_WIREGUARD_RENDER', message);
}
