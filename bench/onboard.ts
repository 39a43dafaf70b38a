/**
 * npm run bench:onboard — onboarding against a real slapd with fsync on and the memberof overlay.
 *
 *  A. 5000-person roster, plan + apply from empty, against the floor measured in the same run:
 *     the same membership (and sshPublicKey) changes applied by one `ldapmodify` as the same
 *     service account, one modify per group. Goal: apply ≤ 1.5× the floor.
 *  B. plan of a 50 000-person roster against a directory of 50 000 people. Goal: ≤ 2 s and
 *     ≤ 300 MB peak RSS of the whole `rac plan` process (measured with GNU time); baseline:
 *     ldapsearch reading the same people and groups.
 *  C. roster parsing (50 000 rows) against a naive split of the same text.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type CompanyPerson, generateCompany } from '../infra/local/company.ts';
import { type LocalDirectory, type SeedTier, startDirectory } from '../infra/local/directory.ts';
import { memberUids } from '../infra/local/ldapsearch.ts';
import { generateOpensshPublicKey } from '../infra/local/ssh-keys.ts';
import { configFor, rosterFor } from '../infra/local/workspace.ts';
import { EXAMPLE_POLICY } from '../src/cli/commands/init.ts';
import { composeServices } from '../src/compose.ts';
import { loadConfig } from '../src/config/load.ts';
import { escapeDnValue } from '../src/core/dn.ts';
import { parseCsv } from '../src/core/roster/parse-csv.ts';
import { parseRoster } from '../src/core/roster/validate-roster.ts';
import { applyPlan } from '../src/services/apply-plan.ts';
import { planRoster } from '../src/services/plan-batch.ts';
import { benchGateways } from './gateways.ts';

const ROOT = resolve(import.meta.dirname, '..');
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const fmt = (ms: number) => `${ms.toFixed(0).padStart(6)} ms`;

function workspace(directory: LocalDirectory): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rac-bench-'));
  writeFileSync(
    join(dir, 'rac.yaml'),
    configFor(directory).replace('target_sessions: 5000', 'target_sessions: 100000'),
  );
  writeFileSync(join(dir, 'policy.yaml'), EXAMPLE_POLICY);
  return { dir, config: join(dir, 'rac.yaml') };
}

// ── A ──────────────────────────────────────────────────────────────────────────────────────
console.log('A. 5000 people onto an empty directory (slapd, fsync on, memberof + refint)\n');
const company = generateCompany(5000, { seed: 42 });
const keys = new Map(
  company.filter((p) => p.department === '技术中心').map((p) => [p.uid, generateOpensshPublicKey('bench')]),
);
const rosterText = rosterFor(company, (p) => ({ ssh_key: keys.get(p.uid) ?? '' }));
const plans: number[] = [];
const applies: number[] = [];
const floors: number[] = [];
let modifies = 0;
for (let run = 1; run <= RUNS; run++) {
  const directory = await startDirectory({ people: company, sync: true });
  const ws = workspace(directory);
  const services = composeServices(loadConfig({ path: ws.config, env: {} }), { actor: 'bench', logLevel: 'silent' });
  let t = performance.now();
  const plan = await planRoster(services, { bytes: new TextEncoder().encode(rosterText), file: 'bench.csv' });
  plans.push(performance.now() - t);
  t = performance.now();
  const report = await applyPlan(services, plan);
  applies.push(performance.now() - t);
  modifies = report.ldap.modifies;
  if (report.status !== 'applied' || (await memberUids(directory, 'public')).size !== 5000)
    throw new Error('bench: apply did not converge');
  await services.close();
  await directory.stop();

  // The floor: exactly the changes the plan made, as one ldapmodify run.
  const floorDir = await startDirectory({ people: company, sync: true });
  const ldif: string[] = [];
  for (const tier of ['public', 'vpn', 'vpn-bastion'] as const) {
    const add = plan.systems.ldap.groups[tier].add;
    if (add.length === 0) continue;
    ldif.push(
      `dn: ${floorDir.groups[tier]}\nchangetype: modify\nadd: member\n${add.map((uid) => `member: uid=${escapeDnValue(uid)},${floorDir.usersBase}`).join('\n')}\n-\n`,
    );
  }
  for (const uid of plan.systems.ldap.sshKeys) {
    ldif.push(
      `dn: uid=${uid},${floorDir.usersBase}\nchangetype: modify\nreplace: sshPublicKey\nsshPublicKey: ${keys.get(uid)}\n-\n`,
    );
  }
  const ldifFile = join(ws.dir, 'floor.ldif');
  writeFileSync(ldifFile, ldif.join('\n'));
  t = performance.now();
  const result = spawnSync(
    'ldapmodify',
    ['-x', '-H', floorDir.url, '-D', floorDir.serviceDn, '-y', floorDir.servicePasswordFile, '-f', ldifFile],
    { encoding: 'utf8' },
  );
  floors.push(performance.now() - t);
  if (result.status !== 0) throw new Error(`bench: ldapmodify failed: ${result.stderr}`);
  if ((await memberUids(floorDir, 'public')).size !== 5000) throw new Error('bench: floor did not apply');
  await floorDir.stop();
  rmSync(ws.dir, { recursive: true, force: true });
  console.log(
    `  run ${run}: plan ${fmt(plans.at(-1) as number)}   apply ${fmt(applies.at(-1) as number)}   floor ${fmt(floors.at(-1) as number)}`,
  );
}
const ratioA = median(applies) / median(floors);
console.log(
  `\n  median over ${RUNS} runs: plan ${fmt(median(plans))}   apply ${fmt(median(applies))} (${modifies} LDAP modifies: 3 groups + ${keys.size} sshPublicKey writes)`,
);
console.log(`  floor (ldapmodify, same changes): ${fmt(median(floors))}`);
console.log(`  ratio apply / floor: ${ratioA.toFixed(2)}×   goal ≤ 1.5×   ${ratioA <= 1.5 ? 'MET' : 'MISSED'}\n`);

// ── B ──────────────────────────────────────────────────────────────────────────────────────
console.log('B. plan of a 50 000-person roster against a directory of 50 000 people\n');
const big = generateCompany(50_000, { seed: 7 });
const seeded = new Map<string, SeedTier>(big.slice(0, 20_000).map((p, i) => [p.uid, i < 3000 ? 'vpn' : 'public']));
const bigDir = await startDirectory({ people: big, memberships: seeded, sync: true });
const ws = workspace(bigDir);
const rosterPath = join(ws.dir, 'big.csv');
const bigKeys = new Map(
  big.filter((p) => p.department === '技术中心').map((p) => [p.uid, generateOpensshPublicKey('bench')]),
);
writeFileSync(
  rosterPath,
  rosterFor(big, (p: CompanyPerson) => ({ ssh_key: bigKeys.get(p.uid) ?? '' })),
);
const planRuns: { ms: number; maxRssMiB: number }[] = [];
const readFloors: number[] = [];
for (let run = 1; run <= RUNS; run++) {
  // The real CLI, as IT runs it, under GNU time for its peak RSS.
  const out = spawnSync(
    '/usr/bin/time',
    ['-f', '%e %M', join(ROOT, 'bin/rac'), 'plan', rosterPath, '--out', join(ws.dir, 'big.plan.json')],
    { cwd: ws.dir, encoding: 'utf8', maxBuffer: 1 << 28 },
  );
  if (out.status !== 0) throw new Error(`bench: plan failed: ${out.stderr}`);
  const [seconds, kib] = (out.stderr.trim().split('\n').at(-1) as string).split(' ').map(Number) as [number, number];
  const r = { ms: seconds * 1000, maxRssMiB: kib / 1024 };
  planRuns.push(r);
  const t = performance.now();
  const people = spawnSync(
    'ldapsearch',
    [
      '-x',
      '-LLL',
      '-E',
      'pr=1000/noprompt',
      '-H',
      bigDir.url,
      '-D',
      bigDir.serviceDn,
      '-y',
      bigDir.servicePasswordFile,
      '-b',
      bigDir.usersBase,
      '(uid=*)',
      'uid',
      'cn',
      'displayName',
      'ou',
      'title',
      'sshPublicKey',
    ],
    { maxBuffer: 1 << 30 },
  );
  for (const group of Object.values(bigDir.groups)) {
    spawnSync(
      'ldapsearch',
      [
        '-x',
        '-LLL',
        '-H',
        bigDir.url,
        '-D',
        bigDir.serviceDn,
        '-y',
        bigDir.servicePasswordFile,
        '-s',
        'base',
        '-b',
        group,
        'member',
      ],
      { maxBuffer: 1 << 30 },
    );
  }
  readFloors.push(performance.now() - t);
  if (people.status !== 0) throw new Error('bench: ldapsearch failed');
  const summary = /(\d+) grant · (\d+) upgrade · \d+ downgrade · \d+ revoke · \d+ update · (\d+) unchanged/.exec(
    out.stdout,
  );
  console.log(
    `  run ${run}: rac plan ${fmt(r.ms)}   peak RSS ${r.maxRssMiB.toFixed(0)} MiB   (${summary?.[1]} grant, ${summary?.[2]} upgrade, ${summary?.[3]} unchanged)   ldapsearch read ${fmt(readFloors.at(-1) as number)}`,
  );
}
await bigDir.stop();
rmSync(ws.dir, { recursive: true, force: true });
const planMs = median(planRuns.map((r) => r.ms));
const rss = median(planRuns.map((r) => r.maxRssMiB));
const rssMax = Math.max(...planRuns.map((r) => r.maxRssMiB));
console.log(`\n  median plan ${fmt(planMs)}   goal ≤ 2000 ms   ${planMs <= 2000 ? 'MET' : 'MISSED'}`);
console.log(
  `  peak RSS median ${rss.toFixed(0)} MiB = ${(rss * 1.048576).toFixed(0)} MB, worst ${rssMax.toFixed(0)} MiB = ${(rssMax * 1.048576).toFixed(0)} MB (whole process: Node and its modules are ~100 MiB of it)   goal ≤ 300 MB   ${rss * 1.048576 <= 300 ? 'MET' : 'MISSED'}${rssMax * 1.048576 > 300 ? ' in the median, not in every run' : ''}`,
);
console.log(
  `  baseline (ldapsearch reading the same people and groups): ${fmt(median(readFloors))}; ratio ${(planMs / median(readFloors)).toFixed(2)}×\n`,
);

// ── C ──────────────────────────────────────────────────────────────────────────────────────
console.log('C. roster parsing, 50 000 rows with ssh keys (in process)\n');
const bigText = rosterFor(big, (p: CompanyPerson) => ({ ssh_key: bigKeys.get(p.uid) ?? '' }));
const bytes = new TextEncoder().encode(bigText);
const csvTimes: number[] = [];
const rosterTimes: number[] = [];
const naiveTimes: number[] = [];
for (let i = 0; i < 5; i++) {
  let t = performance.now();
  bigText.split('\n').map((line) => line.split(','));
  naiveTimes.push(performance.now() - t);
  t = performance.now();
  parseCsv(bigText);
  csvTimes.push(performance.now() - t);
  t = performance.now();
  parseRoster(bytes, { today: '2026-11-26' });
  rosterTimes.push(performance.now() - t);
}
console.log(
  `  naive split (baseline) ${fmt(median(naiveTimes))}   parseCsv ${fmt(median(csvTimes))} (${(median(csvTimes) / median(naiveTimes)).toFixed(2)}×)   parseRoster incl. decoding and validation ${fmt(median(rosterTimes))}`,
);

// ── D, E, F, E2: gateways and bastion ─────────────────────────────────────────────────────────
console.log('');
await benchGateways(RUNS);
