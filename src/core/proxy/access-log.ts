/**
 * The proxy's JSON access log (nginx `log_format … escape=json`), one request per line:
 *
 *   {"t":$msec,"u":"$rac_user","s":$status,"a":"$remote_addr"}
 *
 * Other fields may follow in any order. nginx escapes `"`, `\` and bytes below 32 but writes
 * bytes ≥ 0x80 raw, so a line may be invalid UTF-8: it is decoded leniently (U+FFFD), which can
 * never match a real uid. A line that is not such a JSON object is counted, never fatal.
 */

export interface AccessLogEntry {
  /** When the request ended (ms since epoch, from `$msec`). */
  readonly at: number;
  /** `$rac_user`: the authenticated person, '' when none. */
  readonly user: string;
  readonly status: number;
  readonly address: string | null;
}

export interface ParsedChunk {
  readonly entries: AccessLogEntry[];
  /** Lines that were not a log object of the expected shape. */
  readonly invalid: number;
}

const NEWLINE = 0x0a;
const decoder = new TextDecoder('utf-8', { fatal: false });

export function parseAccessLogLine(line: string): AccessLogEntry | null {
  return parseLineAt(line, 0, line.length, line.indexOf('\\') !== -1);
}

/**
 * One line of `text`, [start, end). Without a backslash every quote is structural, so the
 * fields are found by their keys in place (several times faster than JSON.parse over the
 * 100 000 lines of a busy cycle); anything else goes through JSON.parse.
 */
function parseLineAt(text: string, start: number, end: number, escaped: boolean): AccessLogEntry | null {
  if (end <= start || text.charCodeAt(start) !== 0x7b /* { */) return null;
  if (!escaped && text.charCodeAt(end - 1) === 0x7d /* } */) {
    const t = numberAt(text, '"t":', start, end);
    const s = numberAt(text, '"s":', start, end);
    const u = stringAt(text, '"u":"', start, end);
    if (t !== undefined && s !== undefined && u !== undefined) {
      const a = stringAt(text, '"a":"', start, end);
      return { at: Math.round(t * 1000), user: u, status: s, address: a === undefined || a === '' ? null : a };
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text.slice(start, end));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const record = value as Record<string, unknown>;
  const t = record['t'];
  const u = record['u'];
  const s = record['s'];
  if (typeof t !== 'number' || !Number.isFinite(t) || typeof u !== 'string' || typeof s !== 'number') return null;
  const a = record['a'];
  return { at: Math.round(t * 1000), user: u, status: s, address: typeof a === 'string' && a !== '' ? a : null };
}

function numberAt(text: string, key: string, start: number, end: number): number | undefined {
  const at = text.indexOf(key, start);
  if (at === -1 || at >= end) return undefined;
  const from = at + key.length;
  let stop = from;
  while (stop < end) {
    const c = text.charCodeAt(stop);
    if ((c < 0x30 || c > 0x39) && c !== 0x2e /* . */ && c !== 0x2d /* - */) break;
    stop++;
  }
  if (stop === from) return undefined;
  const n = Number(text.slice(from, stop));
  return Number.isFinite(n) ? n : undefined;
}

function stringAt(text: string, key: string, start: number, end: number): string | undefined {
  const at = text.indexOf(key, start);
  if (at === -1 || at >= end) return undefined;
  const from = at + key.length;
  const close = text.indexOf('"', from);
  return close === -1 || close >= end ? undefined : text.slice(from, close);
}

/**
 * Parses complete lines. Bytes after the last newline are a line still being written: they are
 * not parsed (the reader's offset never moves past the last newline, so they come again).
 */
export function parseAccessLogChunk(bytes: Uint8Array): ParsedChunk {
  const entries: AccessLogEntry[] = [];
  let invalid = 0;
  const last = bytes.lastIndexOf(NEWLINE);
  if (last === -1) return { entries, invalid };
  const text = decoder.decode(bytes.subarray(0, last));
  let start = 0;
  let backslash = text.indexOf('\\');
  while (start <= text.length) {
    let nl = text.indexOf('\n', start);
    if (nl === -1) nl = text.length;
    if (nl > start) {
      if (backslash !== -1 && backslash < start) backslash = text.indexOf('\\', start);
      const entry = parseLineAt(text, start, nl, backslash !== -1 && backslash < nl);
      if (entry === null) invalid++;
      else entries.push(entry);
    }
    start = nl + 1;
  }
  return { entries, invalid };
}

/** "Authenticated": a person was named and the request succeeded (a 401 still logs the claimed name). */
export function isAuthenticatedRequest(entry: AccessLogEntry): boolean {
  return entry.user !== '' && entry.status >= 200 && entry.status < 400;
}
