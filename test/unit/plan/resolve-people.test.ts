import { describe, expect, it } from 'vitest';
import { normalizeDn } from '../../../src/core/dn.ts';
import type { ObservedMemberships } from '../../../src/core/plan/plan.ts';
import { type MemberEntry, resolvePeople, usableKeys } from '../../../src/core/plan/resolve-people.ts';

const BASE = 'ou=people,dc=corp,dc=example';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

function entries(list: Array<[dn: string, uids: string[], keys?: string[]]>): Map<string, MemberEntry> {
  return new Map(list.map(([dn, uids, keys]) => [normalizeDn(dn), { dn, uids, sshPublicKeys: keys ?? [] }]));
}
function members(m: Partial<Record<'public' | 'vpn' | 'vpn-bastion', string[]>>): ObservedMemberships {
  return {
    public: new Set((m.public ?? []).map(normalizeDn)),
    vpn: new Set((m.vpn ?? []).map(normalizeDn)),
    'vpn-bastion': new Set((m['vpn-bastion'] ?? []).map(normalizeDn)),
  };
}

describe('resolvePeople: group members to people, each judged on its own data', () => {
  it('takes the uid from the entry, not from the DN (cn= layouts, names that need escaping)', () => {
    const zhang = `cn=Zhang\\, Wei+uid=zw,ou=Tech\\2C R&D,${BASE}`;
    const li = `cn=Li Na,ou=Finance,${BASE}`;
    const r = resolvePeople({
      memberships: members({ public: [zhang, li], vpn: [zhang, li], 'vpn-bastion': [li] }),
      entries: entries([
        [zhang, ['ZhangWei']],
        [li, ['lina'], [KEY]],
      ]),
      usersBase: BASE,
      uidAttribute: 'uid',
    });
    expect([...r.tiers]).toEqual([
      ['zhangwei', 'vpn'],
      ['lina', 'vpn-bastion'],
    ]);
    expect(r.keys.get('lina')).toEqual([KEY]);
    expect(r.dns.get('zhangwei')).toBe(zhang);
    expect(r.unusable).toEqual([]);
  });

  it('lists unusable members with a reason and keeps everyone else', () => {
    const ok = `uid=ok,${BASE}`;
    const noUid = `cn=Service Desk,${BASE}`;
    const badUid = `uid=x,${BASE}`;
    const dangling = `uid=gone,${BASE}`;
    const twinA = `cn=A,${BASE}`;
    const twinB = `cn=B,${BASE}`;
    const r = resolvePeople({
      memberships: members({
        vpn: [ok, noUid, badUid, dangling, twinA, twinB, 'cn=nobody,ou=groups,dc=corp,dc=example'],
      }),
      entries: entries([
        [ok, ['ok']],
        [noUid, []],
        [badUid, ['rm -rf /;x']],
        [twinA, ['twin']],
        [twinB, ['twin']],
      ]),
      usersBase: BASE,
      uidAttribute: 'uid',
    });
    expect([...r.tiers.keys()]).toEqual(['ok']);
    expect(r.outside).toEqual(['cn=nobody,ou=groups,dc=corp,dc=example']);
    const reasons = new Map(r.unusable.map((u) => [u.dn, u.reason]));
    expect(reasons.get(noUid)).toBe('entry has no uid');
    expect(reasons.get(badUid)).toMatch(/cannot be an account name/);
    expect(reasons.get(normalizeDn(dangling))).toMatch(/does not exist/);
    expect(reasons.get(twinA)).toBe('2 entries have uid twin');
    expect(reasons.get(twinB)).toBe('2 entries have uid twin');
    expect(r.unusable.every((u) => u.tier === 'vpn')).toBe(true);
  });

  it('uses the configured uid attribute in its reasons (Active Directory)', () => {
    const dn = `cn=Somebody,${BASE}`;
    const r = resolvePeople({
      memberships: members({ public: [dn] }),
      entries: entries([[dn, []]]),
      usersBase: BASE,
      uidAttribute: 'sAMAccountName',
    });
    expect(r.unusable[0]?.reason).toBe('entry has no sAMAccountName');
  });
});

describe('usableKeys', () => {
  it('accepts plain keys and normalises them', () => {
    expect(usableKeys([`${KEY}  laptop`])).toEqual({ ok: true, keys: [`${KEY} laptop`] });
  });

  it('fails the person for a key with options, naming which key', () => {
    const r = usableKeys([KEY, `command="/bin/sh -c id" ${KEY}`]);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/^sshPublicKey 2 of 2 /);
  });
});
