import { describe, expect, it } from 'vitest';
import type { Session } from '../../../src/ports.ts';
import { attributeSessions } from '../../../src/services/capacity-board.ts';

const session = (gateway: string, uid: string, tier?: Session['tier']): Session => ({
  gateway,
  kind: tier === undefined ? 'openvpn' : 'proxy',
  uid,
  id: uid,
  since: null,
  address: null,
  ...(tier === undefined ? {} : { tier }),
});

describe('attributeSessions', () => {
  it('counts proxy sessions as public whatever the person’s tier, and people online by their grant', () => {
    const grants = new Map([
      ['ann', 'vpn' as const],
      ['bob', 'public' as const],
    ]);
    const byTier = attributeSessions(
      [session('gw-1', 'ann'), session('portal-1', 'ann', 'public'), session('portal-1', 'bob', 'public')],
      grants,
    );
    expect(byTier.get('public')?.sessions).toBe(2);
    expect(byTier.get('vpn')?.sessions).toBe(1);
    expect([...(byTier.get('vpn')?.users ?? [])]).toEqual(['ann']);
    expect([...(byTier.get('public')?.users ?? [])]).toEqual(['bob']);
  });
});
