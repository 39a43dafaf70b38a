import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCompany } from '../../infra/local/company.ts';
import { memberUids } from '../../infra/local/ldapsearch.ts';
import type { Plan } from '../../src/core/plan/plan.ts';
import type { ApplyReport } from '../../src/services/apply-plan.ts';
import type { PersonStatus } from '../../src/services/user-status.ts';
import { RAC, type RacEnv, rosterFor, startRacEnv } from '../support/rac-env.ts';

const company = generateCompany(2000, { seed: 99 });
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl laptop';
const keyFor = (p: { department: string; title: string }) =>
  p.department === '技术中心' && (p.title === '运维工程师' || p.title === '技术经理') ? { ssh_key: KEY } : {};

describe('rac as IT runs it, against a real slapd', () => {
  let env: RacEnv;

  beforeAll(async () => {
    env = await startRacEnv({ people: company });
  });

  afterAll(async () => {
    await env.stop();
  });

  it('plans and applies a 2000-person roster; the directory agrees, seen by ldapsearch', async () => {
    env.write('all.csv', `\uFEFF${rosterFor(company, keyFor)}`);
    const plan = await env.rac(['plan', 'all.csv', '--out', 'all.plan.json', '--json']);
    expect(plan.code).toBe(0);
    const doc = plan.json<Plan>();
    expect(doc.summary.grant).toBe(2000);
    expect(doc.summary.rejected).toBe(0);
    expect(JSON.parse(readFileSync(join(env.dir, 'all.plan.json'), 'utf8')).id).toBe(doc.id);

    const applied = await env.rac(['apply', 'all.plan.json', '--json', '--wave-size', '700']);
    expect(applied.code, applied.stderr).toBe(0);
    const { report } = applied.json<{ report: ApplyReport }>();
    expect(report).toMatchObject({ status: 'applied', counts: { applied: 2000, failed: 0, pending: 0 } });

    const wanted = { public: 0, vpn: 0, 'vpn-bastion': 0 };
    for (const p of doc.people)
      for (const t of ['public', 'vpn', 'vpn-bastion'] as const)
        if (['public', 'vpn', 'vpn-bastion'].indexOf(p.to as string) >= ['public', 'vpn', 'vpn-bastion'].indexOf(t))
          wanted[t]++;
    expect((await memberUids(env.directory, 'public')).size).toBe(wanted.public);
    expect((await memberUids(env.directory, 'vpn')).size).toBe(wanted.vpn);
    expect((await memberUids(env.directory, 'vpn-bastion')).size).toBe(wanted['vpn-bastion']);
    expect(wanted['vpn-bastion']).toBeGreaterThan(0);

    const ops = doc.people.find((p) => p.to === 'vpn-bastion');
    const status = await env.rac(['status', ops?.uid as string, '--json']);
    expect(status.code).toBe(0);
    expect(status.json<PersonStatus>()).toMatchObject({
      tier: 'vpn-bastion',
      groups: ['public', 'vpn', 'vpn-bastion'],
      recorded: { tier: 'vpn-bastion', batchId: report.batchId },
    });

    const again = await env.rac(['apply', 'all.csv', '--yes', '--json']);
    expect(again.code).toBe(0);
    expect(again.json<{ plan: Plan; report: null }>().plan.summary.changes).toBe(0);

    for (const out of [plan, applied, status, again]) {
      expect(out.stdout + out.stderr).not.toContain(env.directory.servicePassword);
    }
  });

  it('rejects a roster with bad rows all at once (exit 3) and changes nothing', async () => {
    const before = await memberUids(env.directory, 'public');
    env.write(
      'bad.csv',
      `uid,email,tier,expires\n${company[0]?.uid},bad@,vpn,\n*)(uid=*,,,\n${company[1]?.uid},,root,\nnot.in.directory,,,\n${company[2]?.uid},,,2021-02-30\n`,
    );
    const out = await env.rac(['apply', 'bad.csv', '--yes', '--json']);
    expect(out.code).toBe(3);
    const { error } = out.json<{
      error: { code: string; details: { problems: { line: number; column: string; code: string }[] } };
    }>();
    expect(error.code).toBe('RAC_ROSTER_REJECTED');
    expect(error.details.problems.map((p) => [p.line, p.column, p.code])).toEqual([
      [2, 'email', 'RAC_ROSTER_EMAIL_INVALID'],
      [3, 'uid', 'RAC_ROSTER_UID_INVALID'],
      [4, 'tier', 'RAC_ROSTER_TIER_UNKNOWN'],
      [6, 'expires', 'RAC_ROSTER_DATE_INVALID'],
      [5, 'uid', 'RAC_ROSTER_UNKNOWN_PERSON'],
    ]);
    expect(await memberUids(env.directory, 'public')).toEqual(before);
  });

  it('refuses a batch over capacity with the numbers (exit 4)', async () => {
    // Customer service may ask for vpn: 10 upgrades raise the expected peak over a target of 100.
    env.write(
      'more.csv',
      rosterFor(company.filter((p) => p.department === '客服中心').slice(0, 10), () => ({ tier: 'vpn' })),
    );
    const out = await env.rac(['plan', 'more.csv', '--json'], {
      env: { RAC_CAPACITY_TARGET_SESSIONS: '100', RAC_CAPACITY_PEAK_CONCURRENCY_VPN: '1' },
    });
    expect(out.code).toBe(4);
    expect(out.json<Plan>().capacity).toMatchObject({ verdict: 'refuse', limit: { sessions: 100, source: 'target' } });
  });

  it('lists every config problem at once (exit 2)', async () => {
    env.write('broken.yaml', 'capacity:\n  enforce: maybe\ndirectory:\n  url: http://nope\n');
    const out = await env.rac(['status', '--config', 'broken.yaml']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('capacity.enforce: must be one of: refuse, warn');
    expect(out.stderr).toContain('directory.url');
    expect(out.stderr).toContain('directory.bind_dn');
    expect(out.stderr).toContain('directory.bind_password_file');
  });

  it('will not apply a roster without confirmation when not on a terminal (exit 2)', async () => {
    const agent = company.filter((p) => p.department === '客服中心')[20];
    env.write(
      'one.csv',
      rosterFor([agent as (typeof company)[number]], () => ({ tier: 'vpn' })),
    );
    const out = await env.rac(['apply', 'one.csv'], { env: { RAC_DIRECTORY_URL: env.directory.url } });
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--yes');
  });

  it('reads a GBK roster saved by Excel, detected without a flag', async () => {
    const people = company.filter((p) => p.department === '财务部').slice(0, 3);
    const utf8 = rosterFor(people)
      .replace(/^.*\n/, 'uid,name,department,title,tier\n')
      .replace(/^([^,\n]+),([^,\n]*),[^,\n]*,([^,\n]*),([^,\n]*),,,$/gm, '$1,$2,$3,$4,public');
    const gbk = spawnSync('iconv', ['-f', 'UTF-8', '-t', 'GBK'], { input: utf8 }).stdout;
    expect(gbk.length).toBeGreaterThan(0);
    env.write('gbk.csv', gbk);
    const out = await env.rac(['plan', 'gbk.csv', '--json']);
    expect(out.code, out.stderr).toBe(0);
    const plan = out.json<Plan>();
    expect(plan.source.encoding).toBe('gbk (detected)');
    expect(plan.people.map((p) => p.name)).toEqual(people.map((p) => p.displayName));
  });

  it('refuses to apply a saved plan after the directory changed under it (exit 7)', async () => {
    const people = company.slice(1950, 1960);
    env.write(
      'stale.csv',
      rosterFor(people, () => ({ tier: 'public' })),
    );
    expect((await env.rac(['plan', 'stale.csv', '--out', 'stale.plan.json'])).code).toBe(0);
    expect((await env.rac(['revoke', people[3]?.uid as string])).code).toBe(0);
    const out = await env.rac(['apply', 'stale.plan.json', '--json']);
    expect(out.code).toBe(7);
    expect(out.json<{ error: { code: string } }>().error.code).toBe('RAC_PLAN_STALE');
  });

  it('refuses a plan file edited after it was made (exit 7)', async () => {
    const people = company.slice(1960, 1965);
    env.write(
      'edit.csv',
      rosterFor(people, () => ({ tier: 'vpn' })),
    );
    expect((await env.rac(['plan', 'edit.csv', '--out', 'edit.plan.json'])).code).toBe(0);
    const text = readFileSync(join(env.dir, 'edit.plan.json'), 'utf8');
    env.write('edit.plan.json', text.replaceAll('"to":"vpn"', '"to":"vpn-bastion"'));
    const out = await env.rac(['apply', 'edit.plan.json']);
    expect(out.code).toBe(7);
    expect(out.stderr).toContain('edited');
    expect((await memberUids(env.directory, 'vpn-bastion')).has(people[0]?.uid as string)).toBe(false);
  });
});

describe('faults', () => {
  let env: RacEnv;
  const people = generateCompany(3000, { seed: 5 });

  beforeAll(async () => {
    env = await startRacEnv({ people });
  });

  afterAll(async () => {
    await env.stop();
  });

  it('finishes a batch killed with SIGKILL mid-apply on re-run, with no duplicates and both runs audited', async () => {
    env.write(
      'big.csv',
      rosterFor(people, () => ({ tier: 'public' })),
    );
    expect((await env.rac(['plan', 'big.csv', '--out', 'big.plan.json'])).code).toBe(0);
    const child = spawn(RAC, ['apply', 'big.plan.json', '--wave-size', '25'], {
      cwd: env.dir,
      stdio: 'ignore',
      env: { ...process.env, RAC_NO_PROGRESS: '1' },
    });
    const db = new DatabaseSync(join(env.dir, 'rac.db'), { readOnly: true });
    const deadline = Date.now() + 30_000;
    let applied = 0;
    while (Date.now() < deadline) {
      try {
        applied = Number(
          (db.prepare("SELECT COUNT(*) AS n FROM batch_items WHERE outcome = 'applied'").get() as { n: number }).n,
        );
      } catch {
        applied = 0; // tables not created yet
      }
      if (applied > 0) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(applied).toBeGreaterThan(0);
    const atKill = Number(
      (db.prepare("SELECT COUNT(*) AS n FROM batch_items WHERE outcome = 'applied'").get() as { n: number }).n,
    );
    expect(atKill).toBeLessThan(3000);

    const rerun = await env.rac(['apply', 'big.plan.json', '--json']);
    expect(rerun.code, rerun.stderr).toBe(0);
    const { report } = rerun.json<{ report: ApplyReport }>();
    expect(report).toMatchObject({ status: 'applied', run: 2, resumed: true, lockTakenOver: true });
    expect((await memberUids(env.directory, 'public')).size).toBe(3000);
    const grants = db
      .prepare("SELECT uid, COUNT(*) AS n FROM audit WHERE action = 'access.grant' GROUP BY uid HAVING n > 1")
      .all();
    expect(grants).toEqual([]);
    expect(
      Number(
        (db.prepare("SELECT COUNT(DISTINCT uid) AS n FROM audit WHERE action = 'access.grant'").get() as { n: number })
          .n,
      ),
    ).toBe(3000);
    expect(
      Number((db.prepare("SELECT COUNT(*) AS n FROM audit WHERE action = 'batch.run.start'").get() as { n: number }).n),
    ).toBe(2);
    db.close();
  });

  it('exits 6 naming the URL when LDAP is unreachable, and records nothing as applied', async () => {
    env.write(
      'few.csv',
      rosterFor(people.slice(0, 5), () => ({ tier: 'vpn' })),
    );
    const out = await env.rac(['apply', 'few.csv', '--yes'], { env: { RAC_DIRECTORY_URL: 'ldap://127.0.0.1:1' } });
    expect(out.code).toBe(6);
    expect(out.stderr).toContain('ldap://127.0.0.1:1');
    expect(out.stderr).toContain('RAC_LDAP_UNAVAILABLE');
  });
});
