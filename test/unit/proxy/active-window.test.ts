import { describe, expect, it } from 'vitest';
import type { AccessLogEntry } from '../../../src/core/proxy/access-log.ts';
import { parseAccessLogChunk } from '../../../src/core/proxy/access-log.ts';
import {
  type ActivityTable,
  activePeople,
  foldAccessLog,
  recordRequests,
} from '../../../src/core/proxy/active-window.ts';

const WINDOW = 300_000;
const req = (user: string, at: number, status = 200, address: string | null = null): AccessLogEntry => ({
  user,
  at,
  status,
  address,
});

describe('active window', () => {
  it('counts distinct people with an authenticated request in the window, by the injected clock', () => {
    const table: ActivityTable = new Map();
    recordRequests(table, [req('alice', 1000), req('alice', 2000), req('bob', 1500), req('carol', 1500, 401)], WINDOW);
    expect(
      activePeople(table, 10_000, WINDOW)
        .map((p) => p.uid)
        .sort(),
    ).toEqual(['alice', 'bob']);
  });

  it('drops a person once their last request leaves the window, and forgets them', () => {
    const table: ActivityTable = new Map();
    recordRequests(table, [req('alice', 0), req('bob', 100_000)], WINDOW);
    expect(
      activePeople(table, WINDOW, WINDOW)
        .map((p) => p.uid)
        .sort(),
    ).toEqual(['alice', 'bob']);
    expect(activePeople(table, WINDOW + 1, WINDOW).map((p) => p.uid)).toEqual(['bob']);
    expect(table.has('alice')).toBe(false);
  });

  it('keys people as the allow map does (ASCII lower case)', () => {
    const table: ActivityTable = new Map();
    recordRequests(table, [req('Alice', 1), req('ALICE', 2)], WINDOW);
    expect([...table.keys()]).toEqual(['alice']);
  });

  it('starts a new run after a gap longer than the window and keeps the latest address', () => {
    const table: ActivityTable = new Map();
    recordRequests(table, [req('a', 1000, 200, '10.0.0.1'), req('a', 2000, 200, '10.0.0.2')], WINDOW);
    expect(table.get('a')).toMatchObject({ first: 1000, last: 2000, address: '10.0.0.2' });
    recordRequests(table, [req('a', 2000 + WINDOW + 1)], WINDOW);
    expect(table.get('a')).toMatchObject({ first: 2000 + WINDOW + 1, address: '10.0.0.2' });
  });

  it('accepts requests logged out of order', () => {
    const table: ActivityTable = new Map();
    recordRequests(table, [req('a', 5000, 200, 'late'), req('a', 3000, 200, 'early')], WINDOW);
    expect(table.get('a')).toMatchObject({ first: 3000, last: 5000, address: 'late' });
  });
});

describe('folding log bytes', () => {
  it('gives the same table as parsing the entries, with each person’s newest address', () => {
    const lines = [
      '{"t":1.000,"u":"alice","s":200,"a":"10.0.0.1"}',
      '{"t":2.500,"u":"Bob","s":302,"a":"10.0.0.2"}',
      '{"t":3.000,"u":"alice","s":200,"a":"10.0.0.3"}',
      '{"t":2.000,"u":"alice","s":200,"a":"10.0.0.9"}',
      '{"t":4.000,"u":"carol","s":401,"a":"10.0.0.4"}',
      '{"t":5.000,"u":"d\\\\ave","s":200,"a":"10.0.0.5"}',
      'garbage',
      '{"t":6.000,"u":"erin","s":200',
    ];
    const bytes = new TextEncoder().encode(`${lines.join('\n')}\n`);
    const folded: ActivityTable = new Map();
    expect(foldAccessLog(folded, bytes, WINDOW)).toBe(2);
    const parsed: ActivityTable = new Map();
    recordRequests(parsed, parseAccessLogChunk(bytes).entries, WINDOW);
    expect(folded).toEqual(parsed);
    expect(folded.get('alice')).toEqual({ uid: 'alice', first: 1000, last: 3000, address: '10.0.0.3' });
    expect(folded.get('bob')?.address).toBe('10.0.0.2');
    expect(folded.get('d\\ave')?.last).toBe(5000);
    expect(folded.has('carol')).toBe(false);
  });
});
