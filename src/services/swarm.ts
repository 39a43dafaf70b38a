/**
 * `rac swarm`: N real VPN clients logging in as test accounts, paced, spread over the gateways by
 * rated sessions, held until the duration ends (or a signal), then all ended. The figures it
 * reports are SwarmTally's; starting and stopping processes is the launcher's (an adapter).
 */
import type { SwarmAccount } from '../core/swarm/accounts.ts';
import { interleave, type SwarmTarget, spreadClients } from '../core/swarm/spread.ts';
import { type SwarmSummary, SwarmTally } from '../core/swarm/tally.ts';

export interface SwarmClientSpec {
  readonly id: number;
  readonly gateway: string;
  readonly host: string;
  readonly port: number;
  readonly proto: 'udp' | 'tcp';
  readonly username: string;
  readonly password: string;
}

export type SwarmClientEvent =
  | { type: 'connected' }
  | { type: 'dropped' }
  | { type: 'retrying'; reason: string }
  | { type: 'auth-failed' }
  | { type: 'exited'; code: number | null; signal: string | null; tail: string };

export interface SwarmClient {
  readonly pid: number | undefined;
  /** Ends this client (SIGTERM); idempotent. */
  stop(): void;
}

/** Starts and ends real client processes (adapters/vpn-client). */
export interface SwarmLauncher {
  launch(spec: SwarmClientSpec, onEvent: (event: SwarmClientEvent) => void): Promise<SwarmClient>;
  /** Ends every client, waits for every exit, removes the credentials. */
  close(): Promise<void>;
  liveCount(): number;
}

export interface SwarmProgress {
  elapsedMs: number;
  clients: number;
  started: number;
  pending: number;
  concurrent: number;
  connected: number;
  failed: number;
  p50: number | null;
  p95: number | null;
}

export interface RunSwarmOptions {
  targets: readonly SwarmTarget[];
  accounts: readonly SwarmAccount[];
  clients: number;
  /** Connects started per second. */
  rate: number;
  /** The whole run, ramp included. */
  durationMs: number;
  /** A client not connected this long after its start counts as failed and is ended. */
  connectTimeoutMs: number;
  /** Logins in flight at most (started, not yet connected or failed): handshakes are the costly part. */
  maxPending: number;
  launcher: SwarmLauncher;
  signal: AbortSignal;
  now?: () => number;
  onProgress?: (progress: SwarmProgress) => void;
  progressEveryMs?: number;
  /** First failure reasons (a few lines of client output), for the report. */
  onFailure?: (failure: { gateway: string; username: string; reason: string; detail: string }) => void;
}

export interface SwarmResult {
  summary: SwarmSummary;
  /** Per gateway, in config order: how many clients it was given. */
  spread: Map<string, number>;
}

/**
 * Waits `ms` (or until `signal` aborts). Always through a timer, even for 0: a loop of already
 * resolved awaits would run on microtasks alone and starve the timers that are to end it.
 */
const sleepFor = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolveSleep) => {
    if (signal.aborted) return resolveSleep();
    const timer = setTimeout(done, Math.max(0, ms));
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolveSleep();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export async function runSwarm(options: RunSwarmOptions): Promise<SwarmResult> {
  const now = options.now ?? (() => performance.now());
  const { clients, launcher, signal } = options;
  if (clients > options.accounts.length) {
    throw new Error(`--clients ${clients} needs as many accounts, the file has ${options.accounts.length}`);
  }
  const spread = spreadClients(options.targets, clients);
  const order = interleave(spread);
  const targetOf = new Map(options.targets.map((t) => [t.gateway, t]));
  const t0 = now();
  const tally = new SwarmTally(clients, spread, t0);
  const deadline = t0 + options.durationMs;
  // Stops the run early: the deadline, a signal, or nothing left to hold.
  const stopRun = new AbortController();
  const onAbort = (): void => stopRun.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  const deadlineTimer = setTimeout(() => stopRun.abort(), options.durationMs);
  const connectTimers = new Map<number, NodeJS.Timeout>();
  let wake: (() => void) | undefined;
  const nudge = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  const progress = (): void =>
    options.onProgress?.({
      elapsedMs: now() - t0,
      clients,
      started: tally.started,
      pending: tally.pending,
      concurrent: tally.concurrent,
      connected: tally.connected,
      failed: tally.failed,
      ...tally.connectPercentiles(),
    });
  const progressTimer = options.onProgress ? setInterval(progress, options.progressEveryMs ?? 1000) : undefined;

  const finishConnectWait = (id: number): void => {
    const timer = connectTimers.get(id);
    if (timer !== undefined) clearTimeout(timer);
    connectTimers.delete(id);
  };

  try {
    for (let i = 0; i < order.length && !stopRun.signal.aborted; i++) {
      // Pacing: client i starts no earlier than t0 + i/rate, and only while few logins are in flight.
      await sleepFor(t0 + (i * 1000) / options.rate - now(), stopRun.signal);
      while (tally.pending >= options.maxPending && !stopRun.signal.aborted) {
        await new Promise<void>((resolveWake) => {
          wake = resolveWake;
          void sleepFor(250, stopRun.signal).then(resolveWake);
        });
      }
      if (stopRun.signal.aborted) break;
      const gateway = order[i] as string;
      const target = targetOf.get(gateway) as SwarmTarget;
      const account = options.accounts[i] as SwarmAccount;
      const id = i + 1;
      tally.onStarted(id, gateway, now());
      const fail = (reason: 'auth-failed' | 'timeout' | 'exited', detail: string): void => {
        const before = tally.failed;
        tally.onFailed(id, reason, now());
        if (tally.failed > before) options.onFailure?.({ gateway, username: account.uid, reason, detail });
        finishConnectWait(id);
        nudge();
      };
      const handle = await launcher.launch(
        {
          id,
          gateway,
          host: target.host,
          port: target.port,
          proto: target.proto,
          username: account.uid,
          password: account.password,
        },
        (event) => {
          switch (event.type) {
            case 'connected':
              tally.onConnected(id, now());
              finishConnectWait(id);
              nudge();
              break;
            case 'dropped':
              tally.onDropped(id, now());
              break;
            case 'retrying':
              break;
            case 'auth-failed':
              fail('auth-failed', 'AUTH_FAILED');
              break;
            case 'exited':
              fail('exited', `exit ${event.code ?? event.signal}: ${event.tail}`);
              break;
          }
        },
      );
      connectTimers.set(
        id,
        setTimeout(() => {
          fail('timeout', `not connected within ${options.connectTimeoutMs / 1000}s`);
          handle.stop();
        }, options.connectTimeoutMs),
      );
    }
    // Hold until the deadline; stop early only when nothing is held and nothing is coming.
    while (!stopRun.signal.aborted && now() < deadline) {
      if (tally.pending === 0 && tally.concurrent === 0 && tally.started === order.length) break;
      await sleepFor(Math.min(500, deadline - now()), stopRun.signal);
    }
  } finally {
    clearTimeout(deadlineTimer);
    signal.removeEventListener('abort', onAbort);
    if (progressTimer !== undefined) clearInterval(progressTimer);
    for (const timer of connectTimers.values()) clearTimeout(timer);
    tally.stop(now());
    await launcher.close();
  }
  const stoppedBy = signal.aborted ? 'signal' : now() >= deadline - 5 ? 'duration' : 'all-failed';
  return { summary: tally.summary(now(), stoppedBy), spread };
}
