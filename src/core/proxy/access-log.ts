/**
 * The proxy's JSON access log (nginx `log_format … escape=json`), one request per line:
 *
 *   {"t":$msec,"u":"$rac_user","s":$status,"a":"$remote_addr"}
 *
 * Other fields may follow in any order. nginx escapes `"`, `\` and bytes below 32 but writes
 * bytes ≥ 0x80 raw, so a line may be invalid UTF-8: it is decoded leniently (U+FFFD), which can
 * never match a real uid. A line that is not such a JSON object is counted, never fatal.
 *
 * A busy cycle brings 100 000 lines, so the scan allocates one string per line (the user) and
 * nothing else: lines without a backslash (every quote structural) are read in place by their
 * keys; the others go through JSON.parse. The address is read only for the lines a caller keeps.
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

/** One line: `text.slice(start, end)` is the line, for `addressIn` when the caller keeps it. */
export type LogLineVisitor = (
  at: number,
  user: string,
  status: number,
  text: string,
  start: number,
  end: number,
) => void;

const NEWLINE = 0x0a;
const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * Visits every complete line of `bytes`; returns how many lines were invalid. Bytes after the
 * last newline are a line still being written: not parsed (the reader's offset never moves past
 * the last newline, so they come again).
 */
export function scanAccessLog(bytes: Uint8Array, visit: LogLineVisitor): number {
  const last = bytes.lastIndexOf(NEWLINE);
  if (last === -1) return 0;
  const text = decoder.decode(bytes.subarray(0, last));
  let invalid = 0;
  let start = 0;
  let backslash = text.indexOf('\\');
  while (start <= text.length) {
    let nl = text.indexOf('\n', start);
    if (nl === -1) nl = text.length;
    if (nl > start) {
      if (backslash !== -1 && backslash < start) backslash = text.indexOf('\\', start);
      if (!visitLine(text, start, nl, backslash !== -1 && backslash < nl, visit)) invalid++;
    }
    start = nl + 1;
  }
  return invalid;
}

const T_KEY = '{"t":';
const U_KEY = ',"u":"';
const S_KEY = '","s":';

function visitLine(text: string, start: number, end: number, escaped: boolean, visit: LogLineVisitor): boolean {
  if (text.charCodeAt(start) !== 0x7b /* { */) return false;
  if (!escaped && text.charCodeAt(end - 1) === 0x7d /* } */) {
    // The documented layout, {"t":…,"u":"…","s":…: read in one pass.
    if (text.startsWith(T_KEY, start)) {
      const t = numberFrom(text, start + T_KEY.length, end);
      const tEnd = numberEnd;
      if (!Number.isNaN(t) && text.startsWith(U_KEY, tEnd)) {
        const close = text.indexOf('"', tEnd + U_KEY.length);
        if (close !== -1 && close < end && text.startsWith(S_KEY, close)) {
          const status = numberFrom(text, close + S_KEY.length, end);
          if (!Number.isNaN(status)) {
            visit(Math.round(t * 1000), text.slice(tEnd + U_KEY.length, close), status, text, start, end);
            return true;
          }
        }
      }
    }
    const t = numberAt(text, '"t":', start, end);
    const s = numberAt(text, '"s":', start, end);
    if (!Number.isNaN(t) && !Number.isNaN(s)) {
      const u = text.indexOf('"u":"', start);
      const close = u === -1 || u >= end ? -1 : text.indexOf('"', u + 5);
      if (close !== -1 && close < end) {
        visit(Math.round(t * 1000), text.slice(u + 5, close), s, text, start, end);
        return true;
      }
    }
  }
  const record = parseRecord(text.slice(start, end));
  if (record === null) return false;
  visit(record.at, record.user, record.status, text, start, end);
  return true;
}

/** Where the last numberFrom stopped (module state: the scan is synchronous and single-threaded). */
let numberEnd = 0;

/** The number at `from` up to `,` or `}`, NaN when malformed (no allocation). */
function numberFrom(text: string, from: number, end: number): number {
  let i = from;
  let value = 0;
  let digits = 0;
  while (i < end) {
    const c = text.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) break;
    value = value * 10 + c;
    digits++;
    i++;
  }
  if (digits === 0) return Number.NaN;
  if (text.charCodeAt(i) === 0x2e /* . */) {
    let scale = 1;
    for (i++; i < end; i++) {
      const c = text.charCodeAt(i) - 0x30;
      if (c < 0 || c > 9) break;
      scale /= 10;
      value += c * scale;
    }
  }
  numberEnd = i;
  const next = text.charCodeAt(i);
  return next === 0x2c /* , */ || next === 0x7d /* } */ ? value : Number.NaN;
}

/** The number after `key` within the line, NaN when absent or malformed. */
function numberAt(text: string, key: string, start: number, end: number): number {
  const at = text.indexOf(key, start);
  return at === -1 || at >= end ? Number.NaN : numberFrom(text, at + key.length, end);
}

function parseRecord(line: string): { at: number; user: string; status: number; address: string | null } | null {
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

/** The client address of a line a caller keeps (`$remote_addr`), null when none. */
export function addressIn(text: string, start: number, end: number): string | null {
  const at = text.indexOf('"a":"', start);
  if (at !== -1 && at < end) {
    const close = text.indexOf('"', at + 5);
    const raw = close === -1 || close >= end ? '' : text.slice(at + 5, close);
    if (!raw.includes('\\')) return raw === '' ? null : raw;
  }
  return at === -1 || at >= end ? null : (parseRecord(text.slice(start, end))?.address ?? null);
}

export function parseAccessLogLine(line: string): AccessLogEntry | null {
  let entry: AccessLogEntry | null = null;
  const ok = visitLine(line, 0, line.length, line.includes('\\'), (at, user, status, text, start, end) => {
    entry = { at, user, status, address: addressIn(text, start, end) };
  });
  return ok ? (entry as AccessLogEntry | null) : null;
}

export function parseAccessLogChunk(bytes: Uint8Array): ParsedChunk {
  const entries: AccessLogEntry[] = [];
  const invalid = scanAccessLog(bytes, (at, user, status, text, start, end) => {
    entries.push({ at, user, status, address: addressIn(text, start, end) });
  });
  return { entries, invalid };
}

/** "Authenticated": a person was named and the request succeeded (a 401 still logs the claimed name). */
export function isAuthenticatedRequest(entry: Pick<AccessLogEntry, 'user' | 'status'>): boolean {
  return entry.user !== '' && entry.status >= 200 && entry.status < 400;
}
