import { describe, expect, it } from 'vitest';
import { escapeDnValue, normalizeDn, parseDn } from '../../src/core/dn.ts';

describe('normalizeDn', () => {
  it('treats case and spaces after commas as insignificant', () => {
    expect(normalizeDn('UID=ZhangWei, OU=People,dc=corp, dc=example')).toBe(
      'uid=zhangwei,ou=people,dc=corp,dc=example',
    );
  });

  it('makes hex escapes and backslash escapes of the same value equal', () => {
    const hex = 'uid=a\\2Cb\\3Dc\\2Bd\\3B\\3C\\3E\\22#\\5C,ou=people,dc=corp,dc=example';
    const plain = 'uid=a\\,b\\=c\\+d\\;\\<\\>\\"#\\\\,ou=people,dc=corp,dc=example';
    expect(normalizeDn(hex)).toBe(normalizeDn(plain));
    expect(normalizeDn(hex)).not.toBe(normalizeDn('uid=a,ou=people,dc=corp,dc=example'));
  });

  it('decodes UTF-8 hex escapes of Chinese values', () => {
    expect(normalizeDn('cn=\\E5\\BC\\A0\\E4\\BC\\9F,ou=people')).toBe(normalizeDn('cn=张伟,ou=people'));
  });

  it('gives a DN already in normal form back as it is, and still refuses an RDN without =', () => {
    expect(normalizeDn('uid=zhangwei,ou=people,dc=corp,dc=example')).toBe('uid=zhangwei,ou=people,dc=corp,dc=example');
    expect(() => normalizeDn('uid=zhangwei,people')).toThrow(/missing '='/);
    expect(() => normalizeDn('')).toThrow(/missing '='/);
  });

  it('orders multi-valued RDNs', () => {
    expect(normalizeDn('cn=a+sn=b,dc=x')).toBe(normalizeDn('sn=B+cn=A,dc=x'));
  });

  it('keeps escaped trailing spaces but drops unescaped ones', () => {
    expect(parseDn('cn=a\\20,dc=x')[0]).toEqual([['cn', 'a ']]);
    expect(parseDn('cn=a  ,dc=x')[0]).toEqual([['cn', 'a']]);
  });
});

describe('escapeDnValue', () => {
  it('escapes every RFC 4514 special character and round-trips through parseDn', () => {
    const hostile = ' a,b=c+d;<>"#\\ ';
    const dn = `uid=${escapeDnValue(hostile)},ou=people`;
    expect(parseDn(dn)[0]).toEqual([['uid', hostile]]);
  });

  it('escapes NUL', () => {
    expect(escapeDnValue('a\0b')).toBe('a\\00b');
  });
});
