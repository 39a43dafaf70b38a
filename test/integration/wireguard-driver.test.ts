import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, execOk, newRunId } from '../../infra/local/netns.ts';
import {
  connectWireGuardClient,
  startWireGuardGateway,
  WG,
  type WireGuardClient,
  type WireGuardGateway,
  waitUntil,
  wgKeyPair,
} from '../../infra/local/wireguard-gateway.ts';
import { createWireGuardDriver } from '../../src/adapters/gateways/wireguard/driver.ts';
import { createSshShell } from '../../src/adapters/ssh/ssh-shell.ts';
import { Secret } from '../../src/core/secret.ts';
import { generateWireGuardKeyPair, type WireGuardKeyPair } from '../../src/core/wireguard/keys.ts';
import { renderWireGuardProfile } from '../../src/core/wireguard/render-profile.ts';
import type { GatewayDriver, GatewayGrant } from '../../src/ports.ts';
import { describeGatewayDriver } from '../support/gateway-contract.ts';

const UIDS = ['ada', 'bo', 'cy', 'dee', 'eve', 'fay'];

interface Fixture {
  runId: string;
  gateway: WireGuardGateway;
  driver: GatewayDriver;
  keys: Map<string, WireGuardKeyPair>;
  grant(uid: string, variant?: number): GatewayGrant;
  connect(uid: string): Promise<WireGuardClient>;
}

async function startFixture(index: number): Promise<Fixture> {
  const runId = newRunId();
  const gateway = await startWireGuardGateway({ name: `wg-c${index}`, index, runId });
  const shell = createSshShell({
    name: gateway.name,
    host: gateway.address,
    port: gateway.ssh.port,
    user: 'root',
    privateKey: new Secret(gateway.ssh.privateKey),
    hostKey: gateway.ssh.hostKeyLine,
  });
  const driver = createWireGuardDriver({
    name: gateway.name,
    shell,
    timeoutMs: 15_000,
    wireguard: { interface: 'wg0', peers_file: gateway.peersFile, public_key: gateway.publicKey },
  });
  const [a, b] = gateway.serverNetwork.split('.') as [string, string];
  // rac's own key generation: the real wireguard-go has to accept these keys.
  const keys = new Map(UIDS.map((uid) => [uid, generateWireGuardKeyPair()]));
  const grant = (uid: string, variant = 0): GatewayGrant => {
    const i = UIDS.indexOf(uid);
    const publicKey = keys.get(uid)?.publicKey as string;
    return variant === 0
      ? { uid, tier: 'vpn', address: `${a}.${b}.0.${10 + i}`, publicKey }
      : { uid, tier: 'vpn-bastion', address: `${a}.${b}.16.${10 + i}`, publicKey };
  };
  const connect = async (uid: string) => {
    const g = grant(uid);
    const profile = renderWireGuardProfile({
      uid,
      gateway: gateway.name,
      privateKey: keys.get(uid)?.privateKey ?? null,
      publicKey: g.publicKey as string,
      address: g.address as string,
      dns: [],
      serverPublicKey: gateway.publicKey,
      endpoint: { host: gateway.endpointHost, port: gateway.endpointPort },
      allowedIps: [gateway.serverNetwork],
      persistentKeepalive: 25,
    });
    return await connectWireGuardClient(gateway, profile, runId);
  };
  return { runId, gateway, driver, keys, grant, connect };
}

describeGatewayDriver('wireguard', async () => {
  const f = await startFixture(6);
  return {
    driver: f.driver,
    people: UIDS,
    grant: f.grant,
    async connect(uid) {
      const client = await f.connect(uid);
      if (!(await waitUntil(() => client.ping(), 10_000))) {
        await client.stop();
        throw new Error(`the WireGuard client of ${uid} did not get through`);
      }
      // Ended = the gateway no longer answers it: its peer is gone, so no handshake succeeds.
      return {
        stop: () => client.stop(),
        ended: async () => await waitUntil(async () => !(await client.ping()), 5_000),
      };
    },
    async tamper() {
      // A peer added by hand, behind rac's back.
      const stranger = await wgKeyPair();
      const r = await f.gateway.wg(['set', 'wg0', 'peer', stranger.publicKey, 'allowed-ips', '10.66.9.9/32']);
      if (r.code !== 0) throw new Error(r.stderr);
    },
    async stop() {
      await f.gateway.stop();
      await cleanupAll();
    },
  };
});

describe('WireGuard driver on a real wireguard-go gateway', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture(5);
  }, 60_000);
  afterAll(async () => {
    await f?.driver.close();
    await f?.gateway.stop();
    await cleanupAll();
  });

  it('generates key pairs that wg pubkey agrees with', async () => {
    const pair = generateWireGuardKeyPair();
    const derived = await execOk([WG, 'pubkey'], { input: `${pair.privateKey.reveal()}\n` });
    expect(derived.stdout.trim()).toBe(pair.publicKey);
  });

  it('keeps the interface key and port across applies, and writes only the peer file', async () => {
    const before = await f.gateway.wg(['show', 'wg0', 'dump']);
    const [, pub, port] = (before.stdout.split('\n')[0] as string).split('\t');
    await f.driver.apply({ desired: new Map(UIDS.slice(0, 2).map((u) => [u, f.grant(u)])) });
    const after = await f.gateway.wg(['show', 'wg0', 'dump']);
    expect((after.stdout.split('\n')[0] as string).split('\t').slice(1, 3)).toEqual([pub, port]);
    expect((await f.driver.probe()).up).toBe(true);
    const file = await f.gateway.wg(['show', 'wg0', 'peers']);
    expect(file.stdout.trim().split('\n').sort()).toEqual(
      UIDS.slice(0, 2)
        .map((u) => f.keys.get(u)?.publicKey)
        .sort(),
    );
  });

  it('a removed peer cannot handshake again; the other peers stay connected', async () => {
    const [a, b] = UIDS as [string, string];
    await f.driver.apply({ desired: new Map([a, b].map((u) => [u, f.grant(u)])) });
    const ca = await f.connect(a);
    const cb = await f.connect(b);
    try {
      expect(await waitUntil(() => ca.ping(), 10_000)).toBe(true);
      expect(await waitUntil(() => cb.ping(), 10_000)).toBe(true);
      expect((await f.driver.listSessions()).map((s) => s.uid).sort()).toEqual([a, b]);
      const handshakeB = await cb.latestHandshake();
      await f.driver.apply({ desired: new Map([[b, f.grant(b)]]) });
      expect(await waitUntil(async () => !(await ca.ping()), 5_000)).toBe(true);
      // The client keeps trying (keepalive, and the pings): nothing completes any more.
      const handshakeA = await ca.latestHandshake();
      await new Promise((r) => setTimeout(r, 6_000));
      expect(await ca.ping()).toBe(false);
      expect(await ca.latestHandshake()).toBe(handshakeA);
      // b was untouched by syncconf: same session, no new handshake needed.
      expect(await cb.ping()).toBe(true);
      expect(await cb.latestHandshake()).toBe(handshakeB);
      expect((await f.driver.listSessions()).map((s) => s.uid)).toEqual([b]);
    } finally {
      await ca.stop();
      await cb.stop();
    }
  }, 60_000);

  it('a peer re-added by hand with a person’s key is that person’s: observe, disconnect and apply see it', async () => {
    const [a, b] = UIDS as [string, string];
    const owners = new Map([...f.keys].map(([uid, k]) => [k.publicKey, uid]));
    const driver = createWireGuardDriver({
      name: 'wg-owned',
      shell: createSshShell({
        name: 'wg-owned',
        host: f.gateway.address,
        port: f.gateway.ssh.port,
        user: 'root',
        privateKey: new Secret(f.gateway.ssh.privateKey),
        hostKey: f.gateway.ssh.hostKeyLine,
      }),
      timeoutMs: 15_000,
      wireguard: { interface: 'wg0', peers_file: f.gateway.peersFile, public_key: f.gateway.publicKey },
      keyOwners: () => owners,
    });
    try {
      await driver.apply({ desired: new Map([[a, f.grant(a)]]) });
      const keyB = f.keys.get(b)?.publicKey as string;
      await f.gateway.wg(['set', 'wg0', 'peer', keyB, 'allowed-ips', '10.65.9.9/32']);
      const observed = await driver.observe();
      expect([...observed.grants.keys()].sort()).toEqual([a, b]);
      expect(observed.foreign).toEqual([keyB]);
      await driver.disconnect([b]);
      expect((await f.gateway.wg(['show', 'wg0', 'peers'])).stdout).not.toContain(keyB);
      await f.gateway.wg(['set', 'wg0', 'peer', keyB, 'allowed-ips', '10.65.9.9/32']);
      const report = await driver.apply({ desired: new Map([[a, f.grant(a)]]) });
      expect(report).toMatchObject({ removed: [b], wrote: true });
      expect([...(await driver.observe()).grants.keys()]).toEqual([a]);
    } finally {
      await driver.close();
    }
  });

  it('refuses a peer file that is a symlink, and changes nothing', async () => {
    const link = `${f.gateway.dataDir}/link.conf`;
    await execOk(['ln', '-s', f.gateway.peersFile, link]);
    const driver = createWireGuardDriver({
      name: 'wg-link',
      shell: createSshShell({
        name: 'wg-link',
        host: f.gateway.address,
        port: f.gateway.ssh.port,
        user: 'root',
        privateKey: new Secret(f.gateway.ssh.privateKey),
        hostKey: f.gateway.ssh.hostKeyLine,
      }),
      timeoutMs: 15_000,
      wireguard: { interface: 'wg0', peers_file: link, public_key: f.gateway.publicKey },
    });
    try {
      const peers = (await f.gateway.wg(['show', 'wg0', 'peers'])).stdout;
      await expect(
        driver.apply({ desired: new Map([[UIDS[3] as string, f.grant(UIDS[3] as string)]]) }),
      ).rejects.toThrow(/symlink/);
      expect((await f.gateway.wg(['show', 'wg0', 'peers'])).stdout).toBe(peers);
    } finally {
      await driver.close();
    }
  });
});
