import { describe, expect, it } from 'vitest';
import { toCsv } from '../../src/core/csv-export.ts';
import { parseCsv } from '../../src/core/roster/parse-csv.ts';

describe('toCsv', () => {
  it('writes a header and rows with CRLF after every row', () => {
    expect(
      toCsv(
        ['uid', 'tier'],
        [
          ['alice', 'vpn'],
          ['bob', null],
        ],
      ),
    ).toBe('uid,tier\r\nalice,vpn\r\nbob,\r\n');
  });

  it('writes only the header for no rows', () => {
    expect(toCsv(['uid'], [])).toBe('uid\r\n');
  });

  it('quotes cells with commas, quotes or line breaks and doubles inner quotes (RFC 4180)', () => {
    expect(toCsv(['a', 'b', 'c', 'd'], [['x,y', 'say "hi"', 'two\nlines', 'cr\rlf']])).toBe(
      'a,b,c,d\r\n"x,y","say ""hi""","two\nlines","cr\rlf"\r\n',
    );
  });

  it.each([
    ['=HYPERLINK("http://evil","click")', `"'=HYPERLINK(""http://evil"",""click"")"`],
    ['+1+cmd|/C calc!A0', "'+1+cmd|/C calc!A0"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1:A9)', "'@SUM(A1:A9)"],
    ['\t=1+1', "'\t=1+1"],
    ['\r=1+1', `"'\r=1+1"`],
  ])('neutralises a cell that would start a formula: %j', (cell, written) => {
    expect(toCsv(['name'], [[cell]])).toBe(`name\r\n${written}\r\n`);
  });

  it('neutralises formula-looking header cells too', () => {
    expect(toCsv(['=cmd'], [])).toBe("'=cmd\r\n");
  });

  it('leaves formula characters alone when they are not first', () => {
    expect(toCsv(['a'], [['a=b+c-d@e']])).toBe('a\r\na=b+c-d@e\r\n');
  });

  it('writes numbers as they are, so a negative number is not mistaken for a formula', () => {
    expect(toCsv(['delta', 'count', 'ratio'], [[-3, 0, 0.25]])).toBe('delta,count,ratio\r\n-3,0,0.25\r\n');
    // The same characters as text came from someone's spreadsheet and are neutralised.
    expect(toCsv(['delta'], [['-3']])).toBe("delta\r\n'-3\r\n");
  });

  it('writes an empty single-column cell as "" so the row is not read back as a blank line', () => {
    const csv = toCsv(['uid'], [[''], [null], ['bob']]);
    expect(csv).toBe('uid\r\n""\r\n""\r\nbob\r\n');
    expect(parseCsv(csv).records).toHaveLength(4);
  });

  it('round-trips through parseCsv, with the neutralising quote as the only change', () => {
    const rows = [
      ['zhangsan', '张三', 'R&D, "Platform"', 'line1\r\nline2'],
      ['eve', '=1+1', '', '@home'],
    ];
    const { records, problems } = parseCsv(toCsv(['uid', 'name', 'department', 'note'], rows));
    expect(problems).toEqual([]);
    expect(records.slice(1).map((record) => record.fields)).toEqual([rows[0], ['eve', "'=1+1", '', "'@home"]]);
  });

  it('refuses a row whose width differs from the header, which would misalign every column after it', () => {
    expect(() => toCsv(['a', 'b'], [['only one']])).toThrow(RangeError);
  });
});
