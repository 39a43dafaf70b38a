import { describe, expect, it } from 'vitest';
import { percentile, SwarmTally } from '../../../src/core/swarm/tally.ts';

describe('percentile', () => {
  it('is the nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 95)).toBe(95);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNull();
  });
});

describe('SwarmTally', () => {
  it('counts connect times, failures by reason and per gateway', () => {
    const t = new SwarmTally(
      4,
      new Map([
        ['gw-1', 2],
        ['gw-2', 2],
      ]),
      0,
    );
    t.onStarted(1, 'gw-1', 0);
    t.onStarted(2, 'gw-2', 100);
    t.onStarted(3, 'gw-1', 200);
    t.onStarted(4, 'gw-2', 300);
    t.onConnected(1, 1000);
    t.onConnected(2, 3100);
    t.onFailed(3, 'auth-failed', 900);
    t.stop(10_000); // client 4 never connected: a timeout
    const s = t.summary(10_000, 'duration');
    expect(s).toMatchObject({ clients: 4, started: 4, connected: 2, failed: 2, connect_success_ratio: 0.5 });
    expect(s.failures).toEqual({ 'auth-failed': 1, timeout: 1, exited: 0 });
    expect(s.connect_ms).toEqual({ p50: 1000, p95: 3000, max: 3000 });
    expect(s.ramp_seconds).toBe(3.1);
    expect(s.ramp_99_seconds).toBe(3.1);
    expect(s.gateways).toEqual([
      { gateway: 'gw-1', clients: 2, connected: 1, failed: 1 },
      { gateway: 'gw-2', clients: 2, connected: 1, failed: 1 },
    ]);
  });

  it('holds the peak from when it is reached until it drops; a higher peak starts over', () => {
    const t = new SwarmTally(3, new Map([['g', 3]]), 0);
    for (const id of [1, 2, 3]) t.onStarted(id, 'g', 0);
    t.onConnected(1, 1000);
    t.onConnected(2, 2000); // peak 2 from 2 s
    t.onDropped(2, 5000); // held 3 s
    t.onConnected(2, 6000); // peak 2 again from 6 s
    t.onConnected(3, 7000); // new peak 3 from 7 s
    t.stop(19_000); // held 12 s
    const s = t.summary(19_000, 'duration');
    expect(s.peak_concurrent).toBe(3);
    expect(s.held_seconds).toBe(12);
    expect(s.dropped).toBe(1);
    expect(s.connected).toBe(3); // a reconnect is not a second login
    expect(s.concurrent_at_stop).toBe(3);
  });

  it('ignores what ending the clients causes after the stop', () => {
    const t = new SwarmTally(1, new Map([['g', 1]]), 0);
    t.onStarted(1, 'g', 0);
    t.onConnected(1, 500);
    t.stop(2000);
    t.onFailed(1, 'exited', 2100);
    const s = t.summary(3000, 'signal');
    expect(s).toMatchObject({ connected: 1, failed: 0, dropped: 0, held_seconds: 1.5, duration_seconds: 2 });
  });

  it('a connected client whose process ends is a drop, not a failed connect', () => {
    const t = new SwarmTally(1, new Map([['g', 1]]), 0);
    t.onStarted(1, 'g', 0);
    t.onConnected(1, 500);
    t.onFailed(1, 'exited', 800);
    const s = t.summary(1000, 'all-failed');
    expect(s).toMatchObject({ connected: 1, failed: 0, dropped: 1, peak_concurrent: 1 });
  });
});
