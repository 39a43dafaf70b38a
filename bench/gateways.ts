/**
 * Part of npm run bench:onboard — the real stack: slapd (fsync on, memberof), 2 OpenVPN gateways
 * and a bastion in network namespaces, managed over SSH.
 *
 *  D. 5000 people (4500 vpn, 500 vpn-bastion) from empty onto LDAP + 2 gateways + 1 bastion, total
 *     and per system, against the floor measured in the same run on a fresh stack: the same LDAP
 *     changes by one ldapmodify, the same CCD files by one `tar` over the system `ssh` client per
 *     gateway, the same accounts by one run of the account script over `ssh` — hosts in parallel,
 *     as rac does. Goal ≤ 1.5× the floor.
 *  E. Revocation latency of 20 connected people, one `revoke` each, until verified. Goal p95 ≤ 2 s.
 *  F. Sequential exec latency over the SSH connection, with and without TCP_NODELAY.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CompanyPerson, generateCompany } from '../infra/local/company.ts';
import { generateOpensshPublicKey } from '../infra/local/ssh-keys.ts';
import { type LocalStack, startStack } from '../infra/local/stack.ts';
import { connectVpnClient, type VpnClient } from '../infra/local/vpn-clients.ts';
import { rosterFor } from '../infra/local/workspace.ts';
import { bastionCalls } from '../src/adapters/gateways/bastion/scripts.ts';
import { AS_ROOT, callArgv } from '../src/adapters/host-programs/program.ts';
import { createSshShell } from '../src/adapters/ssh/ssh-shell.ts';
import { composeServices } from '../src/compose.ts';
import { loadConfig } from '../src/config/load.ts';
import { renderAccountManifest } from '../src/core/bastion/account-script.ts';
import { escapeDnValue } from '../src/core/dn.ts';
import { renderCcd } from '../src/core/openvpn/render-ccd.ts';
import { Secret } from '../src/core/secret.ts';
import { quoteArgv } from '../src/core/shell-quote.ts';
import { writeTar } from '../src/core/tar.ts';
import { applyPlan } from '../src/services/apply-plan.ts';
import { planRoster } from '../src/services/plan-batch.ts';
import { revokeAccess } from '../src/services/revoke-access.ts';

const POLICY = 'default: { tier: public, max: vpn-bastion }\nrules: []\n';
const fmt = (ms: number) => `${ms.toFixed(0).padStart(6)} ms`;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] as number;

function workspace(stack: LocalStack): string {
  const dir = mkdtempSync(join(tmpdir(), 'rac-bench-gw-'));
  writeFileSync(join(dir, 'rac.yaml'), stack.config({ targetSessions: 100_000, sshTimeoutMs: 120_000 }));
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  return dir;
}

/** The system ssh client, as root on a stack host, with stdin from a buffer. */
function sshRun(
  host: { address: string; ssh: { privateKeyFile: string; knownHostsFile: string } },
  argv: string[],
  stdin: Uint8Array | string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'ssh',
      [
        '-i',
        host.ssh.privateKeyFile,
        '-o',
        `UserKnownHostsFile=${host.ssh.knownHostsFile}`,
        '-o',
        'BatchMode=yes',
        `root@${host.address}`,
        quoteArgv(argv),
      ],
      {
        stdio: ['pipe', 'ignore', 'pipe'],
      },
    );
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ssh ${argv[0]} exit ${code}: ${err}`))));
    child.stdin.end(stdin);
  });
}

export async function benchGateways(runs: number): Promise<void> {
  console.log('D. 5000 people (4500 vpn, 500 vpn-bastion) onto LDAP + 2 OpenVPN gateways + 1 bastion, from empty\n');
  const company = generateCompany(5000, { seed: 3 });
  const keys = new Map(company.slice(4500).map((p) => [p.uid, generateOpensshPublicKey('bench')]));
  const roster = rosterFor(company, (p) =>
    keys.has(p.uid) ? { tier: 'vpn-bastion', ssh_key: keys.get(p.uid) as string } : { tier: 'vpn' },
  );
  const totals: number[] = [];
  const floors: number[] = [];
  const perSystem: Record<string, number[]> = {};
  const floorPerSystem: Record<string, number[]> = {};
  const note = (table: Record<string, number[]>, key: string, ms: number) => {
    table[key] = [...(table[key] ?? []), ms];
  };
  for (let run = 1; run <= runs; run++) {
    // rac
    const stack = await startStack({ people: company, sync: true });
    const dir = workspace(stack);
    const services = composeServices(loadConfig({ path: join(dir, 'rac.yaml'), env: {} }), {
      actor: 'bench',
      logLevel: 'silent',
    });
    const plan = await planRoster(services, { bytes: new TextEncoder().encode(roster), file: 'bench.csv' });
    const t0 = performance.now();
    const report = await applyPlan(services, plan);
    const total = performance.now() - t0;
    if (report.status !== 'applied') throw new Error(`bench: apply ${report.status}`);
    totals.push(total);
    const hosts = Math.max(...report.systems.map((s) => s.durationMs));
    note(perSystem, 'ldap (incl. read-back)', total - hosts);
    for (const s of report.systems) note(perSystem, s.name, s.durationMs);
    // The exact CCD texts rac wrote, for the floor.
    const ccds = new Map<string, Array<{ name: string; text: string }>>();
    for (const g of stack.gateways) {
      const addresses = services.store.getAddresses(g.name);
      const netmask = '255.255.0.0';
      const routes = { vpn: ['10.100.0.0/16'], 'vpn-bastion': ['10.100.0.0/16', '10.101.0.0/16'] };
      ccds.set(
        g.name,
        [...addresses].map(([uid, a]) => ({
          name: uid,
          text: renderCcd({ uid, tier: a.tier, address: a.address, netmask, routes: routes[a.tier] }),
        })),
      );
    }
    await services.close();
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });

    // floor, on a fresh stack
    const bare = await startStack({ people: company, sync: true });
    const ldif: string[] = [];
    for (const tier of ['public', 'vpn', 'vpn-bastion'] as const) {
      const add = plan.systems.ldap.groups[tier].add;
      if (add.length > 0)
        ldif.push(
          `dn: ${bare.directory.groups[tier]}\nchangetype: modify\nadd: member\n${add.map((uid) => `member: uid=${escapeDnValue(uid)},${bare.directory.usersBase}`).join('\n')}\n-\n`,
        );
    }
    for (const uid of plan.systems.ldap.sshKeys)
      ldif.push(
        `dn: uid=${uid},${bare.directory.usersBase}\nchangetype: modify\nreplace: sshPublicKey\nsshPublicKey: ${keys.get(uid)}\n-\n`,
      );
    const ldifFile = join(tmpdir(), `rac-bench-${process.pid}.ldif`);
    writeFileSync(ldifFile, ldif.join('\n'));
    const f0 = performance.now();
    const ldap = spawnSync(
      'ldapmodify',
      [
        '-x',
        '-H',
        bare.directory.url,
        '-D',
        bare.directory.serviceDn,
        '-y',
        bare.directory.servicePasswordFile,
        '-f',
        ldifFile,
      ],
      { encoding: 'utf8' },
    );
    const f1 = performance.now();
    if (ldap.status !== 0) throw new Error(`bench: ldapmodify: ${ldap.stderr}`);
    note(floorPerSystem, 'ldap (incl. read-back)', f1 - f0);
    const manifest = renderAccountManifest(
      [...keys].map(([uid, key]) => ({ uid, state: 'present' as const, keys: [key] })),
      'shell', // as the stack's config (stack.config) has it
    );
    await Promise.all([
      ...bare.gateways.map(async (g) => {
        const s = performance.now();
        const tar = writeTar(
          (ccds.get(g.name) ?? []).map((c) => ({
            name: c.name,
            mode: 0o644,
            content: new TextEncoder().encode(c.text),
          })),
        );
        await sshRun(g, ['tar', '-xf', '-', '-C', `${g.ccdDir}/`], tar);
        note(floorPerSystem, g.name, performance.now() - s);
      }),
      ...bare.bastions.map(async (b) => {
        const s = performance.now();
        await sshRun(b, [...callArgv(bastionCalls().accounts, AS_ROOT)], manifest);
        note(floorPerSystem, b.name, performance.now() - s);
      }),
    ]);
    floors.push(performance.now() - f0);
    rmSync(ldifFile, { force: true });
    await bare.stop();
    console.log(`  run ${run}: rac ${fmt(total)}   floor ${fmt(floors.at(-1) as number)}`);
  }
  const med = (xs: number[]) => pct(xs, 50);
  console.log('');
  for (const [system, xs] of Object.entries(perSystem)) {
    const floor = floorPerSystem[system] ?? [];
    console.log(
      `  ${system.padEnd(24)} rac ${fmt(med(xs))}   floor ${fmt(med(floor))}   ${(med(xs) / med(floor)).toFixed(2)}×`,
    );
  }
  const ratio = med(totals) / med(floors);
  console.log(
    `  ${'total'.padEnd(24)} rac ${fmt(med(totals))}   floor ${fmt(med(floors))}   ${ratio.toFixed(2)}×   goal ≤ 1.5×   ${ratio <= 1.5 ? 'MET' : 'MISSED'}\n`,
  );

  console.log('E. revocation latency: 20 connected people, one rac revoke each, until verified\n');
  const people = generateCompany(60, { seed: 9 });
  const stack = await startStack({
    people,
    memberships: new Map(people.map((p) => [p.uid, 'vpn' as const])),
    sync: true,
  });
  const dir = workspace(stack);
  const services = composeServices(loadConfig({ path: join(dir, 'rac.yaml'), env: {} }), {
    actor: 'bench',
    logLevel: 'silent',
  });
  const clients: VpnClient[] = [];
  try {
    // Put everyone on the gateways (the directory already has them in the vpn group).
    const seed = await applyPlan(
      services,
      await planRoster(services, {
        bytes: new TextEncoder().encode(rosterFor(people, () => ({ tier: 'vpn' }))),
        file: 'e.csv',
      }),
    );
    if (seed.systems.some((s) => s.status !== 'applied')) throw new Error('bench: gateways not applied');
    const victims: CompanyPerson[] = people.slice(0, 20);
    for (const [i, p] of victims.entries()) {
      const client = await connectVpnClient({
        gateway: stack.gateways[i % 2] as never,
        username: p.uid,
        password: p.password,
        timeoutMs: 15_000,
      });
      if (client.outcome !== 'connected') throw new Error(`bench: ${p.uid} did not connect: ${client.outcome}`);
      clients.push(client);
    }
    const latencies: number[] = [];
    for (const [i, p] of victims.entries()) {
      const r = await revokeAccess(services, [p.uid]);
      if (!r.verified) throw new Error(`bench: revocation of ${p.uid} not verified`);
      if (!(await (clients[i] as VpnClient).waitForExit(5_000)))
        throw new Error(`bench: client of ${p.uid} still running`);
      latencies.push(r.latencyMs);
    }
    const p50 = pct(latencies, 50);
    const p95 = pct(latencies, 95);
    console.log(
      `  20 revocations: p50 ${fmt(p50)}   p95 ${fmt(p95)}   max ${fmt(Math.max(...latencies))}   goal p95 ≤ 2000 ms   ${p95 <= 2000 ? 'MET' : 'MISSED'}`,
    );
    console.log(
      '  (each: LDAP removal, CCD swap on both gateways, account check on the bastion, client-kill HALT, verification)\n',
    );

    console.log('F. sequential exec latency over one SSH connection (100 × true)\n');
    const g = stack.gateways[0];
    if (g === undefined) throw new Error('bench: no gateway');
    for (const noDelay of [true, false]) {
      const sh = createSshShell({
        name: 'bench',
        host: g.address,
        port: 22,
        user: 'root',
        privateKey: new Secret(g.ssh.privateKey),
        hostKey: g.ssh.hostKeyLine.split(' ').slice(1, 3).join(' '),
        tcpNoDelay: noDelay,
      });
      await sh.exec(['true']);
      const s = performance.now();
      for (let i = 0; i < 100; i++) await sh.exec(['true']);
      console.log(
        `  ${noDelay ? 'TCP_NODELAY on (rac)' : 'TCP_NODELAY off (ssh2 default)'}: ${((performance.now() - s) / 100).toFixed(1)} ms per exec`,
      );
      await sh.close();
    }
  } finally {
    for (const c of clients) await c.stop();
    await services.close();
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  // After E's finally (and F, which reuses E's stack): E2 starts its own stack, so only one runs
  // while it is timed.
  console.log('');
  await benchRevokeDuringApply();
}

/**
 * E2. Revocation while a 5000-person apply runs (waves of 100, a separate rac process's worth of
 * connections): 10 connected people, revoked one after another, each timed until verified.
 */
export async function benchRevokeDuringApply(): Promise<void> {
  console.log('E2. revocation of a connected person while a 5000-person apply runs (10 people, one at a time)\n');
  const people = generateCompany(5010, { seed: 12 });
  const victims = people.slice(0, 10);
  const stack = await startStack({
    people,
    memberships: new Map(victims.map((p) => [p.uid, 'vpn' as const])),
    sync: true,
  });
  const dir = workspace(stack);
  const open = () =>
    composeServices(loadConfig({ path: join(dir, 'rac.yaml'), env: {} }), { actor: 'bench', logLevel: 'silent' });
  const applying = open();
  const revoking = open();
  const clients: VpnClient[] = [];
  try {
    // The victims already have the VPN: put them on the gateways and connect them.
    await applyPlan(
      applying,
      await planRoster(applying, {
        bytes: new TextEncoder().encode(rosterFor(victims, () => ({ tier: 'vpn' }))),
        file: 'victims.csv',
      }),
    );
    for (const [i, p] of victims.entries()) {
      const client = await connectVpnClient({
        gateway: stack.gateways[i % 2] as never,
        username: p.uid,
        password: p.password,
        timeoutMs: 15_000,
      });
      if (client.outcome !== 'connected') throw new Error(`bench: ${p.uid} did not connect: ${client.outcome}`);
      clients.push(client);
    }
    const plan = await planRoster(applying, {
      bytes: new TextEncoder().encode(rosterFor(people.slice(10), () => ({ tier: 'vpn' }))),
      file: 'everyone.csv',
    });
    let applyDone = false;
    const t0 = performance.now();
    const running = applyPlan(applying, plan, { waveSize: 100 }).finally(() => {
      applyDone = true;
    });
    await new Promise((r) => setTimeout(r, 300));
    const latencies: number[] = [];
    let during = 0;
    for (const [i, p] of victims.entries()) {
      const wasRunning = !applyDone;
      const r = await revokeAccess(revoking, [p.uid]);
      if (!r.verified) throw new Error(`bench: revocation of ${p.uid} not verified`);
      if (!(await (clients[i] as VpnClient).waitForExit(5_000))) throw new Error(`bench: ${p.uid} still connected`);
      latencies.push(r.latencyMs);
      if (wasRunning && !applyDone) during++;
    }
    const report = await running;
    const applyMs = performance.now() - t0;
    const p50 = pct(latencies, 50);
    const p95 = pct(latencies, 95);
    console.log(
      `  ${latencies.length} revocations (${during} while the apply ran, which took ${(applyMs / 1000).toFixed(1)} s, ${report.status}): p50 ${fmt(p50)}   p95 ${fmt(p95)}   max ${fmt(Math.max(...latencies))}   goal p95 ≤ 2000 ms   ${p95 <= 2000 ? 'MET' : 'MISSED'}\n`,
    );
  } finally {
    for (const c of clients) await c.stop();
    await applying.close();
    await revoking.close();
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
