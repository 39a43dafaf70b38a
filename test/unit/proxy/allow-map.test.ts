import { describe, expect, it } from 'vitest';
import {
  formatMapKey,
  GENERATION_KEY,
  mapHashMaxSize,
  mapKeyOf,
  parseAllowMap,
  renderAllowMap,
} from '../../../src/core/proxy/allow-map.ts';

describe('renderAllowMap', () => {
  it('writes one sorted line per person with their tier, after the generation marker', () => {
    const map = renderAllowMap([
      { uid: 'bob', tier: 'vpn' },
      { uid: 'alice', tier: 'public' },
    ]);
    expect(map.text.split('\n').slice(1)).toEqual([
      `${GENERATION_KEY} ${map.generation};`,
      'alice public;',
      'bob vpn;',
      '',
    ]);
    expect(map.generation).toMatch(/^g-[0-9a-f]{16}$/);
  });

  it('lower-cases with ASCII rules only, as nginx does, and keeps the higher tier of a repeat', () => {
    const map = renderAllowMap([
      { uid: 'Alice', tier: 'public' },
      { uid: 'ALICE', tier: 'vpn-bastion' },
      { uid: 'alice', tier: 'vpn' },
      { uid: 'Élodie', tier: 'public' },
    ]);
    expect([...map.entries]).toEqual([
      ['alice', 'vpn-bastion'],
      ['Élodie', 'public'],
    ]);
    expect(mapKeyOf('Élodie')).toBe('Élodie');
  });

  it('escapes keywords and regex starts, quotes what the tokenizer would split', () => {
    expect(formatMapKey('default')).toBe('\\default');
    expect(formatMapKey('include')).toBe('\\include');
    expect(formatMapKey('hostnames')).toBe('\\hostnames');
    expect(formatMapKey('volatile')).toBe('\\volatile');
    expect(formatMapKey('~root')).toBe('\\~root');
    expect(formatMapKey('john smith')).toBe('"john smith"');
    expect(formatMapKey('a;b')).toBe('"a;b"');
    expect(formatMapKey('x{y}')).toBe('"x{y}"');
    expect(formatMapKey('say"hi"')).toBe('"say\\"hi\\""');
    expect(formatMapKey('back\\slash')).toBe('"back\\\\slash"');
    expect(formatMapKey('#hash')).toBe('"#hash"');
    expect(formatMapKey('~ a')).toBe('"\\~ a"');
    expect(formatMapKey('o.brien-2_x')).toBe('o.brien-2_x');
  });

  it('refuses what cannot be written, naming the person and the reason', () => {
    const map = renderAllowMap([
      { uid: '', tier: 'public' },
      { uid: 'line\nbreak', tier: 'public' },
      { uid: '@rac-generation', tier: 'public' },
      { uid: 'ok', tier: 'public' },
    ]);
    expect(map.rejected.map((r) => r.reason)).toEqual([
      'empty uid',
      'uid contains a control character',
      'uid starts with @ (reserved for the generation marker)',
    ]);
    expect([...map.entries.keys()]).toEqual(['ok']);
  });

  it('gives the same bytes and generation for the same people in any order', () => {
    const a = renderAllowMap([
      { uid: 'a', tier: 'public' },
      { uid: 'b', tier: 'vpn' },
    ]);
    const b = renderAllowMap([
      { uid: 'b', tier: 'vpn' },
      { uid: 'a', tier: 'public' },
    ]);
    expect(a.text).toBe(b.text);
    const c = renderAllowMap([
      { uid: 'a', tier: 'public' },
      { uid: 'b', tier: 'public' },
    ]);
    expect(c.generation).not.toBe(a.generation);
  });
});

describe('parseAllowMap', () => {
  it('reads back every uid that needs care exactly as rendered', () => {
    const uids = [
      'default',
      'include',
      '~root',
      'john smith',
      'a;b',
      'say"hi"',
      'back\\slash',
      '\\lead',
      'x{y}',
      '#h',
      "q's",
    ];
    const rendered = renderAllowMap(uids.map((uid) => ({ uid, tier: 'public' as const })));
    const parsed = parseAllowMap(rendered.text);
    expect([...parsed.entries.keys()].sort()).toEqual([...uids].sort());
    expect(parsed.generation).toBe(rendered.generation);
    expect(parsed.foreign).toEqual([]);
    expect(parsed.consistent).toBe(true);
  });

  it('reports hand-written lines as foreign and a hand edit as inconsistent', () => {
    const rendered = renderAllowMap([{ uid: 'alice', tier: 'public' }]);
    const edited = `${rendered.text}mallory 1;\n~^adm admin;\ndefault vpn;\neve vpn;\n`;
    const parsed = parseAllowMap(edited);
    expect(parsed.foreign).toEqual(['mallory 1;', '~^adm admin;', 'default vpn;']);
    expect([...parsed.entries.keys()]).toEqual(['alice', 'eve']);
    expect(parsed.consistent).toBe(false);
  });

  it('treats an unterminated last line as foreign', () => {
    expect(parseAllowMap('alice public').foreign).toEqual(['alice public']);
  });
});

describe('map hash sizing', () => {
  it('covers the entry count with room, never below the nginx default', () => {
    expect(mapHashMaxSize(10)).toBe(2048);
    expect(mapHashMaxSize(5000)).toBe(16384);
    expect(mapHashMaxSize(50_000)).toBe(131072);
  });
});
