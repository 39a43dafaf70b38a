/**
 * The main job, on a real local stack: a private slapd seeded with a synthetic company of 2000
 * people, and `rac` run exactly as IT would run it. Everything is stopped and removed at the end.
 *
 *   npm run demo            (KEEP=1 keeps the workspace and prints where it is)
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type CompanyPerson, generateCompany } from '../infra/local/company.ts';
import { startDirectory } from '../infra/local/directory.ts';
import { memberUids } from '../infra/local/ldapsearch.ts';
import { configFor, rosterFor } from '../infra/local/workspace.ts';
import { EXAMPLE_POLICY } from '../src/cli/commands/init.ts';

const ROOT = resolve(import.meta.dirname, '..');
const RAC = join(ROOT, 'bin/rac');
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

function step(title: string): void {
  console.log(`\n${bold(`━━ ${title} `.padEnd(100, '━'))}`);
}

function rac(workspace: string, args: string[], env: Record<string, string> = {}): { code: number; stdout: string } {
  console.log(bold(`$ rac ${args.join(' ')}`));
  const result = spawnSync(RAC, args, {
    cwd: workspace,
    env: { ...process.env, RAC_ACTOR: 'it:demo', RAC_NO_PROGRESS: '1', ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  process.stdout.write(result.stdout);
  console.log(`(exit ${result.status})`);
  return { code: result.status ?? 1, stdout: result.stdout };
}

function expectCode(actual: number, wanted: number, what: string): void {
  if (actual !== wanted) throw new Error(`demo: ${what} exited ${actual}, expected ${wanted}`);
}

function opensshKey(comment: string): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const type = Buffer.from('ssh-ed25519');
  const blob = Buffer.concat([u32(type.length), type, u32(raw.length), raw]);
  return `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

const started = performance.now();
const company = generateCompany(2000, { seed: 2026 });
const tech = company.filter((p) => p.department === '技术中心');
// The old system: 120 engineers of the tech centre already had the VPN.
const existing = new Map(tech.slice(0, 120).map((p) => [p.uid, 'vpn' as const]));

step('1. A real directory: private slapd with a synthetic company of 2000 people');
const directory = await startDirectory({ people: company, memberships: existing });
const workspace = mkdtempSync(join(tmpdir(), 'rac-demo-'));
let failed = false;
try {
  console.log(
    `slapd pid ${directory.pid} at ${directory.url}; ${company.length} people, ${existing.size} already on the VPN`,
  );
  console.log(
    `rac binds as ${directory.serviceDn}, which may write only the three groups’ member and people’s sshPublicKey`,
  );

  step('2. rac init: a workspace with config and tier policy');
  expectCode(rac(workspace, ['init']).code, 0, 'rac init');
  writeFileSync(join(workspace, 'rac.yaml'), configFor(directory));
  writeFileSync(join(workspace, 'policy.yaml'), EXAMPLE_POLICY);
  console.log('rac.yaml now points at the local directory; policy.yaml:');
  console.log(EXAMPLE_POLICY.replace(/^/gm, '  '));

  step('3. A roster with mistakes is rejected whole, every problem at once, nothing changed');
  writeFileSync(
    join(workspace, 'bad.csv'),
    `\uFEFFuid,name,email,department,tier,ssh_key,expires
${company[0]?.uid},${company[0]?.cn},not-an-email,${company[0]?.department},,,
${company[1]?.uid},${company[1]?.cn},,${company[1]?.department},admin,,
"*)(uid=*))(|(uid=*",黑客,,,,,
${company[2]?.uid},${company[2]?.cn},,${company[2]?.department},vpn-bastion,,
${company[0]?.uid},重复,,,,,
nobody.here,无此人,,,,,2020-01-01
`,
  );
  expectCode(rac(workspace, ['plan', 'bad.csv']).code, 3, 'rac plan bad.csv');

  step('4. Day one: 1500 people from HR’s export (Excel, UTF-8 with BOM, Chinese names)');
  const dayOne = pickDayOne(company);
  const keys = new Map(
    dayOne.filter((p) => p.department === '技术中心').map((p) => [p.uid, opensshKey(`${p.uid}@laptop`)]),
  );
  writeFileSync(join(workspace, 'day1.csv'), `\uFEFF${rosterFor(dayOne, (p) => ({ ssh_key: keys.get(p.uid) ?? '' }))}`);
  expectCode(rac(workspace, ['plan', 'day1.csv', '--out', 'day1.plan.json']).code, 0, 'rac plan day1.csv');

  step(
    '5. The capacity gate: with a 1000-session target the same roster is refused (RAC_CAPACITY_TARGET_SESSIONS=1000)',
  );
  expectCode(
    rac(workspace, ['plan', 'day1.csv'], { RAC_CAPACITY_TARGET_SESSIONS: '1000' }).code,
    4,
    'capacity-limited plan',
  );

  step('6. rac apply of the saved plan: canary of 20, then waves of 500, each read back');
  const applied = rac(workspace, ['apply', 'day1.plan.json', '--canary', '20', '--wave-size', '500']);
  expectCode(applied.code, 0, 'rac apply');
  const batch = /Batch (b-\S+)/.exec(applied.stdout)?.[1] as string;

  step('7. An independent client (ldapsearch as the directory root) sees the groups');
  for (const tier of ['public', 'vpn', 'vpn-bastion'] as const) {
    console.log(`  ${directory.groups[tier]}: ${(await memberUids(directory, tier)).size} people`);
  }

  step('8. rac status: the overview and a few people');
  rac(workspace, ['status']);
  const ops = dayOne.find((p) => p.department === '技术中心' && keys.has(p.uid) && /运维|技术经理/.test(p.title));
  const agent = dayOne.find((p) => p.department === '客服中心');
  const finance = dayOne.find((p) => p.department === '财务部');
  const shown = [ops, agent, finance].filter((p): p is CompanyPerson => p !== undefined).map((p) => p.uid);
  rac(workspace, ['status', ...shown]);

  step('9. Idempotent: applying the same roster again changes nothing');
  expectCode(rac(workspace, ['apply', 'day1.csv', '--yes']).code, 0, 'second apply');

  step('10. A saved plan is stale once the directory moved under it (exit 7)');
  rac(workspace, ['plan', 'day1.csv', '--out', 'old.plan.json']);
  const revokeTarget = agent?.uid as string;
  step(`11. rac revoke ${revokeTarget}: out of every group at once`);
  expectCode(rac(workspace, ['revoke', revokeTarget]).code, 0, 'rac revoke');
  rac(workspace, ['status', revokeTarget]);
  expectCode(rac(workspace, ['apply', 'old.plan.json']).code, 7, 'apply of a stale plan');

  step(`12. rac rollback of day one refuses ${revokeTarget} (changed since by the revocation) and restores the rest`);
  const rollback = rac(workspace, ['rollback', batch, '--yes']);
  expectCode(rollback.code, 5, 'rac rollback');
  rac(workspace, ['status']);
} catch (err) {
  failed = true;
  console.error(err instanceof Error ? err.message : err);
} finally {
  await directory.stop();
  if (process.env['KEEP'] === '1') console.log(`\nworkspace kept at ${workspace}`);
  else rmSync(workspace, { recursive: true, force: true });
}
step(`Done in ${((performance.now() - started) / 1000).toFixed(1)} s; slapd stopped, data removed`);
process.exit(failed ? 1 : 0);

/** Day one: customer service, finance, risk and the tech centre; the rest come later. */
function pickDayOne(people: readonly CompanyPerson[]): CompanyPerson[] {
  const wanted = new Set(['客服中心', '技术中心', '财务部', '风控部', '业务部']);
  return people.filter((p) => wanted.has(p.department)).slice(0, 1500);
}
