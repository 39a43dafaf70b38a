/** A WireGuard gateway as the assignment sees it. */
export interface WireGuardGatewaySlot {
  readonly name: string;
  readonly ratedSessions: number;
}

export interface GatewayAssignment {
  /** Every wanted uid → its gateway (kept, or new). */
  readonly assignments: Map<string, string>;
  /** Uids whose assignment is new or moved in this run, sorted. */
  readonly changed: string[];
  /** Uids that were assigned and are no longer wanted, sorted. */
  readonly released: string[];
}

/**
 * Spreads people across WireGuard gateways by rated capacity, sticky: whoever has a gateway
 * keeps it while it is still configured (moving a person means a new profile), and each new
 * person goes to the gateway with the lowest load relative to its rating, ties by name. People
 * are taken in uid order, so the same input always gives the same result. Gateways rated 0 take
 * nobody unless all are rated 0, when they share equally.
 */
export function assignGateways(input: {
  gateways: readonly WireGuardGatewaySlot[];
  current: ReadonlyMap<string, string>;
  wanted: Iterable<string>;
}): GatewayAssignment {
  const names = new Set(input.gateways.map((g) => g.name));
  const allZero = input.gateways.every((g) => g.ratedSessions <= 0);
  const usable = input.gateways
    .filter((g) => allZero || g.ratedSessions > 0)
    .map((g) => ({ name: g.name, rated: allZero ? 1 : g.ratedSessions, load: 0 }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const wanted = [...new Set(input.wanted)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const assignments = new Map<string, string>();
  const pending: string[] = [];
  for (const uid of wanted) {
    const now = input.current.get(uid);
    if (now !== undefined && names.has(now)) {
      assignments.set(uid, now);
      const slot = usable.find((g) => g.name === now);
      if (slot !== undefined) slot.load++;
    } else pending.push(uid);
  }
  const changed: string[] = [];
  if (usable.length > 0) {
    for (const uid of pending) {
      let best = usable[0] as (typeof usable)[number];
      // (load + 1) / rated compared without division: a / b < c / d  ⇔  a·d < c·b for positive b, d.
      for (const g of usable) if ((g.load + 1) * best.rated < (best.load + 1) * g.rated) best = g;
      best.load++;
      assignments.set(uid, best.name);
      changed.push(uid);
    }
  }
  const wantedSet = new Set(wanted);
  const released = [...input.current.keys()].filter((uid) => !wantedSet.has(uid)).sort();
  return { assignments, changed, released };
}
