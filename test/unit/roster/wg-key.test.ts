import { describe, expect, it } from 'vitest';
import { type ParsedRoster, parseRoster } from '../../../src/core/roster/validate-roster.ts';

const read = (text: string): ParsedRoster => parseRoster(new TextEncoder().encode(text), { today: '2025-06-15' });
const PUB = 'zwT+UlHld5iwp7Ws+MpLoJztDei3PhbNIBRvx1RvIVI=';

describe('roster column wg_key', () => {
  it('reads a WireGuard public key, under any spelling of the header', () => {
    const roster = read(`uid,tier,WG Key\nbob,vpn,${PUB}\ncy,vpn,\n`);
    expect(roster.problems).toEqual([]);
    expect(roster.people[0]?.wgKey).toBe(PUB);
    expect(roster.people[1]).not.toHaveProperty('wgKey');
  });

  it('refuses anything but the exact `wg pubkey` spelling, with line and column, never echoing a key-like value', () => {
    const nonCanonical = `${PUB.slice(0, 42)}J=`;
    const roster = read(`uid,tier,wg_key\nbob,vpn,${nonCanonical}\ncy,vpn,ssh-ed25519 AAAAC3Nz\ndee,vpn,short\n`);
    expect(roster.people).toEqual([]);
    expect(roster.problems.map((p) => [p.line, p.column, p.code, p.value])).toEqual([
      [2, 'wg_key', 'RAC_ROSTER_WG_KEY_INVALID', null],
      [3, 'wg_key', 'RAC_ROSTER_WG_KEY_INVALID', 'ssh-ed25519 AAAAC3Nz'],
      [4, 'wg_key', 'RAC_ROSTER_WG_KEY_INVALID', 'short'],
    ]);
    expect(roster.problems[1]?.reason).toMatch(/SSH or PEM/);
  });
});
