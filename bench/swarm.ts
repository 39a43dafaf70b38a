/**
 * npm run bench:swarm — real VPN sessions on this machine (heavy; not in CI). One OpenVPN 2.6
 * gateway of the local stack (namespace, deferred LDAP auth script, slapd with fsync on), clients
 * from `rac swarm`'s own service and adapter in the stack's clients namespace.
 *
 *  A. The login storm: the same N (default 1000) accounts connect as fast as the swarm can start
 *     them (capped client backoff: --connect-retry 1 5), three times on the same server:
 *       floor  a no-op auth script (`exit 0`): what the server costs without any auth work;
 *       ldap   the shipped deferred LDAP auth script (infra/openvpn/auth-ldap.sh);
 *       sync   the same LDAP check run synchronously (the script before deferral), for context.
 *     Time until all are connected, logins/s, and the ratio ldap/floor. Goal ≤ 1.3×.
 *  B. The most sessions this machine holds: up to 5000 (fewer when memory would not take them,
 *     ~2 MB per client process), paced, bounded to ~6 minutes; once the ramp is over, the count
 *     rac's collector (what /metrics exports) reads from the gateway against the swarm's own.
 *
 *   node bench/swarm.ts [--storm 1000] [--hold 5000] [--skip-sync] [--skip-hold]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { generateCompany } from '../infra/local/company.ts';
import { type LocalStack, startStack } from '../infra/local/stack.ts';
import { createOpenVpnSwarmLauncher } from '../src/adapters/vpn-client/openvpn-swarm.ts';
import { composeServices } from '../src/compose.ts';
import { loadConfig } from '../src/config/load.ts';
import type { SwarmAccount } from '../src/core/swarm/accounts.ts';
import type { SwarmTarget } from '../src/core/swarm/spread.ts';
import type { SwarmSummary } from '../src/core/swarm/tally.ts';
import { createCollector } from '../src/services/collector.ts';
import { runSwarm, type SwarmProgress } from '../src/services/swarm.ts';

const { values } = parseArgs({
  options: {
    storm: { type: 'string', default: '1000' },
    hold: { type: 'string', default: '5000' },
    'hold-rate': { type: 'string', default: '30' },
    'skip-sync': { type: 'boolean', default: false },
    'skip-hold': { type: 'boolean', default: false },
  },
});
const STORM = Number(values.storm);
const HOLD_MAX = Number(values.hold);
const HOLD_RATE = Number(values['hold-rate']);
const STORM_BOUND_MS = 150_000;
const HOLD_BOUND_MS = 360_000;
const PER_CLIENT_BYTES = 2 * 1024 * 1024;
const AUTH_LINE = /^auth-user-pass-verify .*$/m;

// The LDAP check as it was before deferral: one foreground ldapsearch, OpenVPN blocked meanwhile.
const SYNC_SCRIPT = `#!/bin/sh
set -u
umask 077
. "$1"
{ IFS= read -r user && IFS= read -r pass; } <"$2"
pw=$2.pw
printf '%s' "$pass" >"$pw"
dn="uid=$user,$USERS_BASE"
out=$(timeout 6 ldapsearch -x -LLL -H "$LDAP_URI" -o nettimeout=5 -l 5 -D "$dn" -y "$pw" -b "$GROUP_DN" -s base "(member=$dn)" 1.1 2>&1)
rc=$?
rm -f "$pw"
[ "$rc" = 0 ] || exit 1
case $out in 'dn: '*) exit 0 ;; esac
exit 1
`;

function countIn(text: string, re: RegExp): number {
  return text.match(re)?.length ?? 0;
}

async function main(): Promise<void> {
  const people = Math.max(STORM, HOLD_MAX);
  console.log(`bench:swarm — ${people} people in slapd, 1 OpenVPN gateway, clients in a namespace\n`);
  const company = generateCompany(people, { seed: 4242 });
  const stack: LocalStack = await startStack({
    people: company,
    memberships: new Map(company.map((p) => [p.uid, 'vpn'] as const)),
    gateways: 1,
    bastions: 0,
    sync: true,
  });
  const gateway = stack.gateways[0];
  if (gateway === undefined) throw new Error('no gateway');
  const stop = async () => {
    await stack.stop();
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    // Everyone may connect: an empty CCD file each (what rac apply writes for a vpn grant).
    for (const p of company) writeFileSync(join(gateway.ccdDir, p.uid), '');
    const accounts: SwarmAccount[] = company.map((p) => ({ uid: p.uid, password: p.password }));
    const target: SwarmTarget = {
      gateway: gateway.name,
      ratedSessions: 5000,
      host: gateway.vpnAddress,
      port: gateway.vpnPort,
      proto: 'udp',
    };
    const original = readFileSync(gateway.configFile, 'utf8');
    const authLine = AUTH_LINE.exec(original)?.[0] as string;
    const authConf = join(gateway.dataDir, 'auth-ldap.conf');

    /** Restarts the server with `authLine` (a fresh server: no stale sessions of the last phase). */
    const restartWith = async (line: string): Promise<void> => {
      await gateway.stopServer();
      writeFileSync(gateway.configFile, original.replace(AUTH_LINE, line), { mode: 0o600 });
      await gateway.startServer();
    };

    const swarm = async (
      clients: number,
      rate: number,
      maxPending: number,
      boundMs: number,
      stopWhen: (p: SwarmProgress) => boolean,
      atStop?: () => Promise<void>,
    ): Promise<SwarmSummary> => {
      const launcher = await createOpenVpnSwarmLauncher({ caFile: gateway.caFile, netns: gateway.clientsNamespace });
      const controller = new AbortController();
      let checking = false;
      const { summary } = await runSwarm({
        targets: [target],
        accounts,
        clients,
        rate,
        durationMs: boundMs,
        connectTimeoutMs: boundMs,
        maxPending,
        launcher,
        signal: controller.signal,
        progressEveryMs: 250,
        onProgress: (p) => {
          if (checking || controller.signal.aborted || !stopWhen(p)) return;
          checking = true;
          void (atStop ?? (async () => {}))().finally(() => controller.abort());
        },
      });
      return summary;
    };

    // ---- A. the storm ----------------------------------------------------------------------
    console.log(`A. login storm: ${STORM} clients started at once (capped backoff), same server, same run\n`);
    const phases: { name: string; line: string }[] = [
      { name: 'floor (no-op auth, exit 0)', line: `auth-user-pass-verify /bin/true via-file` },
      { name: 'ldap (deferred, shipped)', line: authLine },
    ];
    if (!values['skip-sync']) {
      const syncScript = join(gateway.dataDir, 'auth-ldap-sync.sh');
      writeFileSync(syncScript, SYNC_SCRIPT, { mode: 0o700 });
      phases.push({
        name: 'sync LDAP (before)',
        line: `auth-user-pass-verify "/bin/sh ${syncScript} ${authConf}" via-file`,
      });
    }
    const storm: { name: string; s: SwarmSummary; log: string }[] = [];
    for (const phase of phases) {
      await restartWith(phase.line);
      const logStart = (await readFile(gateway.logFile)).length;
      const s = await swarm(STORM, 1000, STORM, STORM_BOUND_MS, (p) => p.connected + p.failed >= STORM);
      const log = (await readFile(gateway.logFile)).subarray(logStart).toString('utf8');
      storm.push({ name: phase.name, s, log });
      const secs = s.ramp_seconds ?? Number.NaN;
      console.log(
        `  ${phase.name.padEnd(28)} ${String(s.connected).padStart(5)}/${STORM} connected, all in ${secs.toFixed(1).padStart(6)} s` +
          ` · ${(s.connected / secs).toFixed(1).padStart(6)} logins/s · connect p50 ${s.connect_ms.p50} ms p95 ${s.connect_ms.p95} ms` +
          ` · failed ${s.failed} · server log: ${countIn(log, /connect-freq-initial/g)} rate-limit drops, ${countIn(log, /TLS key negotiation failed/g)} TLS timeouts, ${countIn(log, /TEMP\[backoff/g)} TEMP refusals`,
      );
      await sleep(1000);
    }
    const floor = storm[0]?.s.ramp_seconds ?? Number.NaN;
    const ldap = storm[1]?.s.ramp_seconds ?? Number.NaN;
    console.log(
      `\n  ldap / floor = ${(ldap / floor).toFixed(2)}× (goal ≤ 1.3×)` +
        (storm[2]
          ? `; sync LDAP / floor = ${((storm[2].s.ramp_seconds ?? Number.NaN) / floor).toFixed(2)}×${storm[2].s.connected < STORM ? ` (only ${storm[2].s.connected} connected within ${STORM_BOUND_MS / 1000} s)` : ''}`
          : ''),
    );

    // ---- B. most sessions held ------------------------------------------------------------
    if (!values['skip-hold']) {
      await restartWith(authLine);
      const byMemory = Math.floor((freemem() - 3 * 1024 ** 3) / PER_CLIENT_BYTES);
      const n = Math.max(1, Math.min(HOLD_MAX, byMemory, accounts.length));
      console.log(
        `\nB. most sessions held: ${n} clients (asked ${HOLD_MAX}; free memory allows ${byMemory}), ${HOLD_RATE}/s, ≤ 100 logins in flight, bounded to ${HOLD_BOUND_MS / 1000} s\n`,
      );
      const config = join(gateway.dataDir, 'rac-bench.yaml');
      writeFileSync(config, stack.config({ sshTimeoutMs: 30_000 }));
      writeFileSync(join(gateway.dataDir, 'policy.yaml'), 'default: { tier: public, max: vpn-bastion }\nrules: []\n');
      const services = composeServices(loadConfig({ path: config, env: {} }), { actor: 'bench', logLevel: 'silent' });
      const collector = createCollector(services, { intervalMs: 60_000, timeoutMs: 30_000 });
      let last: SwarmProgress | undefined;
      let settledSince: number | undefined;
      let measured:
        | { exporter: number; swarmBefore: number; swarmAfter: number; collectMs: number; serverRssMb: number }
        | undefined;
      const started = performance.now();
      let nextReport = 30_000;
      const s = await swarm(
        n,
        HOLD_RATE,
        100,
        HOLD_BOUND_MS,
        (p) => {
          if (p.elapsedMs >= nextReport) {
            nextReport += 30_000;
            console.log(
              `  ${Math.round(p.elapsedMs / 1000)} s: ${p.concurrent} held, ${p.failed} failed, ${p.pending} in flight`,
            );
          }
          // Measure once every client has its outcome and the count has been still for 10 s.
          const settled = p.started === n && p.pending === 0;
          if (!settled || last?.concurrent !== p.concurrent) settledSince = undefined;
          else settledSince ??= p.elapsedMs;
          last = p;
          return (
            (settledSince !== undefined && p.elapsedMs - settledSince >= 10_000) || p.elapsedMs > HOLD_BOUND_MS - 30_000
          );
        },
        async () => {
          const swarmBefore = last?.concurrent ?? 0;
          const t = performance.now();
          const snapshot = await collector.collectOnce();
          const collectMs = performance.now() - t;
          const exporter = snapshot.hosts.reduce((sum, h) => sum + h.sessions.length, 0);
          const serverRssMb = await readFile(`/proc/${gateway.serverPid()}/status`, 'utf8')
            .then((text) => Number(/VmRSS:\s+(\d+)/.exec(text)?.[1] ?? 0) / 1024)
            .catch(() => Number.NaN);
          measured = { exporter, swarmBefore, swarmAfter: last?.concurrent ?? 0, collectMs, serverRssMb };
        },
      );
      await services.close();
      console.log(
        `\n  held ${s.peak_concurrent} real sessions at once (${s.connected}/${n} connected, ${s.failed} failed, ${s.dropped} dropped), last connect after ${s.ramp_seconds} s, connect p50 ${s.connect_ms.p50} ms p95 ${s.connect_ms.p95} ms`,
      );
      if (measured) {
        console.log(
          `  at that moment: exporter (rac collector, status 3 over SSH, ${Math.round(measured.collectMs)} ms) counted ${measured.exporter}, the swarm ${measured.swarmBefore} (before) / ${measured.swarmAfter} (after) → ratio ${(measured.exporter / Math.max(1, measured.swarmAfter)).toFixed(4)}`,
        );
      } else console.log('  (no measurement: the swarm ended before the ramp settled)');
      console.log(
        `  server RSS while holding ${measured?.serverRssMb.toFixed(0) ?? '-'} MB; run ${((performance.now() - started) / 1000).toFixed(0)} s`,
      );
    }
  } finally {
    await stop();
  }
}

await main();
