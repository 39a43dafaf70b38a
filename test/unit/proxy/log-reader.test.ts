import { describe, expect, it } from 'vitest';
import {
  advanceLogState,
  INITIAL_LOG_STATE,
  type LogReaderState,
  planLogRead,
} from '../../../src/core/proxy/log-reader.ts';

const opts = { initialBytes: 100, maxBytes: 1_000_000 };
const file = (ino: string, size: number) => ({ dev: '64768', ino, size });
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (chunks: readonly Uint8Array[]) => chunks.map((c) => new TextDecoder().decode(c)).join('');

/** Runs one cycle against in-memory files: path contents by inode. */
function cycle(state: LogReaderState, files: { current: [string, string] | null; rotated: [string, string] | null }) {
  const stat = (f: [string, string] | null) => (f === null ? null : file(f[0], bytes(f[1]).length));
  const plan = planLogRead(state, { current: stat(files.current), rotated: stat(files.rotated) }, opts);
  const contents = new Map([files.current, files.rotated].filter((f) => f !== null).map((f) => [f[0], bytes(f[1])]));
  const data = plan.segments.map((s) => (contents.get(s.ino) as Uint8Array).subarray(s.from, s.from + s.length));
  return { plan, ...advanceLogState(plan, data) };
}

describe('incremental log reader', () => {
  it('reads only new complete lines and never moves past the last newline', () => {
    let r = cycle(INITIAL_LOG_STATE, { current: ['1', 'a\nb\nc'], rotated: null });
    expect(text(r.chunks)).toBe('a\nb\n');
    expect(r.state.current).toEqual({ dev: '64768', ino: '1', offset: 4 });
    r = cycle(r.state, { current: ['1', 'a\nb\ncd\ne\n'], rotated: null });
    expect(text(r.chunks)).toBe('cd\ne\n');
    expect(r.plan.segments).toEqual([
      { role: 'current', dev: '64768', ino: '1', from: 4, length: 5, skipFirstLine: false },
    ]);
    r = cycle(r.state, { current: ['1', 'a\nb\ncd\ne\n'], rotated: null });
    expect(r.plan.segments).toEqual([]);
    expect(r.state.current?.offset).toBe(9);
  });

  it('starts a big log near its end, at a line boundary', () => {
    const old = `${'x'.repeat(500)}\n`;
    const r = cycle(INITIAL_LOG_STATE, { current: ['1', `${old}${'y'.repeat(60)}\nz1\nz2\n`], rotated: null });
    expect(r.plan.events).toEqual(['started']);
    expect(r.plan.segments[0]?.skipFirstLine).toBe(true);
    expect(text(r.chunks)).toBe(`${'y'.repeat(60)}\nz1\nz2\n`);
  });

  it('restarts at 0 after a truncation', () => {
    let r = cycle(INITIAL_LOG_STATE, { current: ['1', 'aaaa\nbbbb\n'], rotated: null });
    r = cycle(r.state, { current: ['1', 'c\n'], rotated: null });
    expect(r.plan.events).toEqual(['truncated']);
    expect(text(r.chunks)).toBe('c\n');
  });

  it('drains the rotated file from the saved offset, then reads the new one from 0', () => {
    let r = cycle(INITIAL_LOG_STATE, { current: ['1', 'a\nb'], rotated: null });
    // rotated (rename to .1) with the rest of b written before nginx reopened; new file has c
    r = cycle(r.state, { current: ['2', 'c\n'], rotated: ['1', 'a\nb\nlate\n'] });
    expect(r.plan.events).toEqual(['rotated']);
    expect(text(r.chunks)).toBe('b\nlate\nc\n');
    // nginx had not handled USR1 yet: one more line lands in the old file, and is read
    r = cycle(r.state, { current: ['2', 'c\nd\n'], rotated: ['1', 'a\nb\nlate\nlater\n'] });
    expect(text(r.chunks)).toBe('later\nd\n');
    // next rotation: .1 is now the file read as current before
    r = cycle(r.state, { current: ['3', 'e\n'], rotated: ['2', 'c\nd\n'] });
    expect(text(r.chunks)).toBe('e\n');
    expect(r.state.previous).toEqual({ dev: '64768', ino: '2', offset: 4 });
  });

  it('reads the new file from 0 when the rotated one is gone, and says lines were lost', () => {
    let r = cycle(INITIAL_LOG_STATE, { current: ['1', 'a\n'], rotated: null });
    r = cycle(r.state, { current: ['2', 'b\n'], rotated: null });
    expect(r.plan.events).toEqual(['rotated', 'lost']);
    expect(text(r.chunks)).toBe('b\n');
  });

  it('keeps its place while the log is missing', () => {
    let r = cycle(INITIAL_LOG_STATE, { current: ['1', 'a\n'], rotated: null });
    r = cycle(r.state, { current: null, rotated: null });
    expect(r.plan.events).toEqual(['missing']);
    expect(r.state.current?.offset).toBe(2);
  });

  it('reads at most maxBytes per cycle and continues next time', () => {
    const plan = planLogRead(
      { current: { dev: 'd', ino: '1', offset: 0 }, previous: null },
      { current: { dev: 'd', ino: '1', size: 10 }, rotated: null },
      { initialBytes: 100, maxBytes: 4 },
    );
    expect(plan.events).toEqual(['capped']);
    const next = advanceLogState(plan, [bytes('ab\nc')]);
    expect(next.state.current?.offset).toBe(3);
  });

  it('refuses data that does not match the plan', () => {
    const plan = planLogRead(INITIAL_LOG_STATE, { current: file('1', 5), rotated: null }, opts);
    expect(() => advanceLogState(plan, [bytes('abc')])).toThrow(/expected 5 bytes, got 3/);
  });
});
