import { describe, expect, it } from 'vitest';
import { EXAMPLE_POLICY } from '../../src/cli/commands/init.ts';
import { parsePolicy } from '../../src/config/policy.ts';
import { decideTier } from '../../src/core/policy.ts';

const policy = parsePolicy(EXAMPLE_POLICY);

describe('decideTier', () => {
  it('gives the first matching rule’s tier when the roster names none, and says which rule', () => {
    expect(decideTier(policy, { department: '技术中心', title: '运维工程师', requested: null })).toEqual({
      ok: true,
      tier: 'vpn-bastion',
      decidedBy: 'rule tech-centre-ops',
    });
    expect(decideTier(policy, { department: '技术中心', title: '软件工程师', requested: null })).toMatchObject({
      tier: 'vpn',
      decidedBy: 'rule tech-centre',
    });
  });

  it('falls back to the default for unmatched departments and missing data', () => {
    expect(decideTier(policy, { department: '行政部', title: null, requested: null })).toMatchObject({
      tier: 'public',
      decidedBy: 'default',
    });
    expect(decideTier(policy, { department: null, title: null, requested: null })).toMatchObject({ tier: 'public' });
  });

  it('lets an explicit roster tier win within the rule’s cap', () => {
    expect(decideTier(policy, { department: '客服中心', title: '客服组长', requested: 'vpn' })).toMatchObject({
      ok: true,
      tier: 'vpn',
      decidedBy: 'roster (allowed by rule customer-service, at most vpn)',
    });
  });

  it('refuses vpn-bastion for customer service whatever the roster says', () => {
    const d = decideTier(policy, { department: '客服中心', title: '客服主管', requested: 'vpn-bastion' });
    expect(d).toEqual({
      ok: false,
      rule: 'rule customer-service',
      reason: 'tier vpn-bastion is above what rule customer-service allows (at most vpn)',
    });
  });

  it('matches lists and regexes, case-insensitively', () => {
    const p = parsePolicy(`default: { tier: public }
rules:
  - name: eng
    match: { title: /engineer$/ }
    tier: vpn
  - name: fin
    match: { department: [Finance, Risk] }
    tier: vpn
`);
    expect(decideTier(p, { department: 'x', title: 'Senior ENGINEER', requested: null })).toMatchObject({
      tier: 'vpn',
    });
    expect(decideTier(p, { department: ' risk ', title: null, requested: null })).toMatchObject({
      tier: 'vpn',
      decidedBy: 'rule fin',
    });
    expect(decideTier(p, { department: 'x', title: 'engineering lead', requested: null })).toMatchObject({
      tier: 'public',
    });
  });
});

describe('parsePolicy', () => {
  it('reports every problem at once with its path', () => {
    expect(() =>
      parsePolicy(`default: { tier: admin }
rules:
  - name: a
    match: { department: x }
    tier: vpn
  - name: a
    match: { title: "/([/" }
    tier: root
`),
    ).toThrowError(/default\.tier[\s\S]*rules\.1\.tier[\s\S]*duplicate rule name a[\s\S]*bad regex/);
  });

  it('rejects a rule that matches nothing in particular', () => {
    expect(() =>
      parsePolicy('default: { tier: public }\nrules:\n  - { name: all, match: {}, tier: vpn }\n'),
    ).toThrowError(/rules\.0\.match/);
  });
});
