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
import { PROXY_PROGRAMS } from '../../src/adapters/gateways/proxy/scripts.ts';
import { hostProgram } from '../../src/adapters/host-programs/program.ts';

/** Runs a program as the host would: `sh -c <text> <name> args`, with `env` as given. */
function runProgram(text: string, args: readonly string[], input: string | Buffer = '', env: NodeJS.ProcessEnv = {}) {
  return spawnSync('sh', ['-c', text, 'rac-test', ...args], {
    input,
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
  });
}

describe('what every host program does first', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rac-prologue-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('uses its own PATH and working directory, whatever the caller has', () => {
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'id'), '#!/bin/sh\necho hijacked\n', { mode: 0o755 });
    const program = hostProgram('rac-t', 'command -v id; pwd\n');
    const r = runProgram(program.text, [], '', { PATH: `${join(dir, 'bin')}:/usr/bin:/bin` });
    expect(r.stdout).toBe('/usr/bin/id\n/\n');
  });

  it('under sudo, refuses an argument sudo would have matched re-split (a space) or an empty one', () => {
    const program = hostProgram('rac-t', 'echo "ran with $#"\n');
    const sudo = { SUDO_UID: '60001' };
    expect(runProgram(program.text, ['2', 'nginx'], '', sudo).stdout).toBe('ran with 2\n');
    const split = runProgram(program.text, ['2 nginx'], '', sudo);
    expect(split.status).toBe(2);
    expect(split.stderr).toMatch(/argument 2 nginx is not one rac pins: refused/);
    expect(runProgram(program.text, ['a', ''], '', sudo).status).toBe(2);
    // As root (no sudo) the arguments are rac's own argv: taken as they are.
    expect(runProgram(program.text, ['2 nginx']).stdout).toBe('ran with 1\n');
  });
});

describe('rac-openvpn-config', () => {
  it('prints the options, never an inline key block', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rac-ovpn-config-'));
    try {
      const file = join(dir, 'server.conf');
      writeFileSync(
        file,
        'port 1194\n<key>\nSECRET-KEY\n</key>\nccd-exclusive\n  <tls-crypt>\nSECRET-TLS\n  </tls-crypt>\nverb 3\n',
      );
      const r = runProgram(OPENVPN_PROGRAMS.config.text, [file]);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe('port 1194\nccd-exclusive\nverb 3\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rac-proxy-apply and rac-proxy-read', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rac-proxy-guards-'));
    writeFileSync(join(dir, 'allow.map'), '# Managed by rac\nalice public;\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const apply = (map: string) =>
    runProgram(
      PROXY_PROGRAMS.apply.text,
      [join(dir, 'allow.map'), '-', '128', join(dir, 'nginx.pid'), '1', '/bin/true', '/bin/true'],
      `2048\n${map}`,
    );

  it('refuses a map with a directive (include, default) and leaves the old one', () => {
    for (const map of ['alice public;\ninclude /etc/shadow;\n', '"include" x;\n', 'default vpn;\n', 'alice /etc;\n']) {
      const r = apply(map);
      expect(r.status, map).toBe(3);
      expect(r.stderr).toMatch(/of the new map is not a map entry: refused/);
      expect(readFileSync(join(dir, 'allow.map'), 'utf8')).toBe('# Managed by rac\nalice public;\n');
    }
    expect(readdirSync(dir)).toEqual(['allow.map']);
  });

  it('takes the entries rac writes, quoted and escaped keys included', () => {
    const map =
      '# Managed by rac\n@rac-generation g-0123;\n"a;b" public;\n\\default vpn;\n\\~root public;\n"say\\"hi\\"" vpn-bastion;\n';
    const r = apply(map);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, 'allow.map'), 'utf8')).toBe(map);
  });

  it('reads no log through a symlink in its place', () => {
    writeFileSync(join(dir, 'secret'), 'root:secret\n');
    symlinkSync(join(dir, 'secret'), join(dir, 'access.log'));
    const id = execFileSync('stat', ['-L', '-c', '%d %i', join(dir, 'access.log')], { encoding: 'utf8' }).trim();
    const r = runProgram(
      PROXY_PROGRAMS.read.text,
      [join(dir, 'access.log'), join(dir, 'access.log.1')],
      `current ${id} 0 12\n`,
    );
    expect(r.status).toBe(75);
    expect(r.stdout).toBe('');
  });
});

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

  it('refuses a device node in the set', () => {
    execFileSync('mknod', [join(dir, 'src', 'disk'), 'c', '1', '5']);
    const r = swap(tarOf('disk'));
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/disk, which is not a plain file: refused/);
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
