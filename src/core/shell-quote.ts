import { AppError } from './errors.ts';

/**
 * The ONE place an argv array becomes a command line. SSH carries a single string that the
 * remote user's login shell parses (`$SHELL -c <string>`), so every argument is wrapped in POSIX
 * single quotes, where nothing is special except the closing quote itself; an embedded `'` becomes
 * `'\''` (close, escaped quote, reopen). Every word is quoted — also plain ones — so the first word
 * can never be read as a shell keyword (`if`, `!`), an assignment (`A=b`) or a `~` expansion.
 *
 * Assumes a POSIX-compatible login shell on the host (sh, bash, dash, ksh, zsh); csh and fish
 * treat `!` and newlines inside single quotes differently.
 */
export function quoteArgv(argv: readonly string[]): string {
  if (!Array.isArray(argv) || argv.length === 0) {
    throw new AppError('RAC_SSH_BAD_ARGV', 'refusing to run an empty command (argv has no elements)');
  }
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg: unknown = argv[i];
    if (typeof arg !== 'string') {
      throw new AppError('RAC_SSH_BAD_ARGV', `argv[${i}] is a ${typeof arg}, not a string`, {
        details: { index: i },
      });
    }
    // A NUL cannot be carried by a C string: the remote side would silently cut the argument.
    if (arg.includes('\0')) {
      throw new AppError('RAC_SSH_BAD_ARGV', `argv[${i}] contains a NUL byte, which no command line can carry`, {
        details: { index: i },
      });
    }
    words.push(quoteWord(arg));
  }
  return words.join(' ');
}

function quoteWord(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}
