/**
 * Incremental reading of an access log that gets rotated (Debian's logrotate: rename to
 * `<log>.1`, `delaycompress`, then USR1 so nginx reopens), the decisions only: the driver stats
 * the files on the host, asks `planLogRead` which bytes to fetch, fetches exactly those, and
 * hands them to `advanceLogState`.
 *
 * A file is known by (dev, inode), never by its name. The offset never moves past the last '\n'
 * read, so a line nginx is still writing is read whole next time.
 * - Same file, bigger: read from the offset.
 * - Same file, smaller than the offset: truncated (copytruncate), restart at 0.
 * - Another file at the path: rotated. The old file is drained from the saved offset if it is
 *   found at the rotated path, and then again on later cycles while it stays there (nginx keeps
 *   writing to it until it handles USR1); the new file is read from 0.
 * - First read ever: only the last `initialBytes`, from the first line boundary in them, so a
 *   1 GB log is never read whole.
 */

export interface FileStat {
  readonly dev: string;
  readonly ino: string;
  readonly size: number;
}

export interface LogCursor {
  readonly dev: string;
  readonly ino: string;
  readonly offset: number;
}

export interface LogReaderState {
  /** The file at the log path, as far as it has been read. */
  readonly current: LogCursor | null;
  /** The previous file after a rotation, while it is still at the rotated path. */
  readonly previous: LogCursor | null;
}

export const INITIAL_LOG_STATE: LogReaderState = { current: null, previous: null };

export interface LogSegment {
  readonly role: 'previous' | 'current';
  readonly dev: string;
  readonly ino: string;
  readonly from: number;
  readonly length: number;
  /** Started mid-file: the bytes up to the first '\n' are the tail of an older line. */
  readonly skipFirstLine: boolean;
}

export type LogEvent = 'started' | 'rotated' | 'truncated' | 'lost' | 'missing' | 'capped';

export interface LogReadPlan {
  readonly segments: readonly LogSegment[];
  readonly events: readonly LogEvent[];
  /** State to keep when the plan has no bytes to read (or they all turn out partial). */
  readonly base: LogReaderState;
}

const same = (a: { dev: string; ino: string } | null, b: { dev: string; ino: string } | null) =>
  a !== null && b !== null && a.dev === b.dev && a.ino === b.ino;

export function planLogRead(
  state: LogReaderState,
  stats: { readonly current: FileStat | null; readonly rotated: FileStat | null },
  options: { readonly initialBytes: number; readonly maxBytes: number },
): LogReadPlan {
  const segments: LogSegment[] = [];
  const events: LogEvent[] = [];
  const segment = (role: LogSegment['role'], file: FileStat, from: number, skipFirstLine: boolean) => {
    let length = file.size - from;
    if (length > options.maxBytes) {
      length = options.maxBytes;
      events.push('capped');
    }
    if (length > 0) segments.push({ role, dev: file.dev, ino: file.ino, from, length, skipFirstLine });
    return { dev: file.dev, ino: file.ino, offset: from };
  };

  let previous: LogCursor | null = null;
  // A file rotated away earlier, still at the rotated path: drain what was added since.
  if (state.previous !== null && same(state.previous, stats.rotated) && stats.rotated !== null) {
    previous = segment('previous', stats.rotated, Math.min(state.previous.offset, stats.rotated.size), false);
  }

  const current = stats.current;
  if (current === null) {
    events.push('missing');
    return { segments, events, base: { current: state.current, previous } };
  }
  let cursor: LogCursor;
  if (state.current === null) {
    events.push('started');
    const from = Math.max(0, current.size - options.initialBytes);
    cursor = segment('current', current, from, from > 0);
  } else if (same(state.current, current)) {
    if (current.size < state.current.offset) {
      events.push('truncated');
      cursor = segment('current', current, 0, false);
    } else cursor = segment('current', current, state.current.offset, false);
  } else {
    events.push('rotated');
    if (same(state.current, stats.rotated) && stats.rotated !== null) {
      const from = stats.rotated.size < state.current.offset ? 0 : state.current.offset;
      previous = segment('previous', stats.rotated, from, false);
    } else events.push('lost');
    cursor = segment('current', current, 0, false);
  }
  return { segments, events, base: { current: cursor, previous } };
}

export interface LogAdvance {
  readonly state: LogReaderState;
  /** Complete lines of every segment, in reading order (previous file first). */
  readonly chunks: readonly Uint8Array[];
}

/**
 * The new state after the planned bytes were read: each cursor moves to just past the last
 * '\n' of its segment. `data[i]` must be exactly the bytes of `plan.segments[i]`.
 */
export function advanceLogState(plan: LogReadPlan, data: readonly Uint8Array[]): LogAdvance {
  if (data.length !== plan.segments.length) throw new Error('advanceLogState: one buffer per segment');
  let { current, previous } = plan.base;
  const chunks: Uint8Array[] = [];
  plan.segments.forEach((segment, i) => {
    const bytes = data[i] as Uint8Array;
    if (bytes.length !== segment.length)
      throw new Error(`log segment ${segment.role}: expected ${segment.length} bytes, got ${bytes.length}`);
    let start = 0;
    if (segment.skipFirstLine) {
      const first = bytes.indexOf(0x0a);
      start = first === -1 ? bytes.length : first + 1;
      if (first === -1) return; // no line boundary yet: the cursor stays where the plan put it
    }
    const last = bytes.lastIndexOf(0x0a);
    const end = last < start ? start : last + 1;
    if (end > start) chunks.push(bytes.subarray(start, end));
    const cursor = { dev: segment.dev, ino: segment.ino, offset: segment.from + end };
    if (segment.role === 'current') current = cursor;
    else previous = cursor;
  });
  return { state: { current, previous }, chunks };
}
