import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/core/errors.ts';
import { parseSwarmAccounts } from '../../../src/core/swarm/accounts.ts';

describe('parseSwarmAccounts', () => {
  it('reads uid,password rows with or without a header, passwords with commas quoted', () => {
    expect(parseSwarmAccounts('uid,password\nalice,s3cret\nbob,"a,b"\n')).toEqual([
      { uid: 'alice', password: 's3cret' },
      { uid: 'bob', password: 'a,b' },
    ]);
    expect(parseSwarmAccounts('\uFEFFcarol,x')).toEqual([{ uid: 'carol', password: 'x' }]);
  });

  it('reports every bad row at once with its line, and never the password', () => {
    let error: unknown;
    try {
      parseSwarmAccounts('alice,pw1\nBad Name,topsecret\ndave,\nalice,pw2\neve,x,extra\n', 'acc.csv');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AppError);
    const e = error as AppError;
    expect(e.code).toBe('RAC_USAGE_SWARM_ACCOUNTS');
    expect(e.message).toContain('acc.csv:2: uid is not a valid account name');
    expect(e.message).toContain('acc.csv:3: empty password for dave');
    expect(e.message).toContain('acc.csv:4: alice is listed twice (first on line 1)');
    expect(e.message).toContain('acc.csv:5: expected two columns');
    expect(e.message).not.toContain('topsecret');
    expect(e.message).not.toContain('pw2');
  });
});
