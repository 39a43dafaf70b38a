import type { OpenVpnConfig } from '../../../config/schema.ts';
import { AppError } from '../../../core/errors.ts';
import { formatIpv4, parseIpv4Cidr } from '../../../core/openvpn/allocate-addresses.ts';
import { isAuthenticated, parseOpenVpnStatus } from '../../../core/openvpn/parse-status.ts';
import { parseCcd, renderCcd } from '../../../core/openvpn/render-ccd.ts';
import { readTar, writeTar } from '../../../core/tar.ts';
import type { GatewayDriver, GatewayGrant, RemoteShell, Session } from '../../../ports.ts';
import { type Become, hostRunner } from '../../host-programs/program.ts';
import { withManagement } from './management.ts';
import { openVpnCalls } from './programs.ts';

/** Time for a HALT to reach the client before the server side is dropped. */
const HALT_DELIVERY_MS = 250;

export interface OpenVpnDriverOptions {
  readonly name: string;
  readonly shell: RemoteShell;
  /** How rac gains root there (default: it logs in as root). */
  readonly become?: Become;
  readonly openvpn: OpenVpnConfig;
  readonly timeoutMs: number;
}

interface ObservedFile {
  readonly name: string;
  readonly text: string;
}

export function createOpenVpnDriver(options: OpenVpnDriverOptions): GatewayDriver {
  const { name, shell, openvpn, timeoutMs } = options;
  const server = parseIpv4Cidr(openvpn.server_network);
  if (server === null)
    throw new AppError(
      'RAC_CONFIG_INVALID',
      `${name}: openvpn.server_network ${openvpn.server_network} is not an IPv4 CIDR`,
    );
  const netmask = formatIpv4(server.netmask);
  const host = hostRunner(shell, options.become);
  const calls = openVpnCalls(openvpn);

  async function readFiles(signal?: AbortSignal): Promise<ObservedFile[]> {
    const result = await host.run(calls.ccdRead, { signal, timeoutMs });
    if (result.code !== 0) {
      throw new AppError('RAC_GATEWAY_OBSERVE', `${name}: cannot read ${openvpn.ccd_dir}: ${result.stderr.trim()}`);
    }
    return readTar(new Uint8Array(result.stdout))
      .filter((e) => (e.type ?? 'file') === 'file')
      .map((e) => ({ name: e.name.replace(/^\.\//, ''), text: new TextDecoder().decode(e.content) }));
  }

  function render(grant: GatewayGrant): string {
    if (grant.tier === 'public') throw new AppError('RAC_OPENVPN_RENDER', `${grant.uid}: public has no VPN profile`);
    if (grant.address === undefined)
      throw new AppError('RAC_OPENVPN_RENDER', `${grant.uid}: no address allocated on ${name}`);
    return renderCcd({
      uid: grant.uid,
      tier: grant.tier,
      address: grant.address,
      netmask,
      routes: openvpn.routes[grant.tier],
    });
  }

  function toGrants(files: readonly ObservedFile[]) {
    const grants = new Map<string, GatewayGrant>();
    const foreign: string[] = [];
    for (const file of files) {
      const entry = safeParseCcd(file.text);
      if (entry === null || entry.uid !== file.name || entry.tier === null) {
        foreign.push(file.name);
        continue;
      }
      grants.set(entry.uid, {
        uid: entry.uid,
        tier: entry.tier,
        ...(entry.address === null ? {} : { address: entry.address }),
      });
    }
    return { grants, foreign };
  }

  return {
    name,
    kind: 'openvpn',

    async probe(signal) {
      const started = performance.now();
      try {
        const kind = await host.run(calls.ccdKind, { signal, timeoutMs });
        if (kind.code !== 0 || !kind.stdout.toString('utf8').startsWith('symlink '))
          return {
            up: false,
            detail: `${openvpn.ccd_dir} is not a symlink to a directory: ${kind.stdout.toString('utf8').trim() || kind.stderr.trim()}`,
            latencyMs: performance.now() - started,
          };
        const stats = await withManagement(shell, openvpn.management, timeoutMs, (m) => m.single('load-stats'), signal);
        return { up: stats.ok, detail: stats.text, latencyMs: performance.now() - started };
      } catch (err) {
        return { up: false, detail: (err as Error).message, latencyMs: performance.now() - started };
      }
    },

    async observe(signal) {
      return toGrants(await readFiles(signal));
    },

    async apply({ desired }, signal) {
      const files = await readFiles(signal);
      const textByName = new Map(files.map((f) => [f.name, f.text]));
      const added: string[] = [];
      const changed: string[] = [];
      const failed: Array<{ uid: string; error: string }> = [];
      const wanted = new Map<string, string>();
      for (const grant of desired.values()) {
        let text: string;
        try {
          text = render(grant);
        } catch (err) {
          // One person's value fails that person only; whatever the host has for them stays.
          failed.push({ uid: grant.uid, error: (err as Error).message });
          const current = textByName.get(grant.uid);
          if (current !== undefined) wanted.set(grant.uid, current);
          continue;
        }
        wanted.set(grant.uid, text);
        const current = textByName.get(grant.uid);
        if (current === undefined) added.push(grant.uid);
        else if (current !== text) changed.push(grant.uid);
      }
      const removed = files.map((f) => f.name).filter((n) => !wanted.has(n));
      const unchanged = wanted.size - added.length - changed.length;
      if (added.length + changed.length + removed.length === 0) {
        return { added, changed, removed, unchanged, failed, wrote: false };
      }
      const tar = writeTar(
        [...wanted].map(([uid, text]) => ({ name: uid, mode: 0o644, content: new TextEncoder().encode(text) })),
      );
      const result = await host.run(calls.ccdSwap, {
        stdin: tar,
        signal,
        timeoutMs,
      });
      if (result.code !== 0) {
        throw new AppError(
          'RAC_GATEWAY_APPLY',
          `${name}: swapping ${openvpn.ccd_dir} failed (exit ${result.code}): ${result.stderr.trim()}`,
        );
      }
      return { added, changed, removed, unchanged, failed, wrote: true };
    },

    async listSessions(signal) {
      const text = await withManagement(shell, openvpn.management, timeoutMs, (m) => m.multi('status 3'), signal);
      const { clients } = parseOpenVpnStatus(text);
      return clients.filter(isAuthenticated).map(
        (c): Session => ({
          gateway: name,
          kind: 'openvpn',
          uid: c.username as string,
          id: String(c.clientId),
          since: c.connectedSince,
          address: c.virtualAddress,
        }),
      );
    },

    /**
     * `client-kill <CID> HALT`: the client is told to exit, not to reconnect (a plain `kill <cn>`
     * leaves it believing it is connected until its ping-restart, then it tries again).
     */
    async disconnect(users, signal) {
      const wanted = new Set(users);
      return withManagement(
        shell,
        openvpn.management,
        timeoutMs,
        async (m) => {
          const { clients } = parseOpenVpnStatus(await m.multi('status 3'));
          const counts = new Map<string, number>();
          const failed: Array<{ uid: string; error: string }> = [];
          const halted: string[] = [];
          for (const c of clients) {
            const uid = c.username ?? c.commonName;
            if (!wanted.has(uid)) continue;
            const reply = await m.single(`client-kill ${c.clientId} HALT`);
            if (reply.ok) {
              counts.set(uid, (counts.get(uid) ?? 0) + 1);
              // `kill <cn>` drops every client of that common name: only where the server runs
              // username-as-common-name (the CN IS the person) — checked per client, not assumed.
              if (c.username !== null && c.commonName === c.username) halted.push(c.commonName);
            } else failed.push({ uid, error: reply.text });
          }
          if (halted.length > 0) {
            // HALT is delivered on the control channel, then the server keeps the instance ~5 s
            // before it lets go. Once the message is on its way, drop the server side at once
            // (`kill <cn>`), so the session is gone from the server too.
            await new Promise((r) => setTimeout(r, HALT_DELIVERY_MS));
            for (const cn of new Set(halted)) await m.single(`kill ${cn}`);
          }
          return { disconnected: [...counts].map(([uid, sessions]) => ({ uid, sessions })), failed };
        },
        signal,
      );
    },

    async close() {
      await shell.close();
    },
  };
}

function safeParseCcd(text: string) {
  try {
    return parseCcd(text);
  } catch {
    return null; // unreadable: reported as foreign by the caller
  }
}
