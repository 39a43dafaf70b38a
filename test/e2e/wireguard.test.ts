import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCompany } from '../../infra/local/company.ts';
import { freePort } from '../../infra/local/prometheus.ts';
import { type LocalStack, startStack } from '../../infra/local/stack.ts';
import {
  connectWireGuardClient,
  type WireGuardClient,
  type WireGuardGateway,
  waitUntil,
  wgKeyPair,
} from '../../infra/local/wireguard-gateway.ts';
import { rosterFor } from '../../infra/local/workspace.ts';
import { type RacServe, runRac, startRacServe } from '../support/rac-env.ts';

const POLICY = 'default: { tier: public, max: vpn-bastion }\nrules: []\n';
const [generated, ownKey, bastion, web] = generateCompany(4, { seed: 1313 }) as [
  ReturnType<typeof generateCompany>[number],
  ReturnType<typeof generateCompany>[number],
  ReturnType<typeof generateCompany>[number],
  ReturnType<typeof generateCompany>[number],
];

/** `remote_access_sessions{gateway="wg-1",gateway_kind="wireguard",tier="vpn"} n` from a scrape. */
function wireGuardSessions(body: string): number | null {
  const m = /^remote_access_sessions\{gateway="wg-1",gateway_kind="wireguard",tier="vpn"\} (\d+)$/m.exec(body);
  return m === null ? null : Number(m[1]);
}

describe('a mixed fleet: OpenVPN, WireGuard and a bastion in one plan and apply', () => {
  let stack: LocalStack;
  let wg: WireGuardGateway;
  let dir: string;
  let serve: RacServe | undefined;
  let metricsUrl: string;
  const clients: WireGuardClient[] = [];
  const ownPair = { privateKey: '', publicKey: '' };

  beforeAll(async () => {
    stack = await startStack({
      people: [generated, ownKey, bastion, web],
      gateways: 1,
      bastions: 1,
      wireguardGateways: 1,
    });
    wg = stack.wireguardGateways[0] as WireGuardGateway;
    dir = mkdtempSync(join(tmpdir(), 'rac-wg-e2e-'));
    Object.assign(ownPair, await wgKeyPair());
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'bastion.key')]);
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    writeFileSync(
      join(dir, 'rac.yaml'),
      `${stack.config({ sshTimeoutMs: 5000 })}collector: { interval_seconds: 1 }\nhttp: { listen: "127.0.0.1:${port}" }\n`,
    );
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    const sshKey = readFileSync(join(dir, 'bastion.key.pub'), 'utf8').trim();
    // rosterFor writes the standard columns; wg_key goes on as one more.
    const roster = rosterFor([generated, ownKey, bastion, web], (p) =>
      p === bastion ? { tier: 'vpn-bastion', ssh_key: sshKey } : p === web ? { tier: 'public' } : { tier: 'vpn' },
    )
      .trimEnd()
      .split('\n')
      .map((line, i) =>
        i === 0 ? `${line},wg_key` : `${line},${line.startsWith(`${ownKey.uid},`) ? ownPair.publicKey : ''}`,
      )
      .join('\n');
    writeFileSync(join(dir, 'roster.csv'), `${roster}\n`);
  }, 180_000);

  afterAll(async () => {
    await serve?.stop();
    for (const c of clients) await c.stop().catch(() => undefined);
    await stack?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('plans and applies across all three kinds; the roster key is a peer at once', async () => {
    const plan = await runRac(dir, ['plan', 'roster.csv', '--out', 'plan.json']);
    expect(plan.code, plan.stderr).toBe(0);
    const applied = await runRac(dir, ['apply', 'plan.json', '--yes', '--json']);
    expect(applied.code, applied.stderr).toBe(0);
    const { report } = applied.json<{
      report: { systems: Array<{ name: string; kind: string; status: string; added: number }> };
    }>();
    expect(report.systems.map((s) => [s.name, s.kind, s.status, s.added]).sort()).toEqual([
      ['bastion-1', 'bastion', 'applied', 1],
      ['gw-1', 'openvpn', 'applied', 3],
      ['wg-1', 'wireguard', 'applied', 1],
    ]);
    const peers = await wg.wg(['show', 'wg0', 'peers']);
    expect(peers.stdout.trim().split('\n')).toEqual([ownPair.publicKey]);
    // The person holds that private key: the profile leaves its line for them.
    const own = await runRac(dir, ['profile', ownKey.uid, '--gateway', 'wg-1']);
    expect(own.code, own.stderr).toBe(0);
    expect(own.stdout).toContain('# PrivateKey = <your private key>');
    expect(own.stdout).toContain(ownPair.publicKey);
  });

  it('issues a generated key once: the profile connects, a second request is refused, the store never saw it', async () => {
    const issued = await runRac(dir, ['profile', generated.uid, '--gateway', 'wg-1']);
    expect(issued.code, issued.stderr).toBe(0);
    const privateKey = /^PrivateKey = (\S+)$/m.exec(issued.stdout)?.[1] as string;
    expect(privateKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);

    const client = await connectWireGuardClient(wg, issued.stdout, stack.runId);
    clients.push(client);
    expect(await waitUntil(() => client.ping(), 10_000)).toBe(true);

    const again = await runRac(dir, ['profile', generated.uid, '--gateway', 'wg-1']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/was issued at .*--rotate/s);
    const json = await runRac(dir, ['profile', generated.uid, '--gateway', 'wg-1', '--rotate', '--json']);
    expect(json.code).toBe(2);
    expect(json.json<{ error: { code: string } }>().error.code).toBe('RAC_USAGE_JSON_PRIVATE_KEY');

    // Not in the store (database and WAL), not in anything rac wrote.
    for (const file of readdirSync(dir)) {
      const bytes = readFileSync(join(dir, file));
      expect(bytes.includes(privateKey), file).toBe(false);
    }
  });

  it('counts the WireGuard session in /metrics under gateway_kind="wireguard"', async () => {
    serve = await startRacServe(dir, { env: { ...process.env } });
    let body = '';
    const counted = await waitUntil(async () => {
      body = await fetch(metricsUrl).then(
        (r) => r.text(),
        () => '',
      );
      return wireGuardSessions(body) === 1;
    }, 30_000);
    expect(
      counted,
      body
        .split('\n')
        .filter((l) => l.startsWith('remote_access_sessions'))
        .join('\n'),
    ).toBe(true);
    expect(body).not.toContain(generated.uid);
  });

  it('after rac revoke the client cannot handshake again, and /metrics drops it', async () => {
    const client = clients[0] as WireGuardClient;
    const revoked = await runRac(dir, ['revoke', generated.uid, '--json']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.json<{ verified: boolean }>().verified).toBe(true);
    expect((await wg.wg(['show', 'wg0', 'peers'])).stdout.trim().split('\n')).toEqual([ownPair.publicKey]);
    expect(await waitUntil(async () => !(await client.ping()), 5_000)).toBe(true);
    const handshake = await client.latestHandshake();
    await new Promise((r) => setTimeout(r, 6_000));
    expect(await client.ping()).toBe(false);
    expect(await client.latestHandshake()).toBe(handshake);
    expect(await waitUntil(async () => wireGuardSessions(await (await fetch(metricsUrl)).text()) === 0, 15_000)).toBe(
      true,
    );
  }, 60_000);
});
