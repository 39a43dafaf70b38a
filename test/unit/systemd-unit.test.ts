import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const UNIT = readFileSync(join(ROOT, 'infra/systemd/rac-serve.service'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'rac-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The unit as installed, with ExecStart pointing at this checkout's bin/rac (verify checks it exists). */
function writeUnit(text: string, name = 'rac-serve.service'): string {
  const path = join(dir, name);
  writeFileSync(path, text.replace('/opt/rac/bin/rac', join(ROOT, 'bin/rac')));
  return path;
}

describe('infra/systemd/rac-serve.service', () => {
  it('passes systemd-analyze verify with no warning at all', () => {
    const run = spawnSync('systemd-analyze', ['verify', writeUnit(UNIT)], { encoding: 'utf8' });
    expect(run.error).toBeUndefined();
    expect(run.stderr.trim()).toBe('');
    expect(run.status).toBe(0);
  });

  it('would catch a mistake: an unknown key is reported', () => {
    const run = spawnSync(
      'systemd-analyze',
      ['verify', writeUnit(UNIT.replace('PrivateTmp=yes', 'PrivateTmpp=yes'), 'bad.service')],
      {
        encoding: 'utf8',
      },
    );
    expect(run.stderr).toContain("Unknown key 'PrivateTmpp'");
  });

  it('runs as its own user with the hardening the service needs, and a low exposure score', () => {
    for (const line of [
      'User=rac',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/rac',
      'PrivateTmp=yes',
      'ProtectHome=yes',
      'CapabilityBoundingSet=',
    ])
      expect(UNIT.split('\n')).toContain(line);
    const run = spawnSync('systemd-analyze', ['security', '--offline=yes', writeUnit(UNIT)], { encoding: 'utf8' });
    const score = Number(/Overall exposure level for \S+: ([0-9.]+)/.exec(run.stdout)?.[1]);
    expect(score).toBeLessThan(3);
  });
});
