import { AppError } from '../errors.ts';

export type RosterEncoding = 'utf-8' | 'gbk';
export type RosterEncodingOption = 'auto' | RosterEncoding;

export interface DecodedRoster {
  text: string;
  encoding: RosterEncoding;
  /** True when the encoding was chosen by sniffing (the caller asked for 'auto'), not named by the caller. */
  detected: boolean;
  /** True when a UTF-8 byte order mark was present; it is never part of `text`. */
  bom: boolean;
}

const SAVE_AS_UTF8 = 'In Excel use "Save As" → "CSV UTF-8 (Comma delimited) (*.csv)".';

/**
 * Turns the bytes of HR's export into text. Excel writes UTF-8 with a BOM when told "CSV UTF-8", but on a
 * Chinese-locale Windows plain "CSV" comes out in GBK (code page 936), so 'auto' falls back to GBK when the
 * bytes are not valid UTF-8. Both decoders are fatal: a replacement character silently typed into a name
 * or uid is worse than refusing the file.
 */
export function decodeRoster(bytes: Uint8Array, encoding: RosterEncodingOption): DecodedRoster {
  rejectUtf16(bytes);
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;

  if (encoding === 'gbk') {
    if (bom) {
      // A UTF-8 BOM decoded as GBK turns into '锘' glued onto the first header; the file is certainly UTF-8.
      throw new AppError(
        'RAC_ROSTER_ENCODING',
        'The roster starts with a UTF-8 byte order mark but GBK was requested; use encoding "utf-8" or "auto".',
        { details: { requested: 'gbk' } },
      );
    }
    return { text: decodeOrThrow(bytes, 'gbk', 0), encoding: 'gbk', detected: false, bom: false };
  }

  const body = bom ? bytes.subarray(3) : bytes;
  if (encoding === 'utf-8') {
    return { text: decodeOrThrow(body, 'utf-8', bom ? 3 : 0), encoding: 'utf-8', detected: false, bom };
  }

  const utf8 = tryDecode(body, 'utf-8');
  if (utf8 !== null) return { text: utf8, encoding: 'utf-8', detected: true, bom };
  // With a BOM the writer declared UTF-8, so broken bytes are damage, not GBK.
  const gbk = bom ? null : tryDecode(bytes, 'gbk');
  if (gbk !== null) return { text: gbk, encoding: 'gbk', detected: true, bom: false };

  const utf8Offset = findFirstBadByte(body, 'utf-8') + (bom ? 3 : 0);
  const gbkOffset = bom ? null : findFirstBadByte(bytes, 'gbk');
  throw new AppError(
    'RAC_ROSTER_ENCODING',
    `The roster is neither valid UTF-8 (first bad byte ${describeByte(bytes, utf8Offset, utf8Offset)})` +
      (gbkOffset === null ? '' : ` nor valid GBK (first bad byte ${describeByte(bytes, gbkOffset, gbkOffset)})`) +
      `. ${SAVE_AS_UTF8}`,
    { details: { utf8Offset, gbkOffset } },
  );
}

function rejectUtf16(bytes: Uint8Array): void {
  const b0 = bytes[0];
  const b1 = bytes[1];
  // FF FE also opens UTF-32LE; the advice is the same.
  const kind =
    b0 === 0xff && b1 === 0xfe ? 'UTF-16 (little-endian)' : b0 === 0xfe && b1 === 0xff ? 'UTF-16 (big-endian)' : null;
  if (kind === null) return;
  throw new AppError(
    'RAC_ROSTER_ENCODING',
    `The roster is saved as ${kind} ("Unicode Text"), which is not supported. ${SAVE_AS_UTF8}`,
    { details: { encoding: kind } },
  );
}

/** `skipped` is the length of a BOM already cut off, so offsets count from the start of the file. */
function decodeOrThrow(bytes: Uint8Array, encoding: RosterEncoding, skipped: number): string {
  const text = tryDecode(bytes, encoding);
  if (text !== null) return text;
  const offset = findFirstBadByte(bytes, encoding) + skipped;
  const name = encoding === 'utf-8' ? 'UTF-8' : 'GBK';
  throw new AppError(
    'RAC_ROSTER_ENCODING',
    `The roster is not valid ${name}: first bad byte ${describeByte(bytes, offset - skipped, offset)}.` +
      (encoding === 'utf-8'
        ? ` If it came from Excel on a Chinese-locale Windows, use encoding "gbk"; otherwise: ${SAVE_AS_UTF8}`
        : ` ${SAVE_AS_UTF8}`),
    { details: { encoding, offset } },
  );
}

/** WHATWG maps the label 'gbk' to its GB18030 decoder, a superset of GBK; Node 24 ships it with full ICU. */
function tryDecode(bytes: Uint8Array, encoding: RosterEncoding, stream = false): string | null {
  try {
    // ignoreBOM: the BOM is handled (and reported) above, never silently by the decoder.
    return new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(bytes, { stream });
  } catch {
    return null;
  }
}

/**
 * Offset of the first byte of the first undecodable sequence; error path only. A streaming decoder accepts
 * every prefix of a valid input, so a binary search finds the byte at which the decoder gives up, and the
 * sequence it belongs to starts at the last character boundary at or before it (at most 3 bytes back).
 */
function findFirstBadByte(bytes: Uint8Array, encoding: RosterEncoding): number {
  let good = 0;
  let bad = bytes.length + 1;
  while (bad - good > 1) {
    const mid = (good + bad) >>> 1;
    if (tryDecode(bytes.subarray(0, mid), encoding, true) === null) bad = mid;
    else good = mid;
  }
  // `good` bytes decode as a stream; byte `good` (or end of input) is where the decoder gave up.
  for (let start = good; start >= Math.max(0, good - 3); start--) {
    if (tryDecode(bytes.subarray(0, start), encoding) !== null) return start;
  }
  return Math.max(0, good - 3);
}

function describeByte(bytes: Uint8Array, index: number, offset: number): string {
  const byte = bytes[index];
  if (byte === undefined) return `at offset ${offset} (the file ends in the middle of a character)`;
  return `0x${byte.toString(16).toUpperCase().padStart(2, '0')} at offset ${offset}`;
}
