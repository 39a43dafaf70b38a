import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/adapters/store/sqlite-store.ts';
import type { Config } from '../../../src/config/schema.ts';
import type { Tier } from '../../../src/core/tiers.ts';
import { generateWireGuardKeyPair } from '../../../src/core/wireguard/keys.ts';
import { wireGuardAssignments, wireGuardDesiredState } from '../../../src/services/wireguard-desired.ts';

const wgSection = (n: number) => ({
  interface: 'wg0',
  peers_file: '/etc/wireguard/wg0.peers.conf',
  server_network: `10.6${n}.0.0/16`,
  pools: { vpn: `10.6${n}.0.0/19`, 'vpn-bastion': `10.6${n}.32.0/22` },
  routes: { vpn: [], 'vpn-bastion': [] },
  endpoint: { host: `wg${n}.example`, port: 51820 },
  public_key: 'PSgtbqWkwJOvO3rppCcxQqEsKenjg32wR7Cw4XKVf2U=',
  dns: [],
  persistent_keepalive: 25,
});
const config = {
  gateways: [
    { name: 'gw-1', kind: 'openvpn', rated_sessions: 5000 },
    { name: 'wg-1', kind: 'wireguard', rated_sessions: 3000, wireguard: wgSection(1) },
    { name: 'wg-2', kind: 'wireguard', rated_sessions: 1000, wireguard: wgSection(2) },
  ],
} as unknown as Config;

function people(n: number, tier: Tier = 'vpn'): Map<string, Tier> {
  return new Map(Array.from({ length: n }, (_, i) => [`p${String(i).padStart(3, '0')}`, tier]));
}

describe('WireGuard desired state', () => {
  it('assigns vpn people across WireGuard gateways by rating; only people with a key become peers', () => {
    const store = openStore(':memory:');
    const deps = { config, store };
    const tiers = new Map([...people(8), ['web', 'public' as Tier], ['ops', 'vpn-bastion' as Tier]]);
    const assigned = wireGuardAssignments(deps, tiers, true);
    expect(assigned.has('web')).toBe(false);
    const counts: Record<string, number> = {};
    for (const g of assigned.values()) counts[g] = (counts[g] ?? 0) + 1;
    expect(counts).toEqual({ 'wg-1': 7, 'wg-2': 2 });
    const onWg1 = [...assigned].filter(([, g]) => g === 'wg-1').map(([uid]) => uid);
    const keyed = onWg1.slice(0, 3);
    for (const uid of keyed)
      store.wireguard.setKey({ uid, publicKey: generateWireGuardKeyPair().publicKey, source: 'generated', actor: 't' });
    const state = wireGuardDesiredState(deps, 'wg-1', tiers, true);
    expect([...state.desired.keys()].sort()).toEqual([...keyed].sort());
    expect(state.awaitingKey).toEqual(onWg1.slice(3).sort());
    for (const grant of state.desired.values()) {
      expect(grant.address).toMatch(/^10\.61\./);
      expect(grant.publicKey).toBe(store.wireguard.getKey(grant.uid)?.publicKey);
    }
    // Stable across runs, and sticky when more people arrive.
    const again = wireGuardDesiredState(deps, 'wg-1', new Map([...tiers, ...people(20)]), true);
    for (const [uid, g] of state.desired) expect(again.desired.get(uid)?.address).toBe(g.address);
    const later = wireGuardAssignments(deps, new Map([...tiers, ...people(20)]), false);
    for (const [uid, g] of assigned) expect(later.get(uid)).toBe(g);
  });

  it('releases address and assignment when a person loses the VPN tier', () => {
    const store = openStore(':memory:');
    const deps = { config, store };
    const tiers = people(1);
    store.wireguard.setKey({
      uid: 'p000',
      publicKey: generateWireGuardKeyPair().publicKey,
      source: 'roster',
      actor: 't',
    });
    const gateway = wireGuardAssignments(deps, tiers, true).get('p000') as string;
    expect(wireGuardDesiredState(deps, gateway, tiers, true).desired.has('p000')).toBe(true);
    expect(wireGuardDesiredState(deps, gateway, new Map([['p000', 'public']]), true).desired.size).toBe(0);
    expect(store.getAddresses(gateway).size).toBe(0);
    expect(store.wireguard.getAssignments().size).toBe(0);
  });
});

describe('WireGuard key store', () => {
  it('keeps public keys only, audits rotation, refuses a key of someone else and a lost race', () => {
    const store = openStore(':memory:');
    const a = generateWireGuardKeyPair();
    const b = generateWireGuardKeyPair();
    expect(
      store.wireguard.setKey({
        uid: 'ann',
        publicKey: a.publicKey,
        source: 'generated',
        actor: 't',
        expect: { issuedAt: null },
      }),
    ).toBe(true);
    const first = store.wireguard.getKey('ann');
    expect(first).toMatchObject({ uid: 'ann', publicKey: a.publicKey, source: 'generated' });
    // A second concurrent issuer saw "no key" too: it loses.
    expect(
      store.wireguard.setKey({
        uid: 'ann',
        publicKey: b.publicKey,
        source: 'generated',
        actor: 't',
        expect: { issuedAt: null },
      }),
    ).toBe(false);
    expect(() => store.wireguard.setKey({ uid: 'bo', publicKey: a.publicKey, source: 'roster', actor: 't' })).toThrow(
      /belongs to ann/,
    );
    expect(() => store.wireguard.setKey({ uid: 'bo', publicKey: 'nope', source: 'roster', actor: 't' })).toThrow(
      /not a WireGuard/,
    );
    store.wireguard.setKey({
      uid: 'ann',
      publicKey: b.publicKey,
      source: 'generated',
      actor: 't',
      expect: { issuedAt: first?.issuedAt ?? null },
    });
    const audit = store.listAudit({ uid: 'ann' });
    expect(audit.map((r) => r.action)).toEqual(['wireguard.key.set', 'wireguard.key.rotated']);
    expect(audit[1]?.detail).toMatchObject({ publicKey: b.publicKey, previousPublicKey: a.publicKey });
    expect(JSON.stringify(audit)).not.toContain(a.privateKey.reveal());
  });
});
