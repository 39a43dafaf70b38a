/**
 * npm run bench:wireguard — one real WireGuard gateway (wireguard-go in a network namespace,
 * managed over its sshd), 5000 peers.
 *
 *  J. Apply 5000 peers (4500 vpn, 500 vpn-bastion) from empty with the driver — a fresh SSH
 *     connection, observe (`wg show dump` + the peer file), render, one exec that writes the peer
 *     file and runs `wg syncconf` — against the floor measured in the same run: `wg syncconf` of
 *     the same peer set, prepared as a file on the gateway, by hand over the system ssh client.
 *  K. Re-apply with 100 people changed (new keys), the same way against the same floor.
 * Goal ≤ 1.5× the floor. Each figure is the median of RUNS runs, both sides from the same start.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupAll, newRunId } from '../infra/local/netns.ts';
import { sshArgv, sshRun } from '../infra/local/ssh-host.ts';
import { startWireGuardGateway, type WireGuardGateway } from '../infra/local/wireguard-gateway.ts';
import { createWireGuardDriver } from '../src/adapters/gateways/wireguard/driver.ts';
import { createSshShell } from '../src/adapters/ssh/ssh-shell.ts';
import { allocateAddresses } from '../src/core/openvpn/allocate-addresses.ts';
import { Secret } from '../src/core/secret.ts';
import { generateWireGuardKeyPair } from '../src/core/wireguard/keys.ts';
import { renderPeerSet } from '../src/core/wireguard/render-peers.ts';
import type { GatewayDriver, GatewayGrant } from '../src/ports.ts';

const PEOPLE = 5000;
const CHANGED = 100;
const RUNS = Number(process.env['RUNS'] ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const fmt = (ms: number) => `${ms.toFixed(0).padStart(6)} ms`;

function driverFor(gateway: WireGuardGateway): GatewayDriver {
  return createWireGuardDriver({
    name: gateway.name,
    shell: createSshShell({
      name: gateway.name,
      host: gateway.address,
      port: gateway.ssh.port,
      user: 'root',
      privateKey: new Secret(gateway.ssh.privateKey),
      hostKey: gateway.ssh.hostKeyLine,
      defaultTimeoutMs: 120_000,
    }),
    timeoutMs: 120_000,
    wireguard: { interface: 'wg0', peers_file: gateway.peersFile, public_key: gateway.publicKey },
  });
}

/** The floor: the system ssh client runs `wg syncconf wg0 <file>` on the gateway. */
function syncconfByHand(gateway: WireGuardGateway, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(
      sshArgv(gateway.ssh)[0] as string,
      [...sshArgv(gateway.ssh).slice(1), '--', `wg syncconf wg0 ${file}`],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('close', (code) =>
      code === 0 ? resolve(performance.now() - started) : reject(new Error(`ssh wg syncconf: exit ${code}: ${err}`)),
    );
  });
}

async function peerCount(gateway: WireGuardGateway): Promise<number> {
  const r = await gateway.wg(['show', 'wg0', 'peers']);
  return r.stdout.trim() === '' ? 0 : r.stdout.trim().split('\n').length;
}

async function main(): Promise<void> {
  const runId = newRunId();
  const gateway = await startWireGuardGateway({ name: 'wg-bench', index: 4, runId });
  try {
    const uids = Array.from({ length: PEOPLE }, (_, i) => `p${String(i).padStart(5, '0')}`);
    const tiers = new Map(uids.map((uid, i) => [uid, i < 4500 ? ('vpn' as const) : ('vpn-bastion' as const)]));
    const [a, b] = gateway.serverNetwork.split('.') as [string, string];
    const allocation = allocateAddresses({
      pools: { vpn: `${a}.${b}.0.0/19`, 'vpn-bastion': `${a}.${b}.32.0/22` },
      serverNetwork: gateway.serverNetwork,
      current: new Map(),
      wanted: tiers,
    });
    const keys = new Map(uids.map((uid) => [uid, generateWireGuardKeyPair().publicKey]));
    const grants = (keyOf: (uid: string) => string) =>
      new Map<string, GatewayGrant>(
        [...allocation.assignments].map(([uid, x]) => [
          uid,
          { uid, tier: x.tier, address: x.address, publicKey: keyOf(uid) },
        ]),
      );
    const full = grants((uid) => keys.get(uid) as string);
    const changedKeys = new Map(uids.slice(0, CHANGED).map((uid) => [uid, generateWireGuardKeyPair().publicKey]));
    const changed = grants((uid) => changedKeys.get(uid) ?? (keys.get(uid) as string));

    // The floor's files: the same peer sets, behind the gateway's own interface section (which
    // `wg syncconf` needs, or it resets the key), assembled on the gateway.
    const files: Record<'full' | 'changed', string> = { full: '', changed: '' };
    for (const [name, set] of [
      ['full', full],
      ['changed', changed],
    ] as const) {
      const peers = join(gateway.dataDir, `bench-${name}.peers`);
      writeFileSync(
        peers,
        renderPeerSet([...set.values()].map((g) => ({ ...(g as Required<GatewayGrant>), tier: g.tier as 'vpn' }))),
      );
      files[name] = join(gateway.dataDir, `bench-${name}.conf`);
      const built = await sshRun(gateway.ssh, [
        'sh',
        '-c',
        'umask 077; conf=$(wg showconf wg0); { printf "%s\\n" "$conf" | sed -n "/^\\[Peer\\]/q;p"; cat "$1"; } > "$2"',
        'sh',
        peers,
        files[name],
      ]);
      if (built.code !== 0) throw new Error(`preparing ${name}: ${built.stderr}`);
    }

    const setup = driverFor(gateway);
    const reset = async (to: Map<string, GatewayGrant>) => {
      await setup.apply({ desired: to });
      const n = await peerCount(gateway);
      if (n !== to.size) throw new Error(`reset: ${n} peers, wanted ${to.size}`);
    };
    const results = {
      fromEmpty: [] as number[],
      floorEmpty: [] as number[],
      changed: [] as number[],
      floorChanged: [] as number[],
    };
    const raced = async (desired: Map<string, GatewayGrant>) => {
      // A fresh SSH connection, as a fresh `rac apply` has.
      const driver = driverFor(gateway);
      const started = performance.now();
      const report = await driver.apply({ desired });
      const ms = performance.now() - started;
      await driver.close();
      if (!report.wrote) throw new Error('the driver wrote nothing');
      return { ms, report };
    };
    for (let run = 1; run <= RUNS; run++) {
      await reset(new Map());
      const j = await raced(full);
      if (j.report.added.length !== PEOPLE || (await peerCount(gateway)) !== PEOPLE)
        throw new Error('J: not 5000 peers');
      results.fromEmpty.push(j.ms);
      await reset(new Map());
      results.floorEmpty.push(await syncconfByHand(gateway, files.full));
      if ((await peerCount(gateway)) !== PEOPLE) throw new Error('J floor: not 5000 peers');

      await reset(full);
      const k = await raced(changed);
      if (k.report.changed.length !== CHANGED || k.report.unchanged !== PEOPLE - CHANGED)
        throw new Error(`K: changed ${k.report.changed.length}`);
      results.changed.push(k.ms);
      await reset(full);
      results.floorChanged.push(await syncconfByHand(gateway, files.changed));
      console.error(`run ${run}/${RUNS} done`);
    }
    await setup.close();

    const row = (label: string, ms: number[], floor: number[]) => {
      const m = median(ms);
      const f = median(floor);
      console.log(`  ${label.padEnd(44)} rac ${fmt(m)}   floor ${fmt(f)}   ratio ${(m / f).toFixed(2)}× (goal ≤ 1.5×)`);
    };
    console.log(`\nJ/K. ${PEOPLE} WireGuard peers on one wireguard-go gateway over SSH (median of ${RUNS} runs)\n`);
    row(`J. ${PEOPLE} peers from empty`, results.fromEmpty, results.floorEmpty);
    row(`K. re-apply, ${CHANGED} changed`, results.changed, results.floorChanged);
    console.log(
      `\n  runs (ms): J ${results.fromEmpty.map((x) => x.toFixed(0)).join(' ')} | floor ${results.floorEmpty.map((x) => x.toFixed(0)).join(' ')}`,
    );
    console.log(
      `             K ${results.changed.map((x) => x.toFixed(0)).join(' ')} | floor ${results.floorChanged.map((x) => x.toFixed(0)).join(' ')}`,
    );
  } finally {
    await gateway.stop();
    await cleanupAll();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exitCode = 1;
});
