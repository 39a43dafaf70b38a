import { describe, expect, it } from 'vitest';
import { base64, basicAuth } from '../../../loadtests/lib/base64.ts';
import { accountDn, parseAccounts, parseDuration, readSettings, SettingsError } from '../../../loadtests/lib/env.ts';

const files: Record<string, string> = {
  'accounts.csv': '\uFEFFUID,Password\r\nalice,"se,""cret"""\r\nbob,b0b\r\n',
  token: 'tok-123\n',
};
const read = (path: string) => {
  const f = files[path];
  if (f === undefined) throw new Error('no such file');
  return f;
};
const base = { RAC_TARGET_SESSIONS: '5000', RAC_PROMETHEUS_URL: 'http://127.0.0.1:9090/' };

describe('capacity check settings from __ENV', () => {
  it('has defaults for everything but the target and Prometheus', () => {
    const s = readSettings(base, read);
    expect(s).toMatchObject({
      targetSessions: 5000,
      prometheusUrl: 'http://127.0.0.1:9090',
      hold: { seconds: 600 },
      duration: { seconds: 1200 },
      ldap: null,
      portal: null,
      api: null,
      dryRun: false,
      skipped: { login_storm: 'RAC_LDAP_URL not set', portal: 'RAC_PORTAL_URL not set', api: 'RAC_API_URL not set' },
    });
  });

  it('reads accounts and the API token from files', () => {
    const s = readSettings(
      {
        ...base,
        RAC_LDAP_URL: 'ldap://127.0.0.1:389',
        RAC_LDAP_USERS_BASE: 'ou=people,dc=corp,dc=example',
        RAC_ACCOUNTS: 'accounts.csv',
        RAC_API_URL: 'http://127.0.0.1:9464',
        RAC_API_TOKEN_FILE: 'token',
      },
      read,
    );
    expect(s.accounts).toEqual([
      { uid: 'alice', password: 'se,"cret"' },
      { uid: 'bob', password: 'b0b' },
    ]);
    expect(s.api?.token).toBe('tok-123');
    expect(s.skipped).toEqual({ portal: 'RAC_PORTAL_URL not set' });
  });

  it('reports every problem at once, naming the variable', () => {
    try {
      readSettings(
        {
          RAC_PROMETHEUS_URL: 'prom:9090',
          RAC_HOLD: '30m',
          RAC_DURATION: '10m',
          RAC_LDAP_URL: 'ldap://x',
          RAC_API_URL: 'http://127.0.0.1:1',
        },
        read,
      );
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(SettingsError);
      expect((err as SettingsError).problems).toEqual([
        'RAC_PROMETHEUS_URL: must be an http:// or https:// URL, not prom:9090',
        'RAC_TARGET_SESSIONS: required',
        'RAC_HOLD: 30m is longer than RAC_DURATION 10m',
        'RAC_ACCOUNTS: required with RAC_LDAP_URL (uid,password CSV)',
        'RAC_API_TOKEN_FILE: required with RAC_API_URL (a file holding the token)',
      ]);
    }
  });

  it('parses Go durations and refuses bare numbers', () => {
    expect(parseDuration('1h30m')).toEqual({ text: '1h30m', seconds: 5400 });
    expect(parseDuration('500ms')?.seconds).toBe(0.5);
    expect(parseDuration('90')).toBeNull();
  });

  it('refuses an accounts file without the columns or with empty fields', () => {
    const problems: string[] = [];
    expect(parseAccounts('user,pass\na,b\n', 'accounts.csv', problems)).toEqual([]);
    expect(problems).toEqual(['accounts.csv: needs a header row with uid and password columns']);
    const more: string[] = [];
    parseAccounts('uid,password\na,\n', 'accounts.csv', more);
    expect(more).toEqual(['accounts.csv: row 2: uid and password are required']);
  });

  it('escapes the uid in the bind DN', () => {
    expect(accountDn('uid', 'a,b+c', 'ou=people,dc=x')).toBe('uid=a\\,b\\+c,ou=people,dc=x');
    expect(accountDn('uid', ' lead', 'ou=p')).toBe('uid=\\ lead,ou=p');
  });

  it('encodes basic auth as Node does', () => {
    for (const text of ['', 'a', 'ab', 'abc', 'zhang.wei:密码€', 'x:😀'])
      expect(base64(text)).toBe(Buffer.from(text, 'utf8').toString('base64'));
    expect(basicAuth('alice', 'p:w')).toBe(`Basic ${Buffer.from('alice:p:w').toString('base64')}`);
  });
});
