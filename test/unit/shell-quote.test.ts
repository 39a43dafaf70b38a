import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { quoteArgv } from '../../src/core/shell-quote.ts';

/** Strings that would do damage if they ever reached a shell unquoted. */
const HOSTILE = [
  "'; rm -rf / #",
  '$(id)',
  '`id`',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${} is the point
  '${HOME}',
  '"double" quotes',
  'back\\slash\\',
  "it's",
  "''",
  "'\\''",
  'line1\nline2\n',
  '\r\n\t tabs and CR',
  'unicode: ünïcödé ✓ 日本語 🚀',
  '-rf',
  '--',
  '*',
  '/etc/*',
  '?',
  '[a-z]',
  '{a,b}',
  '~',
  '~root',
  'A=b',
  '!',
  '#comment',
  '; | & && || > < >> 2>&1',
  '\\$(id)',
  '',
  ' ',
  '\u0001\u001b[31mansi',
];

describe('quoteArgv', () => {
  it('single-quotes every word, plain ones included', () => {
    expect(quoteArgv(['echo', 'hello'])).toBe("'echo' 'hello'");
    expect(quoteArgv(['true'])).toBe("'true'");
  });

  it('quotes an empty argument as an empty word', () => {
    expect(quoteArgv(['printf', '%s|', ''])).toBe("'printf' '%s|' ''");
  });

  it("turns an embedded ' into '\\'' and leaves everything else literal", () => {
    expect(quoteArgv(["'; rm -rf / #"])).toBe("''\\''; rm -rf / #'");
    expect(quoteArgv(['$(id)', '`id`', '"', '\\', '*'])).toBe("'$(id)' '`id`' '\"' '\\' '*'");
    expect(quoteArgv(['a\nb'])).toBe("'a\nb'");
  });

  it('refuses an empty argv', () => {
    expect(() => quoteArgv([])).toThrow(AppError);
    try {
      quoteArgv([]);
    } catch (err) {
      expect((err as AppError).code).toBe('RAC_SSH_BAD_ARGV');
    }
  });

  it('refuses NUL bytes, naming the argument but not echoing it', () => {
    try {
      quoteArgv(['echo', 'secret\0tail']);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('RAC_SSH_BAD_ARGV');
      expect((err as AppError).message).toContain('argv[1]');
      expect((err as AppError).message).not.toContain('secret');
    }
  });

  it('refuses non-string elements', () => {
    expect(() => quoteArgv(['echo', 1 as unknown as string])).toThrow(/argv\[1\]/);
  });

  for (const shell of ['/bin/sh', '/bin/bash', '/bin/dash']) {
    it(`${shell} -c gives back every hostile argument byte for byte`, () => {
      const result = spawnSync(shell, ['-c', quoteArgv(['printf', '%s\\0', ...HOSTILE])], { cwd: '/' });
      if (result.error !== undefined && (result.error as NodeJS.ErrnoException).code === 'ENOENT') return; // shell absent
      expect(result.status).toBe(0);
      expect(result.stdout).toEqual(Buffer.from(HOSTILE.map((s) => `${s}\0`).join(''), 'utf8'));
    });
  }

  it('keeps a hostile first word a command name (no keyword, assignment or expansion)', () => {
    for (const first of ['if', 'A=b', '~', '!', '$(id)']) {
      const result = spawnSync('/bin/sh', ['-c', quoteArgv([first, 'x'])], { encoding: 'utf8' });
      expect(result.stderr).toMatch(/not found/);
    }
  });
});
