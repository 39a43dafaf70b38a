import { readFile } from 'node:fs/promises';
import { hostPrograms, renderSudoers } from '../../src/adapters/host-programs/index.ts';
import { type Bastion, startBastion } from './bastion-host.ts';
import type { CompanyPerson } from './company.ts';
import { type LocalDirectory, type SeedTier, startDirectory } from './directory.ts';
import { gatewayConfigs, installManagerFiles, type Manager, managerYaml } from './manager.ts';
import { cleanupAll, newRunId } from './netns.ts';
import { type OpenVpnGateway, startOpenVpnGateway } from './openvpn-gateway.ts';
import { type ProxyHost, startProxyHost } from './proxy-host.ts';
import type { SshHost } from './ssh-host.ts';
import { startWireGuardGateway, type WireGuardGateway } from './wireguard-gateway.ts';
import { configFor } from './workspace.ts';

/**
 * The whole local stack: a private slapd, OpenVPN gateways and bastions as network namespaces
 * with their own sshd, and a rac.yaml that manages them with pinned host keys.
 *
 * By default rac manages every host as a bank runs it: it logs in as `rac` and does privileged
 * work with sudo through its programs (manager.ts). The stack installs those programs and each
 * host's sudoers file, rendered by rac itself for the host's entry of config(), once every host
 * is up. The stack's own work on a host (starting nginx, `wg` in tests) stays root's.
 */
export interface LocalStack {
  readonly runId: string;
  /** The account rac logs in as on every host. */
  readonly manager: Manager;
  readonly directory: LocalDirectory;
  readonly gateways: readonly OpenVpnGateway[];
  readonly bastions: readonly Bastion[];
  readonly wireguardGateways: readonly WireGuardGateway[];
  /** Access proxies (nginx) of the public tier. */
  readonly proxies: readonly ProxyHost[];
  /** rac.yaml for this stack (capacity target and rated sessions can be overridden). */
  config(options?: {
    targetSessions?: number;
    ratedSessions?: number;
    hostKeyOverride?: Record<string, string>;
    sshTimeoutMs?: number;
    activeWindowSeconds?: number;
    /**
     * bastion.login. Default 'shell': the stack's tests and the demo log in to the bastion with
     * commands. null leaves the section out, so rac's own default (jump-only) applies.
     */
    bastionLogin?: 'jump-only' | 'shell' | null;
    /** Only these hosts (by name): the stack may run more than the site has in service yet. */
    only?: readonly string[];
    /** The site accepts a capacity check's dry run as verifying (k6 cannot run here). */
    acceptDryRun?: boolean;
  }): string;
  /**
   * Installs rac's programs and the host's /etc/sudoers.d/rac again: rendered for the host's entry
   * of `config` (default config()), or `sudoers` exactly as given (e.g. a broken rule, to see sudo
   * refuse; not checked with visudo).
   */
  installHostFiles(name: string, options?: { config?: string; sudoers?: string }): Promise<void>;
  /** Freezes a host's sshd (SIGSTOP): to rac the host is down; `resumeHost` brings it back. */
  pauseHost(name: string): Promise<void>;
  resumeHost(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(options: {
  people: readonly CompanyPerson[];
  memberships?: ReadonlyMap<string, SeedTier>;
  gateways?: number;
  bastions?: number;
  /** WireGuard gateways (wireguard-go), named wg-1, wg-2, … (default none). */
  wireguardGateways?: number;
  proxies?: number;
  sync?: boolean;
  layout?: 'uid' | 'nested-cn';
  /** The directory also on ldaps:// (and StartTLS) with a per-run CA: directory.ldapsUrl, caFile. */
  tls?: boolean;
  /** The account rac logs in as: `rac` with sudo (default), or root. */
  manager?: Manager;
}): Promise<LocalStack> {
  const runId = newRunId();
  const manager = options.manager ?? 'rac';
  const directory = await startDirectory({
    people: options.people,
    ...(options.memberships === undefined ? {} : { memberships: options.memberships }),
    ...(options.sync === undefined ? {} : { sync: options.sync }),
    ...(options.layout === undefined ? {} : { layout: options.layout }),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
  });
  const gateways: OpenVpnGateway[] = [];
  const bastions: Bastion[] = [];
  const wireguardGateways: WireGuardGateway[] = [];
  const proxies: ProxyHost[] = [];
  try {
    for (let i = 1; i <= (options.gateways ?? 2); i++)
      gateways.push(await startOpenVpnGateway({ name: `gw-${i}`, directory, index: i, runId, manager }));
    for (let i = 1; i <= (options.bastions ?? 1); i++)
      bastions.push(await startBastion({ name: `bastion-${i}`, runId, index: i }));
    for (let i = 1; i <= (options.wireguardGateways ?? 0); i++)
      wireguardGateways.push(await startWireGuardGateway({ name: `wg-${i}`, index: i, runId }));
    for (let i = 1; i <= (options.proxies ?? 0); i++)
      proxies.push(await startProxyHost({ name: `portal-${i}`, runId, index: i, directory, manager }));
  } catch (err) {
    for (const p of proxies) await p.stop();
    for (const g of wireguardGateways) await g.stop();
    for (const b of bastions) await b.stop();
    for (const g of gateways) await g.stop();
    await directory.stop();
    throw err;
  }
  const hosts: readonly { name: string; ssh: SshHost }[] = [...gateways, ...bastions, ...wireguardGateways, ...proxies];
  const hostNamed = (name: string) => {
    const host = hosts.find((h) => h.name === name);
    if (host === undefined) throw new Error(`no host ${name}`);
    return host;
  };
  const signalHost = async (name: string, signal: NodeJS.Signals) => {
    const host = hostNamed(name);
    // The unshare process holds the host's namespaces; its child is the host's sshd.
    const children = (await readFile(`/proc/${host.ssh.pid}/task/${host.ssh.pid}/children`, 'utf8'))
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    for (const pid of children) process.kill(Number(pid), signal);
  };
  const stack: LocalStack = {
    runId,
    manager,
    directory,
    gateways,
    bastions,
    wireguardGateways,
    proxies,
    config(o = {}) {
      // known_hosts lines start with the address; the pin is the key itself.
      const pin = (name: string, knownHostsLine: string) =>
        o.hostKeyOverride?.[name] ?? knownHostsLine.split(' ').slice(1, 3).join(' ');
      const timeout = o.sshTimeoutMs === undefined ? '' : `, timeout_ms: ${o.sshTimeoutMs}`;
      const lines = [
        configFor(directory).replace('target_sessions: 5000', `target_sessions: ${o.targetSessions ?? 5000}`),
        'gateways:',
      ];
      for (const g of gateways) {
        const [a, b] = g.serverSubnet.split('.') as [string, string];
        lines.push(
          `  - name: ${g.name}`,
          '    kind: openvpn',
          `    rated_sessions: ${o.ratedSessions ?? 2500}`,
          `    ssh: { host: ${g.address}, port: ${g.ssh.port}, ${managerYaml(manager)}, private_key_file: ${g.ssh.privateKeyFile}, host_key: "${pin(g.name, g.ssh.hostKeyLine)}"${timeout} }`,
          '    openvpn:',
          `      ccd_dir: ${g.ccdDir}`,
          `      management: ${g.managementSocket}`,
          `      config_file: ${g.configFile}`,
          `      server_network: ${g.serverSubnet}`,
          `      pools: { vpn: ${a}.${b}.0.0/19, vpn-bastion: ${a}.${b}.32.0/22 }`,
          '      routes: { vpn: [10.100.0.0/16], vpn-bastion: [10.100.0.0/16, 10.101.0.0/16] }',
          `      remote: { host: ${g.vpnAddress}, port: ${g.vpnPort}, proto: udp }`,
        );
      }
      for (const b of bastions) {
        lines.push(
          `  - name: ${b.name}`,
          '    kind: bastion',
          '    rated_sessions: 400',
          `    ssh: { host: ${b.address}, port: ${b.ssh.port}, ${managerYaml(manager)}, private_key_file: ${b.ssh.privateKeyFile}, host_key: "${pin(b.name, b.ssh.hostKeyLine)}"${timeout} }`,
        );
      }
      for (const g of wireguardGateways) {
        const [a, b] = g.serverNetwork.split('.') as [string, string];
        lines.push(
          `  - name: ${g.name}`,
          '    kind: wireguard',
          `    rated_sessions: ${o.ratedSessions ?? 2500}`,
          `    ssh: { host: ${g.address}, port: ${g.ssh.port}, ${managerYaml(manager)}, private_key_file: ${g.ssh.privateKeyFile}, host_key: "${pin(g.name, g.ssh.hostKeyLine)}"${timeout} }`,
          '    wireguard:',
          `      interface: ${g.interfaceName}`,
          `      peers_file: ${g.peersFile}`,
          `      server_network: ${g.serverNetwork}`,
          `      pools: { vpn: ${a}.${b}.0.0/19, vpn-bastion: ${a}.${b}.32.0/22 }`,
          '      routes: { vpn: [10.100.0.0/16], vpn-bastion: [10.100.0.0/16, 10.101.0.0/16] }',
          `      endpoint: { host: ${g.endpointHost}, port: ${g.endpointPort} }`,
          `      public_key: "${g.publicKey}"`,
        );
      }
      for (const p of proxies) {
        const entry = p.gatewayYaml({
          ...(o.activeWindowSeconds === undefined ? {} : { activeWindowSeconds: o.activeWindowSeconds }),
          ...(o.sshTimeoutMs === undefined ? {} : { sshTimeoutMs: o.sshTimeoutMs }),
          hostKey: pin(p.name, p.ssh.hostKeyLine),
        });
        lines.push(entry.trimEnd());
      }
      const login = o.bastionLogin === undefined ? 'shell' : o.bastionLogin;
      if (bastions.length > 0 && login !== null) lines.push(`bastion: { login: ${login} }`);
      if (gateways[0] !== undefined) lines.push('profiles:', `  ca_file: ${gateways[0].caFile}`);
      let text = `${lines.join('\n')}\n`;
      if (o.only !== undefined) text = onlyHosts(text, o.only);
      if (o.acceptDryRun === true)
        text = text.replace('  enforce: refuse\n', '  enforce: refuse\n  accept_dry_run: true\n');
      return text;
    },
    async installHostFiles(name, o = {}) {
      const account = hostNamed(name).ssh.manager;
      if (account === undefined) throw new Error(`${name} has no account for rac`);
      if (o.sudoers !== undefined) {
        await installManagerFiles(account, hostPrograms(), o.sudoers, { unchecked: true });
        return;
      }
      const entry = gatewayConfigs(o.config ?? stack.config()).get(name);
      if (entry === undefined) throw new Error(`the config has no host ${name}`);
      await installManagerFiles(account, hostPrograms(), renderSudoers(entry));
    },
    pauseHost: (name) => signalHost(name, 'SIGSTOP'),
    resumeHost: (name) => signalHost(name, 'SIGCONT'),
    async stop() {
      for (const p of proxies) await p.stop().catch(() => undefined);
      for (const b of bastions) await b.stop().catch(() => undefined);
      for (const g of wireguardGateways) await g.stop().catch(() => undefined);
      for (const g of gateways) await g.stop().catch(() => undefined);
      await directory.stop();
      await cleanupAll();
    },
  };
  if (manager === 'rac') {
    try {
      for (const host of hosts) await stack.installHostFiles(host.name);
    } catch (err) {
      await stack.stop();
      throw err;
    }
  }
  return stack;
}

/** A rac.yaml with only the named gateway entries (and everything that is not a gateway). */
function onlyHosts(yaml: string, names: readonly string[]): string {
  const out: string[] = [];
  let skipping = false;
  for (const line of yaml.split('\n')) {
    const host = /^ {2}- name: (\S+)/.exec(line);
    if (host !== null) skipping = !names.includes(host[1] as string);
    else if (!line.startsWith('    ')) skipping = false;
    if (!skipping) out.push(line);
  }
  return out.join('\n');
}
