/**
 * The swarm's scheduling against a stand-in launcher (real client processes are exercised by
 * test/e2e/swarm.test.ts): pacing, the in-flight cap, the end of the run, and that every client
 * the launcher started is handed back to close().
 */
import { describe, expect, it } from 'vitest';
import type { SwarmTarget } from '../../../src/core/swarm/spread.ts';
import {
  runSwarm,
  type SwarmClientEvent,
  type SwarmClientSpec,
  type SwarmLauncher,
} from '../../../src/services/swarm.ts';

const targets: SwarmTarget[] = [
  { gateway: 'gw-1', ratedSessions: 300, host: '10.0.0.1', port: 1194, proto: 'udp' },
  { gateway: 'gw-2', ratedSessions: 100, host: '10.0.0.2', port: 1194, proto: 'udp' },
];
const accounts = Array.from({ length: 20 }, (_, i) => ({ uid: `u${i}`, password: `p${i}` }));

/** Clients that connect after `connectMs` (or are refused when `refuse` says so). */
function fakeLauncher(options: { connectMs: number; refuse?: (username: string) => boolean }) {
  const started: SwarmClientSpec[] = [];
  let live = 0;
  let maxInFlight = 0;
  let inFlight = 0;
  let closed = false;
  const stops: (() => void)[] = [];
  const launcher: SwarmLauncher = {
    async launch(spec, onEvent: (e: SwarmClientEvent) => void) {
      started.push(spec);
      live++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        live--;
        onEvent({ type: 'exited', code: 0, signal: null, tail: '' });
      };
      setTimeout(() => {
        inFlight--;
        if (ended) return;
        if (options.refuse?.(spec.username)) {
          onEvent({ type: 'auth-failed' });
          end();
        } else onEvent({ type: 'connected' });
      }, options.connectMs);
      stops.push(end);
      return { pid: 1000 + spec.id, stop: end };
    },
    async close() {
      closed = true;
      for (const stop of stops) stop();
    },
    liveCount: () => live,
  };
  return {
    launcher,
    started,
    get maxInFlight() {
      return maxInFlight;
    },
    get closed() {
      return closed;
    },
    get live() {
      return live;
    },
  };
}

describe('runSwarm', () => {
  it('starts every client paced, spread by rating, holds them to the end and ends them all', async () => {
    const fake = fakeLauncher({ connectMs: 20 });
    const t = performance.now();
    const { summary } = await runSwarm({
      targets,
      accounts,
      clients: 8,
      rate: 100,
      durationMs: 400,
      connectTimeoutMs: 1000,
      maxPending: 100,
      launcher: fake.launcher,
      signal: new AbortController().signal,
    });
    const elapsed = performance.now() - t;
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(fake.started.map((s) => s.gateway).filter((g) => g === 'gw-2')).toHaveLength(2);
    expect(fake.started.map((s) => s.username)).toEqual(accounts.slice(0, 8).map((a) => a.uid));
    expect(fake.closed).toBe(true);
    expect(fake.live).toBe(0);
    expect(summary).toMatchObject({
      clients: 8,
      started: 8,
      connected: 8,
      failed: 0,
      peak_concurrent: 8,
      stopped_by: 'duration',
    });
    expect(summary.ramp_seconds as number).toBeGreaterThanOrEqual(0.07); // 8 starts at 100/s
  });

  it('ends at the duration even when its clock runs ahead of the timers', async () => {
    // A clock at double speed reaches the deadline long before the deadline timer fires: the
    // hold loop must notice by itself instead of spinning on already-resolved waits.
    const start = performance.now();
    const fake = fakeLauncher({ connectMs: 5 });
    const { summary } = await runSwarm({
      targets,
      accounts,
      clients: 2,
      rate: 1000,
      durationMs: 600,
      connectTimeoutMs: 1000,
      maxPending: 10,
      launcher: fake.launcher,
      signal: new AbortController().signal,
      now: () => start + (performance.now() - start) * 2,
    });
    expect(performance.now() - start).toBeLessThan(550);
    expect(summary.stopped_by).toBe('duration');
  });

  it('keeps at most maxPending logins in flight, counts refusals, and stops on the signal', async () => {
    const fake = fakeLauncher({ connectMs: 30, refuse: (u) => u === 'u3' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 500);
    const { summary } = await runSwarm({
      targets,
      accounts,
      clients: 12,
      rate: 1000,
      durationMs: 60_000,
      connectTimeoutMs: 10_000,
      maxPending: 3,
      launcher: fake.launcher,
      signal: controller.signal,
    });
    expect(fake.maxInFlight).toBeLessThanOrEqual(3);
    expect(summary).toMatchObject({ started: 12, connected: 11, failed: 1, stopped_by: 'signal' });
    expect(summary.failures['auth-failed']).toBe(1);
    expect(fake.live).toBe(0);
  });

  it('fails a client that does not connect in time and ends it', async () => {
    const fake = fakeLauncher({ connectMs: 10_000 });
    const { summary } = await runSwarm({
      targets,
      accounts,
      clients: 2,
      rate: 1000,
      durationMs: 2_000,
      connectTimeoutMs: 100,
      maxPending: 10,
      launcher: fake.launcher,
      signal: new AbortController().signal,
    });
    // Nothing left to hold: it stops early rather than idle to the end.
    expect(summary).toMatchObject({ connected: 0, failed: 2, stopped_by: 'all-failed' });
    expect(summary.failures.timeout).toBe(2);
  });
});
