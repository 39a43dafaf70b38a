import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { capacityLimit } from '../../../src/core/capacity.ts';
import { buildPlan } from '../../../src/core/plan/build-plan.ts';
import { serializePlan, serializePlanText, writePlanText } from '../../../src/core/plan/serialize-plan.ts';

const plan = buildPlan({
  id: 'p-1',
  createdAt: '2026-11-26T00:00:00.000Z',
  mode: 'roster',
  source: { file: '"quoted", name.csv', digest: null, rows: 2, encoding: 'utf-8', rollbackOf: null },
  directory: { url: 'ldap://127.0.0.1', groups: { public: 'cn=p', vpn: 'cn=v', 'vpn-bastion': 'cn=b' } },
  usersBase: 'ou=people',
  targets: ['张伟', 'li'].map((name, i) => ({
    person: { uid: `u${i}`, dn: `uid=u${i},ou=people`, name, department: null, title: null, sshPublicKeys: [] },
    line: i + 2,
    to: 'vpn' as const,
    decidedBy: 'test',
    setSshKeys: null,
    expires: null,
  })),
  memberships: { public: new Set(), vpn: new Set(), 'vpn-bastion': new Set() },
  problems: [{ line: 9, column: 'uid', uid: null, code: 'RAC_ROSTER_UID_INVALID', reason: 'bad', value: '*)(' }],
  warnings: [],
  capacity: {
    limit: capacityLimit({ targetSessions: 10, ratedSessions: null, verified: null }),
    peakConcurrency: { public: 1, vpn: 1, 'vpn-bastion': 1 },
    enforce: 'refuse',
  },
});

describe('serializePlan', () => {
  it('produces JSON that parses back to the same plan', () => {
    expect(JSON.parse(serializePlanText(plan))).toEqual(plan);
  });

  it('puts one person per line', () => {
    const lines = serializePlanText(plan).split('\n');
    expect(lines.filter((l) => l.trimStart().startsWith('{"uid":'))).toHaveLength(2);
  });

  it('writes the same bytes its pieces hold, digests them, and keeps the people section as JSON', () => {
    const text = [...serializePlan(plan)].join('');
    const chunks: string[] = [];
    const written = writePlanText(plan, (bytes) => chunks.push(Buffer.from(bytes).toString('utf8')));
    expect(chunks.join('')).toBe(text);
    expect(written.digest).toBe(`sha256:${createHash('sha256').update(text).digest('hex')}`);
    expect(JSON.parse(Buffer.concat(written.people).toString('utf8'))).toEqual(plan.people);
  });

  it('writes an empty plan as valid JSON too', () => {
    const empty = { ...plan, people: [], problems: [] };
    expect(JSON.parse(serializePlanText(empty))).toEqual(empty);
  });
});
