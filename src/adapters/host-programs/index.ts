import type { GatewayConfig, OpenVpnConfig, ProxyConfig, WireGuardConfig } from '../../config/schema.ts';
import { AppError } from '../../core/errors.ts';
import { bastionCalls, bastionPrograms } from '../gateways/bastion/scripts.ts';
import { OPENVPN_PROGRAMS, openVpnCalls } from '../gateways/openvpn/programs.ts';
import { PROXY_PROGRAMS, proxyCalls } from '../gateways/proxy/scripts.ts';
import { WIREGUARD_PROGRAMS, wireGuardCalls } from '../gateways/wireguard/programs.ts';
import { AS_ROOT, type Become, type HostCall, type HostProgram, PINNABLE_ARGUMENT } from './program.ts';

export { DEFAULT_HELPERS_DIR } from '../../config/schema.ts';
export type { Become, HostCall, HostProgram, HostRunner } from './program.ts';
export { AS_ROOT, callArgv, hostRunner, programDigest } from './program.ts';

/** Every program rac may run on any host: the same files for every host, whatever its kind. */
export function hostPrograms(): readonly HostProgram[] {
  return [
    ...Object.values(OPENVPN_PROGRAMS),
    ...Object.values(WIREGUARD_PROGRAMS),
    ...Object.values(bastionPrograms()),
    ...Object.values(PROXY_PROGRAMS),
  ];
}

/**
 * Every call rac makes on `gateway` as root, by name (its drivers and rac doctor build theirs from
 * the same functions, so the sudoers rules cannot miss one).
 */
export function hostCallTable(gateway: GatewayConfig): Readonly<Record<string, HostCall>> {
  switch (gateway.kind) {
    case 'openvpn':
      return openVpnCalls(gateway.openvpn as OpenVpnConfig);
    case 'wireguard':
      return wireGuardCalls(gateway.wireguard as WireGuardConfig);
    case 'bastion':
      return bastionCalls();
    case 'proxy':
      return proxyCalls(gateway.proxy as ProxyConfig);
    default:
      return {};
  }
}

export function hostCalls(gateway: GatewayConfig): readonly HostCall[] {
  return Object.values(hostCallTable(gateway));
}

/** The host's `become` as the drivers use it. */
export function becomeOf(gateway: GatewayConfig): Become {
  return gateway.ssh.become === 'sudo' ? { mode: 'sudo', helpersDir: gateway.ssh.helpers_dir } : AS_ROOT;
}

const SUDOERS_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

function sudoersArg(gateway: GatewayConfig, program: string, arg: string): string {
  if (!PINNABLE_ARGUMENT.test(arg))
    throw new AppError(
      'RAC_SUDOERS_ARGUMENT',
      `gateways ${gateway.name}: ${program} would be run with the argument ${JSON.stringify(arg)}, which a sudoers rule cannot pin (letters, digits and _ . / @ % + = , : - only): use a path without spaces or special characters`,
      { details: { host: gateway.name, program } },
    );
  // In a sudoers command line these four are syntax unless escaped.
  return arg.replace(/[=,:\\]/g, (c) => `\\${c}`);
}

/**
 * The sudoers file for `gateway` (for /etc/sudoers.d/rac on that host): ssh.user may run exactly
 * rac's calls there — each program in helpers_dir with exactly its arguments ("" where it takes
 * none) — as root, without a password, and nothing else.
 */
export function renderSudoers(gateway: GatewayConfig): string {
  const { user, helpers_dir: dir } = gateway.ssh;
  if (!SUDOERS_USER.test(user) || user === 'root')
    throw new AppError(
      'RAC_SUDOERS_USER',
      `gateways ${gateway.name}: ssh.user ${JSON.stringify(user)} cannot be given sudoers rules (a non-root account name is needed)`,
    );
  const commands = hostCalls(gateway).map((call) => {
    const path = `${dir}/${call.program.name}`;
    const args = call.args.map((a) => sudoersArg(gateway, call.program.name, a));
    return `${path} ${args.length === 0 ? '""' : args.join(' ')}`;
  });
  const alias = `RAC_${gateway.name.toUpperCase().replace(/-/g, '_')}`;
  return [
    `# /etc/sudoers.d/rac on ${gateway.name} (${gateway.kind}), written by rac helpers export.`,
    `# ${user} may run exactly rac's programs in ${dir}, with exactly these arguments, as root.`,
    '# Install with: visudo -cf <this file> && install -o root -g root -m 0440 <this file> /etc/sudoers.d/rac',
    `Cmnd_Alias ${alias} = \\`,
    commands.map((c) => `    ${c}`).join(', \\\n'),
    // Whatever the host's own defaults: no caller's PATH or environment reaches rac's programs.
    `Defaults!${alias} env_reset, secure_path="/usr/sbin:/usr/bin:/sbin:/bin"`,
    `${user} ALL=(root) NOPASSWD: ${alias}`,
    '',
  ].join('\n');
}
