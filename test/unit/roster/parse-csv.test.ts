import { describe, expect, it } from 'vitest';
import { detectDelimiter, parseCsv } from '../../../src/core/roster/parse-csv.ts';

const fieldsOf = (text: string) => parseCsv(text).records.map((record) => record.fields);

describe('parseCsv', () => {
  it('reads LF, CRLF and no final newline alike', () => {
    const expected = [
      ['uid', 'name'],
      ['alice', 'Alice'],
      ['bob', 'Bob'],
    ];
    expect(fieldsOf('uid,name\nalice,Alice\nbob,Bob\n')).toEqual(expected);
    expect(fieldsOf('uid,name\r\nalice,Alice\r\nbob,Bob\r\n')).toEqual(expected);
    expect(fieldsOf('uid,name\r\nalice,Alice\r\nbob,Bob')).toEqual(expected);
  });

  it('numbers records by the physical line they start on', () => {
    const { records } = parseCsv('uid,name\r\nalice,Alice\r\nbob,Bob\r\n');
    expect(records.map((record) => record.line)).toEqual([1, 2, 3]);
  });

  it('reads quoted fields holding commas and doubled quotes', () => {
    expect(fieldsOf('uid,title\nbob,"Engineer, ""Platform"""\n')).toEqual([
      ['uid', 'title'],
      ['bob', 'Engineer, "Platform"'],
    ]);
  });

  it('keeps embedded newlines in quoted fields and still numbers later records by physical line', () => {
    const text = 'uid,note\r\nalice,"line one\r\nline two\r\nline three"\r\nbob,"a\nb"\ncarol,plain\n';
    const { records, problems } = parseCsv(text);
    expect(problems).toEqual([]);
    expect(records).toEqual([
      { line: 1, fields: ['uid', 'note'] },
      { line: 2, fields: ['alice', 'line one\r\nline two\r\nline three'] },
      { line: 5, fields: ['bob', 'a\nb'] },
      { line: 7, fields: ['carol', 'plain'] },
    ]);
  });

  it('skips completely empty lines but counts them in line numbers', () => {
    const { records } = parseCsv('\nuid\r\n\r\nalice\n\n\nbob\n\n');
    expect(records).toEqual([
      { line: 2, fields: ['uid'] },
      { line: 4, fields: ['alice'] },
      { line: 7, fields: ['bob'] },
    ]);
  });

  it('treats a lone CR (old Mac line ends) as a line end', () => {
    expect(parseCsv('uid\ralice\rbob').records).toEqual([
      { line: 1, fields: ['uid'] },
      { line: 2, fields: ['alice'] },
      { line: 3, fields: ['bob'] },
    ]);
  });

  it('keeps empty fields, including one after a trailing delimiter', () => {
    expect(fieldsOf('a,b,c\n,,\nx,,\ny,')).toEqual([
      ['a', 'b', 'c'],
      ['', '', ''],
      ['x', '', ''],
      ['y', ''],
    ]);
  });

  it('returns nothing for empty input', () => {
    expect(parseCsv('')).toEqual({ records: [], problems: [], delimiter: ',' });
  });

  it('reads a semicolon-delimited export (Excel in decimal-comma locales)', () => {
    const result = parseCsv('uid;name;title\nalice;Müller, Anna;"Dev; Ops"\n');
    expect(result.delimiter).toBe(';');
    expect(result.records[1]?.fields).toEqual(['alice', 'Müller, Anna', 'Dev; Ops']);
  });

  it('reads a tab-delimited export', () => {
    const result = parseCsv('uid\tname\nalice\tAlice, A.\n');
    expect(result.delimiter).toBe('\t');
    expect(result.records[1]?.fields).toEqual(['alice', 'Alice, A.']);
  });

  it('detects the delimiter from the header only, ignoring delimiters inside quotes', () => {
    expect(detectDelimiter('"a;b;c",d\n1;2;3;4;5\n')).toBe(',');
    expect(detectDelimiter('uid\nx;y;z\n')).toBe(',');
    expect(detectDelimiter('\n\nuid;name\n')).toBe(';');
  });

  it('reports an unterminated quote with its line and recovers the rows after it', () => {
    const { records, problems } = parseCsv('uid,name\nalice,"Alice\nbob,Bob\ncarol,Carol\n');
    expect(problems).toEqual([{ line: 2, field: 2, reason: expect.stringMatching(/never closed/) }]);
    expect(records).toEqual([
      { line: 1, fields: ['uid', 'name'] },
      { line: 3, fields: ['bob', 'Bob'] },
      { line: 4, fields: ['carol', 'Carol'] },
    ]);
  });

  it('reports text after a closing quote and leaves that record out', () => {
    const { records, problems } = parseCsv('uid,name\nalice,"Alice"Smith,x\nbob,Bob\n');
    expect(problems).toEqual([{ line: 2, field: 2, reason: expect.stringMatching(/after the closing quote/) }]);
    expect(records.map((record) => record.fields[0])).toEqual(['uid', 'bob']);
  });

  it('reports a stray quote in an unquoted field rather than guessing what it meant', () => {
    const { records, problems } = parseCsv('uid,name\nalice,Al"ice\nbob,Bob\n');
    expect(problems).toEqual([{ line: 2, field: 2, reason: expect.stringMatching(/quote character inside/) }]);
    expect(records.map((record) => record.fields[0])).toEqual(['uid', 'bob']);
  });

  it('reports the line where a broken record starts even after an earlier multi-line field', () => {
    const { problems, records } = parseCsv('uid,note\na,"x\ny"\nb,"z"q\nc,ok\n');
    expect(problems).toEqual([{ line: 4, field: 2, reason: expect.any(String) }]);
    expect(records.at(-1)).toEqual({ line: 5, fields: ['c', 'ok'] });
  });

  it('parses a 50 000-row roster with quoted fields intact (its speed is measured by npm run bench:onboard)', () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICObl268Ugujkfch9i80BKhSpIDWWXJgML/KubFFss3a alice@laptop';
    const lines = ['uid,name,email,department,title,tier,ssh_key,expires'];
    for (let i = 0; i < 50_000; i++) {
      lines.push(
        `user${i},"Surname${i}, Given",user${i}@example.com,Engineering,"Senior ""Staff"" Engineer",vpn,${key},2030-12-31`,
      );
    }
    const { records, problems } = parseCsv(`${lines.join('\r\n')}\r\n`);
    expect(problems).toEqual([]);
    expect(records).toHaveLength(50_001);
    expect(records[50_000]).toEqual({
      line: 50_001,
      fields: [
        'user49999',
        'Surname49999, Given',
        'user49999@example.com',
        'Engineering',
        'Senior "Staff" Engineer',
        'vpn',
        key,
        '2030-12-31',
      ],
    });
  });
});
