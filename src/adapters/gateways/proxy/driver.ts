import type { ProxyConfig } from '../../../config/schema.ts';
import { AppError } from '../../../core/errors.ts';
import { type ActivityTable, activePeople, foldAccessLog } from '../../../core/proxy/active-window.ts';
import {
  mapHashMaxSize,
  mapKeyOf,
  type ParsedAllowMap,
  parseAllowMap,
  type RenderedAllowMap,
  renderAllowMap,
} from '../../../core/proxy/allow-map.ts';
import {
  advanceLogState,
  type FileStat,
  INITIAL_LOG_STATE,
  type LogReaderState,
  planLogRead,
} from '../../../core/proxy/log-reader.ts';
import type { GatewayApplyReport, GatewayDriver, GatewayGrant, RemoteShell, Session } from '../../../ports.ts';
import { type Become, hostRunner } from '../../host-programs/program.ts';
import { APPLY_EXIT, proxyCalls, READ_CHANGED_EXIT, rotatedLogOf } from './scripts.ts';

export interface ProxyDriverOptions {
  readonly name: string;
  readonly shell: RemoteShell;
  /** How rac gains root there (default: it logs in as root). */
  readonly become?: Become;
  readonly proxy: ProxyConfig;
  readonly timeoutMs: number;
}

const GENERATION_POLL_MS = 25;

interface MapCache {
  readonly stat: string;
  readonly map: ParsedAllowMap;
}

/**
 * The access proxy of the public tier (nginx), agentless like the other drivers:
 * - apply: the whole allow map in one exec on stdin, renamed into place, `nginx -t`, reload; a
 *   failed test puts the old map back. Then it waits until the running nginx serves the new
 *   map's generation (a reload is asynchronous: until new workers run, the old map decides).
 * - listSessions: the JSON access log, read incrementally (dev, inode, offset) across
 *   rotations; a person is connected while they have an authenticated request in the last
 *   `active_window_seconds` and are in the map.
 * - disconnect: takes people out of the map, reloads, and proves it — see `disconnect`.
 */
export function createProxyDriver(options: ProxyDriverOptions): GatewayDriver {
  const { name, shell, proxy, timeoutMs } = options;
  const host = hostRunner(shell, options.become);
  const calls = proxyCalls(proxy);
  const windowMs = proxy.active_window_seconds * 1000;
  const rotatedLog = rotatedLogOf(proxy);
  let logState: LogReaderState = INITIAL_LOG_STATE;
  const activity: ActivityTable = new Map();
  let mapCache: MapCache | null = null;

  async function readMap(signal?: AbortSignal): Promise<{ text: string; map: ParsedAllowMap }> {
    const r = await host.run(calls.readMap, { signal, timeoutMs });
    if (r.code !== 0)
      throw new AppError('RAC_GATEWAY_OBSERVE', `${name}: cannot read ${proxy.allow_map}: ${r.stderr.trim()}`);
    const text = r.stdout.toString('utf8');
    return { text, map: parseAllowMap(text) };
  }

  async function runningGeneration(signal?: AbortSignal): Promise<string | null> {
    const r = await host.run(calls.generation, { signal, timeoutMs });
    return r.code === 0 ? r.stdout.toString('utf8').trim() : null;
  }

  /**
   * Polls until the running nginx serves `generation` and none of the workers from before the
   * reload (`oldWorkers`) still accepts connections: only then does the new map decide every
   * new request (a reload is asynchronous).
   */
  async function awaitGeneration(generation: string, oldWorkers: readonly string[], signal?: AbortSignal) {
    const started = performance.now();
    let seen = '(no answer)';
    let left = '';
    while (performance.now() - started < proxy.reload_timeout_ms) {
      const r = await host.run(calls.proof, { stdin: `${oldWorkers.join(' ')}\n`, signal, timeoutMs });
      const [gen = '', workers = ''] = r.stdout.toString('utf8').split('\n');
      seen = gen.trim() || '(no answer)';
      left = workers.trim();
      if (seen === generation && left === '') return performance.now() - started;
      await new Promise((resolve) => setTimeout(resolve, GENERATION_POLL_MS));
    }
    throw new AppError(
      'RAC_PROXY_RELOAD_UNPROVEN',
      `${name}: ${proxy.reload_timeout_ms} ms after the reload nginx serves map generation ${seen} (expected ${generation})${left === '' ? '' : ` and workers ${left} from before the reload still accept connections`}; check nginx's error log: a reload can fail after the config test`,
    );
  }

  /** Writes, tests and reloads the rendered map; returns it once nginx serves its generation. */
  async function writeMap(rendered: RenderedAllowMap, signal?: AbortSignal) {
    const result = await host.run(calls.apply, {
      stdin: `${mapHashMaxSize(rendered.entries.size)}\n${rendered.text}`,
      signal,
      timeoutMs,
    });
    if (result.code === APPLY_EXIT.testFailed) {
      throw new AppError(
        'RAC_PROXY_CONFIG_TEST',
        `${name}: ${proxy.test_command.join(' ')} failed with the new allow map; the previous map is back in place and nginx was not reloaded: ${result.stderr.trim().slice(-800)}`,
      );
    }
    if (result.code !== 0) {
      throw new AppError(
        'RAC_GATEWAY_APPLY',
        `${name}: ${result.code === APPLY_EXIT.reloadFailed ? `${proxy.reload_command.join(' ')} failed` : `writing ${proxy.allow_map} failed`} (exit ${result.code}): ${result.stderr.trim().slice(-800)}`,
      );
    }
    const workers = /^workers((?: \d+)*)$/m.exec(result.stdout.toString('utf8'))?.[1]?.trim() ?? '';
    await awaitGeneration(rendered.generation, workers === '' ? [] : workers.split(' '), signal);
    return rendered;
  }

  /** The map as the running nginx has it, cached by the file's identity (rac renames a new file each time). */
  async function currentMap(stat: string, signal?: AbortSignal): Promise<ParsedAllowMap> {
    if (mapCache?.stat !== stat) mapCache = { stat, map: (await readMap(signal)).map };
    return mapCache.map;
  }

  /**
   * One collection step: new log lines folded into the activity table; people active now. One
   * round trip when the log only grew (the common case), two after a rotation or truncation.
   */
  async function collect(signal?: AbortSignal) {
    const cursor = logState.current;
    const first = await host.run(calls.collect, {
      stdin: cursor === null || cursor === undefined ? '- - 0\n' : `${cursor.dev} ${cursor.ino} ${cursor.offset}\n`,
      signal,
      timeoutMs,
    });
    const out = first.stdout;
    const stats = new Map<string, string>();
    let at = out.indexOf(0x0a);
    const now = Number(out.subarray(0, Math.max(at, 0)).toString('utf8'));
    let ended = false;
    while (at !== -1 && !ended) {
      const nl = out.indexOf(0x0a, at + 1);
      if (nl === -1) break;
      const line = out.subarray(at + 1, nl).toString('utf8');
      at = nl;
      if (line === '.') ended = true;
      else if (line !== '') {
        // "name dev inode size mtime": the name may hold spaces, the four fields never do.
        const fields = line.split(' ');
        stats.set(fields.slice(0, -4).join(' '), fields.slice(-4).join(' '));
      }
    }
    if (first.code !== 0 || !ended || !Number.isFinite(now))
      throw new AppError('RAC_GATEWAY_OBSERVE', `${name}: cannot read the access log: ${first.stderr.trim()}`);
    const current = toStat(stats.get('/dev/fd/3'));
    const rotated = toStat(stats.get(rotatedLog));
    at += 1;
    const plan = planLogRead(
      logState,
      { current: current ?? null, rotated: rotated ?? null },
      { initialBytes: proxy.initial_read_bytes, maxBytes: proxy.max_read_bytes },
    );
    const map = await currentMap(stats.get(proxy.allow_map) ?? 'none', signal);
    const inline = out.subarray(at);
    const [only] = plan.segments;
    if (plan.segments.length === 0) logState = plan.base;
    else if (
      plan.segments.length === 1 &&
      only?.role === 'current' &&
      only.from === cursor?.offset &&
      only.length === inline.length
    ) {
      fold(advanceLogState(plan, [inline]));
    } else {
      const read = await host.run(calls.read, {
        stdin: plan.segments.map((s) => `${s.role} ${s.dev} ${s.ino} ${s.from} ${s.length}\n`).join(''),
        signal,
        timeoutMs,
      });
      const total = plan.segments.reduce((sum, s) => sum + s.length, 0);
      // Rotated or truncated between the two round trips: nothing is taken, the next cycle replans.
      if (read.code === 0 && read.stdout.length === total) {
        const data: Uint8Array[] = [];
        let from = 0;
        for (const s of plan.segments) {
          data.push(read.stdout.subarray(from, from + s.length));
          from += s.length;
        }
        fold(advanceLogState(plan, data));
      } else if (read.code !== READ_CHANGED_EXIT && read.code !== 0) {
        throw new AppError('RAC_GATEWAY_OBSERVE', `${name}: reading the access log failed: ${read.stderr.trim()}`);
      }
    }
    return { active: activePeople(activity, now, windowMs), map };
  }

  function fold(next: ReturnType<typeof advanceLogState>) {
    for (const chunk of next.chunks) foldAccessLog(activity, chunk, windowMs);
    logState = next.state;
  }

  function toSession(p: { uid: string; first: number; address: string | null }): Session {
    return {
      gateway: name,
      kind: 'proxy',
      uid: p.uid,
      id: p.uid,
      since: Math.floor(p.first / 1000),
      address: p.address,
      tier: 'public',
    };
  }

  return {
    name,
    kind: 'proxy',

    async probe(signal) {
      const started = performance.now();
      try {
        const generation = await runningGeneration(signal);
        return {
          up: generation !== null,
          detail: generation === null ? 'nginx does not answer the generation probe' : `serving map ${generation}`,
          latencyMs: performance.now() - started,
        };
      } catch (err) {
        return { up: false, detail: (err as Error).message, latencyMs: performance.now() - started };
      }
    },

    async observe(signal) {
      const { map } = await readMap(signal);
      const grants = new Map<string, GatewayGrant>();
      for (const [uid, tier] of map.entries) grants.set(uid, { uid, tier });
      return { grants, foreign: [...map.foreign] };
    },

    async apply({ desired }, signal): Promise<GatewayApplyReport> {
      const { text, map } = await readMap(signal);
      const rendered = renderAllowMap(desired.values());
      const added: string[] = [];
      const changed: string[] = [];
      for (const [key, tier] of rendered.entries) {
        const have = map.entries.get(key);
        if (have === undefined) added.push(key);
        else if (have !== tier) changed.push(key);
      }
      const removed = [...map.entries.keys()].filter((k) => !rendered.entries.has(k));
      const unchanged = rendered.entries.size - added.length - changed.length;
      const failed = rendered.rejected.map((r) => ({ uid: r.uid, error: `not written to the allow map: ${r.reason}` }));
      if (text === rendered.text) {
        // The file matches; make sure the running nginx does too (a reload may have failed).
        if ((await runningGeneration(signal)) === rendered.generation)
          return { added, changed, removed, unchanged, failed, wrote: false };
      }
      await writeMap(rendered, signal);
      return { added, changed, removed, unchanged, failed, wrote: true };
    },

    async listSessions(signal) {
      const { active, map } = await collect(signal);
      // Out of the map means every request now gets 403: no session, whatever the log says.
      return active.filter((p) => map.entries.has(p.uid)).map(toSession);
    },

    /**
     * rac has no one's password, so the proof is made on the proxy host: the people are out of
     * the map file, and the running nginx serves exactly that file's generation (the map is one
     * hash, loaded as a whole by a reload), so any request of theirs now gets 403. Requests in
     * flight finish under the old workers (worker_shutdown_timeout bounds them). People still in
     * the map are taken out here (a reload); the next apply puts back whoever is still granted.
     */
    async disconnect(users, signal) {
      const wanted = new Set(users.map(mapKeyOf));
      const before = await collect(signal);
      const { text, map } = await readMap(signal);
      try {
        let generation = map.generation;
        if ([...wanted].some((uid) => map.entries.has(uid)) || !map.consistent) {
          const keep = [...map.entries].filter(([uid]) => !wanted.has(uid)).map(([uid, tier]) => ({ uid, tier }));
          generation = (await writeMap(renderAllowMap(keep), signal)).generation;
        } else if (generation === null || text === '') {
          return { disconnected: [], failed: [] }; // no map: nginx lets nobody through
        } else await awaitGeneration(generation, [], signal);
        const active = new Set(before.active.map((p) => p.uid));
        return {
          disconnected: [...wanted].filter((uid) => active.has(uid)).map((uid) => ({ uid, sessions: 1 })),
          failed: [],
        };
      } catch (err) {
        return { disconnected: [], failed: [...wanted].map((uid) => ({ uid, error: (err as Error).message })) };
      }
    },

    async close() {
      await shell.close();
    },
  };
}

function toStat(line: string | undefined): FileStat | undefined {
  const [dev, ino, size] = (line ?? '').split(' ');
  if (dev === undefined || ino === undefined || size === undefined || dev === '-') return undefined;
  const n = Number(size);
  return Number.isSafeInteger(n) ? { dev, ino, size: n } : undefined;
}
