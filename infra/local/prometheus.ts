import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const RULES = resolve(import.meta.dirname, '../prometheus/rules.yml');

/** A free loopback TCP port (bound once, then released). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

export interface LocalPrometheus {
  readonly url: string;
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** Polls `expr` until `accept` is true (bounded by timeoutMs); returns the last result. */
  waitFor(
    expr: string,
    accept: (r: Array<{ metric: Record<string, string>; value: [number, string] }>) => boolean,
    timeoutMs: number,
  ): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  rules(): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * A private Prometheus on loopback with a fresh tsdb, scraping `target` every second and loading
 * the project's recording and alert rules. `openMetrics` (OpenMetrics text with timestamps, ending
 * in `# EOF`) is written into the tsdb as blocks before start, by promtool.
 */
export async function startPrometheus(
  target: string,
  options: { openMetrics?: string } = {},
): Promise<LocalPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'rac-prom-'));
  const port = await freePort();
  if (options.openMetrics !== undefined) {
    writeFileSync(join(dir, 'backfill.om'), options.openMetrics);
    const loaded = spawnSync(
      'promtool',
      ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'backfill.om'), join(dir, 'data')],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (loaded.status !== 0)
      throw new Error(`promtool could not load the OpenMetrics data:\n${loaded.stdout}${loaded.stderr}`);
  }
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: ['${RULES}']
scrape_configs:
  - job_name: remote-access
    static_configs: [{ targets: ['${target}'] }]
`,
  );
  const child: ChildProcess = spawn(
    '/usr/bin/prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    log = (log + d).slice(-20_000);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false, // not listening yet
    );
    if (ready) break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`prometheus did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const api = async (path: string) => {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; data: unknown; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error}`);
    return body.data;
  };
  const query = async (expr: string) =>
    (
      (await api(`/api/v1/query?query=${encodeURIComponent(expr)}`)) as {
        result: Array<{ metric: Record<string, string>; value: [number, string] }>;
      }
    ).result;
  return {
    url,
    query,
    async waitFor(expr, accept, timeoutMs) {
      const until = Date.now() + timeoutMs;
      let last = await query(expr);
      while (!accept(last) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 500));
        last = await query(expr);
      }
      return last;
    },
    rules: () => api('/api/v1/rules'),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
