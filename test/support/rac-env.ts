import { type ChildProcess, spawn } from 'node:child_process';
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

/** How much of `rac serve`'s stderr a RacServe keeps (the tail). */
const SERVE_STDERR_LIMIT = 64 * 1024;

export interface RacServe {
  readonly process: ChildProcess;
  /** The last ~64 KiB `rac serve` wrote to stderr (always drained, so its logger never blocks). */
  stderr(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

export interface RacServeOptions {
  /** The port of `http.listen` in the workspace's config: when given, waits until /readyz is ok. */
  readonly port?: number;
  /** The whole environment of the process; a copy of this process's by default. */
  readonly env?: NodeJS.ProcessEnv;
  /** How long to wait for /readyz (ms); 20 s by default. */
  readonly readyTimeoutMs?: number;
}

/**
 * Starts the real `rac serve` in workspace `cwd` (its listen address comes from the config). With
 * `port`, resolves once http://127.0.0.1:<port>/readyz answers ok, and throws (with the stderr
 * tail, after stopping it) if it exits first or is not ready within `readyTimeoutMs`.
 */
export async function startRacServe(cwd: string, options: RacServeOptions = {}): Promise<RacServe> {
  const child = spawn(RAC, ['serve'], {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: options.env ?? { ...process.env },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    if (stderr.length > 2 * SERVE_STDERR_LIMIT) stderr = stderr.slice(-SERVE_STDERR_LIMIT);
  });
  let spawnError: Error | undefined;
  child.on('error', (err) => {
    spawnError = err;
  });
  const exited = new Promise<void>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done();
    else child.once('exit', () => done());
  });
  let stopping: Promise<void> | undefined;
  const serve: RacServe = {
    process: child,
    stderr: () => stderr.slice(-SERVE_STDERR_LIMIT),
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const killed = new Promise<void>((done) => {
          timer = setTimeout(() => {
            child.kill('SIGKILL');
            done();
          }, 10_000);
        });
        await Promise.race([exited, killed]);
        clearTimeout(timer);
        await exited;
      })();
      return stopping;
    },
  };
  if (options.port === undefined) return serve;

  const url = `http://127.0.0.1:${options.port}/readyz`;
  const timeoutMs = options.readyTimeoutMs ?? 20_000;
  const until = Date.now() + timeoutMs;
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  while (!ended && spawnError === undefined && Date.now() < until) {
    const ready = await fetch(url).then(
      (r) => r.ok,
      () => false, // not listening yet
    );
    if (ready) return serve;
    await new Promise((r) => setTimeout(r, 200));
  }
  const why =
    spawnError !== undefined
      ? `could not start (${spawnError.message})`
      : ended
        ? `exited (code ${child.exitCode}, signal ${child.signalCode})`
        : `${url} not ok after ${timeoutMs} ms`;
  await serve.stop();
  throw new Error(`rac serve in ${cwd}: ${why}; stderr tail:\n${serve.stderr().slice(-4096)}`);
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
