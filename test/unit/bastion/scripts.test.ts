import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  assembleBastionScript,
  bastionCalls,
  bastionScript,
  observeScript,
} from '../../../src/adapters/gateways/bastion/scripts.ts';
import { callArgv } from '../../../src/adapters/host-programs/program.ts';
import { JUMP_ONLY_OPTIONS } from '../../../src/core/bastion/account-script.ts';

const SCRIPT_DIR = join(import.meta.dirname, '../../../src/adapters/gateways/bastion/scripts');
const scratch = mkdtempSync(join(tmpdir(), 'rac-shellcheck-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** shellcheck's findings for one file (every severity, includes followed), or a failure to run it. */
function shellcheck(file: string): { code: number | null; findings: string } {
  const result = spawnSync('shellcheck', ['--external-sources', '--source-path=SCRIPTDIR', '--severity=style', file], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.error !== undefined)
    throw new Error(`shellcheck cannot run (${result.error.message}): sh scripts/bootstrap.sh installs it`);
  return { code: result.status, findings: `${result.stdout}${result.stderr}`.trim() };
}

describe('the bastion script files', () => {
  const shellFiles = readdirSync(SCRIPT_DIR).filter((f) => f.endsWith('.sh'));

  it('are the ones the scripts are built from', () => {
    expect(shellFiles.sort()).toEqual([
      'accounts.sh',
      'kill.sh',
      'observe.sh',
      'prologue.sh',
      'read-keys.sh',
      'user-remove-keys.sh',
      'user-write-keys.sh',
    ]);
  });

  it.each(shellFiles)('%s passes shellcheck with no finding at all', (file) => {
    const { code, findings } = shellcheck(join(SCRIPT_DIR, file));
    expect(findings).toBe('');
    expect(code).toBe(0);
  });

  it('the shellcheck check fails on a script with a finding', () => {
    const bad = join(scratch, 'bad.sh');
    writeFileSync(bad, '# shellcheck shell=sh\nfor f in $(ls "$1"); do rm $f; done\n');
    const { code, findings } = shellcheck(bad);
    expect(code).not.toBe(0);
    expect(findings).toMatch(/SC2045|SC2086/);
  });

  it('the shellcheck check reads the prologue include: what the prologue defines counts, and only that', () => {
    const main = join(scratch, 'main.sh');
    writeFileSync(main, '# shellcheck shell=sh\n# shellcheck source=prologue.sh\n. ./prologue.sh\necho "$workdir"\n');
    writeFileSync(join(scratch, 'prologue.sh'), '# shellcheck shell=sh\n# shellcheck disable=SC2034\nworkdir=/tmp\n');
    expect(shellcheck(main).findings).toBe('');
    writeFileSync(join(scratch, 'prologue.sh'), '# shellcheck shell=sh\n# shellcheck disable=SC2034\nother=/tmp\n');
    expect(shellcheck(main).findings).toMatch(/SC2154/);
  });
});

describe('the assembled scripts', () => {
  it('take no argument: data only ever comes on stdin', () => {
    const calls = bastionCalls();
    for (const call of Object.values(calls)) expect(call.args).toEqual([]);
    expect(callArgv(calls.accounts, { mode: 'none' })).toEqual([
      'sh',
      '-c',
      calls.accounts.program.text,
      'rac-bastion-accounts',
    ]);
    expect(calls.accounts.program.text).toContain(bastionScript());
    expect(calls.observe.program.text).toContain(observeScript());
    expect(callArgv(calls.kill, { mode: 'sudo', helpersDir: '/opt/rac' })).toEqual([
      'sudo',
      '-n',
      '--',
      '/opt/rac/rac-bastion-kill',
    ]);
    expect(bastionScript()).toContain('cat > "$W/manifest"');
  });

  it('have every include and embedded program resolved, the prologue first', () => {
    for (const script of [bastionScript(), observeScript()]) {
      expect(script).not.toMatch(/@[a-z-]+\.(awk|sh)@/);
      expect(script).not.toMatch(/^\. \.\//m);
      expect(script).toContain("die() { printf 'rac-bastion: %s\\n'");
      expect(script).toContain('function linkproblem(');
    }
    expect(bastionScript()).toContain('function okkey(');
    expect(observeScript()).toContain('iflag=nofollow');
    expect(assembleBastionScript('accounts.sh')).toBe(bastionScript());
  });

  it('know exactly the jump-only options that renderAccountManifest writes (manifest check and observe)', () => {
    const inAwk = `/^(${JUMP_ONLY_OPTIONS.replaceAll('/', '\\/')} )?(`;
    expect(bastionScript()).toContain(inAwk);
    expect(observeScript()).toContain(inAwk);
  });

  it('refuse a name that is not a script file of theirs', () => {
    expect(() => assembleBastionScript('../../../../etc/passwd')).toThrow(/not a bastion script file name/);
    expect(() => assembleBastionScript('missing.sh')).toThrow(/cannot be read/);
  });

  it.each([
    ['dash', '/bin/sh', []],
    ['bash --posix', '/bin/bash', ['--posix']],
  ])('parse under %s', (_name, shell, flags) => {
    for (const script of [bastionScript(), observeScript()]) {
      const result = spawnSync(shell, [...flags, '-n', '-c', script], { encoding: 'utf8' });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    }
  });
});
