import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CompanyPerson, generateCompany } from '../../infra/local/company.ts';
import { memberDns } from '../../infra/local/ldap-root.ts';
import { execIn } from '../../infra/local/netns.ts';
import { type LocalStack, startStack } from '../../infra/local/stack.ts';
import { connectVpnClient, type VpnClient } from '../../infra/local/vpn-clients.ts';
import { rosterFor } from '../../infra/local/workspace.ts';
import { normalizeDn } from '../../src/core/dn.ts';
import type { ApplyReport } from '../../src/services/apply-plan.ts';
import type { RevokeReport } from '../../src/services/revoke-access.ts';
import { RAC, runRac } from '../support/rac-env.ts';

const POLICY = 'default: { tier: public, max: vpn-bastion }\nrules: []\n';
const company = generateCompany(5000, { seed: 4242 });
const victim = company[0] as CompanyPerson;

describe('revocation during a running 5000-person apply', () => {
  let stack: LocalStack;
  let dir: string;
  const clients: VpnClient[] = [];
  const rac = (args: string[]) => runRac(dir, args);
  const connect = async () => {
    const c = await connectVpnClient({
      gateway: stack.gateways[0] as never,
      username: victim.uid,
      password: victim.password,
      timeoutMs: 15_000,
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    stack = await startStack({
      people: company,
      memberships: new Map([[victim.uid, 'vpn']]),
      gateways: 1,
      bastions: 0,
    });
    dir = mkdtempSync(join(tmpdir(), 'rac-revrun-'));
    writeFileSync(join(dir, 'rac.yaml'), stack.config({ targetSessions: 10_000, ratedSessions: 10_000 }));
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    writeFileSync(
      join(dir, 'everyone.csv'),
      rosterFor(company, () => ({ tier: 'vpn' })),
    );
    // The victim already has the VPN (from before rac): put them on the gateway.
    expect((await rac(['drift', '--fix'])).code).toBe(0);
  }, 180_000);

  afterAll(async () => {
    for (const c of clients) await c.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cuts a connected person at once, and they are still revoked when the apply ends', async () => {
    const client = await connect();
    expect(client.outcome).toBe('connected');
    const before = (await memberDns(stack.directory, 'vpn')).size;

    const apply = spawn(RAC, ['apply', 'everyone.csv', '--yes', '--wave-size', '100', '--json'], {
      cwd: dir,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    apply.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    apply.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const finished = new Promise<number | null>((resolve) => apply.on('close', resolve));

    // Wait until the apply is writing the directory: its waves have started.
    const deadline = Date.now() + 60_000;
    while ((await memberDns(stack.directory, 'vpn')).size <= before) {
      if (Date.now() > deadline) throw new Error(`the apply did not start writing: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const out = await rac(['revoke', victim.uid, '--json']);
    const applyStillRunning = apply.exitCode === null;
    expect(out.code, out.stdout + out.stderr).toBe(0);
    const revoke = out.json<RevokeReport>();
    expect(revoke.verified).toBe(true);
    expect(revoke.latencyMs).toBeLessThan(2_000);
    expect(await client.waitForExit(5_000)).toBe(true);
    expect(applyStillRunning).toBe(true);

    const code = await finished;
    expect([0, 5], stderr).toContain(code);
    const { report } = JSON.parse(stdout) as { report: ApplyReport };
    expect(report.counts.applied).toBeGreaterThanOrEqual(4990);
    const mine = report.people.find((p) => p.uid === victim.uid);
    // Either the batch reached the victim before the revocation (then the revocation undid it),
    // or it left them out: never a grant that outlives the revocation.
    expect(mine?.outcome === 'failed' ? mine.error : 'applied before').toMatch(
      /revoked while this batch ran|applied before/,
    );

    const dn = normalizeDn(stack.directory.dnOf(victim.uid));
    for (const tier of ['public', 'vpn', 'vpn-bastion'] as const)
      expect((await memberDns(stack.directory, tier)).has(dn)).toBe(false);
    const files = await execIn(stack.gateways[0]?.namespace as string, [
      'test',
      '-e',
      `${stack.gateways[0]?.ccdDir}/${victim.uid}`,
    ]);
    expect(files.code).not.toBe(0);
    expect((await connect()).outcome).toBe('auth-failed');
  });
});
