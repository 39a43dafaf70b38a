import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/core/errors.ts';
import {
  normaliseColumnName,
  type ParsedRoster,
  parseRoster,
  ROSTER_COLUMNS,
  type RosterProblem,
} from '../../../src/core/roster/validate-roster.ts';

const TODAY = '2025-06-15';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICObl268Ugujkfch9i80BKhSpIDWWXJgML/KubFFss3a alice@laptop';
const HEADER = 'uid,name,email,department,title,tier,ssh_key,expires';

const read = (text: string, today = TODAY): ParsedRoster => parseRoster(new TextEncoder().encode(text), { today });
const codes = (roster: ParsedRoster) => roster.problems.map((p) => [p.line, p.code]);
const only = (roster: ParsedRoster): RosterProblem => {
  expect(roster.problems).toHaveLength(1);
  return roster.problems[0] as RosterProblem;
};

function headerError(text: string): AppError {
  try {
    read(text);
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}

describe('parseRoster', () => {
  it('reads a complete row into a person', () => {
    const roster = read(
      `${HEADER}\nalice,Alice Liddell,alice@example.com,R&D,Engineer,vpn-bastion,${KEY},2030-12-31\n`,
    );
    expect(roster).toEqual({
      people: [
        {
          line: 2,
          uid: 'alice',
          name: 'Alice Liddell',
          email: 'alice@example.com',
          department: 'R&D',
          title: 'Engineer',
          tier: 'vpn-bastion',
          sshKey: KEY,
          expires: '2030-12-31',
        },
      ],
      problems: [],
      warnings: [],
      encoding: 'utf-8',
      encodingDetected: true,
      rows: 1,
    });
  });

  it('exports the known columns in order', () => {
    expect(ROSTER_COLUMNS).toEqual([
      'uid',
      'name',
      'email',
      'department',
      'title',
      'tier',
      'ssh_key',
      'expires',
      'wg_key',
    ]);
  });

  it('matches header names case-insensitively with spaces and hyphens as underscores', () => {
    expect(normaliseColumnName(' SSH Key ')).toBe('ssh_key');
    expect(normaliseColumnName('ssh-key')).toBe('ssh_key');
    expect(normaliseColumnName('SSH  -  KEY')).toBe('ssh_key');
    const roster = read(`\uFEFF UID ,Name,SSH Key,Tier\nbob,Bob,${KEY},vpn\n`);
    expect(roster.people[0]).toMatchObject({ uid: 'bob', name: 'Bob', sshKey: KEY, tier: 'vpn' });
  });

  it('reads tier values case-insensitively', () => {
    const roster = read('uid,tier\na,VPN\nb,Public\nc, vpn-BASTION \n');
    expect(roster.people.map((p) => p.tier)).toEqual(['vpn', 'public']);
    // Recognised as vpn-bastion, hence the demand for a key.
    expect(codes(roster)).toEqual([[4, 'RAC_ROSTER_SSH_KEY_MISSING']]);
  });

  it('treats missing trailing fields and absent columns as empty', () => {
    const roster = read(`${HEADER}\nbob\ncarol,Carol\n`);
    expect(roster.problems).toEqual([]);
    expect(roster.people[0]).toEqual({
      line: 2,
      uid: 'bob',
      name: null,
      email: null,
      department: null,
      title: null,
      tier: null,
      sshKey: null,
      expires: null,
    });
    expect(read('uid\ndave\n').people).toMatchObject([{ uid: 'dave', tier: null }]);
  });

  it('normalises the ssh key line', () => {
    const [type, blob] = KEY.split(' ');
    const roster = read(`uid,ssh_key\nalice,"  ${type}   ${blob}   laptop  "\n`);
    expect(roster.people[0]?.sshKey).toBe(`${type} ${blob} laptop`);
  });

  it('reads a GBK roster with Chinese names and warns that it guessed the encoding', () => {
    // "uid,name,department\nzhangsan,张三,研发部\nlisi,李四,财务\n" in GBK (iconv -t gbk | xxd -p).
    const bytes = Buffer.from(
      '7569642c6e616d652c6465706172746d656e740a7a68616e6773616e2cd5c5c8fd2cd1d0b7a2b2bf0a6c6973692cc0eecbc42cb2c6cef10a',
      'hex',
    );
    const roster = parseRoster(bytes, { today: TODAY });
    expect(roster.encoding).toBe('gbk');
    expect(roster.encodingDetected).toBe(true);
    expect(roster.people.map((p) => [p.uid, p.name, p.department])).toEqual([
      ['zhangsan', '张三', '研发部'],
      ['lisi', '李四', '财务'],
    ]);
    expect(roster.warnings).toEqual([expect.stringMatching(/read as GBK/)]);
    expect(parseRoster(bytes, { today: TODAY, encoding: 'gbk' }).warnings).toEqual([]);
  });

  it('reads a semicolon-delimited roster with CRLF line ends', () => {
    const roster = read('uid;name;tier\r\nanna;Müller, Anna;vpn\r\n');
    expect(roster.people).toMatchObject([{ uid: 'anna', name: 'Müller, Anna', tier: 'vpn' }]);
  });

  it('keeps line numbers right after a quoted field spanning lines', () => {
    const roster = read('uid,title\nalice,"Head of\nSomething"\nbob,Dev\nBAD,x\n');
    // The embedded newline itself is a control character in a title.
    expect(codes(roster)).toEqual([
      [2, 'RAC_ROSTER_CONTROL_CHARACTER'],
      [5, 'RAC_ROSTER_UID_INVALID'],
    ]);
    expect(roster.people).toMatchObject([{ uid: 'bob', line: 4 }]);
  });

  describe('header', () => {
    it('is required', () => {
      expect(headerError('').code).toBe('RAC_ROSTER_HEADER');
      expect(headerError('\r\n\r\n').message).toMatch(/empty/);
    });

    it('must have a uid column, and the error lists what it found', () => {
      const err = headerError('alice,Alice,vpn\nbob,Bob,vpn\n');
      expect(err.code).toBe('RAC_ROSTER_HEADER');
      expect(err.message).toMatch(/no uid column; found "alice", "Alice", "vpn"/);
    });

    it('must not name a column twice, even spelled differently', () => {
      const err = headerError('uid,Tier,TIER\nbob,vpn,public\n');
      expect(err.code).toBe('RAC_ROSTER_HEADER');
      expect(err.message).toMatch(/tier twice \(columns 2 and 3\)/);
      expect(headerError('uid,SSH Key,ssh-key\n').message).toMatch(/ssh_key twice/);
    });

    it('must be valid CSV', () => {
      const err = headerError('uid,"name\nbob,Bob\n');
      expect(err.code).toBe('RAC_ROSTER_HEADER');
      expect(err.message).toMatch(/never closed/);
    });

    it('names unknown columns in a warning and ignores them', () => {
      const roster = read('uid,Phone,Cost Centre,phone\nbob,123,4711,5\n');
      expect(roster.warnings).toEqual([expect.stringContaining('unknown columns "Phone", "Cost Centre"')]);
      expect(roster.people).toMatchObject([{ uid: 'bob' }]);
    });

    it('warns about values in a column without a header', () => {
      const roster = read('uid,,name,\nbob,,Bob,\ncarol,oops,Carol,\n');
      expect(roster.warnings).toEqual(['Column 2 has values but no header; those values were ignored.']);
      expect(roster.problems).toEqual([]);
    });
  });

  describe('problems', () => {
    it('RAC_ROSTER_UID_INVALID: says uids are lowercase POSIX names and suggests the lowercase spelling', () => {
      const problem = only(read('uid\nAlice\n'));
      expect(problem).toMatchObject({ line: 2, column: 'uid', code: 'RAC_ROSTER_UID_INVALID', value: 'Alice' });
      expect(problem.reason).toMatch(/POSIX/);
      expect(problem.reason).toMatch(/lowercase/);
      expect(problem.reason).toMatch(/did you mean 'alice'/);
    });

    it('RAC_ROSTER_UID_INVALID: an empty uid, a leading digit, and a 33-character uid', () => {
      const roster = read(`uid,name\n,Nobody\n1bob\n${'a'.repeat(33)}\n${'a'.repeat(32)}\n`);
      expect(codes(roster)).toEqual([
        [2, 'RAC_ROSTER_UID_INVALID'],
        [3, 'RAC_ROSTER_UID_INVALID'],
        [4, 'RAC_ROSTER_UID_INVALID'],
      ]);
      expect(roster.problems[0]?.reason).toMatch(/empty/);
      expect(roster.problems[2]?.reason).toMatch(/33 characters/);
      expect(roster.people.map((p) => p.uid)).toEqual(['a'.repeat(32)]);
    });

    it('RAC_ROSTER_UID_DUPLICATE: reports the later line and names the first', () => {
      const roster = read('uid,tier\nbob,vpn\nalice,vpn\nbob,public\n');
      const problem = only(roster);
      expect(problem).toMatchObject({ line: 4, column: 'uid', code: 'RAC_ROSTER_UID_DUPLICATE', value: 'bob' });
      expect(problem.reason).toMatch(/line 2/);
      expect(roster.people.map((p) => p.line)).toEqual([2, 3]);
    });

    it('RAC_ROSTER_UID_DUPLICATE: a uid that differs only by surrounding spaces is the same uid', () => {
      expect(codes(read('uid\nbob\n bob \n'))).toEqual([[3, 'RAC_ROSTER_UID_DUPLICATE']]);
    });

    it('RAC_ROSTER_TIER_UNKNOWN: names the valid tiers', () => {
      const problem = only(read('uid,tier\nbob,admin\n'));
      expect(problem).toMatchObject({ line: 2, column: 'tier', code: 'RAC_ROSTER_TIER_UNKNOWN', value: 'admin' });
      expect(problem.reason).toContain('public, vpn, vpn-bastion');
    });

    it('RAC_ROSTER_SSH_KEY_INVALID: any key given must parse, whatever the tier', () => {
      const problem = only(read(`uid,tier,ssh_key\nbob,vpn,"command=""sh"" ${KEY}"\n`));
      expect(problem).toMatchObject({ line: 2, column: 'ssh_key', code: 'RAC_ROSTER_SSH_KEY_INVALID' });
      expect(problem.reason).toMatch(/options .* not allowed/);
      expect(problem.value).toMatch(/^command="sh" ssh-ed25519/);
    });

    it('RAC_ROSTER_SSH_KEY_INVALID: never echoes a private key into the report', () => {
      const roster = read('uid,ssh_key\nbob,"-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA"\n');
      const problem = only(roster);
      expect(problem).toMatchObject({ code: 'RAC_ROSTER_SSH_KEY_INVALID', value: null });
      expect(problem.reason).toMatch(/private key/);
    });

    it('RAC_ROSTER_SSH_KEY_MISSING: an explicit vpn-bastion tier without a key', () => {
      const problem = only(read('uid,tier,ssh_key\nbob,vpn-bastion,\ncarol,vpn,\n'));
      expect(problem).toMatchObject({ line: 2, column: 'ssh_key', code: 'RAC_ROSTER_SSH_KEY_MISSING', value: null });
    });

    it('RAC_ROSTER_EMAIL_INVALID', () => {
      const roster = read(
        'uid,email\na,alice@example.com\nb,bob\nc,c@localhost\nd,d@@example.com\ne,e f@example.com\nf,"f@ex ample.com"\ng,g@-x.com\nh,first.last+tag@mail.example.co.uk\n',
      );
      expect(codes(roster)).toEqual([
        [3, 'RAC_ROSTER_EMAIL_INVALID'],
        [4, 'RAC_ROSTER_EMAIL_INVALID'],
        [5, 'RAC_ROSTER_EMAIL_INVALID'],
        [6, 'RAC_ROSTER_EMAIL_INVALID'],
        [7, 'RAC_ROSTER_EMAIL_INVALID'],
        [8, 'RAC_ROSTER_EMAIL_INVALID'],
      ]);
      expect(roster.people.map((p) => p.uid)).toEqual(['a', 'h']);
    });

    it('RAC_ROSTER_DATE_INVALID: expires must be a real YYYY-MM-DD date', () => {
      const roster = read(
        'uid,expires\na,2025-02-29\nb,2025/12/31\nc,31/12/2030\nd,46022\ne,2030-13-01\nf,2028-02-29\ng,2030-1-1\n',
      );
      expect(codes(roster)).toEqual([
        [2, 'RAC_ROSTER_DATE_INVALID'],
        [3, 'RAC_ROSTER_DATE_INVALID'],
        [4, 'RAC_ROSTER_DATE_INVALID'],
        [5, 'RAC_ROSTER_DATE_INVALID'],
        [6, 'RAC_ROSTER_DATE_INVALID'],
        [8, 'RAC_ROSTER_DATE_INVALID'],
      ]);
      expect(roster.problems[0]?.reason).toMatch(/YYYY-MM-DD/);
      expect(roster.people).toMatchObject([{ uid: 'f', expires: '2028-02-29' }]);
    });

    it('RAC_ROSTER_EXPIRED: a date before today; today itself is still valid', () => {
      const roster = read('uid,expires\na,2025-06-14\nb,2025-06-15\n');
      const problem = only(roster);
      expect(problem).toMatchObject({ line: 2, column: 'expires', code: 'RAC_ROSTER_EXPIRED', value: '2025-06-14' });
      expect(problem.reason).toContain('2025-06-15');
      expect(roster.people).toMatchObject([{ uid: 'b', expires: '2025-06-15' }]);
    });

    it('RAC_ROSTER_FIELD_COUNT: more fields than the header, usually an unquoted comma', () => {
      const roster = read('uid,name,tier\nbob,Smith, Bob,vpn\nalice,Alice,vpn,\n');
      // The shift also lands ' Bob' in the tier column; both are reported.
      expect(codes(roster)).toEqual([
        [2, 'RAC_ROSTER_FIELD_COUNT'],
        [2, 'RAC_ROSTER_TIER_UNKNOWN'],
        [3, 'RAC_ROSTER_FIELD_COUNT'],
      ]);
      expect(roster.problems[0]).toMatchObject({ column: null, value: 'vpn' });
      expect(roster.problems[0]?.reason).toMatch(/4 fields but the header has 3/);
      expect(roster.problems[2]).toMatchObject({ value: '' });
    });

    it('RAC_ROSTER_CSV: a syntax problem is reported with its line and column, other rows still read', () => {
      const roster = read('uid,name\nalice,"Alice"Smith\nbob,Bob\n');
      expect(only(roster)).toMatchObject({ line: 2, column: 'name', code: 'RAC_ROSTER_CSV', value: null });
      expect(roster.people.map((p) => p.uid)).toEqual(['bob']);
      expect(roster.rows).toBe(2);
    });

    it('RAC_ROSTER_CONTROL_CHARACTER: NUL and other control characters in any column, shown escaped', () => {
      const roster = read('uid,name,title\n"bob\u0000",Bob,x\ncarol,"Ca\u001brol",x\ndave,Dave,"Boss\t"\n');
      expect(roster.problems).toEqual([
        expect.objectContaining({ line: 2, column: 'uid', code: 'RAC_ROSTER_CONTROL_CHARACTER', value: 'bob\\0' }),
        expect.objectContaining({ line: 3, column: 'name', value: 'Ca\\x1brol' }),
        expect.objectContaining({ line: 4, column: 'title', value: 'Boss\\t' }),
      ]);
      expect(roster.problems[0]?.reason).toMatch(/control character \(\\0 at position 4\)/);
      expect(roster.people).toEqual([]);
    });

    it('truncates a long offending value to 80 characters', () => {
      const problem = only(read(`uid\n${'X'.repeat(500)}\n`));
      expect(problem.value).toBe(`${'X'.repeat(79)}…`);
      expect([...(problem.value ?? '')]).toHaveLength(80);
    });

    it('reports every problem of every row at once, in line order, and keeps the good rows', () => {
      const roster = read(
        [
          HEADER,
          `alice,Alice,alice@example.com,R&D,Dev,vpn-bastion,${KEY},2030-01-01`,
          'Bob,Bob,not-an-email,,,superuser,ssh-rsa AAAA,2024-13-01',
          'carol,"Carol"x,,,,,,',
          'dave,Dave,,,,vpn-bastion,,2020-01-01',
          'alice,Alice again,,,,,,,,',
          'erin,Erin,,,,vpn,,',
        ].join('\r\n'),
      );
      expect(codes(roster)).toEqual([
        [3, 'RAC_ROSTER_UID_INVALID'],
        [3, 'RAC_ROSTER_EMAIL_INVALID'],
        [3, 'RAC_ROSTER_TIER_UNKNOWN'],
        [3, 'RAC_ROSTER_SSH_KEY_INVALID'],
        [3, 'RAC_ROSTER_DATE_INVALID'],
        [4, 'RAC_ROSTER_CSV'],
        [5, 'RAC_ROSTER_SSH_KEY_MISSING'],
        [5, 'RAC_ROSTER_EXPIRED'],
        [6, 'RAC_ROSTER_FIELD_COUNT'],
        [6, 'RAC_ROSTER_UID_DUPLICATE'],
      ]);
      expect(roster.problems.every((p) => p.reason.length > 0)).toBe(true);
      expect(roster.people.map((p) => p.uid)).toEqual(['alice', 'erin']);
      expect(roster.rows).toBe(6);
    });
  });

  describe('hostile uids', () => {
    it.each([
      ['LDAP filter injection', '*)(uid=*))(|(uid=*'],
      ['DN special characters', 'a,b=c+d;<>"#\\'],
      ['shell substitution', '$(rm -rf /)'],
      ['backticks', '`id`'],
      ['path traversal', '../../etc/passwd'],
      ['inner space', 'bob smith'],
      ['non-ASCII', 'zhāng'],
      ['leading hyphen (an option to useradd)', '-obob'],
    ])('rejects %s', (_name, uid) => {
      const quoted = `"${uid.replaceAll('"', '""')}"`;
      const problem = only(read(`uid,tier\n${quoted},vpn\n`));
      expect(problem).toMatchObject({ line: 2, column: 'uid', code: 'RAC_ROSTER_UID_INVALID', value: uid });
    });

    it('rejects a NUL inside a uid as a control character', () => {
      expect(only(read('uid\n"root\u0000evil"\n'))).toMatchObject({
        code: 'RAC_ROSTER_CONTROL_CHARACTER',
        column: 'uid',
        value: 'root\\0evil',
      });
    });

    it('trims surrounding spaces (accidental in Excel), including no-break and ideographic spaces', () => {
      // Trimming cannot smuggle anything: a uid may not contain spaces, so ' bob' can only have meant bob.
      const roster = read('uid,name\n bob,Bob\n"\u00a0carol\u3000", Carol \n');
      expect(roster.problems).toEqual([]);
      expect(roster.people.map((p) => [p.uid, p.name])).toEqual([
        ['bob', 'Bob'],
        ['carol', 'Carol'],
      ]);
    });

    it('does not trim tabs or line breaks: they are reported, not silently dropped', () => {
      expect(only(read('uid\n"bob\n"\n'))).toMatchObject({ code: 'RAC_ROSTER_CONTROL_CHARACTER', value: 'bob\\n' });
    });
  });

  it('skips rows whose fields are all blank (Excel exports deleted rows as ",,,") and does not count them', () => {
    const roster = read('uid,name,tier\nbob,Bob,vpn\n,,\n , ,\ncarol,Carol,\n');
    expect(roster.problems).toEqual([]);
    expect(roster.people.map((p) => p.line)).toEqual([2, 5]);
    expect(roster.rows).toBe(2);
  });

  it('refuses a malformed today, which is a programming error', () => {
    expect(() => read('uid\nbob\n', '15.06.2025')).toThrow(TypeError);
  });
});
