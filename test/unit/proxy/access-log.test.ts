import { describe, expect, it } from 'vitest';
import { isAuthenticatedRequest, parseAccessLogChunk, parseAccessLogLine } from '../../../src/core/proxy/access-log.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('access log lines', () => {
  it('reads time, user, status and address of the rac log format', () => {
    expect(parseAccessLogLine('{"t":1700000000.123,"u":"alice","s":200,"a":"10.0.0.5","r":"GET /"}')).toEqual({
      at: 1700000000123,
      user: 'alice',
      status: 200,
      address: '10.0.0.5',
    });
  });

  it('keeps escaped characters of a user name as written by escape=json', () => {
    expect(parseAccessLogLine('{"t":1,"u":"a\\"b\\\\c\\u0001","s":200}')?.user).toBe('a"b\\c\u0001');
  });

  it('reads fields in any order, with or without escapes, the same way', () => {
    const plain = parseAccessLogLine('{"s":302,"a":"","m":"GET","u":"bob","t":1700000001}');
    expect(plain).toEqual({ at: 1700000001000, user: 'bob', status: 302, address: null });
    const escaped = parseAccessLogLine('{"s":302,"p":"/a\\\\b","u":"bob","t":1700000001}');
    expect(escaped).toEqual(plain);
    expect(parseAccessLogLine('{"t":1,"u":"","s":401}')).toEqual({ at: 1000, user: '', status: 401, address: null });
  });

  it('rejects lines of another shape', () => {
    for (const line of [
      '',
      'GET / 200',
      '{"t":"x","u":"a","s":200}',
      '{"t":1,"s":200}',
      '[1]',
      '{bad json',
      '{"t":1,"u":"a","s":}',
      '{"t":1,"u":"a","s":200',
    ])
      expect(parseAccessLogLine(line)).toBeNull();
  });

  it('counts only named people with a 2xx or 3xx', () => {
    const e = (user: string, status: number) => ({ at: 0, user, status, address: null });
    expect(isAuthenticatedRequest(e('alice', 200))).toBe(true);
    expect(isAuthenticatedRequest(e('alice', 302))).toBe(true);
    expect(isAuthenticatedRequest(e('alice', 401))).toBe(false);
    expect(isAuthenticatedRequest(e('alice', 403))).toBe(false);
    expect(isAuthenticatedRequest(e('', 200))).toBe(false);
  });
});

describe('access log chunks', () => {
  it('parses complete lines only and leaves a partial last line alone', () => {
    const chunk = parseAccessLogChunk(bytes('{"t":1,"u":"a","s":200}\n{"t":2,"u":"b","s":200}\n{"t":3,"u":"c"'));
    expect(chunk.entries.map((e) => e.user)).toEqual(['a', 'b']);
    expect(chunk.invalid).toBe(0);
  });

  it('tolerates invalid UTF-8 and garbage lines, counting them', () => {
    const raw = new Uint8Array([
      ...bytes('{"t":1,"u":"'),
      0xff,
      0xfe,
      ...bytes('","s":200}\nnot json\n\n{"t":2,"u":"ok","s":200}\n'),
    ]);
    const chunk = parseAccessLogChunk(raw);
    expect(chunk.entries.map((e) => e.user)).toEqual(['\ufffd\ufffd', 'ok']);
    expect(chunk.invalid).toBe(1);
  });

  it('returns nothing for bytes without a newline', () => {
    expect(parseAccessLogChunk(bytes('{"t":1,"u":"a","s":200}'))).toEqual({ entries: [], invalid: 0 });
  });
});
