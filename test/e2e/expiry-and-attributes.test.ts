import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CompanyPerson, generateCompany } from '../../infra/local/company.ts';
import { asDirectoryRoot, memberDns } from '../../infra/local/ldap-root.ts';
import { sshKeysOf } from '../../infra/local/ldapsearch.ts';
import { execIn } from '../../infra/local/netns.ts';
import { generateOpensshPublicKey } from '../../infra/local/ssh-keys.ts';
import { type LocalStack, startStack } from '../../infra/local/stack.ts';
import { rosterFor } from '../../infra/local/workspace.ts';
import { EXAMPLE_POLICY } from '../../src/cli/commands/init.ts';
import { composeServices } from '../../src/compose.ts';
import { loadConfig } from '../../src/config/load.ts';
import { normalizeDn } from '../../src/core/dn.ts';
import { applyPlan } from '../../src/services/apply-plan.ts';
import { expireGrants } from '../../src/services/expire-grants.ts';
import { planRoster } from '../../src/services/plan-batch.ts';
import { runRac } from '../support/rac-env.ts';

const company = generateCompany(60, { seed: 31 });
const agent = company.find((p) => p.department === '客服中心') as CompanyPerson;
const tech = company.filter((p) => p.department === '技术中心');

describe('expiry, and the directory deciding, on the real stack', () => {
  let stack: LocalStack;
  let dir: string;
  const rac = (args: string[]) => runRac(dir, args);
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  beforeAll(async () => {
    stack = await startStack({ people: company, gateways: 1, bastions: 0 });
    dir = mkdtempSync(join(tmpdir(), 'rac-expiry-'));
    write('rac.yaml', `${stack.config()}expiry: { timezone: Asia/Shanghai }\n`);
    write('policy.yaml', EXAMPLE_POLICY);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('revokes grants whose date has passed (end of that day, site time zone) on every host, audited as expired', async () => {
    const [a, b, c] = company.filter((p) => p.department === '财务部') as [CompanyPerson, CompanyPerson, CompanyPerson];
    let now = new Date('2026-12-01T02:00:00Z');
    const clock = { now: () => now };
    await using services = composeServices(loadConfig({ path: join(dir, 'rac.yaml'), env: {} }), {
      actor: 'test',
      logLevel: 'silent',
      clock,
    });
    const roster = rosterFor([a, b, c], (p) => ({
      tier: 'vpn',
      expires: p === a ? '2026-12-05' : p === b ? '2026-12-06' : '',
    }));
    const plan = await planRoster(services, { bytes: Buffer.from(roster), file: 'dated.csv' });
    expect(plan.expiring?.map((e) => e.uid)).toEqual([a.uid, b.uid]);
    expect((await applyPlan(services, plan)).status).toBe('applied');

    // 2026-12-05 23:59 in Shanghai: a's last minute.
    now = new Date('2026-12-05T15:59:00Z');
    expect((await expireGrants(services)).due).toEqual([]);
    // Midnight in Shanghai: a has expired, b and c have not.
    now = new Date('2026-12-05T16:00:00Z');
    const dry = await expireGrants(services, { dryRun: true });
    expect(dry.due.map((d) => d.uid)).toEqual([a.uid]);
    expect(dry.revocation).toBeNull();
    expect((await memberDns(stack.directory, 'vpn')).has(normalizeDn(stack.directory.dnOf(a.uid)))).toBe(true);

    const report = await expireGrants(services);
    expect(report.revocation?.verified).toBe(true);
    const vpn = await memberDns(stack.directory, 'vpn');
    expect(vpn.has(normalizeDn(stack.directory.dnOf(a.uid)))).toBe(false);
    expect(vpn.has(normalizeDn(stack.directory.dnOf(b.uid)))).toBe(true);
    const files = (
      await execIn(stack.gateways[0]?.namespace as string, ['ls', stack.gateways[0]?.ccdDir as string])
    ).stdout
      .split('\n')
      .filter(Boolean);
    expect(files.sort()).toEqual([b.uid, c.uid].sort());
    expect(services.store.listAudit().filter((x) => x.action === 'revoke.verified')).toEqual([
      expect.objectContaining({ detail: expect.objectContaining({ uids: [a.uid], reason: 'expired' }) }),
    ]);
    expect((await expireGrants(services)).due).toEqual([]);
  });

  it('refuses a roster that rewrites someone’s department, and applies it with --trust-roster-attributes, audited', async () => {
    // The roster moves a customer-service agent into the tech centre, whose ops rule grants the bastion.
    write(
      'moved.csv',
      `uid,department,title,ssh_key\n${agent.uid},技术中心,运维工程师,${generateOpensshPublicKey('x')}\n`,
    );
    const refused = await rac(['plan', 'moved.csv', '--json']);
    expect(refused.code).toBe(3);
    expect(refused.stdout).toContain('RAC_ROSTER_ATTRIBUTE_CONFLICT');
    expect(refused.stdout).toContain(agent.department);
    expect((await memberDns(stack.directory, 'public')).has(normalizeDn(stack.directory.dnOf(agent.uid)))).toBe(false);

    const trusted = await rac(['apply', 'moved.csv', '--yes', '--trust-roster-attributes', '--json']);
    expect(trusted.code, trusted.stderr).toBe(0);
    expect((await memberDns(stack.directory, 'vpn-bastion')).has(normalizeDn(stack.directory.dnOf(agent.uid)))).toBe(
      true,
    );
    const audit = execFileSync('sh', ['-c', `node_modules/.bin/node -e "$1"`, 'sh', auditDump(join(dir, 'rac.db'))], {
      cwd: join(import.meta.dirname, '../..'),
      encoding: 'utf8',
    });
    expect(audit).toContain('batch.trust-roster-attributes');
    expect(audit).toContain(agent.uid);
  });

  it('adds a roster key to the keys other systems wrote, and replaces them with --replace-keys', async () => {
    const ops = tech[0] as CompanyPerson;
    const other = generateOpensshPublicKey('ci-system');
    await asDirectoryRoot(stack.directory, (c) =>
      c.modify(
        stack.directory.dnOf(ops.uid),
        new Change({ operation: 'add', modification: new Attribute({ type: 'sshPublicKey', values: [other] }) }),
      ),
    );
    const mine = generateOpensshPublicKey('laptop');
    write('keys.csv', `uid,tier,ssh_key\n${ops.uid},vpn-bastion,${mine}\n`);
    const added = await rac(['apply', 'keys.csv', '--yes', '--trust-roster-attributes']);
    expect(added.code, added.stdout + added.stderr).toBe(0);
    const blob = (k: string) => k.split(' ')[1];
    expect((await sshKeysOf(stack.directory, ops.uid)).map(blob).sort()).toEqual([blob(other), blob(mine)].sort());

    const plan = await rac(['plan', 'keys.csv', '--replace-keys']);
    expect(plan.stdout).toMatch(new RegExp(`key removed from ${ops.uid}: ssh-ed25519 SHA256:`));
    const replaced = await rac(['apply', 'keys.csv', '--yes', '--replace-keys']);
    expect(replaced.code, replaced.stdout + replaced.stderr).toBe(0);
    expect((await sshKeysOf(stack.directory, ops.uid)).map(blob)).toEqual([blob(mine)]);
  });
});

/** A one-line program that prints the audit actions and details of a store (read with node:sqlite). */
function auditDump(db: string): string {
  return `const {DatabaseSync}=require('node:sqlite');const d=new DatabaseSync(${JSON.stringify(db)});for(const r of d.prepare('SELECT action, detail FROM audit').all())console.log(r.action, r.detail)`;
}
