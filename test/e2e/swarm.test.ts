/**
 * `rac swarm` on the real local stack: two OpenVPN gateways with the deferred LDAP auth script,
 * test accounts granted `vpn` by an ordinary roster batch, real clients in the stack's clients
 * namespace. The sessions the gateways report must match what the swarm says it holds, and after
 * SIGTERM no client process of the swarm may remain.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateCompany } from '../../infra/local/company.ts';
import { namespacePids } from '../../infra/local/netns.ts';
import { type LocalStack, startStack } from '../../infra/local/stack.ts';
import { rosterFor } from '../../infra/local/workspace.ts';
import type { SwarmSummary } from '../../src/core/swarm/tally.ts';
import { RAC, runRac } from '../support/rac-env.ts';

const PEOPLE = 180;
const POLICY = 'default: { tier: public, max: vpn-bastion }\nrules: []\n';
const company = generateCompany(PEOPLE, { seed: 909 });

/** Pids whose command line mentions `needle` (the swarm's credentials directory). */
function pidsMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function swarmCredentialDirs(pid: number): Set<string> {
  const dirs = new Set<string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      if (!new RegExp(`^PPid:\\s+${pid}$`, 'm').test(status)) continue;
      const m = /(\/[^\0]*\/rac-swarm-[A-Za-z0-9]+)\/client-\d+\.auth/.exec(
        readFileSync(`/proc/${entry}/cmdline`, 'utf8'),
      );
      if (m?.[1]) dirs.add(m[1]);
    } catch {
      // gone meanwhile
    }
  }
  return dirs;
}

describe('rac swarm on the real stack', () => {
  let stack: LocalStack;
  let dir: string;
  const swarms: ChildProcess[] = [];
  const rac = (args: string[]) => runRac(dir, args);

  beforeAll(async () => {
    stack = await startStack({ people: company, gateways: 2, bastions: 0 });
    dir = mkdtempSync(join(tmpdir(), 'rac-swarm-e2e-'));
    writeFileSync(join(dir, 'rac.yaml'), stack.config({ sshTimeoutMs: 5000 }));
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    writeFileSync(
      join(dir, 'roster.csv'),
      rosterFor(company, () => ({ tier: 'vpn' })),
    );
    // The accounts file: every granted person, plus one account that does not exist.
    writeFileSync(
      join(dir, 'accounts.csv'),
      `uid,password\n${company.map((p) => `${p.uid},${p.password}`).join('\n')}\nnosuchperson,wrong\n`,
      { mode: 0o600 },
    );
  }, 60_000);

  afterAll(async () => {
    for (const child of swarms) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  // A test that fails half-way must not leave its swarm running into the next one.
  afterEach(async () => {
    for (const child of swarms) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const gone = new Promise((resolveExit) => child.once('exit', resolveExit));
      child.kill('SIGTERM');
      await Promise.race([gone, sleep(10_000)]);
    }
  }, 20_000);

  it('grants the test accounts vpn with an ordinary roster batch', async () => {
    const out = await rac(['apply', 'roster.csv', '--yes', '--json']);
    expect(out.code, out.stderr).toBe(0);
  });

  it('refuses bad input and changes nothing', async () => {
    const missing = await rac(['swarm', '--clients', '5', '--accounts', 'nope.csv']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--accounts: cannot read/);
    const tooMany = await rac(['swarm', '--clients', String(PEOPLE + 2), '--accounts', 'accounts.csv']);
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toMatch(/needs 182 accounts .* has 181/);
    const badNs = await rac(['swarm', '--clients', '1', '--accounts', 'accounts.csv', '--netns', 'rac-nosuch-ns']);
    expect(badNs.code).toBe(2);
    expect(badNs.stderr).toMatch(/no network namespace rac-nosuch-ns/);
  });

  it('holds the sessions the gateways report, then ends every client on SIGTERM', async () => {
    const clientsNs = stack.gateways[0]?.clientsNamespace as string;
    const started = performance.now();
    const child = spawn(
      RAC,
      [
        'swarm',
        '--clients',
        String(PEOPLE + 1),
        '--accounts',
        'accounts.csv',
        '--rate',
        '60/s',
        '--duration',
        '90s',
        '--connect-timeout',
        '30s',
        '--netns',
        clientsNs,
        '--json',
      ],
      {
        cwd: dir,
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    swarms.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));

    // The gateways' own view (through rac's collector: management interface over SSH) until everyone is in.
    let sessions: { uid: string; gateway: string }[] = [];
    for (let i = 0; i < 60 && sessions.length < PEOPLE; i++) {
      await sleep(1000);
      const out = await rac(['sessions', '--json']);
      expect(out.code, out.stderr).toBe(0);
      sessions = out.json<{ sessions: { uid: string; gateway: string }[] }>().sessions;
    }
    expect(sessions.length, stderr).toBe(PEOPLE);
    expect(new Set(sessions.map((s) => s.uid))).toEqual(new Set(company.map((p) => p.uid)));
    const byGateway = (g: string) => sessions.filter((s) => s.gateway === g).length;
    // Rated 2500 each: an even split.
    expect(byGateway('gw-1')).toBe(PEOPLE / 2);
    expect(byGateway('gw-2')).toBe(PEOPLE / 2);
    const heldAfterMs = performance.now() - started;

    const dirs = swarmCredentialDirs(child.pid as number);
    expect(dirs.size).toBe(1);
    const credentialsDir = [...dirs][0] as string;
    expect((await namespacePids(clientsNs)).length).toBeGreaterThanOrEqual(PEOPLE);
    expect(pidsMentioning(credentialsDir).length).toBeGreaterThanOrEqual(PEOPLE);

    // Held a moment at the peak before the stop: held_seconds is that stretch, in tenths.
    await sleep(500);
    child.kill('SIGTERM');
    const code = await exited;
    expect(code, stderr).toBe(5); // one account failed to log in: a partial result
    const summary = (JSON.parse(stdout) as { swarm: SwarmSummary }).swarm;
    expect(summary).toMatchObject({
      clients: PEOPLE + 1,
      started: PEOPLE + 1,
      connected: PEOPLE,
      failed: 1,
      failures: { 'auth-failed': 1, timeout: 0, exited: 0 },
      peak_concurrent: PEOPLE,
      concurrent_at_stop: PEOPLE,
      stopped_by: 'signal',
    });
    // The swarm's own figure matches what the gateways reported.
    expect(summary.concurrent_at_stop).toBe(sessions.length);
    expect(summary.gateways.map((g) => [g.gateway, g.connected])).toEqual([
      ['gw-1', byGateway('gw-1')],
      ['gw-2', byGateway('gw-2')],
    ]);
    expect(summary.connect_success_ratio).toBeCloseTo(PEOPLE / (PEOPLE + 1), 5);
    expect(summary.connect_ms.p50).toBeGreaterThan(0);
    expect(summary.connect_ms.p95 as number).toBeGreaterThanOrEqual(summary.connect_ms.p50 as number);
    expect(summary.held_seconds).toBeGreaterThanOrEqual(0.5);
    expect(summary.duration_seconds * 1000).toBeLessThan(heldAfterMs + 15_000);

    // Nothing left behind: no client process, nothing in the clients namespace, no credentials.
    expect(pidsMentioning(credentialsDir)).toEqual([]);
    expect(await namespacePids(clientsNs)).toEqual([]);
    expect(existsSync(credentialsDir)).toBe(false);
  });

  it('a SIGKILLed swarm takes its clients with it, and the next swarm removes its credentials', async () => {
    const clientsNs = stack.gateways[0]?.clientsNamespace as string;
    const child = spawn(
      RAC,
      [
        'swarm',
        '--clients',
        '10',
        '--accounts',
        'accounts.csv',
        '--rate',
        '50',
        '--duration',
        '60s',
        '--netns',
        clientsNs,
      ],
      {
        cwd: dir,
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root' },
        stdio: 'ignore',
      },
    );
    swarms.push(child);
    let dirs = new Set<string>();
    for (let i = 0; i < 100 && (dirs.size === 0 || pidsMentioning([...dirs][0] as string).length < 10); i++) {
      await sleep(100);
      dirs = swarmCredentialDirs(child.pid as number);
    }
    const credentialsDir = [...dirs][0] as string;
    expect(pidsMentioning(credentialsDir)).toHaveLength(10);
    const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
    child.kill('SIGKILL');
    await exited;
    // The kernel ends every client (parent-death signal); nothing could remove the credentials yet.
    for (let i = 0; i < 50 && pidsMentioning(credentialsDir).length > 0; i++) await sleep(100);
    expect(pidsMentioning(credentialsDir)).toEqual([]);
    expect(existsSync(credentialsDir)).toBe(true);
    const next = await rac([
      'swarm',
      '--clients',
      '1',
      '--accounts',
      'accounts.csv',
      '--duration',
      '2s',
      '--netns',
      clientsNs,
    ]);
    // Whether its one client made it within 2 s does not matter here (0 or 5): the sweep does.
    expect([0, 5], next.stderr).toContain(next.code);
    expect(existsSync(credentialsDir)).toBe(false);
  });

  it('stops by itself at --duration and reports the figures', async () => {
    const clientsNs = stack.gateways[0]?.clientsNamespace as string;
    const out = await rac([
      'swarm',
      '--clients',
      '20',
      '--accounts',
      'accounts.csv',
      '--rate',
      '40',
      '--duration',
      '8s',
      '--netns',
      clientsNs,
      '--json',
    ]);
    expect(out.code, out.stderr).toBe(0);
    const summary = out.json<{ swarm: SwarmSummary }>().swarm;
    expect(summary).toMatchObject({
      clients: 20,
      connected: 20,
      failed: 0,
      peak_concurrent: 20,
      stopped_by: 'duration',
    });
    expect(summary.duration_seconds).toBeGreaterThanOrEqual(8);
    expect(summary.duration_seconds).toBeLessThan(12);
    expect(await namespacePids(clientsNs)).toEqual([]);
  });
});
