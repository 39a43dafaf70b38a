import { AppError } from '../errors.ts';

/** The tiers that get a VPN address; `public` never reaches a gateway. */
export type VpnTier = 'vpn' | 'vpn-bastion';

export interface AddressAssignment {
  readonly tier: VpnTier;
  readonly address: string;
}

export interface AllocationInput {
  /** One pool per tier on this gateway (CIDR, host bits zero); a tier without a pool gets no addresses. */
  readonly pools: Partial<Record<VpnTier, string>>;
  /** The `server` directive's network; its first usable address is the server's own tun address. */
  readonly serverNetwork?: string;
  /** What the gateway has now (parsed CCD files), by uid. */
  readonly current: ReadonlyMap<string, { readonly tier: string; readonly address: string }>;
  /** Who should have an address on this gateway, and in which tier. */
  readonly wanted: ReadonlyMap<string, VpnTier>;
}

export interface AllocationResult {
  /** Every wanted uid that got (or kept) an address. */
  assignments: Map<string, AddressAssignment>;
  /** Uids in `current` that are no longer wanted, sorted; their addresses are free again. */
  released: string[];
  /** Wanted uids left without an address, sorted: the tier's pool is full, or the tier has no pool here. */
  exhausted: Array<{ uid: string; tier: VpnTier; reason: 'pool-full' | 'no-pool' }>;
}

// ── IPv4 ─────────────────────────────────────────────────────────────────────────────────────────

/** A network as unsigned 32-bit integers; `broadcast` is its last address. */
export interface Ipv4Network {
  readonly network: number;
  readonly prefix: number;
  readonly netmask: number;
  readonly broadcast: number;
}

const OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

/**
 * Strict dotted quad: four decimal octets 0–255, no leading zeros (inet_aton reads '010' as octal 8,
 * so a zero-padded octet would mean different things to different readers), no spaces, nothing else.
 */
export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!OCTET.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return `${(value >>> 24) & 255}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

export function prefixToNetmask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** The prefix length of a contiguous netmask (255.255.240.0 → 20); null for 255.0.255.0 and friends. */
export function netmaskToPrefix(mask: number): number | null {
  const inverted = ~mask >>> 0;
  // A contiguous mask inverted is 2^k - 1: adding one leaves no bit in common with it.
  if ((inverted & (inverted + 1)) !== 0) return null;
  return 32 - Math.log2(inverted + 1);
}

/** Strict CIDR: 'a.b.c.d/n' with n 0–32 and every host bit zero (10.8.0.1/20 is refused, not rounded). */
export function parseIpv4Cidr(text: string): Ipv4Network | null {
  const slash = text.indexOf('/');
  if (slash === -1) return null;
  const network = parseIpv4(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (network === null || !/^(?:[0-9]|[12][0-9]|3[0-2])$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  const netmask = prefixToNetmask(prefix);
  if ((network & ~netmask) >>> 0 !== 0) return null;
  return { network, prefix, netmask, broadcast: (network | ~netmask) >>> 0 };
}

export function formatIpv4Cidr(network: Ipv4Network): string {
  return `${formatIpv4(network.network)}/${network.prefix}`;
}

function contains(outer: Ipv4Network, address: number): boolean {
  return address >= outer.network && address <= outer.broadcast;
}

// ── Allocation ───────────────────────────────────────────────────────────────────────────────────

interface Pool {
  readonly tier: VpnTier;
  readonly net: Ipv4Network;
  /** The one address inside the pool, besides network and broadcast, that no client may get. */
  readonly serverAddress: number;
  /** Lowest address not yet examined by the second pass; only ever moves up. */
  cursor: number;
  /** Addresses released in this run, lowest first: used only once the pool has nothing else. */
  fallback: number[];
  fallbackAt: number;
}

const VPN_TIERS: readonly VpnTier[] = ['vpn', 'vpn-bastion'];

/**
 * Stable address allocation for one gateway.
 *
 * Reserved in every pool, never handed out:
 * - the pool's network and broadcast addresses (some clients still treat .0/.255 in a /24 view specially);
 * - the server's own tun address. With `serverNetwork` that is its first usable address (what OpenVPN's
 *   `server` directive gives the server in `topology subnet`), reserved only in the pool that contains
 *   it. Without `serverNetwork` rac cannot know where the server sits, so every pool's first usable
 *   address is reserved — at the cost of one address per pool, never a clash.
 *
 * People keep their address while their tier is unchanged and the address is still a valid one of that
 * tier's pool; a tier change, a shrunk pool or a duplicate moves them. Everyone else gets the lowest
 * free address, processed in uid order, so the same input always gives the same output whatever the
 * maps' insertion order. An address that someone in `current` gives up in this run (released, or moved
 * to another tier) is not handed to someone else in the same run unless the pool has nothing else: the
 * old session may still be up with it, and two clients with one address get each other's traffic.
 * A full pool is reported in `exhausted`, never thrown: the rest still converge.
 */
export function allocateAddresses(input: AllocationInput): AllocationResult {
  const pools = buildPools(input.pools, input.serverNetwork);
  const taken = new Set<number>();
  const assignments = new Map<string, AddressAssignment>();
  const uids = [...input.wanted.keys()].sort(compareStrings);

  const isUsable = (pool: Pool, address: number) =>
    address !== pool.net.network && address !== pool.net.broadcast && address !== pool.serverAddress;

  // Pass 1: keepers first, so nobody's stable address is handed to someone allocated earlier in uid order.
  const pending: string[] = [];
  for (const uid of uids) {
    const tier = input.wanted.get(uid) as VpnTier;
    const pool = pools.get(tier);
    const now = input.current.get(uid);
    const address = now === undefined || now.tier !== tier ? null : parseIpv4(now.address);
    if (pool !== undefined && address !== null && contains(pool.net, address) && isUsable(pool, address)) {
      if (!taken.has(address)) {
        taken.add(address);
        assignments.set(uid, { tier, address: formatIpv4(address) });
        continue;
      }
    }
    pending.push(uid);
  }

  // Addresses someone held until now (leaving, or moving tier) may still be in use by a live session until
  // it is killed or reconnects: hand them out again only when nothing else is left in the pool.
  const held = new Set<number>();
  for (const { address } of input.current.values()) {
    const value = parseIpv4(address);
    if (value !== null && !taken.has(value)) held.add(value);
  }
  for (const pool of pools.values()) {
    pool.fallback = [...held].filter((a) => contains(pool.net, a) && isUsable(pool, a)).sort((a, b) => a - b);
  }

  // Pass 2: lowest free address. Everything below a pool's cursor is taken or held, so it never moves back.
  const exhausted: AllocationResult['exhausted'] = [];
  for (const uid of pending) {
    const tier = input.wanted.get(uid) as VpnTier;
    const pool = pools.get(tier);
    if (pool === undefined) {
      exhausted.push({ uid, tier, reason: 'no-pool' });
      continue;
    }
    while (
      pool.cursor <= pool.net.broadcast &&
      (taken.has(pool.cursor) || held.has(pool.cursor) || !isUsable(pool, pool.cursor))
    ) {
      pool.cursor++;
    }
    let address: number | undefined = pool.cursor <= pool.net.broadcast ? pool.cursor : undefined;
    if (address === undefined) {
      while (pool.fallbackAt < pool.fallback.length && taken.has(pool.fallback[pool.fallbackAt] as number)) {
        pool.fallbackAt++;
      }
      address = pool.fallback[pool.fallbackAt];
    }
    if (address === undefined) {
      exhausted.push({ uid, tier, reason: 'pool-full' });
      continue;
    }
    taken.add(address);
    assignments.set(uid, { tier, address: formatIpv4(address) });
  }

  const released = [...input.current.keys()].filter((uid) => !input.wanted.has(uid)).sort(compareStrings);
  return { assignments, released, exhausted };
}

function buildPools(spec: Partial<Record<VpnTier, string>>, serverNetwork: string | undefined): Map<VpnTier, Pool> {
  const server = serverNetwork === undefined ? null : parseIpv4Cidr(serverNetwork);
  if (serverNetwork !== undefined && server === null) {
    throw poolError(`server network '${serverNetwork}' is not an IPv4 CIDR with its host bits zero`);
  }
  if (server !== null && server.prefix > 30) {
    throw poolError(`server network ${serverNetwork} is too small for a server and clients`);
  }
  const pools = new Map<VpnTier, Pool>();
  for (const tier of VPN_TIERS) {
    const text = spec[tier];
    if (text === undefined) continue;
    const net = parseIpv4Cidr(text);
    if (net === null) throw poolError(`${tier} pool '${text}' is not an IPv4 CIDR with its host bits zero`);
    // A /31 or /32 has no address left once network and broadcast are set aside.
    if (net.prefix > 30) throw poolError(`${tier} pool ${text} is too small: use /30 or larger`);
    if (server !== null && !(contains(server, net.network) && contains(server, net.broadcast))) {
      // In topology subnet the server only routes its own network to the tun: an address outside it is unreachable.
      throw poolError(`${tier} pool ${text} is not inside the server network ${serverNetwork}`);
    }
    for (const other of pools.values()) {
      if (net.network <= other.net.broadcast && other.net.network <= net.broadcast) {
        throw poolError(`${tier} pool ${text} overlaps the ${other.tier} pool ${formatIpv4Cidr(other.net)}`);
      }
    }
    const serverAddress = server !== null ? server.network + 1 : net.network + 1;
    pools.set(tier, { tier, net, serverAddress, cursor: net.network, fallback: [], fallbackAt: 0 });
  }
  return pools;
}

function poolError(message: string): AppError {
  return new AppError('RAC_CONFIG_OPENVPN_POOL', message);
}

/** Code-unit order, not localeCompare: the same on every machine and locale. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
