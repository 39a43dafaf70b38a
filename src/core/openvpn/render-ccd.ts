import { AppError } from '../errors.ts';
import { printable } from '../printable.ts';
import { UID_PATTERN } from '../uid.ts';
import type { VpnTier } from './allocate-addresses.ts';
import { formatIpv4, netmaskToPrefix, parseIpv4, parseIpv4Cidr } from './allocate-addresses.ts';

/** One person's client-config-dir file on an OpenVPN gateway (`ccd/<uid>`, ccd-exclusive). */
export interface CcdEntry {
  readonly uid: string;
  readonly tier: VpnTier;
  /** The static tun address (`ifconfig-push`), from allocateAddresses. */
  readonly address: string;
  /** The server network's netmask (topology subnet). */
  readonly netmask: string;
  /** Networks pushed to the client, as CIDRs. */
  readonly routes: readonly string[];
}

/** What a CCD file on a gateway says, for drift detection; null where the file does not say it. */
export interface ParsedCcd {
  /** From rac's header comment; null when the file was not written by rac. */
  uid: string | null;
  tier: VpnTier | null;
  address: string | null;
  netmask: string | null;
  routes: string[];
  /** A `disable` line: OpenVPN refuses this person with AUTH_FAILED. */
  disabled: boolean;
  /** Directives rac does not write, verbatim (trimmed); any of them means the file drifted. */
  unknown: string[];
}

/** The same rule as the roster's uid column and the bastion's account names. */
const HEADER = /^# managed by rac: ([a-z_][a-z0-9._-]{0,31}) \((vpn|vpn-bastion)\)$/;

/**
 * Renders a CCD file. Every value is checked against a strict syntax before it is written, so nothing
 * that reached rac from a roster or a config can add a line, close a quote or smuggle a directive.
 */
export function renderCcd(entry: CcdEntry): string {
  if (typeof entry.uid !== 'string' || !UID_PATTERN.test(entry.uid)) {
    throw renderError(`uid '${printable(entry.uid)}' is not a valid account name`, entry);
  }
  if (entry.tier !== 'vpn' && entry.tier !== 'vpn-bastion') {
    throw renderError(`tier '${printable(entry.tier)}' has no VPN profile`, entry);
  }
  const netmask = parseIpv4(entry.netmask);
  if (netmask === null || netmaskToPrefix(netmask) === null) {
    throw renderError(`netmask '${printable(entry.netmask)}' is not a contiguous IPv4 netmask`, entry);
  }
  const prefix = netmaskToPrefix(netmask) as number;
  if (prefix > 30) throw renderError(`netmask ${entry.netmask} leaves no room for a server and a client`, entry);
  const address = parseIpv4(entry.address);
  if (address === null) throw renderError(`address '${printable(entry.address)}' is not an IPv4 address`, entry);
  const host = (address & ~netmask) >>> 0;
  if (host === 0 || host === ~netmask >>> 0) {
    throw renderError(`address ${entry.address} is the network or broadcast address of its subnet`, entry);
  }

  const lines = [`# managed by rac: ${entry.uid} (${entry.tier})`, `ifconfig-push ${entry.address} ${entry.netmask}`];
  const seen = new Set<string>();
  for (const route of entry.routes) {
    const net = typeof route === 'string' ? parseIpv4Cidr(route) : null;
    if (net === null) {
      throw renderError(`route '${printable(route)}' is not an IPv4 CIDR with its host bits zero`, entry);
    }
    const line = `push "route ${formatIpv4(net.network)} ${formatIpv4(net.netmask)}"`;
    if (seen.has(line)) continue;
    seen.add(line);
    lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Reads a CCD file back. Tolerant of what people do by hand (comments with # or ;, blank lines, CRLF,
 * extra spaces), strict about meaning: anything that is not exactly what renderCcd writes is listed in
 * `unknown`, so a comparison with the desired entry sees it.
 */
export function parseCcd(text: string): ParsedCcd {
  const result: ParsedCcd = {
    uid: null,
    tier: null,
    address: null,
    netmask: null,
    routes: [],
    disabled: false,
    unknown: [],
  };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '') continue;
    if (line.startsWith('#') || line.startsWith(';')) {
      const header = HEADER.exec(line);
      if (header !== null && result.uid === null) {
        result.uid = header[1] as string;
        result.tier = header[2] as VpnTier;
      }
      continue;
    }
    const words = line.split(/[ \t]+/);
    const directive = words[0];
    if (directive === 'ifconfig-push' && words.length === 3 && result.address === null) {
      const address = words[1] as string;
      const netmask = words[2] as string;
      if (parseIpv4(address) !== null && parseIpv4(netmask) !== null) {
        result.address = address;
        result.netmask = netmask;
        continue;
      }
    } else if (directive === 'push') {
      const route = parsePushedRoute(line);
      if (route !== null) {
        result.routes.push(route);
        continue;
      }
    } else if (directive === 'disable' && words.length === 1) {
      result.disabled = true;
      continue;
    }
    result.unknown.push(line);
  }
  return result;
}

/** `push "route 10.1.0.0 255.255.0.0"` → '10.1.0.0/16'; null for anything with a gateway, metric or odd mask. */
function parsePushedRoute(line: string): string | null {
  const match = /^push[ \t]+"route[ \t]+([0-9.]+)[ \t]+([0-9.]+)[ \t]*"$/.exec(line);
  if (match === null) return null;
  const network = parseIpv4(match[1] as string);
  const netmask = parseIpv4(match[2] as string);
  if (network === null || netmask === null) return null;
  const prefix = netmaskToPrefix(netmask);
  if (prefix === null || (network & ~netmask) >>> 0 !== 0) return null;
  return `${formatIpv4(network)}/${prefix}`;
}

function renderError(message: string, entry: CcdEntry): AppError {
  const uid = typeof entry.uid === 'string' && UID_PATTERN.test(entry.uid) ? entry.uid : null;
  return new AppError('RAC_OPENVPN_RENDER', message, { details: { uid } });
}
