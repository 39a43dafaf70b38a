import { describe, expect, it } from 'vitest';
import { EXAMPLE_POLICY } from '../../../src/cli/commands/init.ts';
import { parsePolicy } from '../../../src/config/policy.ts';
import { capacityLimit } from '../../../src/core/capacity.ts';
import { normalizeDn } from '../../../src/core/dn.ts';
import { buildPlan, recheckCapacity, type Target } from '../../../src/core/plan/build-plan.ts';
import { decideRosterTargets, pruneTargets } from '../../../src/core/plan/decide-targets.ts';
import type { DirectoryPerson, ObservedMemberships } from '../../../src/core/plan/plan.ts';
import { resolvePeople } from '../../../src/core/plan/resolve-people.ts';
import type { RosterPerson } from '../../../src/core/roster/validate-roster.ts';
import type { Tier } from '../../../src/core/tiers.ts';

const BASE = 'ou=people,dc=corp,dc=example';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const dnOf = (uid: string) => `uid=${uid},${BASE}`;
const person = (uid: string, extra: Partial<DirectoryPerson> = {}): DirectoryPerson => ({
  uid,
  dn: dnOf(uid),
  name: uid,
  department: null,
  title: null,
  sshPublicKeys: [],
  ...extra,
});
const members = (m: Partial<Record<Tier, string[]>>): ObservedMemberships => ({
  public: new Set([...(m.public ?? []).map((u) => normalizeDn(dnOf(u))), 'cn=nobody,ou=groups,dc=corp,dc=example']),
  vpn: new Set((m.vpn ?? []).map((u) => normalizeDn(dnOf(u)))),
  'vpn-bastion': new Set((m['vpn-bastion'] ?? []).map((u) => normalizeDn(dnOf(u)))),
});
const target = (uid: string, to: Tier | null, extra: Partial<Target> = {}): Target => ({
  person: person(uid),
  line: null,
  to,
  decidedBy: 'test',
  setSshKeys: null,
  expires: null,
  ...extra,
});
const capacity = {
  limit: capacityLimit({ targetSessions: 100, ratedSessions: null, verified: null }),
  peakConcurrency: { public: 0.5, vpn: 1, 'vpn-bastion': 1 },
  enforce: 'refuse' as const,
};
const plan = (targets: Target[], memberships: ObservedMemberships) =>
  buildPlan({
    id: 'p-1',
    createdAt: '2026-11-26T00:00:00.000Z',
    mode: 'roster',
    source: { file: null, digest: null, rows: targets.length, encoding: null, rollbackOf: null },
    directory: { url: 'ldap://127.0.0.1', groups: { public: 'cn=p', vpn: 'cn=v', 'vpn-bastion': 'cn=b' } },
    usersBase: BASE,
    targets,
    memberships,
    problems: [],
    warnings: [],
    capacity,
  });

describe('buildPlan', () => {
  it('classifies grant, upgrade, downgrade, revoke and unchanged against observed groups', () => {
    const p = plan(
      [
        target('new', 'vpn'),
        target('up', 'vpn-bastion'),
        target('down', 'public'),
        target('gone', null),
        target('same', 'vpn'),
      ],
      members({ public: ['up', 'down', 'gone', 'same'], vpn: ['up', 'down', 'same'], 'vpn-bastion': [] }),
    );
    expect(Object.fromEntries(p.people.map((x) => [x.uid, x.action]))).toEqual({
      new: 'grant',
      up: 'upgrade',
      down: 'downgrade',
      gone: 'revoke',
      same: 'unchanged',
    });
    expect(p.systems.ldap.groups.public).toEqual({ add: ['new'], remove: ['gone'] });
    expect(p.systems.ldap.groups.vpn).toEqual({ add: ['new'], remove: ['down'] });
    expect(p.systems.ldap.groups['vpn-bastion']).toEqual({ add: ['up'], remove: [] });
    expect(p.summary).toMatchObject({ grant: 1, upgrade: 1, downgrade: 1, revoke: 1, unchanged: 1, changes: 4 });
  });

  it('repairs inconsistent membership (vpn without public) as an update', () => {
    const p = plan([target('odd', 'vpn')], members({ vpn: ['odd'] }));
    expect(p.people[0]).toMatchObject({ from: 'vpn', to: 'vpn', action: 'update' });
    expect(p.systems.ldap.groups.public.add).toEqual(['odd']);
  });

  it('writes an ssh key only when it differs from the directory’s, ignoring comments', () => {
    const same = plan(
      [
        target('k', 'vpn-bastion', {
          person: person('k', { sshPublicKeys: [`${KEY} old-comment`] }),
          setSshKeys: [`${KEY} new-comment`],
        }),
      ],
      members({ public: ['k'], vpn: ['k'], 'vpn-bastion': ['k'] }),
    );
    expect(same.people[0]?.action).toBe('unchanged');
    const changed = plan(
      [target('k', 'vpn-bastion', { setSshKeys: [KEY] })],
      members({ public: ['k'], vpn: ['k'], 'vpn-bastion': ['k'] }),
    );
    expect(changed.people[0]?.action).toBe('update');
    expect(changed.systems.ldap.sshKeys).toEqual(['k']);
  });

  it('counts grants before and after across everyone in the groups, not just the roster', () => {
    const p = plan([target('a', 'vpn')], members({ public: ['x', 'y'], vpn: ['y'] }));
    expect(p.capacity.before.grants).toEqual({ public: 1, vpn: 1, 'vpn-bastion': 0 });
    expect(p.capacity.after.grants).toEqual({ public: 1, vpn: 2, 'vpn-bastion': 0 });
  });

  it('refuses when the expected peak exceeds the limit', () => {
    const targets = Array.from({ length: 101 }, (_, i) => target(`u${i}`, 'vpn'));
    expect(plan(targets, members({})).capacity.verdict).toBe('refuse');
    expect(plan(targets.slice(0, 100), members({})).capacity.verdict).toBe('ok');
  });

  it('rechecks capacity against memberships read at apply time', () => {
    const p = plan([target('a', 'vpn')], members({}));
    const crowded = members({
      public: Array.from({ length: 100 }, (_, i) => `o${i}`),
      vpn: Array.from({ length: 100 }, (_, i) => `o${i}`),
    });
    expect(recheckCapacity(p, crowded, BASE, capacity).verdict).toBe('refuse');
  });
});

const policy = parsePolicy(EXAMPLE_POLICY);
const row = (uid: string, extra: Partial<RosterPerson> = {}): RosterPerson => ({
  line: 2,
  uid,
  name: null,
  email: null,
  department: null,
  title: null,
  tier: null,
  sshKey: null,
  expires: null,
  ...extra,
});

describe('decideRosterTargets', () => {
  it('reports people unknown to the directory with line and column', () => {
    const r = decideRosterTargets({
      people: [row('ghost', { line: 7 })],
      rosterProblems: [],
      directoryPeople: new Map(),
      policy,
      usersBase: BASE,
    });
    expect(r.problems).toEqual([
      expect.objectContaining({ line: 7, column: 'uid', code: 'RAC_ROSTER_UNKNOWN_PERSON' }),
    ]);
    expect(r.targets).toEqual([]);
  });

  it('falls back to the directory’s department and title for the policy', () => {
    const r = decideRosterTargets({
      people: [row('ops')],
      rosterProblems: [],
      directoryPeople: new Map([
        ['ops', person('ops', { department: '技术中心', title: '运维工程师', sshPublicKeys: [KEY] })],
      ]),
      policy,
      usersBase: BASE,
    });
    expect(r.targets[0]).toMatchObject({ to: 'vpn-bastion', decidedBy: 'rule tech-centre-ops' });
  });

  it('rejects a policy-decided vpn-bastion with no key anywhere', () => {
    const r = decideRosterTargets({
      people: [row('ops', { department: '技术中心', title: '运维工程师', line: 4 })],
      rosterProblems: [],
      directoryPeople: new Map([['ops', person('ops', { department: '技术中心', title: '运维工程师' })]]),
      policy,
      usersBase: BASE,
    });
    expect(r.problems).toEqual([
      expect.objectContaining({ line: 4, column: 'ssh_key', code: 'RAC_ROSTER_SSH_KEY_MISSING' }),
    ]);
  });

  it('rejects a roster tier above the rule’s cap', () => {
    const r = decideRosterTargets({
      people: [row('cs', { department: '客服中心', tier: 'vpn-bastion', sshKey: KEY, line: 3 })],
      rosterProblems: [],
      directoryPeople: new Map([['cs', person('cs', { department: '客服中心' })]]),
      policy,
      usersBase: BASE,
    });
    expect(r.problems).toEqual([
      expect.objectContaining({ line: 3, column: 'tier', code: 'RAC_ROSTER_TIER_NOT_ALLOWED' }),
    ]);
  });
});

describe('the directory decides, not the roster', () => {
  const agent = person('agent', { department: '客服中心', title: '客服专员' });
  const rewritten = row('agent', { department: '技术中心', title: '运维工程师', sshKey: KEY, line: 5 });

  it('refuses a roster department that contradicts the directory, naming both values', () => {
    const r = decideRosterTargets({
      people: [rewritten],
      rosterProblems: [],
      directoryPeople: new Map([['agent', agent]]),
      policy,
      usersBase: BASE,
      attributeNames: { department: 'departmentNumber/ou', title: 'title' },
    });
    expect(r.targets).toEqual([]);
    expect(r.problems.map((p) => [p.line, p.column, p.code])).toEqual([
      [5, 'department', 'RAC_ROSTER_ATTRIBUTE_CONFLICT'],
      [5, 'title', 'RAC_ROSTER_ATTRIBUTE_CONFLICT'],
    ]);
    expect(r.problems[0]?.reason).toContain('"技术中心"');
    expect(r.problems[0]?.reason).toContain('"客服中心" (departmentNumber/ou)');
  });

  it('matches policy on the directory’s values when the roster agrees or is silent', () => {
    const r = decideRosterTargets({
      people: [row('agent', { department: ' 客服中心 ', line: 5 })],
      rosterProblems: [],
      directoryPeople: new Map([['agent', agent]]),
      policy,
      usersBase: BASE,
    });
    expect(r.problems).toEqual([]);
    expect(r.targets[0]).toMatchObject({ to: 'public', decidedBy: 'rule customer-service' });
  });

  it('uses the roster’s values with trustRosterAttributes and lists them for the audit', () => {
    const r = decideRosterTargets({
      people: [rewritten],
      rosterProblems: [],
      directoryPeople: new Map([['agent', agent]]),
      policy,
      usersBase: BASE,
      trustRosterAttributes: true,
    });
    expect(r.problems).toEqual([]);
    expect(r.targets[0]).toMatchObject({ to: 'vpn-bastion', decidedBy: 'rule tech-centre-ops' });
    expect(r.trustedRosterAttributes).toEqual([
      { uid: 'agent', field: 'department', roster: '技术中心', directory: '客服中心' },
      { uid: 'agent', field: 'title', roster: '运维工程师', directory: '客服专员' },
    ]);
  });
});

describe('roster keys', () => {
  const OTHER = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDm4ifqTxh5cKJJYtYJbnQXnB1xJwMvvZ+oS/6tNEkr4 other@system';
  const ops = person('ops', { department: '技术中心', title: '运维工程师', sshPublicKeys: [OTHER] });
  const decide = (replaceKeys: boolean, sshKey = KEY) =>
    decideRosterTargets({
      people: [row('ops', { sshKey })],
      rosterProblems: [],
      directoryPeople: new Map([['ops', ops]]),
      policy,
      usersBase: BASE,
      replaceKeys,
    });

  it('adds the roster key to the keys other systems put in the directory', () => {
    expect(decide(false).targets[0]?.setSshKeys).toEqual([OTHER, KEY]);
  });

  it('replaces every directory key with replaceKeys', () => {
    expect(decide(true).targets[0]?.setSshKeys).toEqual([KEY]);
  });

  it('changes nothing when the directory has the key already (whatever its comment)', () => {
    expect(decide(false, `${OTHER.split(' ').slice(0, 2).join(' ')} laptop`).targets[0]?.setSshKeys).toBeNull();
  });
});

describe('pruneTargets', () => {
  it('names people in tier groups who are not in the roster, never placeholders', () => {
    const memberships = members({ public: ['a', 'b'], vpn: ['b', 'c'] });
    const entries = new Map(
      ['a', 'b', 'c'].map((uid) => [normalizeDn(dnOf(uid)), { dn: dnOf(uid), uids: [uid], sshPublicKeys: [] }]),
    );
    const people = resolvePeople({ memberships, entries, usersBase: BASE, uidAttribute: 'uid' });
    const extra = pruneTargets({ people, named: new Set(['a']) });
    expect(extra.map((e) => e.uid).sort()).toEqual(['b', 'c']);
  });
});
