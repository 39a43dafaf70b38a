import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshLogin } from '../../infra/local/bastion-host.ts';
import { type CompanyPerson, generateCompany } from '../../infra/local/company.ts';
import { memberDns } from '../../infra/local/ldap-root.ts';
import { execIn } from '../../infra/local/netns.ts';
import { type LocalStack, startStack } from '../../infra/local/stack.ts';
import { rosterFor } from '../../infra/local/workspace.ts';
import { normalizeDn } from '../../src/core/dn.ts';
import type { ApplyReport } from '../../src/services/apply-plan.ts';
import type { RevokeReport } from '../../src/services/revoke-access.ts';
import type { PersonStatus } from '../../src/services/user-status.ts';
import { runRac } from '../support/rac-env.ts';

const POLICY = 'default: { tier: public, max: vpn-bastion }\nrules: []\n';
const company = generateCompany(24, { seed: 5150 });
const vpn = company.slice(0, 6);
const ops = company.slice(6, 8) as [CompanyPerson, CompanyPerson];

/**
 * A directory not shaped like the demo: people named by full name (commas, '+', quotes, '<', '#'
 * and ';' in their RDNs) in nested department OUs. Onboarding, gateways, bastions and revocation
 * work the same as with uid= DNs, because uids come from the entries, never from DNs.
 */
describe('a cn= directory layout with nested OUs, on the real stack', () => {
  let stack: LocalStack;
  let dir: string;
  const keys = new Map<string, { file: string; pub: string }>();
  const rac = (args: string[]) => runRac(dir, args);
  const ccdFiles = async () =>
    (await execIn(stack.gateways[0]?.namespace as string, ['ls', '-A', stack.gateways[0]?.ccdDir as string])).stdout
      .split('\n')
      .filter(Boolean)
      .sort();

  beforeAll(async () => {
    stack = await startStack({ people: company, gateways: 1, bastions: 1, layout: 'nested-cn' });
    dir = mkdtempSync(join(tmpdir(), 'rac-layout-'));
    for (const p of ops) {
      const file = join(dir, `${p.uid}.key`);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${p.uid}@laptop`, '-f', file]);
      keys.set(p.uid, { file, pub: readFileSync(`${file}.pub`, 'utf8').trim() });
    }
    writeFileSync(join(dir, 'rac.yaml'), stack.config({ sshTimeoutMs: 5000 }));
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('seeds DNs that need escaping (the layout really is hostile)', () => {
    const dns = company.map((p) => stack.directory.dnOf(p.uid));
    expect(dns.some((dn) => dn.startsWith('cn=') && dn.includes('\\,'))).toBe(true);
    expect(dns.some((dn) => dn.includes('\\+'))).toBe(true);
    expect(dns.some((dn) => dn.includes('\\"') && dn.includes('\\<') && dn.includes('\\;'))).toBe(true);
    expect(dns.every((dn) => dn.includes(',ou=总部,'))).toBe(true);
  });

  it('onboards people onto LDAP, the gateway and the bastion by the uid of their entries', async () => {
    writeFileSync(
      join(dir, 'day1.csv'),
      rosterFor([...vpn, ...ops], (p) =>
        ops.includes(p as never) ? { tier: 'vpn-bastion', ssh_key: keys.get(p.uid)?.pub as string } : { tier: 'vpn' },
      ),
    );
    const out = await rac(['apply', 'day1.csv', '--yes', '--json']);
    expect(out.code, out.stderr).toBe(0);
    const { report } = out.json<{ report: ApplyReport }>();
    expect(report.systems.map((s) => [s.name, s.status, s.added])).toEqual([
      ['gw-1', 'applied', 8],
      ['bastion-1', 'applied', 2],
    ]);
    expect(report.unusable).toEqual([]);
    const members = await memberDns(stack.directory, 'vpn');
    for (const p of [...vpn, ...ops]) expect(members.has(normalizeDn(stack.directory.dnOf(p.uid)))).toBe(true);
    expect(await ccdFiles()).toEqual([...vpn, ...ops].map((p) => p.uid).sort());
    const login = await sshLogin({
      bastion: stack.bastions[0] as never,
      user: ops[0].uid,
      privateKeyFile: keys.get(ops[0].uid)?.file as string,
      command: ['id', '-un'],
    });
    expect(login.stdout.trim()).toBe(ops[0].uid);
    const status = (await rac(['status', ops[0].uid, '--json'])).json<PersonStatus>();
    expect(normalizeDn(status.dn)).toBe(normalizeDn(stack.directory.dnOf(ops[0].uid)));
    expect(status.hosts.map((h) => [h.gateway, h.grant?.tier ?? null])).toEqual([
      ['gw-1', 'vpn-bastion'],
      ['bastion-1', 'vpn-bastion'],
    ]);
  });

  it('revokes by uid: groups, gateway and bastion, verified', async () => {
    const out = await rac(['revoke', vpn[0]?.uid as string, ops[1].uid, '--json']);
    expect(out.code, out.stdout + out.stderr).toBe(0);
    expect(out.json<RevokeReport>().verified).toBe(true);
    expect(await ccdFiles()).not.toContain(vpn[0]?.uid);
    expect(await ccdFiles()).not.toContain(ops[1].uid);
    const refused = await sshLogin({
      bastion: stack.bastions[0] as never,
      user: ops[1].uid,
      privateKeyFile: keys.get(ops[1].uid)?.file as string,
      command: ['true'],
    });
    expect(refused.code).not.toBe(0);
  });

  it('prunes people in the groups whom the roster no longer names, by their entries’ uids', async () => {
    writeFileSync(
      join(dir, 'rest.csv'),
      rosterFor(vpn.slice(1), () => ({ tier: 'vpn' })),
    );
    const out = await rac(['plan', 'rest.csv', '--prune', '--json']);
    expect(out.code, out.stderr).toBe(0);
    const plan = out.json<{ people: Array<{ uid: string; action: string }> }>();
    expect(plan.people.filter((p) => p.action === 'revoke').map((p) => p.uid)).toEqual([ops[0].uid]);
  });
});
