import { createHash } from 'node:crypto';
import { AppError } from '../../core/errors.ts';
import type { ExecOptions, ExecResult, RemoteShell } from '../../ports.ts';

/**
 * A program rac runs on a managed host with root's rights: a POSIX shell script of static text.
 * Every datum reaches it as an argument fixed by the host's configuration (a path, an interface)
 * or on stdin (people, keys, offsets), never interpolated. The same text is either carried as
 * one argv word (`sh -c <text> <name> args…`, when rac logs in as root) or installed once as the
 * file <helpers_dir>/<name> and run through `sudo -n` (when rac logs in as a management account
 * whose sudoers rules name exactly these files with exactly these arguments, see sudoers.ts).
 */
export interface HostProgram {
  /** The file name in helpers_dir, and $0 of an inline run. */
  readonly name: string;
  /** The whole file: `#!/bin/sh`, then the script. */
  readonly text: string;
}

/** One run of a program: its arguments are fixed by the configuration, so sudoers can pin them. */
export interface HostCall {
  readonly program: HostProgram;
  readonly args: readonly string[];
}

const PROGRAM_NAME = /^rac-[a-z][a-z0-9-]*$/;

/**
 * The characters of an argument a sudoers rule can pin: no whitespace, quote, glob or comment
 * character. renderSudoers refuses any other argument, and every program refuses any other under
 * sudo (PROLOGUE): one set for both, or the re-split check below would not match the rules.
 */
const PINNABLE = 'A-Za-z0-9_./@%+=,:-';
export const PINNABLE_ARGUMENT = new RegExp(`^[${PINNABLE}]+$`);

/**
 * What every program does first, whoever runs it:
 * - its own PATH, umask and working directory: sudo passes the caller's PATH on where the host's
 *   sudoers sets no secure_path, and its working directory always;
 * - under sudo, every argument must be one sudoers can pin (PINNABLE): sudo matches a rule against
 *   the arguments joined by spaces, so "2 nginx" as one argument would pass a rule pinning
 *   `2 nginx` as two and shift every argument after it. No pinned argument is empty or holds a
 *   space, so a caller who re-splits them is refused here.
 */
const PROLOGUE = `PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 022
cd / || exit 2
if [ -n "\${SUDO_UID-}" ]; then
  for arg do
    case "$arg" in
      '' | *[!${PINNABLE}]*) printf '%s: argument %s is not one rac pins: refused\\n' "$0" "$arg" >&2; exit 2 ;;
    esac
  done
fi
`;

export function hostProgram(name: string, script: string): HostProgram {
  if (!PROGRAM_NAME.test(name)) throw new AppError('RAC_HOST_PROGRAM', `'${name}' is not a host program name`);
  return {
    name,
    text: `#!/bin/sh\n# ${name}: installed by rac (rac helpers export); run as root.\n${PROLOGUE}${script}`,
  };
}

export function hostCall(program: HostProgram, ...args: string[]): HostCall {
  return { program, args };
}

/** How rac gains root on a host: it is root (ssh.become none), or sudo runs the installed program. */
export type Become = { readonly mode: 'none' } | { readonly mode: 'sudo'; readonly helpersDir: string };

/** rac logs in as root: programs run inline (ssh.become's default). */
export const AS_ROOT: Become = { mode: 'none' };

/** sha256 (hex) of a program's file, as `rac helpers export` writes it and `rac doctor` compares it. */
export function programDigest(program: HostProgram): string {
  return createHash('sha256').update(program.text).digest('hex');
}

/** argv of a call for `become`: the program inline for root, its installed file through sudo otherwise. */
export function callArgv(call: HostCall, become: Become): readonly string[] {
  return become.mode === 'none'
    ? ['sh', '-c', call.program.text, call.program.name, ...call.args]
    : ['sudo', '-n', '--', `${become.helpersDir}/${call.program.name}`, ...call.args];
}

/** Runs host programs on one host as root, by the host's `become`. */
export interface HostRunner {
  readonly become: Become;
  run(call: HostCall, options?: ExecOptions): Promise<ExecResult>;
}

export function hostRunner(shell: RemoteShell, become: Become = AS_ROOT): HostRunner {
  return {
    become,
    run: (call, options) => shell.exec(callArgv(call, become), options),
  };
}
