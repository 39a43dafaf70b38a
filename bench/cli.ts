/**
 * npm run bench:cli — the CLI as a process, the way IT runs it.
 *
 *  C1. `rac --help`, median wall time over 10 runs, against a bare `node -e 0` on the same Node
 *      in the same run. Goal ≤ 2×.
 *  C2. `rac revoke <uid>` of one connected person on the local stack (2 OpenVPN gateways and a
 *      bastion), whole process until verified, 10 people. Goal p95 ≤ 1 s.
 *  C3. `rac plan` of a 50 000-person roster against 50 000 people (whole process, GNU time), 5 runs,
 *      against ldapsearch reading the same entries. Goals ≤ 3× and peak RSS ≤ 300 MB in every run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type CompanyPerson, generateCompany } from '../infra/local/company.ts';
import { type SeedTier, startDirectory } from '../infra/local/directory.ts';
import { generateOpensshPublicKey } from '../infra/local/ssh-keys.ts';
import { startStack } from '../infra/local/stack.ts';
import { connectVpnClient, type VpnClient } from '../infra/local/vpn-clients.ts';
import { configFor, rosterFor } from '../infra/local/workspace.ts';
import { EXAMPLE_POLICY } from '../src/cli/commands/init.ts';

const ROOT = resolve(import.meta.dirname, '..');
const RAC = join(ROOT, 'bin/rac');
const NODE = join(ROOT, 'node_modules/.bin/node');
const fmt = (ms: number) => `${ms.toFixed(0).padStart(6)} ms`;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] as number;

function timed(argv: string[], cwd = ROOT): number {
  const t = performance.now();
  const r = spawnSync(argv[0] as string, argv.slice(1), { cwd, stdio: 'ignore' });
  if (r.status !== 0 && !(argv.includes('--help') && r.status === 0)) {
    if (r.status !== 0) throw new Error(`bench: ${argv.join(' ')} exited ${r.status}`);
  }
  return performance.now() - t;
}

const only = process.env['BENCH_ONLY'];
const runs = (c: string) => only === undefined || only.split(',').includes(c);

// ── C1 ─────────────────────────────────────────────────────────────────────────────────────
if (runs('C1')) {
  console.log('C1. rac --help against a bare node -e 0 (median of 10, whole process)\n');
  timed([RAC, '--help']);
  timed([NODE, '-e', '0']);
  const help: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < 10; i++) {
    help.push(timed([RAC, '--help']));
    bare.push(timed([NODE, '-e', '0']));
  }
  const ratio1 = pct(help, 50) / pct(bare, 50);
  const rss = spawnSync('/usr/bin/time', ['-f', '%M', RAC, '--help'], { encoding: 'utf8' });
  console.log(
    `  rac --help ${fmt(pct(help, 50))}   node -e 0 ${fmt(pct(bare, 50))}   ${ratio1.toFixed(2)}×   goal ≤ 2×   ${ratio1 <= 2 ? 'MET' : 'MISSED'}   (peak RSS ${(Number(rss.stderr.trim().split('\n').at(-1)) / 1024).toFixed(0)} MiB)\n`,
  );
}

// ── C2 ─────────────────────────────────────────────────────────────────────────────────────
if (runs('C2')) {
  console.log('C2. rac revoke of one connected person, whole process, 2 OpenVPN gateways + a bastion (10 people)\n');
  const people = generateCompany(40, { seed: 77 });
  const victims = people.slice(0, 10);
  const stack = await startStack({ people, memberships: new Map(victims.map((p) => [p.uid, 'vpn' as const])) });
  const dir = mkdtempSync(join(tmpdir(), 'rac-bench-cli-'));
  const clients: VpnClient[] = [];
  try {
    writeFileSync(join(dir, 'rac.yaml'), stack.config());
    writeFileSync(join(dir, 'policy.yaml'), 'default: { tier: public, max: vpn-bastion }\nrules: []\n');
    if (spawnSync(RAC, ['drift', '--fix'], { cwd: dir }).status !== 0) throw new Error('bench: drift --fix failed');
    for (const [i, p] of victims.entries()) {
      const c = await connectVpnClient({
        gateway: stack.gateways[i % 2] as never,
        username: p.uid,
        password: p.password,
        timeoutMs: 15_000,
      });
      if (c.outcome !== 'connected') throw new Error(`bench: ${p.uid} did not connect`);
      clients.push(c);
    }
    const times: number[] = [];
    for (const [i, p] of victims.entries()) {
      times.push(timed([RAC, 'revoke', p.uid], dir));
      if (!(await (clients[i] as VpnClient).waitForExit(5_000))) throw new Error(`bench: ${p.uid} still connected`);
    }
    const p95 = pct(times, 95);
    console.log(
      `  p50 ${fmt(pct(times, 50))}   p95 ${fmt(p95)}   max ${fmt(Math.max(...times))}   goal p95 ≤ 1000 ms   ${p95 <= 1000 ? 'MET' : 'MISSED'}\n`,
    );
  } finally {
    for (const c of clients) await c.stop();
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ── C3 ─────────────────────────────────────────────────────────────────────────────────────
if (runs('C3')) {
  console.log('C3. rac plan of 50 000 people against 50 000 (whole process, GNU time, 5 runs)\n');
  const big = generateCompany(50_000, { seed: 7 });
  const seeded = new Map<string, SeedTier>(big.slice(0, 20_000).map((p, i) => [p.uid, i < 3000 ? 'vpn' : 'public']));
  const directory = await startDirectory({ people: big, memberships: seeded, sync: true });
  const dir = mkdtempSync(join(tmpdir(), 'rac-bench-cli-'));
  try {
    writeFileSync(
      join(dir, 'rac.yaml'),
      configFor(directory).replace('target_sessions: 5000', 'target_sessions: 100000'),
    );
    writeFileSync(join(dir, 'policy.yaml'), EXAMPLE_POLICY);
    // Tech-centre people may get vpn-bastion by policy: they come with a key, as onboard's case B.
    const keys = new Map(
      big.filter((p) => p.department === '技术中心').map((p) => [p.uid, generateOpensshPublicKey('bench')]),
    );
    writeFileSync(
      join(dir, 'big.csv'),
      rosterFor(big, (p: CompanyPerson) => ({ ssh_key: keys.get(p.uid) ?? '' })),
    );
    const results: Array<{ ms: number; mb: number; floor: number }> = [];
    for (let run = 1; run <= 5; run++) {
      const out = spawnSync('/usr/bin/time', ['-f', '%e %M', RAC, 'plan', 'big.csv', '--out', 'big.plan.json'], {
        cwd: dir,
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      });
      if (out.status !== 0) throw new Error(`bench: plan failed: ${out.stderr}`);
      const [s, kib] = (out.stderr.trim().split('\n').at(-1) as string).split(' ').map(Number) as [number, number];
      const floor = timed(
        [
          'ldapsearch',
          '-x',
          '-LLL',
          '-E',
          'pr=1000/noprompt',
          '-H',
          directory.url,
          '-D',
          directory.serviceDn,
          '-y',
          directory.servicePasswordFile,
          '-b',
          directory.usersBase,
          '(uid=*)',
          'uid',
          'cn',
          'displayName',
          'ou',
          'departmentNumber',
          'title',
          'sshPublicKey',
        ],
        dir,
      );
      results.push({ ms: s * 1000, mb: (kib * 1024) / 1e6, floor });
      console.log(
        `  run ${run}: rac plan ${fmt(s * 1000)}   peak RSS ${((kib * 1024) / 1e6).toFixed(0)} MB   ldapsearch ${fmt(floor)}`,
      );
    }
    const ratio =
      pct(
        results.map((r) => r.ms),
        50,
      ) /
      pct(
        results.map((r) => r.floor),
        50,
      );
    const worst = Math.max(...results.map((r) => r.mb));
    console.log(
      `\n  median ratio ${ratio.toFixed(2)}×   goal ≤ 3×   ${ratio <= 3 ? 'MET' : 'MISSED'};   worst peak RSS ${worst.toFixed(0)} MB   goal ≤ 300 MB every run   ${worst <= 300 ? 'MET' : 'MISSED'}`,
    );
  } finally {
    await directory.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
process.exit(0);
