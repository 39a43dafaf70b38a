/**
 * The swarm's running account of its clients: pure bookkeeping fed by client events and a clock
 * reading, so the figures it reports (connect times, peak concurrency, how long the peak held)
 * have one definition, tested without processes.
 */

export type SwarmFailure = 'auth-failed' | 'timeout' | 'exited';

export interface GatewayTally {
  readonly gateway: string;
  clients: number;
  connected: number;
  failed: number;
}

export interface SwarmSummary {
  /** Clients asked for. */
  clients: number;
  /** Clients whose process was started (fewer when stopped early). */
  started: number;
  /** Started clients that completed a login at least once. */
  connected: number;
  /** Started clients that never connected: refused, timed out, exited, or still trying at the stop. */
  failed: number;
  failures: Record<SwarmFailure, number>;
  /** connected / started (0 when nothing started). */
  connect_success_ratio: number;
  /** Time from a client's start to its first "Initialization Sequence Completed". */
  connect_ms: { p50: number | null; p95: number | null; max: number | null };
  /** From the start until the last client that connected did (null when none did). */
  ramp_seconds: number | null;
  /** From the start until 99% of the clients that connected did: robust to a few slow retries. */
  ramp_99_seconds: number | null;
  /** Sessions held at once, at most. */
  peak_concurrent: number;
  /** The longest stretch during which peak_concurrent sessions were all held. */
  held_seconds: number;
  /** Sessions held when the swarm stopped (before it ended them). */
  concurrent_at_stop: number;
  /** Connected sessions that later dropped (the client restarted). */
  dropped: number;
  duration_seconds: number;
  stopped_by: 'duration' | 'signal' | 'all-failed';
  gateways: GatewayTally[];
}

/** Nearest-rank percentile of an ascending list (null when empty). */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? null;
}

/** Milliseconds as seconds with one decimal. */
function tenths(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms / 100) / 10;
}

type ClientState = 'pending' | 'connected' | 'down' | 'failed' | 'ended';

interface ClientRecord {
  gateway: string;
  startedAt: number;
  state: ClientState;
  everConnected: boolean;
}

export class SwarmTally {
  readonly #clients = new Map<number, ClientRecord>();
  readonly #gateways = new Map<string, GatewayTally>();
  readonly #connectMs: number[] = [];
  readonly #failures: Record<SwarmFailure, number> = { 'auth-failed': 0, timeout: 0, exited: 0 };
  readonly #startedAt: number;
  readonly #requested: number;
  #concurrent = 0;
  #peak = 0;
  #peakSince: number | undefined;
  #heldMs = 0;
  #dropped = 0;
  #lastFirstConnect: number | undefined;
  readonly #connectedAt: number[] = [];
  #pending = 0;
  #stoppedAt: number | undefined;
  #concurrentAtStop = 0;

  constructor(requested: number, gateways: ReadonlyMap<string, number>, now: number) {
    this.#requested = requested;
    this.#startedAt = now;
    for (const [gateway, clients] of gateways)
      this.#gateways.set(gateway, { gateway, clients, connected: 0, failed: 0 });
  }

  get concurrent(): number {
    return this.#concurrent;
  }
  /** Clients started that have neither connected nor failed yet. */
  get pending(): number {
    return this.#pending;
  }
  get started(): number {
    return this.#clients.size;
  }
  get connected(): number {
    return this.#connectMs.length;
  }
  get failed(): number {
    return this.#failures['auth-failed'] + this.#failures.timeout + this.#failures.exited;
  }

  onStarted(id: number, gateway: string, now: number): void {
    if (this.#stoppedAt !== undefined) return; // ending the clients is not news
    this.#clients.set(id, { gateway, startedAt: now, state: 'pending', everConnected: false });
    this.#pending++;
  }

  /** A login completed (first time, or again after a drop). */
  onConnected(id: number, now: number): void {
    if (this.#stoppedAt !== undefined) return; // ending the clients is not news
    const c = this.#clients.get(id);
    if (c === undefined || c.state === 'connected' || c.state === 'failed' || c.state === 'ended') return;
    if (!c.everConnected) {
      c.everConnected = true;
      this.#pending--;
      this.#connectMs.push(now - c.startedAt);
      this.#lastFirstConnect = now;
      this.#connectedAt.push(now - this.#startedAt);
      const g = this.#gateways.get(c.gateway);
      if (g) g.connected++;
    }
    c.state = 'connected';
    this.#setConcurrent(this.#concurrent + 1, now);
  }

  /** A connected session ended and the client is trying again. */
  onDropped(id: number, now: number): void {
    if (this.#stoppedAt !== undefined) return; // ending the clients is not news
    const c = this.#clients.get(id);
    if (c === undefined || c.state !== 'connected') return;
    c.state = 'down';
    this.#dropped++;
    this.#setConcurrent(this.#concurrent - 1, now);
  }

  /** The client is done for good (refused, timed out, or its process ended). */
  onFailed(id: number, reason: SwarmFailure, now: number): void {
    if (this.#stoppedAt !== undefined) return; // ending the clients is not news
    const c = this.#clients.get(id);
    if (c === undefined || c.state === 'failed' || c.state === 'ended') return;
    if (c.state === 'connected') this.#setConcurrent(this.#concurrent - 1, now);
    if (c.everConnected) {
      // A session that was up and whose process then ended: a drop, not a failed connect.
      if (c.state === 'connected') this.#dropped++;
      c.state = 'ended';
      return;
    }
    c.state = 'failed';
    this.#pending--;
    this.#failures[reason]++;
    const g = this.#gateways.get(c.gateway);
    if (g) g.failed++;
  }

  /** The swarm stops: clients still trying count as timed out; the held stretch closes. */
  stop(now: number): void {
    if (this.#stoppedAt !== undefined) return;
    for (const [id, c] of this.#clients) if (c.state === 'pending' || c.state === 'down') this.#timeOut(id, c, now);
    this.#concurrentAtStop = this.#concurrent;
    this.#closePeak(now);
    this.#stoppedAt = now;
  }

  summary(now: number, stoppedBy: SwarmSummary['stopped_by']): SwarmSummary {
    const end = this.#stoppedAt ?? now;
    const sorted = [...this.#connectMs].sort((a, b) => a - b);
    const open = this.#stoppedAt === undefined && this.#peakSince !== undefined ? end - this.#peakSince : 0;
    const round = (x: number | null) => (x === null ? null : Math.round(x));
    return {
      clients: this.#requested,
      started: this.started,
      connected: this.connected,
      failed: this.failed,
      failures: { ...this.#failures },
      connect_success_ratio: this.started === 0 ? 0 : this.connected / this.started,
      connect_ms: {
        p50: round(percentile(sorted, 50)),
        p95: round(percentile(sorted, 95)),
        max: round(sorted.at(-1) ?? null),
      },
      ramp_seconds: tenths(this.#lastFirstConnect === undefined ? null : this.#lastFirstConnect - this.#startedAt),
      ramp_99_seconds: tenths(percentile(this.#connectedAt, 99)),
      peak_concurrent: this.#peak,
      held_seconds: Math.round(Math.max(this.#heldMs, open) / 100) / 10,
      concurrent_at_stop: this.#stoppedAt === undefined ? this.#concurrent : this.#concurrentAtStop,
      dropped: this.#dropped,
      duration_seconds: Math.round((end - this.#startedAt) / 100) / 10,
      stopped_by: stoppedBy,
      gateways: [...this.#gateways.values()].map((g) => ({ ...g })),
    };
  }

  /** p50/p95 so far, for progress lines. */
  connectPercentiles(): { p50: number | null; p95: number | null } {
    const sorted = [...this.#connectMs].sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p95: percentile(sorted, 95) };
  }

  #setConcurrent(value: number, now: number): void {
    const before = this.#concurrent;
    this.#concurrent = value;
    if (value > this.#peak) {
      // A new, higher peak: the stretch held at the old peak no longer counts.
      this.#peak = value;
      this.#heldMs = 0;
      this.#peakSince = now;
    } else if (value === this.#peak && before < value) {
      this.#peakSince = now;
    } else if (before === this.#peak && value < before) {
      this.#closePeak(now);
    }
  }

  #timeOut(id: number, c: ClientRecord, now: number): void {
    if (c.state === 'pending') this.onFailed(id, 'timeout', now);
    else c.state = 'ended'; // dropped earlier and not back: already counted as a drop
  }

  #closePeak(now: number): void {
    if (this.#peakSince === undefined) return;
    this.#heldMs = Math.max(this.#heldMs, now - this.#peakSince);
    this.#peakSince = undefined;
  }
}
