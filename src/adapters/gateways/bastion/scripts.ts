import { readFileSync } from 'node:fs';
import { AppError } from '../../../core/errors.ts';
import { type HostCall, type HostProgram, hostCall, hostProgram } from '../../host-programs/program.ts';

/**
 * The bastion's shell and awk programs live as real files in ./scripts (linted by shellcheck, see
 * test/unit/bastion/scripts.test.ts) and become host programs (host-programs/program.ts), with
 * person data only ever on stdin. A script file is assembled at load time:
 *   - a line `. ./prologue.sh` is replaced by that file's text (shellcheck follows it with -x);
 *   - `@name.awk@` or `@name.sh@` inside a single-quoted assignment is replaced by that file's
 *     text, which therefore must not contain a single quote (checked here).
 * The result is the same text on every run; nothing of the host or of a person is interpolated.
 */

const INCLUDE_LINE = /^\. \.\/([a-z][a-z0-9-]*\.sh)$/gm;
const PLACEHOLDER = /@([a-z][a-z0-9-]*\.(?:awk|sh))@/g;
const FILE_NAME = /^[a-z][a-z0-9-]*\.(?:awk|sh)$/;

/**
 * The one place that knows where the script files are: `scripts/` beside this module. A build
 * that bundles the product into dist/ copies this directory beside the bundle.
 */
export function readBastionScriptFile(name: string): string {
  if (!FILE_NAME.test(name)) throw new AppError('RAC_BASTION_SCRIPT', `'${name}' is not a bastion script file name`);
  const url = new URL(`./scripts/${name}`, import.meta.url);
  try {
    return readFileSync(url, 'utf8');
  } catch (err) {
    throw new AppError(
      'RAC_BASTION_SCRIPT',
      `bastion script ${url.pathname} cannot be read: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/** A script file with its includes and embedded programs resolved. */
export function assembleBastionScript(name: string): string {
  const text = readBastionScriptFile(name).replace(INCLUDE_LINE, (_line, file: string) => readBastionScriptFile(file));
  const assembled = text.replace(PLACEHOLDER, (_placeholder, file: string) => {
    const body = readBastionScriptFile(file);
    if (body.includes("'"))
      throw new AppError('RAC_BASTION_SCRIPT', `bastion script ${file} contains a single quote and cannot be embedded`);
    return body;
  });
  if (/@[a-z][a-z0-9-]*\.(?:awk|sh)@/.test(assembled) || /^\. \.\//m.test(assembled))
    throw new AppError('RAC_BASTION_SCRIPT', `bastion script ${name} has an unresolved include`);
  return assembled;
}

let accounts: string | undefined;
let observe: string | undefined;

/** The account operation (create, update keys, lock): manifest on stdin, one report line per account. */
export function bastionScript(): string {
  accounts ??= assembleBastionScript('accounts.sh');
  return accounts;
}

/** Read-only: rac-bastion members, their lock state, key lines and problems. */
export function observeScript(): string {
  observe ??= assembleBastionScript('observe.sh');
  return observe;
}

let programs: { accounts: HostProgram; observe: HostProgram; kill: HostProgram } | undefined;

/** The bastion's host programs, assembled on first use (a CLI run that needs none reads no file). */
export function bastionPrograms() {
  programs ??= {
    accounts: hostProgram('rac-bastion-accounts', bastionScript()),
    observe: hostProgram('rac-bastion-observe', observeScript()),
    kill: hostProgram('rac-bastion-kill', assembleBastionScript('kill.sh')),
  };
  return programs;
}

/** Every call rac makes on a bastion: none takes an argument, people come on stdin. */
export function bastionCalls() {
  const p = bastionPrograms();
  return {
    accounts: hostCall(p.accounts),
    observe: hostCall(p.observe),
    kill: hostCall(p.kill),
  } satisfies Record<string, HostCall>;
}
