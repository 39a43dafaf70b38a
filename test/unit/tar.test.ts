import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { readTar, type TarEntry, writeTar } from '../../src/core/tar.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const scratch: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rac-tar-'));
  scratch.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function gnuTar(args: string[], input?: Uint8Array, cwd?: string) {
  const result = spawnSync('tar', args, { input, cwd, maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString() };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return (err as AppError).code;
  }
  throw new Error('expected an AppError');
}

/** Rewrites the name field of the header at `offset` and fixes its checksum (to forge hostile archives). */
function forgeName(archive: Uint8Array, name: string, offset = 0): Uint8Array {
  const copy = archive.slice();
  const header = copy.subarray(offset, offset + 512);
  header.fill(0, 0, 100);
  header.set(bytes(name), 0);
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of header) sum += b;
  header.set(bytes(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
  return copy;
}

const dirName150 = `${'d'.repeat(70)}/${'e'.repeat(79)}`; // 150 bytes: goes into the prefix field
const SAMPLE: TarEntry[] = [
  { name: 'etc', mode: 0o755, content: new Uint8Array(0), type: 'directory' },
  { name: 'etc/ccd/', mode: 0o750, content: new Uint8Array(0), type: 'directory' },
  { name: 'etc/ccd/alice', mode: 0o644, content: bytes('ifconfig-push 10.8.0.2 255.255.0.0\n') },
  { name: 'etc/secret.key', mode: 0o600, content: bytes('private\n') },
  { name: 'etc/empty', mode: 0o640, content: new Uint8Array(0) },
  { name: 'etc/exactly-512', mode: 0o644, content: new Uint8Array(512).fill(0x61) },
  { name: 'etc/binary', mode: 0o755, content: Uint8Array.from({ length: 1500 }, (_, i) => (i * 7) % 256) },
  { name: 'etc/ünïcödé ✓ 日本語', mode: 0o644, content: bytes('unicode name\n') },
  { name: 'etc/spaces and \'quotes" $(id)', mode: 0o644, content: bytes('x') },
  { name: 'n'.repeat(100), mode: 0o644, content: bytes('name of exactly 100 bytes') },
  { name: `${dirName150}/${'f'.repeat(100)}`, mode: 0o644, content: bytes('255-byte path') },
];

const normalized = (entries: TarEntry[]) =>
  entries.map((e) => ({
    name: e.name.replace(/\/$/, ''),
    mode: e.mode,
    type: e.type ?? 'file',
    content: Buffer.from(e.content).toString('hex'),
  }));

describe('writeTar / readTar', () => {
  it('round-trips files, directories, modes, binary content and long names', () => {
    const archive = writeTar(SAMPLE);
    expect(archive.length % 512).toBe(0);
    expect(normalized(readTar(archive))).toEqual(normalized(SAMPLE));
  });

  it('is deterministic (mtime 0 unless given)', () => {
    expect(Buffer.from(writeTar(SAMPLE)).equals(Buffer.from(writeTar(SAMPLE)))).toBe(true);
    const listed = gnuTar(['--utc', '-tvf', '-'], writeTar(SAMPLE.slice(2, 3), { mtime: 1_700_000_000 }));
    expect(listed.stdout.toString()).toContain('2023-11-14 22:13');
  });

  it('an empty archive is two zero blocks and reads back empty', () => {
    const archive = writeTar([]);
    expect(archive).toEqual(new Uint8Array(1024));
    expect(readTar(archive)).toEqual([]);
    expect(gnuTar(['-tf', '-'], archive).status).toBe(0);
  });

  it('GNU tar lists it without warnings', () => {
    const listed = gnuTar(['-tvf', '-'], writeTar(SAMPLE));
    expect(listed.stderr).toBe('');
    expect(listed.status).toBe(0);
    const lines = listed.stdout.toString('utf8').trim().split('\n');
    expect(lines).toHaveLength(SAMPLE.length);
    expect(lines[0]).toMatch(/^drwxr-xr-x 0\/0 +0 .* etc\/$/);
    expect(lines[3]).toMatch(/^-rw------- 0\/0 +8 .* etc\/secret\.key$/);
    expect(lines.at(-1)).toContain(`${dirName150}/${'f'.repeat(100)}`);
  });

  it('GNU tar extracts it with exact names, contents and modes', () => {
    const dir = tempDir();
    const extracted = gnuTar(['-xf', '-', '-C', dir], writeTar(SAMPLE));
    expect(extracted.stderr).toBe('');
    expect(extracted.status).toBe(0);
    for (const entry of SAMPLE) {
      const path = join(dir, entry.name);
      const stat = statSync(path);
      expect(stat.mode & 0o7777, entry.name).toBe(entry.mode);
      if (entry.type === 'directory') expect(stat.isDirectory()).toBe(true);
      else expect(readFileSync(path)).toEqual(Buffer.from(entry.content));
    }
  });

  it('reads what `tar -cf - -C dir .` writes (GNU format): ./ dropped, root skipped, directories kept', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'ccd'), { mode: 0o750 });
    writeFileSync(join(dir, 'ccd', 'alice'), 'push alice\n', { mode: 0o644 });
    writeFileSync(join(dir, 'server.conf'), 'port 1194\n', { mode: 0o600 });
    writeFileSync(join(dir, 'blob'), Buffer.alloc(70_000, 0xab), { mode: 0o640 });
    const created = gnuTar(['-cf', '-', '-C', dir, '.']);
    expect(created.status).toBe(0);
    const entries = readTar(created.stdout);
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect([...byName.keys()].sort()).toEqual(['blob', 'ccd', 'ccd/alice', 'server.conf']);
    expect(byName.get('ccd')).toMatchObject({ type: 'directory', mode: 0o750 });
    expect(byName.get('server.conf')).toMatchObject({ type: 'file', mode: 0o600 });
    expect(Buffer.from(byName.get('ccd/alice')!.content).toString()).toBe('push alice\n');
    expect(Buffer.from(byName.get('blob')!.content).equals(Buffer.alloc(70_000, 0xab))).toBe(true);
  });

  it('reads GNU tar --format=ustar with the prefix field', () => {
    const dir = tempDir();
    mkdirSync(join(dir, dirName150), { recursive: true });
    writeFileSync(join(dir, dirName150, 'file'), 'deep\n');
    const created = gnuTar(['--format=ustar', '-cf', '-', '-C', dir, dirName150]);
    expect(created.status).toBe(0);
    const file = readTar(created.stdout).find((e) => e.type === 'file');
    expect(file?.name).toBe(`${dirName150}/file`);
  });

  it('raises a clear error for GNU long-name and pax headers instead of returning garbage', () => {
    const dir = tempDir();
    const long = 'l'.repeat(120);
    writeFileSync(join(dir, long), 'x');
    const gnu = gnuTar(['--format=gnu', '-cf', '-', '-C', dir, long]);
    expect(() => readTar(gnu.stdout)).toThrow(/GNU long name/);
    expect(codeOf(() => readTar(gnu.stdout))).toBe('RAC_TAR_UNSUPPORTED');
    const pax = gnuTar(['--format=posix', '-cf', '-', '-C', dir, long]);
    expect(() => readTar(pax.stdout)).toThrow(/pax extended header/);
  });

  it('refuses symbolic links (they could point outside)', () => {
    const dir = tempDir();
    symlinkSync('/etc/passwd', join(dir, 'link'));
    const created = gnuTar(['-cf', '-', '-C', dir, 'link']);
    expect(() => readTar(created.stdout)).toThrow(/symbolic link/);
  });

  it('never yields a path that escapes: absolute and .. names are refused when reading', () => {
    const archive = writeTar([{ name: 'aaaaaaaaaaaaaaaaaaaaa', mode: 0o644, content: bytes('pwned') }]);
    for (const evil of ['../evil', 'a/../../evil', '/etc/cron.d/evil', './../evil', '..', 'a/./b', 'a//b']) {
      expect(
        codeOf(() => readTar(forgeName(archive, evil))),
        evil,
      ).toBe('RAC_TAR_BAD_NAME');
    }
    expect(readTar(forgeName(archive, './ok'))[0]?.name).toBe('ok');
  });

  it('refuses absolute, .., empty, NUL and over-long names when writing', () => {
    const file = (name: string): TarEntry => ({ name, mode: 0o644, content: bytes('x') });
    for (const bad of ['/etc/passwd', '../x', 'a/../../x', '..', '', 'a\0b', 'a//b', './a', 'a/./b']) {
      expect(
        codeOf(() => writeTar([file(bad)])),
        JSON.stringify(bad),
      ).toBe('RAC_TAR_BAD_NAME');
    }
    expect(codeOf(() => writeTar([file('f'.repeat(101))]))).toBe('RAC_TAR_NAME_TOO_LONG'); // no '/' to split at
    expect(codeOf(() => writeTar([file(`${'d'.repeat(156)}/x`)]))).toBe('RAC_TAR_NAME_TOO_LONG'); // prefix > 155
    expect(codeOf(() => writeTar([file(`${dirName150}/${'f'.repeat(101)}`)]))).toBe('RAC_TAR_NAME_TOO_LONG');
    expect(codeOf(() => writeTar([file(`${'a/'.repeat(128)}x`)]))).toBe('RAC_TAR_NAME_TOO_LONG'); // 257 bytes
    expect(codeOf(() => writeTar([file('é'.repeat(51))]))).toBe('RAC_TAR_NAME_TOO_LONG'); // 102 bytes of UTF-8
    expect(codeOf(() => writeTar([file('ends/')]))).toBe('RAC_TAR_BAD_NAME');
  });

  it('refuses bad modes and directory content', () => {
    expect(codeOf(() => writeTar([{ name: 'a', mode: 0o10000, content: bytes('') }]))).toBe('RAC_TAR_BAD_ENTRY');
    expect(codeOf(() => writeTar([{ name: 'a', mode: -1, content: bytes('') }]))).toBe('RAC_TAR_BAD_ENTRY');
    expect(codeOf(() => writeTar([{ name: 'a', mode: 1.5, content: bytes('') }]))).toBe('RAC_TAR_BAD_ENTRY');
    expect(codeOf(() => writeTar([{ name: 'd', mode: 0o755, content: bytes('x'), type: 'directory' }]))).toBe(
      'RAC_TAR_BAD_ENTRY',
    );
  });

  it('raises clear errors on corrupt or truncated input', () => {
    const archive = writeTar([{ name: 'a', mode: 0o644, content: new Uint8Array(2000).fill(1) }]);
    const flipped = archive.slice();
    flipped[10] = 0x41;
    expect(() => readTar(flipped)).toThrow(/checksum mismatch/);
    expect(() => readTar(archive.subarray(0, 1000))).toThrow(/truncated/);
    expect(() => readTar(archive.subarray(0, 100))).toThrow(/truncated/);
    expect(codeOf(() => readTar(new TextEncoder().encode('this is not a tar archive'.repeat(30))))).toBe(
      'RAC_TAR_CORRUPT',
    );
  });

  it('writes 5000 small files quickly (timing reported, not asserted) and GNU tar reads them all', () => {
    const entries: TarEntry[] = Array.from({ length: 5000 }, (_, i) => ({
      name: `ccd/user-${String(i).padStart(5, '0')}`,
      mode: 0o644,
      content: bytes(`ifconfig-push 10.8.${i >> 8}.${i & 255} 255.255.0.0\n`),
    }));
    writeTar(entries); // warm-up
    const runs: number[] = [];
    let archive: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      archive = writeTar(entries);
      runs.push(performance.now() - start);
    }
    const readStart = performance.now();
    const back = readTar(archive);
    const readMs = performance.now() - readStart;
    console.log(
      `writeTar 5000 files: ${runs.map((r) => r.toFixed(1)).join(', ')} ms (${archive.length} bytes); readTar: ${readMs.toFixed(1)} ms`,
    );
    expect(back).toHaveLength(5000);
    const listed = gnuTar(['-tf', '-'], archive);
    expect(listed.status).toBe(0);
    expect(listed.stdout.toString().trim().split('\n')).toHaveLength(5000);
  });
});
