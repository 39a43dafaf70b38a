import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OPENVPN_PROGRAMS } from '../../src/adapters/gateways/openvpn/programs.ts';

/**
 * rac-openvpn-ccd-swap runs as root with a tar from rac on stdin: whatever that tar holds, nothing
 * lands outside the new set, and a set with anything but plain files is refused whole.
 */
describe('rac-openvpn-ccd-swap with a hostile tar', () => {
  let dir: string;
  let ccd: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rac-ccd-swap-'));
    mkdirSync(join(dir, 'base', 'ccd.0'), { recursive: true });
    ccd = join(dir, 'base', 'ccd');
    symlinkSync(join(dir, 'base', 'ccd.0'), ccd);
    mkdirSync(join(dir, 'outside'));
    mkdirSync(join(dir, 'src'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const tarOf = (...members: string[]) =>
    execFileSync('tar', ['-C', join(dir, 'src'), '-cf', '-', ...members], { maxBuffer: 1 << 20 });
  const swap = (tar: Buffer) =>
    spawnSync('sh', ['-c', OPENVPN_PROGRAMS.ccdSwap.text, 'rac-openvpn-ccd-swap', ccd], {
      input: tar,
      encoding: 'utf8',
    });

  it('swaps in a set of plain files', () => {
    writeFileSync(join(dir, 'src', 'alice'), 'ifconfig-push 10.8.0.2 255.255.0.0\n');
    const r = swap(tarOf('alice'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(join(ccd, 'alice'), 'utf8')).toContain('ifconfig-push');
  });

  it('refuses a symlink in the set, and leaves the live set and nothing else behind', () => {
    writeFileSync(join(dir, 'src', 'alice'), 'x\n');
    symlinkSync('/etc/shadow', join(dir, 'src', 'bob'));
    const r = swap(tarOf('alice', 'bob'));
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/bob, which is not a plain file: refused/);
    expect(readlinkSync(ccd)).toBe(join(dir, 'base', 'ccd.0'));
    expect(readdirSync(join(dir, 'base')).sort()).toEqual(['ccd', 'ccd.0']);
  });

  it('writes nothing outside the set through a link member or ../ names', () => {
    symlinkSync(join(dir, 'outside'), join(dir, 'src', 'esc'));
    mkdirSync(join(dir, 'src', 'real'));
    writeFileSync(join(dir, 'src', 'real', 'pwned'), 'pwned\n');
    // esc -> outside, then esc/pwned: the file would land outside if the link were followed.
    const tar = execFileSync('tar', [
      '-C',
      join(dir, 'src'),
      '-cf',
      '-',
      'esc',
      '--transform=s,^real,esc,',
      'real/pwned',
    ]);
    const r = swap(tar);
    expect(r.status).not.toBe(0);
    expect(readdirSync(join(dir, 'outside'))).toEqual([]);
    expect(readdirSync(join(dir, 'base')).sort()).toEqual(['ccd', 'ccd.0']);
    const up = execFileSync('tar', [
      '-C',
      join(dir, 'src'),
      '-cf',
      '-',
      '--transform=s,^real/pwned,../../outside/up,',
      'real/pwned',
    ]);
    expect(swap(up).status).not.toBe(0);
    expect(existsSync(join(dir, 'outside', 'up'))).toBe(false);
    expect(readdirSync(join(dir, 'base')).sort()).toEqual(['ccd', 'ccd.0']);
  });
});
