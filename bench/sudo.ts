/**
 * npm run bench:sudo — what managing a host as a non-root account costs per root operation.
 *
 * One real OpenVPN gateway of the local stack; one SSH connection as root and one as rac. The same
 * host program (rac-openvpn-ccd-kind, the probe's call) runs N times in a row on each: inline
 * (`sh -c <program>`) as root, and through `sudo -n` as rac, as the drivers do. Prints p50/p95 of
 * each and the ratio (baseline: root inline, same run).
 */
import { generateCompany } from '../infra/local/company.ts';
import { startStack } from '../infra/local/stack.ts';
import { openVpnCalls } from '../src/adapters/gateways/openvpn/programs.ts';
import { AS_ROOT, callArgv } from '../src/adapters/host-programs/program.ts';
import { createSshShell } from '../src/adapters/ssh/ssh-shell.ts';
import { Secret } from '../src/core/secret.ts';

const RUNS = 100;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

const stack = await startStack({ people: generateCompany(10, { seed: 5 }), gateways: 1, bastions: 0 });
try {
  const gw = stack.gateways[0];
  if (gw === undefined) throw new Error('no gateway');
  const call = openVpnCalls({ ccd_dir: gw.ccdDir, config_file: gw.configFile }).ccdKind;
  const shellAs = (user: string) =>
    createSshShell({
      name: `${gw.name}-${user}`,
      host: gw.address,
      port: gw.ssh.port,
      user,
      privateKey: new Secret(gw.ssh.privateKey),
      hostKey: gw.ssh.hostKeyLine.split(' ').slice(1, 3).join(' '),
    });
  const cases = [
    { name: 'root, inline', user: 'root', argv: callArgv(call, AS_ROOT) },
    {
      name: 'rac, through sudo',
      user: 'rac',
      argv: callArgv(call, { mode: 'sudo', helpersDir: '/usr/local/libexec/rac' }),
    },
  ];
  console.log(`S. one root operation (${call.program.name}) on an open SSH connection, ${RUNS} in a row\n`);
  const p50s: number[] = [];
  for (const c of cases) {
    const shell = shellAs(c.user);
    try {
      const warm = await shell.exec(c.argv);
      if (warm.code !== 0 || !warm.stdout.toString('utf8').startsWith('symlink '))
        throw new Error(`${c.name}: exit ${warm.code}: ${warm.stderr}`);
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const started = performance.now();
        const r = await shell.exec(c.argv);
        times.push(performance.now() - started);
        if (r.code !== 0) throw new Error(`${c.name}: exit ${r.code}: ${r.stderr}`);
      }
      times.sort((a, b) => a - b);
      p50s.push(percentile(times, 50));
      console.log(
        `  ${c.name.padEnd(18)} p50 ${percentile(times, 50).toFixed(1).padStart(6)} ms   p95 ${percentile(times, 95).toFixed(1).padStart(6)} ms`,
      );
    } finally {
      await shell.close();
    }
  }
  const [root, sudo] = p50s as [number, number];
  console.log(
    `\n  sudo adds ${(sudo - root).toFixed(1)} ms per root operation (p50 ${(sudo / root).toFixed(2)}× of root inline)`,
  );
} finally {
  await stack.stop();
}
process.exit(0);
