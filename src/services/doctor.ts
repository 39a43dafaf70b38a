import { countFindings, doctorExitCode, type Finding } from '../core/doctor/findings.ts';
import { checkBastionCommands } from './doctor/bastion-checks.ts';
import { checkDirectory } from './doctor/directory-checks.ts';
import { checkHost, type HostCheck } from './doctor/host-checks.ts';
import { checkCcdSymlink, checkManagement, checkOpenVpnServerConfig } from './doctor/openvpn-checks.ts';
import type { DoctorDeps, DoctorHost, DoctorReport } from './doctor/ports.ts';
import { checkProxyMapInclude } from './doctor/proxy-checks.ts';
import { checkWireGuardInterface } from './doctor/wireguard-checks.ts';

export type { DirectoryProbe, DoctorDeps, DoctorHost, DoctorReport, ProbeEntry } from './doctor/ports.ts';

/** How many hosts are looked at at once. */
const HOST_CONCURRENCY = 4;

/**
 * The extension point for a new kind of host: its checks, run after the pin, the login and the
 * root/sudo check that every host gets. A kind without an entry is reported as not checked.
 * Access proxies (kind `proxy`): add `proxy: [checkProxyMapInclude, …]` here.
 */
export const HOST_CHECKS_BY_KIND: Readonly<Record<string, readonly HostCheck[]>> = {
  openvpn: [checkCcdSymlink, checkManagement, checkOpenVpnServerConfig],
  bastion: [checkBastionCommands],
  wireguard: [checkWireGuardInterface],
  proxy: [checkProxyMapInclude],
};

/**
 * `rac doctor`: everything a site must have before the first apply, with what to fix. Nothing on
 * the directory or a host is changed (the write checks are no-op modifies: doctor/directory-checks.ts).
 */
export async function runDoctor(deps: DoctorDeps): Promise<DoctorReport> {
  const hostFindings: Finding[][] = deps.hosts.map(() => []);
  let next = 0;
  const worker = async () => {
    while (next < deps.hosts.length) {
      const i = next++;
      hostFindings[i] = await checkHost(deps.hosts[i] as DoctorHost, HOST_CHECKS_BY_KIND);
    }
  };
  const [directoryFindings] = await Promise.all([
    checkDirectory(deps.config, deps.directory),
    ...Array.from({ length: Math.min(HOST_CONCURRENCY, deps.hosts.length) }, worker),
  ]);
  const findings = [...directoryFindings, ...hostFindings.flat()];
  return { findings, counts: countFindings(findings), exitCode: doctorExitCode(findings) };
}
