/**
 * npm run bench:proxy — the access proxy driver against a real nginx (infra/local/proxy-host.ts).
 *
 *  J. Apply of 5000 public people onto the proxy (from an empty map; a fresh SSH connection, as
 *     `rac apply` makes), against the floor measured in the same run: one `scp` of the same map
 *     plus `nginx -s reload` over `ssh` by hand. rac's apply also runs `nginx -t` and waits until
 *     the running nginx serves the new map (the proof); the floor does neither. Goal ≤ 1.5×.
 *  K. One collection cycle over a 1 GB access log grown by 100 000 lines since the last cycle,
 *     against `tail -c` of the same bytes over SSH with the system ssh client (the goal's floor),
 *     and, stricter, over rac's own already open SSH connection (no handshake in the floor). The 1 GB is a sparse file (its old bytes are never read, which is the point);
 *     the 100 000 lines are real log lines of 5000 people. Goal ≤ 2×. The file is deleted after.
 *  L. `nginx -t` with 5000 and 50 000 map entries (the notes found no published figure).
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDirectory } from '../infra/local/directory.ts';
import { cleanupAll, exec, newRunId } from '../infra/local/netns.ts';
import { startProxyHost } from '../infra/local/proxy-host.ts';
import { SSH, sshArgv, sshRun } from '../infra/local/ssh-host.ts';
import { createProxyDriver } from '../src/adapters/gateways/proxy/driver.ts';
import { createSshShell } from '../src/adapters/ssh/ssh-shell.ts';
import type { ProxyConfig } from '../src/config/schema.ts';
import { renderAllowMap } from '../src/core/proxy/allow-map.ts';
import { Secret } from '../src/core/secret.ts';
import type { GatewayGrant } from '../src/ports.ts';

const RUNS = 5;
/** `node bench/proxy.ts K` runs only part K (J, K, L); all by default. */
const only = new Set(process.argv.slice(2).map((a) => a.toUpperCase()));
const runs = (part: string) => only.size === 0 || only.has(part);
const fmt = (ms: number) => `${ms.toFixed(1).padStart(8)} ms`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const directory = await startDirectory({ people: [] });
const host = await startProxyHost({ name: 'portal-bench', runId: newRunId(), index: 9, directory });
const hostKey = host.ssh.hostKeyLine.split(' ').slice(1, 3).join(' ');
const shellFor = () =>
  createSshShell({
    name: host.name,
    host: host.address,
    port: 22,
    user: 'root',
    privateKey: new Secret(host.ssh.privateKey),
    hostKey,
  });
const config = (o: Partial<ProxyConfig> = {}): ProxyConfig => ({
  allow_map: host.allowMap,
  map_hash_conf: host.mapHashConf,
  map_hash_bucket_size: 128,
  access_log: host.accessLog,
  active_window_seconds: 300,
  test_command: host.testCommand,
  reload_command: host.reloadCommand,
  generation_command: host.generationCommand,
  pid_file: host.pidFile,
  reload_timeout_ms: 30_000,
  initial_read_bytes: 16 * 1024 * 1024,
  max_read_bytes: 256 * 1024 * 1024,
  ...o,
});
const uids = Array.from({ length: 5000 }, (_, i) => `person${String(i).padStart(5, '0')}`);
const desired = new Map<string, GatewayGrant>(uids.map((uid) => [uid, { uid, tier: 'public' }]));

try {
  // ── J ──────────────────────────────────────────────────────────────────────────────────
  if (runs('J')) {
    console.log('J. apply of 5000 public people onto a real nginx, against scp + nginx -s reload by hand\n');
    const rendered = renderAllowMap(desired.values());
    const mapFile = join(host.dir, 'bench-map.txt');
    writeFileSync(mapFile, rendered.text);
    const reset = createProxyDriver({ name: host.name, shell: shellFor(), proxy: config(), timeoutMs: 60_000 });
    const applies: number[] = [];
    const floors: number[] = [];
    for (let run = 1; run <= RUNS; run++) {
      await reset.apply({ desired: new Map() });
      let t = performance.now();
      const driver = createProxyDriver({ name: host.name, shell: shellFor(), proxy: config(), timeoutMs: 60_000 });
      const report = await driver.apply({ desired });
      applies.push(performance.now() - t);
      await driver.close();
      if (report.added.length !== 5000 || !report.wrote) throw new Error('bench: apply did not add 5000 people');

      await reset.apply({ desired: new Map() });
      t = performance.now();
      const scp = await exec(
        [
          '/usr/bin/scp',
          '-q',
          '-F',
          '/dev/null',
          '-o',
          'StrictHostKeyChecking=yes',
          '-o',
          `UserKnownHostsFile=${host.ssh.knownHostsFile}`,
          '-o',
          'BatchMode=yes',
          '-i',
          host.ssh.privateKeyFile,
          mapFile,
          `root@${host.address}:${host.allowMap}`,
        ],
        { timeoutMs: 60_000 },
      );
      const reload = await exec([...sshArgv(host.ssh), '--', ...host.reloadCommand], { timeoutMs: 60_000 });
      floors.push(performance.now() - t);
      if (scp.code !== 0 || reload.code !== 0) throw new Error(`bench: floor failed: ${scp.stderr}${reload.stderr}`);
      console.log(`  run ${run}: rac apply ${fmt(applies.at(-1) as number)}   floor ${fmt(floors.at(-1) as number)}`);
    }
    await reset.close();
    const ratioJ = median(applies) / median(floors);
    console.log(`  median: rac apply ${fmt(median(applies))} (test + reload + proof)   floor ${fmt(median(floors))}`);
    console.log(`  ratio apply / floor: ${ratioJ.toFixed(2)}×   goal ≤ 1.5×   ${ratioJ <= 1.5 ? 'MET' : 'MISSED'}\n`);
  }

  // ── K ──────────────────────────────────────────────────────────────────────────────────
  if (runs('K')) {
    console.log('K. one collection cycle over a 1 GB access log grown by 100 000 lines\n');
    const log = join(host.dir, 'log', 'bench.json.log');
    writeFileSync(log, '');
    truncateSync(log, 1024 ** 3); // sparse: a 1 GB log whose old bytes no reader should touch
    appendFileSync(log, '\n');
    const shell = shellFor();
    const driver = createProxyDriver({
      name: host.name,
      shell,
      proxy: config({ access_log: log, initial_read_bytes: 0 }),
      timeoutMs: 60_000,
    });
    await driver.apply({ desired });
    await driver.listSessions(); // first cycle: the reader takes its place at the end
    const cycles: number[] = [];
    const tails: number[] = [];
    const tailsSsh: number[] = [];
    let bytes = 0;
    for (let run = 1; run <= RUNS; run++) {
      const now = Date.now() / 1000;
      let text = '';
      for (let i = 0; i < 100_000; i++) {
        const uid = uids[(i * 7 + run) % 5000] as string;
        text += `{"t":${(now - 1 + i / 100_000).toFixed(3)},"u":"${uid}","s":200,"a":"10.9.${i % 250}.${i % 200}","m":"GET","p":"/mail/inbox/${i}","b":${1000 + (i % 5000)},"rt":0.0${i % 10}}\n`;
      }
      const before = statSync(log).size;
      appendFileSync(log, text);
      bytes = statSync(log).size - before;
      let t = performance.now();
      const sessions = await driver.listSessions();
      cycles.push(performance.now() - t);
      if (sessions.length !== 5000) throw new Error(`bench: ${sessions.length} sessions, expected 5000`);
      t = performance.now();
      const same = await shell.exec(['tail', '-c', String(bytes), log], { timeoutMs: 60_000 });
      tails.push(performance.now() - t);
      if (same.stdout.length !== bytes) throw new Error('bench: tail -c read a different amount');
      t = performance.now();
      const viaSsh = await exec([...sshArgv(host.ssh), '--', 'tail', '-c', String(bytes), log], {
        timeoutMs: 60_000,
        maxBytes: 64 * 1024 * 1024,
      });
      tailsSsh.push(performance.now() - t);
      if (viaSsh.code !== 0) throw new Error(`bench: ssh tail failed: ${viaSsh.stderr}`);
      console.log(
        `  run ${run}: ${(bytes / 1e6).toFixed(1)} MB new   cycle ${fmt(cycles.at(-1) as number)}   tail -c (same connection) ${fmt(tails.at(-1) as number)}   tail -c (ssh client) ${fmt(tailsSsh.at(-1) as number)}`,
      );
    }
    await driver.close();
    const ratioK = median(cycles) / median(tailsSsh);
    const strictK = median(cycles) / median(tails);
    console.log(
      `  median: cycle ${fmt(median(cycles))}   tail -c over SSH (ssh client) ${fmt(median(tailsSsh))}   tail -c on rac's own open connection ${fmt(median(tails))}`,
    );
    console.log(`  log size ${(statSync(log).size / 1024 ** 3).toFixed(2)} GiB`);
    console.log(
      `  ratio cycle / tail -c over SSH: ${ratioK.toFixed(2)}×   goal ≤ 2×   ${ratioK <= 2 ? 'MET' : 'MISSED'}`,
    );
    console.log(
      `  ratio cycle / tail -c on the same open connection (no handshake in the floor): ${strictK.toFixed(2)}×   ${strictK <= 2 ? 'MET' : 'MISSED'} against the same goal\n`,
    );
    rmSync(log, { force: true });
  }

  // ── L ──────────────────────────────────────────────────────────────────────────────────
  if (runs('L')) {
    console.log('L. nginx -t with a large allow map\n');
    for (const n of [5000, 50_000]) {
      const big = renderAllowMap(Array.from({ length: n }, (_, i) => ({ uid: `user${i}`, tier: 'public' as const })));
      writeFileSync(host.allowMap, big.text);
      writeFileSync(
        host.mapHashConf,
        `map_hash_max_size ${n * 2 > 2048 ? 2 ** Math.ceil(Math.log2(n * 2)) : 2048};\nmap_hash_bucket_size 128;\n`,
      );
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        const r = await sshRun(host.ssh, host.testCommand, { timeoutMs: 60_000 });
        times.push(performance.now() - t);
        if (r.code !== 0) throw new Error(`bench: nginx -t failed: ${r.stderr}`);
      }
      console.log(`  ${String(n).padStart(6)} entries: nginx -t over ssh ${fmt(median(times))}`);
    }
  }
  console.log(`\n  (system: ${execFileSync('nproc').toString().trim()} cores; ssh client ${SSH})`);
} finally {
  await host.stop();
  await directory.stop();
  await cleanupAll();
}
