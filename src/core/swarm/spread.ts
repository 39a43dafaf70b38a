import { AppError } from '../errors.ts';

/** Where a swarm client connects: one VPN gateway's public endpoint. */
export interface SwarmTarget {
  readonly gateway: string;
  readonly ratedSessions: number;
  readonly host: string;
  readonly port: number;
  readonly proto: 'udp' | 'tcp';
}

/**
 * How many of `clients` go to each gateway: in proportion to rated sessions, largest remainder
 * (so the counts always add up to `clients`; ties go to the gateway listed first). Gateways rated
 * 0 get none unless every gateway is rated 0, then they share evenly.
 */
export function spreadClients(targets: readonly SwarmTarget[], clients: number): Map<string, number> {
  if (targets.length === 0) throw new AppError('RAC_CONFIG_SWARM_NO_GATEWAY', 'no OpenVPN gateway in the config');
  const total = targets.reduce((sum, t) => sum + t.ratedSessions, 0);
  const weights = targets.map((t) => (total === 0 ? 1 : t.ratedSessions));
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (clients * w) / weightSum);
  const counts = exact.map(Math.floor);
  let left = clients - counts.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left === 0) break;
    if (weights[i] === 0) continue;
    counts[i] = (counts[i] ?? 0) + 1;
    left--;
  }
  return new Map(targets.map((t, i) => [t.gateway, counts[i] ?? 0]));
}

/**
 * The order clients start in: gateways interleaved by their share (smooth weighted round robin),
 * so pacing spreads every second of the ramp over all gateways rather than filling one first.
 */
export function interleave(counts: ReadonlyMap<string, number>): string[] {
  const entries = [...counts].filter(([, n]) => n > 0);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  const current = new Map(entries.map(([g]) => [g, 0]));
  const left = new Map(entries);
  const order: string[] = [];
  for (let k = 0; k < total; k++) {
    let best: string | undefined;
    for (const [g, n] of entries) {
      if ((left.get(g) ?? 0) === 0) continue;
      current.set(g, (current.get(g) ?? 0) + n);
      if (best === undefined || (current.get(g) ?? 0) > (current.get(best) ?? 0)) best = g;
    }
    if (best === undefined) break;
    current.set(best, (current.get(best) ?? 0) - total);
    left.set(best, (left.get(best) ?? 0) - 1);
    order.push(best);
  }
  return order;
}
