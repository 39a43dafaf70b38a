import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../../src/core/secret.ts';
import {
  explainBadWireGuardKey,
  generateWireGuardKeyPair,
  isWireGuardKey,
  publicKeyOf,
} from '../../../src/core/wireguard/keys.ts';

const hex = (h: string) => Buffer.from(h, 'hex').toString('base64');

describe('WireGuard keys', () => {
  it('derives the X25519 public key of RFC 7748 §6.1', () => {
    const alice = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    expect(publicKeyOf(new Secret(alice))).toBe(
      hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'),
    );
  });

  it('generates distinct, clamped pairs whose private half never prints', () => {
    const a = generateWireGuardKeyPair();
    const b = generateWireGuardKeyPair();
    expect(a.publicKey).not.toBe(b.publicKey);
    expect(isWireGuardKey(a.publicKey) && isWireGuardKey(a.privateKey.reveal())).toBe(true);
    const raw = Buffer.from(a.privateKey.reveal(), 'base64');
    expect((raw[0] as number) & 7).toBe(0);
    expect((raw[31] as number) & 0xc0).toBe(0x40);
    expect(publicKeyOf(a.privateKey)).toBe(a.publicKey);
    for (const shown of [JSON.stringify(a), String(a.privateKey), inspect(a)])
      expect(shown).not.toContain(a.privateKey.reveal());
  });

  it('accepts exactly the spelling wg prints', () => {
    expect(isWireGuardKey('zwT+UlHld5iwp7Ws+MpLoJztDei3PhbNIBRvx1RvIVI=')).toBe(true);
    // Same 32 bytes under a lenient decoder, but not canonical base64.
    expect(isWireGuardKey('zwT+UlHld5iwp7Ws+MpLoJztDei3PhbNIBRvx1RvIVJ=')).toBe(false);
    expect(isWireGuardKey('zwT+UlHld5iwp7Ws+MpLoJztDei3PhbNIBRvx1RvIVI')).toBe(false);
    expect(isWireGuardKey(' zwT+UlHld5iwp7Ws+MpLoJztDei3PhbNIBRvx1RvIVI=')).toBe(false);
    expect(isWireGuardKey('zwT-UlHld5iwp7Ws_MpLoJztDei3PhbNIBRvx1RvIVI=')).toBe(false);
    expect(explainBadWireGuardKey('ssh-ed25519 AAAA')).toMatch(/SSH or PEM/);
    expect(explainBadWireGuardKey('abc')).toMatch(/44 characters/);
    expect(explainBadWireGuardKey('zwT+UlHld5iwp7Ws+MpLoJztDei3PhbNIBRvx1RvIVI=')).toBeNull();
  });
});
