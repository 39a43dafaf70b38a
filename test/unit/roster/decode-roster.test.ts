import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/core/errors.ts';
import { decodeRoster } from '../../../src/core/roster/decode-roster.ts';

/**
 * "uid,name,department\nzhangsan,张三,研发部\nlisi,李四,财务\n" in GBK, produced once with
 * `printf … | iconv -f utf-8 -t gbk | xxd -p` and pasted here so the test needs no iconv.
 */
const GBK_ROSTER = Buffer.from(
  '7569642c6e616d652c6465706172746d656e740a7a68616e6773616e2cd5c5c8fd2cd1d0b7a2b2bf0a6c6973692cc0eecbc42cb2c6cef10a',
  'hex',
);
const GBK_ROSTER_TEXT = 'uid,name,department\nzhangsan,张三,研发部\nlisi,李四,财务\n';

const utf8 = (text: string) => new TextEncoder().encode(text);
const bytes = (...values: number[]) => new Uint8Array(values);
const withBom = (text: string) => new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(text)]);

function catchError(run: () => unknown): AppError {
  try {
    run();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}

describe('decodeRoster', () => {
  it('reads UTF-8 without a BOM and reports it as detected in auto mode', () => {
    expect(decodeRoster(utf8('uid,name\nwang,王芳\n'), 'auto')).toEqual({
      text: 'uid,name\nwang,王芳\n',
      encoding: 'utf-8',
      detected: true,
      bom: false,
    });
  });

  it('reports the encoding as not detected when the caller named it', () => {
    expect(decodeRoster(utf8('uid\nbob\n'), 'utf-8')).toMatchObject({ encoding: 'utf-8', detected: false });
  });

  it('strips a UTF-8 BOM (Excel "CSV UTF-8") so the first header is not "\\uFEFFuid"', () => {
    for (const mode of ['auto', 'utf-8'] as const) {
      const decoded = decodeRoster(withBom('uid,name\n'), mode);
      expect(decoded.text).toBe('uid,name\n');
      expect(decoded.bom).toBe(true);
    }
  });

  it('decodes real GBK bytes of Chinese names when GBK is requested', () => {
    expect(decodeRoster(GBK_ROSTER, 'gbk')).toEqual({
      text: GBK_ROSTER_TEXT,
      encoding: 'gbk',
      detected: false,
      bom: false,
    });
  });

  it('falls back to GBK in auto mode when the bytes are not valid UTF-8', () => {
    expect(decodeRoster(GBK_ROSTER, 'auto')).toEqual({
      text: GBK_ROSTER_TEXT,
      encoding: 'gbk',
      detected: true,
      bom: false,
    });
  });

  it('prefers UTF-8 in auto mode for text that is valid in both (plain ASCII)', () => {
    expect(decodeRoster(utf8('uid\nbob\n'), 'auto').encoding).toBe('utf-8');
  });

  it('refuses GBK when the file carries a UTF-8 BOM, which would otherwise garble the first header', () => {
    const err = catchError(() => decodeRoster(withBom('uid\n'), 'gbk'));
    expect(err.code).toBe('RAC_ROSTER_ENCODING');
    expect(err.message).toMatch(/byte order mark/);
  });

  it.each([
    ['little-endian', [0xff, 0xfe, 0x75, 0x00]],
    ['big-endian', [0xfe, 0xff, 0x00, 0x75]],
  ])('refuses UTF-16 (%s) and tells the user to save as CSV UTF-8', (_name, data) => {
    for (const mode of ['auto', 'utf-8', 'gbk'] as const) {
      const err = catchError(() => decodeRoster(bytes(...data), mode));
      expect(err.code).toBe('RAC_ROSTER_ENCODING');
      expect(err.message).toMatch(/UTF-16/);
      expect(err.message).toMatch(/CSV UTF-8/);
    }
  });

  it('names the first bad byte offset when the bytes are neither UTF-8 nor GBK', () => {
    const data = new Uint8Array([...utf8('uid\nbob'), 0xff, ...utf8('\n')]);
    const err = catchError(() => decodeRoster(data, 'auto'));
    expect(err.code).toBe('RAC_ROSTER_ENCODING');
    expect(err.message).toContain('0xFF at offset 7');
    expect(err.details).toEqual({ utf8Offset: 7, gbkOffset: 7 });
  });

  it('points at the start of a broken multi-byte sequence, not the byte after it', () => {
    // 0xE7 0x8E opens a 3-byte UTF-8 character; ',' cannot continue it.
    const err = catchError(() => decodeRoster(bytes(0x61, 0x62, 0xe7, 0x8e, 0x2c), 'utf-8'));
    expect(err.details).toEqual({ encoding: 'utf-8', offset: 2 });
    expect(err.message).toContain('0xE7 at offset 2');
  });

  it('counts offsets from the start of the file, BOM included', () => {
    const err = catchError(() => decodeRoster(new Uint8Array([...withBom('uid\n'), 0xff]), 'utf-8'));
    expect(err.details).toEqual({ encoding: 'utf-8', offset: 7 });
    expect(err.message).toContain('0xFF at offset 7');
    expect(catchError(() => decodeRoster(new Uint8Array([...withBom('uid\n'), 0xff]), 'auto')).details).toEqual({
      utf8Offset: 7,
      gbkOffset: null,
    });
  });

  it('reports a character cut off by the end of the file', () => {
    const err = catchError(() => decodeRoster(bytes(0x61, 0xe7, 0x8e), 'utf-8'));
    expect(err.details).toEqual({ encoding: 'utf-8', offset: 1 });
  });

  it('offers GBK when a GBK file is decoded as UTF-8 explicitly', () => {
    const err = catchError(() => decodeRoster(GBK_ROSTER, 'utf-8'));
    // The first Chinese byte (张 = D5 C5) sits right after "…\nzhangsan,".
    expect(err.details).toEqual({ encoding: 'utf-8', offset: GBK_ROSTER.indexOf(0xd5) });
    expect(err.message).toMatch(/"gbk"/);
  });

  it('names the offset of invalid GBK when GBK was requested', () => {
    // 0x81 leads a two-byte GBK character; a space cannot be its trail byte.
    const err = catchError(() => decodeRoster(bytes(0x61, 0x81, 0x20), 'gbk'));
    expect(err.code).toBe('RAC_ROSTER_ENCODING');
    expect(err.details).toEqual({ encoding: 'gbk', offset: 1 });
  });

  it('decodes an empty file to empty text', () => {
    expect(decodeRoster(new Uint8Array(0), 'auto')).toMatchObject({ text: '', encoding: 'utf-8' });
  });
});
