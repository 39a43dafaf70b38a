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
  if (line.length === 0 || line.charCodeAt(0) !== 0x7b /* { */) return null;
  let value: unknown;
  try {
    value = JSON.parse(line);
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

/**
 * Parses complete lines. Bytes after the last newline are a line still being written: they are
 * not parsed (the reader's offset never moves past the last newline, so they come again).
 */
export function parseAccessLogChunk(bytes: Uint8Array): ParsedChunk {
  const entries: AccessLogEntry[] = [];
  let invalid = 0;
  const end = bytes.lastIndexOf(NEWLINE);
  if (end === -1) return { entries, invalid };
  const text = decoder.decode(bytes.subarray(0, end));
  let start = 0;
  while (start <= text.length) {
    let nl = text.indexOf('\n', start);
    if (nl === -1) nl = text.length;
    if (nl > start) {
      const entry = parseAccessLogLine(text.slice(start, nl));
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
