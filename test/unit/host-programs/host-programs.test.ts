import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { afterAll, describe, expect, it } from 'vitest';
import { renderExampleSudoers, SUDOERS_FILE } from '../../../infra/sudoers.d/render.ts';
import { hostCalls, hostPrograms, renderSudoers } from '../../../src/adapters/host-programs/index.ts';
import { callArgv, hostCall, hostProgram } from '../../../src/adapters/host-programs/program.ts';
import { type GatewayConfig, GatewaySchema } from '../../../src/config/schema.ts';

const scratch = mkdtempSync(join(tmpdir(), 'rac-host-programs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function gateway(entry: Record<string, unknown>): GatewayConfig {
  const g = Value.Convert(GatewaySchema, Value.Default(GatewaySchema, entry));
  const error = Value.Errors(GatewaySchema, g).First();
  if (error !== undefined) throw new Error(`${error.path} ${error.message}`);
  return g as GatewayConfig;
}

const proxyHost = (proxy: Record<string, unknown>, user = 'rac') =>
  gateway({
    name: 'portal-2',
    kind: 'proxy',
    rated_sessions: 10,
    ssh: { host: 'p', user, become: 'sudo', private_key_file: './k' },
    proxy: { allow_map: '/etc/nginx/rac/allow.map', access_log: '/var/log/nginx/a.log', ...proxy },
  });

function run(tool: string, args: readonly string[]): { code: number | null; out: string } {
  const r = spawnSync(tool, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error !== undefined)
    throw new Error(`${tool} cannot run (${r.error.message}): sh scripts/bootstrap.sh installs it`);
  return { code: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

describe('host programs', () => {
  it('have unique rac-* names and start as sh scripts', () => {
    const names = hostPrograms().map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    for (const p of hostPrograms()) {
      expect(p.name).toMatch(/^rac-[a-z0-9-]+$/);
      expect(p.text.startsWith('#!/bin/sh\n')).toBe(true);
    }
  });

  it.each(hostPrograms().map((p) => [p.name, p] as const))('%s passes shellcheck', (name, program) => {
    const file = join(scratch, name);
    writeFileSync(file, program.text);
    // SC2016: the bastion programs carry their awk programs in single quotes on purpose.
    const { code, out } = run('shellcheck', ['--shell=sh', '--severity=style', '--exclude=SC2016', file]);
    expect(out).toBe('');
    expect(code).toBe(0);
  });

  it('the shellcheck run finds a defect when there is one', () => {
    const file = join(scratch, 'rac-bad');
    writeFileSync(file, hostProgram('rac-bad', 'for f in $(ls "$1"); do rm $f; done\n').text);
    expect(run('shellcheck', ['--shell=sh', '--severity=style', '--exclude=SC2016', file]).code).not.toBe(0);
  });

  it('run inline as root, or as their installed file through sudo -n', () => {
    const call = hostCall(hostProgram('rac-x', 'echo "$1"\n'), '/a b');
    expect(callArgv(call, { mode: 'none' })).toEqual(['sh', '-c', call.program.text, 'rac-x', '/a b']);
    expect(callArgv(call, { mode: 'sudo', helpersDir: '/opt/rac' })).toEqual([
      'sudo',
      '-n',
      '--',
      '/opt/rac/rac-x',
      '/a b',
    ]);
  });

  it('refuse a name that is not rac-*', () => {
    expect(() => hostProgram('../sh', 'true')).toThrow(/not a host program name/);
  });
});

describe('sudoers rules', () => {
  it('infra/sudoers.d/rac is the rendering of example-gateways.yaml (node infra/sudoers.d/render.ts --write)', () => {
    expect(readFileSync(SUDOERS_FILE, 'utf8')).toBe(renderExampleSudoers());
  });

  it('infra/sudoers.d/rac and a rendered file pass visudo -cf', () => {
    expect(run('visudo', ['-cf', SUDOERS_FILE.pathname])).toMatchObject({ code: 0 });
    const file = join(scratch, 'sudoers-proxy');
    writeFileSync(
      file,
      renderSudoers(proxyHost({ generation_command: ['curl', '--header=X-Rac:1,2', 'http://127.0.0.1:81/g'] })),
    );
    expect(run('visudo', ['-cf', file])).toMatchObject({ code: 0 });
  });

  it('visudo refuses a broken rendering (the check can fail)', () => {
    const file = join(scratch, 'sudoers-broken');
    writeFileSync(file, renderSudoers(proxyHost({})).replace(' = \\', ' = '));
    expect(run('visudo', ['-cf', file]).code).not.toBe(0);
  });

  it('name every call of the host with exactly its arguments, "" where it takes none', () => {
    const host = proxyHost({});
    const text = renderSudoers(host);
    for (const call of hostCalls(host)) {
      const args = call.args.map((a) => a.replace(/[=,:\\]/g, (c) => `\\${c}`)).join(' ');
      expect(text).toContain(`/usr/local/libexec/rac/${call.program.name} ${args}`);
    }
    expect(text).toMatch(/^rac ALL=\(root\) NOPASSWD: RAC_PORTAL_2$/m);
    const bastion = renderSudoers(
      gateway({
        name: 'b',
        kind: 'bastion',
        rated_sessions: 1,
        ssh: { host: 'b', user: 'ops', become: 'sudo', helpers_dir: '/opt/rac/bin' },
      }),
    );
    expect(bastion).toContain('/opt/rac/bin/rac-bastion-kill ""');
    expect(bastion).toMatch(/^ops ALL=\(root\) NOPASSWD: RAC_B$/m);
  });

  it('refuse an argument a rule cannot pin, and root as the account', () => {
    expect(() => renderSudoers(proxyHost({ test_command: ['nginx', '-g', 'daemon off;'] }))).toThrow(
      /portal-2: rac-proxy-apply would be run with the argument "daemon off;"/,
    );
    expect(() => renderSudoers(proxyHost({ test_command: ['nginx', '-c', '/etc/nginx/*.conf'] }))).toThrow(
      /cannot pin/,
    );
    expect(() => renderSudoers(proxyHost({}, 'root'))).toThrow(/non-root account/);
  });
});
