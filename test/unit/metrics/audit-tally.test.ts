import { describe, expect, it } from 'vitest';
import { createAuditTally } from '../../../src/metrics/audit-tally.ts';

describe('audit tally: running totals from only the new audit records', () => {
  it('counts operations across reads and moves its cursor', () => {
    const tally = createAuditTally();
    expect(
      tally.add([
        { id: 3, action: 'access.grant', detail: '{}' },
        { id: 4, action: 'access.failed', detail: '{}' },
        { id: 7, action: 'system.apply', detail: '{"system":"gw-1","applied":5,"notApplied":1}' },
      ]),
    ).toBe(7);
    tally.add([
      { id: 8, action: 'access.grant', detail: '{}' },
      { id: 9, action: 'directory.unusable', detail: '{"bySystem":{"bastion-1":2}}' },
      { id: 10, action: 'revoke.verified', detail: '{"latencyMs":420}' },
    ]);
    expect(tally.cursor).toBe(10);
    const byKey = Object.fromEntries(
      tally.operations().map((o) => [`${o.system}/${o.operation}/${o.result}`, o.count]),
    );
    expect(byKey).toEqual({
      'ldap/grant/ok': 2,
      'ldap/change/failed': 1,
      'gw-1/apply/ok': 5,
      'gw-1/apply/not_applied': 1,
      'bastion-1/apply/failed': 2,
    });
    expect(tally.takeRevocations()).toEqual([0.42]);
    expect(tally.takeRevocations()).toEqual([]);
  });

  it('ignores a detail that is not JSON rather than stopping the exporter', () => {
    const tally = createAuditTally();
    tally.add([{ id: 1, action: 'system.apply', detail: 'not json' }]);
    expect(tally.operations()).toEqual([]);
    expect(tally.cursor).toBe(1);
  });
});
