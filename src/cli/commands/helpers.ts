import { chmodSync, closeSync, fchmodSync, lstatSync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { hostCalls, hostPrograms, programDigest, renderSudoers } from '../../adapters/host-programs/index.ts';
import { loadConfig } from '../../config/load.ts';
import { AppError, ExitCode } from '../../core/errors.ts';
import type { CliContext } from '../context.ts';

const USAGE = 'usage: rac helpers export --out <empty directory>';

/**
 * `rac helpers export --out DIR`: what a host needs so that rac can manage it as a non-root
 * account through sudo (ssh.become: sudo):
 *   DIR/libexec/<program>   rac's programs, for every host's helpers_dir (root-owned, 0755)
 *   DIR/sudoers/<host>      per become-sudo host: /etc/sudoers.d/rac, exactly rac's calls there
 *   DIR/SHA256SUMS          the programs' digests (rac doctor compares the installed ones)
 * Everything is rendered before anything is written: a value a sudoers rule cannot pin fails the
 * export and writes nothing.
 */
export async function helpersCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { out: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1 || positionals[0] !== 'export' || values.out === undefined)
    throw new AppError('RAC_USAGE', USAGE);
  const out = resolve(ctx.cwd, values.out);
  const loaded = loadConfig({ path: ctx.configPath, cwd: ctx.cwd, allowUnpinned: true });
  const programs = hostPrograms();
  const sudoHosts = loaded.config.gateways.filter((g) => g.ssh.become === 'sudo');
  const sudoers = sudoHosts.map((g) => ({ host: g.name, text: renderSudoers(g), calls: hostCalls(g).length }));
  const sums = programs.map((p) => `${programDigest(p)}  ${p.name}\n`).join('');

  ensureEmptyDirectory(out);
  mkdirSync(join(out, 'libexec'), { mode: 0o755 });
  for (const p of programs) writeExact(join(out, 'libexec', p.name), p.text, 0o755);
  if (sudoers.length > 0) mkdirSync(join(out, 'sudoers'), { mode: 0o755 });
  for (const s of sudoers) writeExact(join(out, 'sudoers', s.host), s.text, 0o440);
  writeExact(join(out, 'SHA256SUMS'), sums, 0o644);

  const { output } = ctx;
  if (output.json) {
    output.document({
      directory: out,
      programs: programs.map((p) => p.name),
      sudoers: sudoers.map((s) => ({ host: s.host, calls: s.calls })),
    });
    return ExitCode.ok;
  }
  output.text(`Wrote ${programs.length} programs to ${join(out, 'libexec')}.`);
  for (const s of sudoers) output.text(`Wrote ${join(out, 'sudoers', s.host)} (${s.calls} calls).`);
  if (sudoers.length === 0) output.text('No host has ssh.become: sudo, so no sudoers file was written.');
  output.text(
    'On each host, as root: install -o root -g root -m 0755 libexec/* <helpers_dir>/ (default /usr/local/libexec/rac),',
  );
  output.text('then: visudo -cf sudoers/<host> && install -o root -g root -m 0440 sudoers/<host> /etc/sudoers.d/rac');
  output.text('Then rac doctor checks both on every host.');
  return ExitCode.ok;
}

/**
 * The export directory: made here (0700, this user's), or an empty one of this user's that
 * nobody else may write to. What is written there is installed as root later: nobody else may
 * swap a file in between.
 */
function ensureEmptyDirectory(dir: string): void {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(dir, 0o700);
    return;
  }
  const refuse = (why: string) =>
    new AppError('RAC_USAGE', `${dir} ${why}: rac helpers export writes into a new or empty directory of yours`);
  if (!stat.isDirectory()) throw refuse('is not a directory');
  if (stat.uid !== process.getuid?.()) throw refuse('belongs to another user');
  if ((stat.mode & 0o022) !== 0) throw refuse('may be written by others');
  if (readdirSync(dir).length > 0) throw refuse('is not empty, and files of another version must not mix in');
}

/** Writes `text` as a new file (never through an existing name or link) with exactly `mode`. */
function writeExact(path: string, text: string, mode: number): void {
  const fd = openSync(path, 'wx', mode);
  try {
    fchmodSync(fd, mode);
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}
