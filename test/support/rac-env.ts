import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type LocalDirectory, type LocalDirectoryOptions, startDirectory } from '../../infra/local/directory.ts';
import { configFor } from '../../infra/local/workspace.ts';

export { rosterFor } from '../../infra/local/workspace.ts';

import { EXAMPLE_POLICY } from '../../src/cli/commands/init.ts';
import { composeServices, type Services } from '../../src/compose.ts';
import { loadConfig } from '../../src/config/load.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const RAC = join(ROOT, 'bin/rac');

export interface RacEnv {
  readonly dir: string;
  readonly configPath: string;
  readonly directory: LocalDirectory;
  /** Runs the real CLI as a user would; never throws on a non-zero exit. */
  rac(args: readonly string[], options?: { env?: Record<string, string>; stdin?: string }): Promise<RacResult>;
  /** In-process services over the same config (for service-level tests). */
  services(): Services;
  /** Writes a file into the workspace and returns its path. */
  write(name: string, content: string | Uint8Array): string;
  stop(): Promise<void>;
}

export interface RacResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  json<T = unknown>(): T;
}

export interface RacEnvOptions extends LocalDirectoryOptions {
  readonly config?: (defaults: string) => string;
  readonly policy?: string;
}

/** A real slapd with a fresh data dir, plus a rac workspace (config, policy, store) for it. */
export async function startRacEnv(options: RacEnvOptions = {}): Promise<RacEnv> {
  const directory = await startDirectory(options);
  const dir = mkdtempSync(join(tmpdir(), 'rac-test-'));
  const defaults = configFor(directory);
  const configPath = join(dir, 'rac.yaml');
  writeFileSync(configPath, options.config === undefined ? defaults : options.config(defaults));
  writeFileSync(join(dir, 'policy.yaml'), options.policy ?? EXAMPLE_POLICY);
  const opened: Services[] = [];
  return {
    dir,
    configPath,
    directory,
    rac: (args, runOptions) => runRac(dir, args, runOptions),
    services() {
      const s = composeServices(loadConfig({ path: configPath, env: {} }), { actor: 'test', logLevel: 'silent' });
      opened.push(s);
      return s;
    },
    write(name, content) {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
    async stop() {
      for (const s of opened) await s.close().catch(() => undefined);
      await directory.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function runRac(
  cwd: string,
  args: readonly string[],
  options: { env?: Record<string, string>; stdin?: string; wrap?: readonly string[] } = {},
): Promise<RacResult> {
  return new Promise((resolvePromise, reject) => {
    const [command, ...argv] = [...(options.wrap ?? []), RAC, ...args] as [string, ...string[]];
    const child = spawn(command, argv, {
      cwd,
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: process.env['HOME'] ?? '/root',

        ...options.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.stdin.end(options.stdin ?? '');
    child.on('close', (code) =>
      resolvePromise({
        code,
        stdout,
        stderr,
        json<T>() {
          try {
            return JSON.parse(stdout) as T;
          } catch (err) {
            throw new Error(
              `stdout is not one JSON document (${(err as Error).message}):\n${stdout}\nstderr:\n${stderr}`,
            );
          }
        },
      }),
    );
  });
}

/**
 * The k6 capacity check's dry run (loadtests/test/dry-run.ts), as CI and the demo run it: every
 * scenario once, through stand-ins for the k6 modules, against the real servers.
 */
export function runDryRunCheck(cwd: string, env: Record<string, string>): Promise<Omit<RacResult, 'json'>> {
  return new Promise((done, fail) => {
    const child = spawn(join(ROOT, 'node_modules/.bin/node'), [join(ROOT, 'loadtests/test/dry-run.ts')], {
      cwd,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}
