import { Client } from 'ldapts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CompanyPerson, generateCompany } from '../../infra/local/company.ts';
import { memberUids, sshKeysOf } from '../../infra/local/ldapsearch.ts';
import type { Services } from '../../src/compose.ts';
import { escapeDnValue } from '../../src/core/dn.ts';
import { AppError } from '../../src/core/errors.ts';
import type { Directory } from '../../src/ports.ts';
import { applyPlan } from '../../src/services/apply-plan.ts';
import { planRevoke, planRoster } from '../../src/services/plan-batch.ts';
import { planRollback } from '../../src/services/rollback-batch.ts';
import { type RacEnv, rosterFor, startRacEnv } from '../support/rac-env.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops';
const company = generateCompany(400, { seed: 11 });
const byDept = (d: string) => company.filter((p) => p.department === d);
const cs = byDept('客服中心');
const tech = byDept('技术中心');

function withDirectory(services: Services, directory: Directory): Services {
  return { ...services, directory };
}

async function rootClient(env: RacEnv): Promise<Client> {
  const c = new Client({ url: env.directory.url });
  await c.bind(env.directory.rootDn, env.directory.rootPassword);
  return c;
}

function roster(people: readonly CompanyPerson[], extra?: Parameters<typeof rosterFor>[1]): Uint8Array {
  return new TextEncoder().encode(rosterFor(people, extra));
}

describe('applying plans to a real slapd', () => {
  let env: RacEnv;
  let services: Services;

  beforeEach(async () => {
    env = await startRacEnv({ people: company });
    services = env.services();
  });

  afterEach(async () => {
    await env.stop();
  });

  it('applies a roster with one modify per group and converges to a no-op', async () => {
    const people = [...cs.slice(0, 60), ...tech.slice(0, 40)];
    const plan = await planRoster(services, {
      bytes: roster(people, (p) => (p.title === '运维工程师' || p.title === '技术经理' ? { ssh_key: KEY } : {})),
      file: 'r.csv',
    });
    expect(plan.summary.grant).toBe(100);
    const report = await applyPlan(services, plan);
    expect(report.status).toBe('applied');
    expect(report.counts.applied).toBe(100);
    const keyWrites = plan.systems.ldap.sshKeys.length;
    expect(report.ldap.modifies).toBe(
      3 + keyWrites - (plan.systems.ldap.groups['vpn-bastion'].add.length === 0 ? 1 : 0),
    );
    expect((await memberUids(env.directory, 'public')).size).toBe(100);
    expect((await memberUids(env.directory, 'vpn')).size).toBe(40);

    const again = await planRoster(services, {
      bytes: roster(people, (p) => (p.title === '运维工程师' || p.title === '技术经理' ? { ssh_key: KEY } : {})),
      file: 'r.csv',
    });
    expect(again.summary.changes).toBe(0);
    const audit = services.store.listAudit({ batchId: report.batchId }).filter((a) => a.action.startsWith('access.'));
    expect(audit).toHaveLength(100);
  });

  it('records nothing as applied when LDAP goes away mid-apply, and a re-run completes with no duplicates', async () => {
    const people = cs.slice(0, 120);
    const plan = await planRoster(services, { bytes: roster(people), file: 'r.csv' });
    let modifies = 0;
    const failing: Directory = {
      ...services.directory,
      async modifyMembers(tier, op, dns) {
        if (++modifies > 1) throw new AppError('RAC_LDAP_UNAVAILABLE', 'LDAP server went away');
        return services.directory.modifyMembers(tier, op, dns);
      },
    };
    await expect(applyPlan(withDirectory(services, failing), plan, { waveSize: 40 })).rejects.toMatchObject({
      code: 'RAC_LDAP_UNAVAILABLE',
    });
    const batch = services.store.getBatchByPlan(plan.id);
    expect(batch?.status).toBe('partial');
    const applied = services.store.getItems(batch?.id as string).filter((i) => i.outcome === 'applied');
    expect(applied).toHaveLength(40);

    const rerun = await applyPlan(services, plan, { waveSize: 40 });
    expect(rerun).toMatchObject({ status: 'applied', run: 2, resumed: true });
    expect(rerun.counts.applied).toBe(120);
    expect(rerun.ldap.modifies).toBe(2); // waves 2 and 3 only: wave 1 is never written again
    expect((await memberUids(env.directory, 'public')).size).toBe(120);
    const grants = services.store
      .listAudit({ batchId: batch?.id as string })
      .filter((a) => a.action === 'access.grant');
    expect(grants).toHaveLength(120);
    expect(new Set(grants.map((g) => g.uid)).size).toBe(120);
    expect(
      services.store.listAudit({ batchId: batch?.id as string }).filter((a) => a.action === 'batch.run.start'),
    ).toHaveLength(2);
  });

  it('retries narrowly when someone adds some of the same members concurrently', async () => {
    const people = cs.slice(0, 50);
    const plan = await planRoster(services, { bytes: roster(people), file: 'r.csv' });
    const root = await rootClient(env);
    let raced = false;
    const racing: Directory = {
      ...services.directory,
      async modifyMembers(tier, op, dns) {
        if (!raced) {
          raced = true;
          const { Attribute, Change } = await import('ldapts');
          await root.modify(
            env.directory.groups.public,
            new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: dns.slice(0, 10) }) }),
          );
        }
        return services.directory.modifyMembers(tier, op, dns);
      },
    };
    const report = await applyPlan(withDirectory(services, racing), plan);
    await root.unbind();
    expect(report.status).toBe('applied');
    expect(report.ldap.retries).toBe(1);
    expect((await memberUids(env.directory, 'public')).size).toBe(50);
  });

  it('refuses a stale plan when a planned person changed in the directory, and changes nothing', async () => {
    const people = cs.slice(0, 20);
    const plan = await planRoster(services, { bytes: roster(people), file: 'r.csv' });
    const root = await rootClient(env);
    const { Attribute, Change } = await import('ldapts');
    const dn = `uid=${escapeDnValue(people[5]?.uid as string)},${env.directory.usersBase}`;
    await root.modify(
      env.directory.groups.public,
      new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [dn] }) }),
    );
    await root.unbind();
    await expect(applyPlan(services, plan)).rejects.toMatchObject({
      code: 'RAC_PLAN_STALE',
      details: { changed: [people[5]?.uid] },
    });
    expect((await memberUids(env.directory, 'public')).size).toBe(1);
    expect(services.store.getBatchByPlan(plan.id)).toBeNull();
  });

  it('stops after a failing canary and leaves the rest pending', async () => {
    const root = await rootClient(env);
    // A person without the ldapPublicKey class: writing their key fails on the server.
    await root.add(`uid=nokeyclass,${env.directory.usersBase}`, {
      objectClass: ['inetOrgPerson'],
      uid: 'nokeyclass',
      cn: '无钥',
      sn: 'x',
      ou: '技术中心',
      title: '运维工程师',
    });
    await root.unbind();
    const bytes = new TextEncoder().encode(
      `uid,tier,ssh_key\nnokeyclass,vpn-bastion,${KEY}\n${cs
        .slice(0, 30)
        .map((p) => `${p.uid},public,`)
        .join('\n')}\n`,
    );
    const plan = await planRoster(services, { bytes, file: 'r.csv' });
    const report = await applyPlan(services, plan, { canary: 5, waveSize: 10 });
    expect(report.status).toBe('partial');
    expect(report.stoppedEarly).toContain('canary');
    expect(report.counts).toMatchObject({ failed: 1, applied: 4, pending: 26 });
    expect(report.people.find((p) => p.uid === 'nokeyclass')?.error).toMatch(
      /RAC_LDAP_OBJECT_CLASS_VIOLATION|RAC_LDAP_ERROR/,
    );
  });

  it('writes ssh keys for vpn-bastion people and reads them back', async () => {
    const ops = tech.filter((p) => p.title === '运维工程师').slice(0, 3);
    const plan = await planRoster(services, { bytes: roster(ops, () => ({ ssh_key: KEY })), file: 'r.csv' });
    const report = await applyPlan(services, plan);
    expect(report.status).toBe('applied');
    for (const p of ops) expect(await sshKeysOf(env.directory, p.uid)).toEqual([KEY]);
    expect((await memberUids(env.directory, 'vpn-bastion')).size).toBe(ops.length);
  });

  it('rolls back exactly what a batch changed and refuses people changed by a later batch', async () => {
    const first = cs.slice(0, 10);
    const a = await applyPlan(services, await planRoster(services, { bytes: roster(first), file: 'a.csv' }));
    const b = await applyPlan(services, await planRevoke(services, [first[0]?.uid as string]));
    expect(b.status).toBe('applied');
    const rollback = await planRollback(services, a.batchId);
    expect(rollback.problems).toEqual([
      expect.objectContaining({
        uid: first[0]?.uid,
        code: 'RAC_ROLLBACK_REFUSED',
        reason: expect.stringContaining(b.batchId),
      }),
    ]);
    expect(rollback.summary.revoke).toBe(9);
    const report = await applyPlan(services, rollback);
    expect(report.status).toBe('applied');
    expect((await memberUids(env.directory, 'public')).size).toBe(0);
    expect(services.store.getBatch(report.batchId)?.rollbackOf).toBe(a.batchId);
  });

  it('refuses a second apply while another live run holds the lock', async () => {
    const held = services.store.acquireLock('apply', 'someone-else');
    const plan = await planRoster(services, { bytes: roster(cs.slice(0, 2)), file: 'r.csv' });
    await expect(applyPlan(services, plan)).rejects.toMatchObject({ code: 'RAC_LOCKED' });
    services.store.releaseLock('apply', held.id);
    expect((await applyPlan(services, plan)).status).toBe('applied');
  });
});
