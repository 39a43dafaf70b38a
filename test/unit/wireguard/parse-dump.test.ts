import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isLivePeer, parseWireGuardDump } from '../../../src/core/wireguard/parse-dump.ts';

// Recorded from wireguard-go v0.0.20220316 + wireguard-tools v1.0.20210914 (`wg show <if> dump`);
// the interface private key and the preshared key were replaced by recognisable stand-ins.
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/wireguard/${name}`, import.meta.url), 'utf8');
const PRIVATE_STAND_IN = 'cmFjLWZpeHR1cmUtbm90LWEtcmVhbC1rZXktMDAwMCE=';
const PSK_STAND_IN = 'cmFjLWZpeHR1cmUtbm90LWEtcmVhbC1wc2stMDAwMCE=';

describe('parseWireGuardDump', () => {
  it('reads every peer of a gateway and never returns the interface private key or a preshared key', () => {
    const text = fixture('gateway-dump.txt');
    expect(text).toContain(PRIVATE_STAND_IN);
    const dump = parseWireGuardDump(text);
    expect(JSON.stringify(dump)).not.toContain(PRIVATE_STAND_IN);
    expect(JSON.stringify(dump)).not.toContain(PSK_STAND_IN);
    expect(dump.interface).toEqual({ publicKey: 'PSgtbqWkwJOvO3rppCcxQqEsKenjg32wR7Cw4XKVf2U=', listenPort: 51820 });
    expect(dump.peers).toHaveLength(4);
    expect(dump.peers[0]).toEqual({
      publicKey: 'zwT+UlHld5iwp7Ws+MpLoJztDei3PhbNIBRvx1RvIVI=',
      hasPresharedKey: false,
      endpoint: '10.239.0.2:48003',
      allowedIps: ['10.61.0.2/32'],
      latestHandshake: 1796015792,
      rxBytes: 372,
      txBytes: 220,
      persistentKeepalive: null,
    });
    expect(dump.peers[1]).toMatchObject({
      hasPresharedKey: true,
      allowedIps: ['10.61.0.3/32', '10.99.0.0/24'],
      latestHandshake: null,
      persistentKeepalive: 25,
    });
    expect(dump.peers[2]?.endpoint).toBe('[fd00::5]:51820');
    expect(dump.peers[3]).toMatchObject({ endpoint: null, allowedIps: [], latestHandshake: null });
  });

  it('reads a client interface the same way', () => {
    const dump = parseWireGuardDump(fixture('client-dump.txt'));
    expect(dump.peers).toHaveLength(1);
    expect(dump.peers[0]).toMatchObject({ allowedIps: ['10.61.0.0/16'], persistentKeepalive: 25 });
  });

  it('an interface without peers, and empty output', () => {
    const only = fixture('gateway-dump.txt').split('\n')[0] as string;
    expect(parseWireGuardDump(`${only}\n`).peers).toEqual([]);
    expect(parseWireGuardDump('')).toEqual({ interface: null, peers: [] });
  });

  it('refuses malformed lines by number, without echoing them', () => {
    const lines = fixture('gateway-dump.txt').trimEnd().split('\n');
    const broken = [lines[0], `${lines[1]}\textra`].join('\n');
    expect(() => parseWireGuardDump(broken)).toThrow(/line 2: a peer line has 9 fields/);
    const badKey = [lines[0], (lines[1] as string).replace(/^[^\t]+/, 'not-a-key')].join('\n');
    expect(() => parseWireGuardDump(badKey)).toThrow(/line 2: the peer public key/);
    const badCounter = [lines[0], (lines[1] as string).replace('\t372\t', '\t-1\t')].join('\n');
    expect(() => parseWireGuardDump(badCounter)).toThrow(/rx bytes is not a number/);
    const thrown = (() => {
      try {
        parseWireGuardDump(`${PRIVATE_STAND_IN}\tx\n`);
        return null;
      } catch (err) {
        return String(err);
      }
    })();
    expect(thrown).toMatch(/line 1: the interface line has 2 fields/);
    expect(thrown).not.toContain(PRIVATE_STAND_IN);
  });

  it('live means a handshake within the last 180 s', () => {
    const peer = parseWireGuardDump(fixture('gateway-dump.txt')).peers[0];
    if (peer === undefined) throw new Error('fixture');
    expect(isLivePeer(peer, 1796015792 + 180)).toBe(true);
    expect(isLivePeer(peer, 1796015792 + 181)).toBe(false);
    const never = parseWireGuardDump(fixture('gateway-dump.txt')).peers[1];
    expect(isLivePeer(never as never, 1796015792)).toBe(false);
  });
});
