import { describe, expect, it } from 'vitest';
import { httpStatusFor } from '../../../src/core/errors.ts';
import { createHttpLogger } from '../../../src/http/request-logger.ts';

function capture() {
  const lines: string[] = [];
  const logger = createHttpLogger('info', { write: (line: string) => lines.push(line) } as never);
  return { logger, text: () => lines.join('') };
}

describe('the service log', () => {
  it('redacts tokens, passwords, cookies and keys at every depth, including under dashed keys', () => {
    const { logger, text } = capture();
    logger.info(
      {
        token: 'rac_top',
        req: { headers: { authorization: 'Bearer rac_header', cookie: 'rac_session=s1', 'set-cookie': 'x=s2' } },
        body: { uid: 'zhangsan', password: 'pw-level-2' },
        a: { b: { c: { password: 'pw-level-4', bindPassword: 'bind-4', token: 'rac_deep' } } },
        config: { directory: { bind_password: 'bind-3' } },
        ssh: { private_key: 'KEYDATA', passphrase: 'pp-value' },
        list: [{ token: 'rac_in_array' }],
      },
      'request',
    );
    const out = text();
    for (const secret of [
      'rac_top',
      'rac_header',
      's1',
      's2',
      'pw-level-2',
      'pw-level-4',
      'bind-4',
      'rac_deep',
      'bind-3',
      'KEYDATA',
      'pp-value',
      'rac_in_array',
    ])
      expect(out, secret).not.toContain(secret);
    expect(out).toContain('zhangsan');
    expect(out).toContain('[redacted]');
  });
});

describe('error code to HTTP status', () => {
  it.each([
    ['RAC_AUTH_REQUIRED', 401],
    ['RAC_AUTH_FORBIDDEN', 403],
    ['RAC_AUTH_CSRF', 403],
    ['RAC_AUTH_RATE_LIMITED', 429],
    ['RAC_LOCKED', 409],
    ['RAC_PLAN_STALE', 409],
    ['RAC_PLAN_UNKNOWN', 404],
    ['RAC_USAGE_BATCH_NOT_FOUND', 404],
    ['RAC_ROSTER_REJECTED', 400],
    ['RAC_USAGE_VALIDATION', 400],
    ['RAC_CAPACITY_REFUSED', 422],
    ['RAC_LDAP_UNAVAILABLE', 503],
    ['RAC_SSH_TIMEOUT', 503],
    ['SOMETHING_ELSE', 500],
  ])('%s → %i', (code, status) => {
    expect(httpStatusFor(code)).toBe(status);
  });
});
