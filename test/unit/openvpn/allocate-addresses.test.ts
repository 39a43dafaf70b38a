import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/core/errors.ts';
import {
  type AllocationInput,
  allocateAddresses,
  formatIpv4,
  netmaskToPrefix,
  parseIpv4,
  parseIpv4Cidr,
  type VpnTier,
} from '../../../src/core/openvpn/allocate-addresses.ts';

const POOLS = { vpn: '10.8.0.0/20', 'vpn-bastion': '10.8.16.0/24' } as const;
const SERVER = '10.8.0.0/16';

function wanted(entries: Array<[string, VpnTier]>): Map<string, VpnTier> {
  return new Map(entries);
}
function current(entries: Array<[string, VpnTier | string, string]>): AllocationInput['current'] {
  return new Map(entries.map(([uid, tier, address]) => [uid, { tier, address }]));
}
function addressesOf(result: ReturnType<typeof allocateAddresses>): Record<string, string> {
  return Object.fromEntries([...result.assignments].map(([uid, a]) => [uid, a.address]));
}

describe('allocateAddresses', () => {
  it('hands out the lowest free addresses, skipping the network and the server address', () => {
    const result = allocateAddresses({
      pools: POOLS,
      serverNetwork: SERVER,
      current: new Map(),
      wanted: wanted([
        ['carol', 'vpn'],
        ['alice', 'vpn'],
        ['bob', 'vpn-bastion'],
      ]),
    });
    // 10.8.0.0 is the network, 10.8.0.1 the server; the bastion pool does not hold the server's address.
    expect(addressesOf(result)).toEqual({ alice: '10.8.0.2', carol: '10.8.0.3', bob: '10.8.16.1' });
    expect(result.assignments.get('bob')).toEqual({ tier: 'vpn-bastion', address: '10.8.16.1' });
    expect(result.released).toEqual([]);
    expect(result.exhausted).toEqual([]);
  });

  it('keeps everyone whose tier is unchanged where they are, and fills the gaps', () => {
    const result = allocateAddresses({
      pools: POOLS,
      serverNetwork: SERVER,
      current: current([
        ['zed', 'vpn', '10.8.0.2'],
        ['yan', 'vpn', '10.8.3.77'],
      ]),
      wanted: wanted([
        ['aaron', 'vpn'],
        ['yan', 'vpn'],
        ['zed', 'vpn'],
      ]),
    });
    expect(addressesOf(result)).toEqual({ zed: '10.8.0.2', yan: '10.8.3.77', aaron: '10.8.0.3' });
  });

  it('moves a person whose tier changed into the new pool and frees the old address', () => {
    const result = allocateAddresses({
      pools: POOLS,
      serverNetwork: SERVER,
      current: current([
        ['alice', 'vpn', '10.8.0.2'],
        ['bob', 'vpn-bastion', '10.8.16.1'],
      ]),
      wanted: wanted([
        ['alice', 'vpn-bastion'],
        ['bob', 'vpn'],
        ['carol', 'vpn'],
      ]),
    });
    // Neither takes the other's old address in this run: the old sessions may still hold them.
    expect(result.assignments.get('alice')).toEqual({ tier: 'vpn-bastion', address: '10.8.16.2' });
    expect(result.assignments.get('bob')).toEqual({ tier: 'vpn', address: '10.8.0.3' });
    expect(result.assignments.get('carol')).toEqual({ tier: 'vpn', address: '10.8.0.4' });
  });

  it('releases people no longer wanted, sorted, without handing their addresses out in the same run', () => {
    const result = allocateAddresses({
      pools: POOLS,
      serverNetwork: SERVER,
      current: current([
        ['zoe', 'vpn', '10.8.0.2'],
        ['adam', 'vpn-bastion', '10.8.16.1'],
        ['keep', 'vpn', '10.8.0.3'],
      ]),
      wanted: wanted([
        ['keep', 'vpn'],
        ['new', 'vpn'],
      ]),
    });
    expect(result.released).toEqual(['adam', 'zoe']);
    expect(addressesOf(result)).toEqual({ keep: '10.8.0.3', new: '10.8.0.4' });
  });

  it('reuses released addresses, lowest first, once nothing else is left', () => {
    const result = allocateAddresses({
      pools: { vpn: '10.9.0.0/29' },
      serverNetwork: '10.9.0.0/29',
      // 10.9.0.0 network, .1 server, .7 broadcast: .2–.6 for clients.
      current: current([
        ['gone1', 'vpn', '10.9.0.5'],
        ['gone2', 'vpn', '10.9.0.3'],
        ['stay', 'vpn', '10.9.0.2'],
      ]),
      wanted: wanted([
        ['stay', 'vpn'],
        ['n1', 'vpn'],
        ['n2', 'vpn'],
        ['n3', 'vpn'],
        ['n4', 'vpn'],
        ['n5', 'vpn'],
      ]),
    });
    expect(addressesOf(result)).toEqual({
      stay: '10.9.0.2',
      n1: '10.9.0.4',
      n2: '10.9.0.6',
      n3: '10.9.0.3',
      n4: '10.9.0.5',
    });
    expect(result.exhausted).toEqual([{ uid: 'n5', tier: 'vpn', reason: 'pool-full' }]);
  });

  it('reallocates addresses that are no longer valid: outside a changed pool, reserved, unreadable or duplicated', () => {
    const result = allocateAddresses({
      pools: { vpn: '10.8.0.0/24' },
      serverNetwork: SERVER,
      current: current([
        ['moved', 'vpn', '10.8.5.9'],
        ['server', 'vpn', '10.8.0.1'],
        ['bcast', 'vpn', '10.8.0.255'],
        ['junk', 'vpn', '10.8.0.05'],
        ['dup1', 'vpn', '10.8.0.9'],
        ['dup2', 'vpn', '10.8.0.9'],
      ]),
      wanted: wanted(['moved', 'server', 'bcast', 'junk', 'dup1', 'dup2'].map((u) => [u, 'vpn'])),
    });
    // dup1 sorts first and keeps 10.8.0.9; everyone else gets the lowest free addresses in uid order.
    expect(addressesOf(result)).toEqual({
      dup1: '10.8.0.9',
      bcast: '10.8.0.2',
      dup2: '10.8.0.3',
      junk: '10.8.0.4',
      moved: '10.8.0.5',
      server: '10.8.0.6',
    });
  });

  it('reports people it cannot place instead of throwing', () => {
    const result = allocateAddresses({
      pools: { vpn: '10.9.0.0/30' },
      current: new Map(),
      wanted: wanted([
        ['a', 'vpn'],
        ['b', 'vpn'],
        ['c', 'vpn-bastion'],
      ]),
    });
    // A /30 holds network, first usable (reserved: no serverNetwork given), one client, broadcast.
    expect(addressesOf(result)).toEqual({ a: '10.9.0.2' });
    expect(result.exhausted).toEqual([
      { uid: 'b', tier: 'vpn', reason: 'pool-full' },
      { uid: 'c', tier: 'vpn-bastion', reason: 'no-pool' },
    ]);
  });

  it('without serverNetwork reserves every pool’s first usable address; with it, only the server’s own', () => {
    const input = { pools: POOLS, current: new Map(), wanted: wanted([['b', 'vpn-bastion']]) };
    expect(addressesOf(allocateAddresses(input))).toEqual({ b: '10.8.16.2' });
    expect(addressesOf(allocateAddresses({ ...input, serverNetwork: SERVER }))).toEqual({ b: '10.8.16.1' });
  });

  it('gives the same answer whatever order the maps were built in', () => {
    const people: Array<[string, VpnTier]> = Array.from({ length: 200 }, (_, i) => [
      `u${(i * 7919) % 1000}`,
      i % 3 === 0 ? 'vpn-bastion' : 'vpn',
    ]);
    const old = current(
      people.slice(0, 50).map(([u, t], i) => [u, t, t === 'vpn' ? `10.8.1.${i + 1}` : `10.8.16.${i + 10}`]),
    );
    const a = allocateAddresses({ pools: POOLS, serverNetwork: SERVER, current: old, wanted: wanted(people) });
    const b = allocateAddresses({
      pools: POOLS,
      serverNetwork: SERVER,
      current: new Map([...old].reverse()),
      wanted: wanted([...people].reverse()),
    });
    expect([...b.assignments].sort()).toEqual([...a.assignments].sort());
    expect(b.exhausted).toEqual(a.exhausted);
  });

  it('places 5000 people in a /16 with unique addresses, and a re-run changes nothing', () => {
    const people = wanted(
      Array.from({ length: 5000 }, (_, i): [string, VpnTier] => [`user${i}`, i % 10 === 0 ? 'vpn-bastion' : 'vpn']),
    );
    const pools = { vpn: '10.8.0.0/17', 'vpn-bastion': '10.8.128.0/20' } as const;
    const first = allocateAddresses({ pools, serverNetwork: SERVER, current: new Map(), wanted: people });
    expect(first.assignments.size).toBe(5000);
    expect(first.exhausted).toEqual([]);
    expect(new Set([...first.assignments.values()].map((a) => a.address)).size).toBe(5000);
    const again = allocateAddresses({ pools, serverNetwork: SERVER, current: first.assignments, wanted: people });
    expect(again.assignments).toEqual(first.assignments);
  });

  it.each([
    [{ vpn: '10.8.0.1/20' }, undefined, /host bits/],
    [{ vpn: '10.8.0.0/31' }, undefined, /too small/],
    [{ vpn: 'ten.8.0.0/20' }, undefined, /not an IPv4 CIDR/],
    [{ vpn: '10.8.0.0/20', 'vpn-bastion': '10.8.8.0/24' }, undefined, /overlaps the vpn pool/],
    [{ vpn: '10.9.0.0/24' }, SERVER, /not inside the server network/],
    [{ vpn: '10.8.0.0/24' }, '10.8.0.1/16', /server network/],
  ])('refuses the pools %j (server network %s)', (pools, serverNetwork, message) => {
    const run = () => allocateAddresses({ pools, serverNetwork, current: new Map(), wanted: new Map() });
    expect(run).toThrow(AppError);
    expect(run).toThrow(message);
    try {
      run();
    } catch (err) {
      expect((err as AppError).code).toBe('RAC_CONFIG_OPENVPN_POOL');
    }
  });
});

describe('IPv4 helpers', () => {
  it('parses strict dotted quads only', () => {
    expect(parseIpv4('10.8.0.1')).toBe(0x0a080001);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    for (const bad of [
      '10.8.0',
      '10.8.0.1.2',
      '10.8.0.01',
      '10.8.0.256',
      '10.8.0.-1',
      ' 10.8.0.1',
      '10.8.0.1\n',
      '0x0a.8.0.1',
      '',
    ]) {
      expect(parseIpv4(bad), bad).toBeNull();
    }
    expect(formatIpv4(0xc0a80101)).toBe('192.168.1.1');
  });

  it('reads CIDRs and netmasks', () => {
    expect(parseIpv4Cidr('10.8.16.0/20')).toEqual({
      network: 0x0a081000,
      prefix: 20,
      netmask: 0xfffff000,
      broadcast: 0x0a081fff,
    });
    expect(parseIpv4Cidr('0.0.0.0/0')?.broadcast).toBe(0xffffffff);
    expect(parseIpv4Cidr('10.8.16.0/20 ')).toBeNull();
    expect(netmaskToPrefix(0xffff0000)).toBe(16);
    expect(netmaskToPrefix(0)).toBe(0);
    expect(netmaskToPrefix(0xffffffff)).toBe(32);
    expect(netmaskToPrefix(0xff00ff00)).toBeNull();
  });
});
