import { describe, expect, it } from 'vitest';
import { type PeerEntry, parsePeerSet, renderPeerSet } from '../../../src/core/wireguard/render-peers.ts';

const K1 = 'zwT+UlHld5iwp7Ws+MpLoJztDei3PhbNIBRvx1RvIVI=';
const K2 = 'wAU0CSiS2k+0eKUx4EBBHqpGB2ZoCTCyGQLgV42EhhQ=';
const K3 = '0DteFvmKqcCB+cMYIY1sswZaOfJ7SREZsoS48pmbkgk=';
const bob: PeerEntry = { uid: 'bob', tier: 'vpn', publicKey: K1, address: '10.61.0.2' };
const amy: PeerEntry = { uid: 'amy', tier: 'vpn-bastion', publicKey: K2, address: '10.61.16.2' };

describe('renderPeerSet', () => {
  it('renders [Peer] sections sorted by uid, each named by a comment, one /32 each', () => {
    expect(renderPeerSet([bob, amy])).toBe(
      [
        '# managed by rac (remote-access-capacity): rewritten as a whole by every apply; do not edit',
        '',
        '# rac: amy vpn-bastion',
        '[Peer]',
        `PublicKey = ${K2}`,
        'AllowedIPs = 10.61.16.2/32',
        '',
        '# rac: bob vpn',
        '[Peer]',
        `PublicKey = ${K1}`,
        'AllowedIPs = 10.61.0.2/32',
        '',
      ].join('\n'),
    );
    expect(renderPeerSet([amy, bob])).toBe(renderPeerSet([bob, amy]));
  });

  it('refuses values that could add lines or clash', () => {
    expect(() => renderPeerSet([{ ...bob, uid: 'bob\nEndpoint = 1.2.3.4:1' }])).toThrow(/not a valid account name/);
    expect(() => renderPeerSet([{ ...bob, publicKey: `${K1}\n[Peer]` }])).toThrow(/not a WireGuard key/);
    expect(() => renderPeerSet([{ ...bob, address: '10.61.0.2/32, 0.0.0.0/0' }])).toThrow(/not an IPv4 address/);
    expect(() => renderPeerSet([{ ...bob, tier: 'public' as never }])).toThrow(/no VPN peer/);
    expect(() => renderPeerSet([bob, { ...amy, publicKey: K1 }])).toThrow(/used by another person/);
    expect(() => renderPeerSet([bob, { ...amy, address: '10.61.0.2' }])).toThrow(/used by another person/);
  });
});

describe('parsePeerSet', () => {
  it('reads back exactly what it rendered', () => {
    const parsed = parsePeerSet(renderPeerSet([bob, amy]));
    expect(parsed.foreign).toEqual([]);
    expect([...parsed.byKey.values()].sort((a, b) => a.uid.localeCompare(b.uid))).toEqual([amy, bob]);
  });

  it('sections rac did not write, or that were edited, are foreign', () => {
    const text = `${renderPeerSet([bob])}[Peer]\nPublicKey = ${K2}\nAllowedIPs = 10.61.0.9/32\n\n# rac: cy vpn\n[Peer]\nPublicKey = ${K3}\nAllowedIPs = 10.61.0.7/32\nEndpoint = 10.0.0.1:51820\n`;
    const parsed = parsePeerSet(text);
    expect([...parsed.byKey.keys()]).toEqual([K1]);
    expect(parsed.foreign).toEqual([K2, K3]);
  });

  it('reads CRLF and an empty file', () => {
    expect(parsePeerSet(renderPeerSet([bob]).replaceAll('\n', '\r\n')).byKey.get(K1)).toEqual(bob);
    expect(parsePeerSet('').byKey.size).toBe(0);
  });
});
