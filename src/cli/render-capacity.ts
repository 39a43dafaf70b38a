import { POOL_NAMES } from '../core/capacity.ts';
import type { CapacityBoard } from '../services/capacity-board.ts';

const WIDTH = 40;

function bar(value: number, max: number, color: boolean): string {
  const ratio = max <= 0 ? 0 : Math.min(1, value / max);
  const filled = Math.round(ratio * WIDTH);
  const text = `${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}`;
  if (!color) return text;
  const code = ratio >= 0.9 ? 31 : ratio >= 0.8 ? 33 : 32;
  return `\x1b[${code}m${text}\x1b[0m`;
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

/** The board: sessions against the limit, per tier and per gateway, headroom, verification. */
export function renderCapacityBoard(b: CapacityBoard, options: { color: boolean }): string[] {
  const out: string[] = [];
  out.push(`Capacity at ${b.at.replace('T', ' ').slice(0, 19)} UTC`);
  out.push('');
  out.push(
    `  sessions   ${bar(b.sessions, b.limit.sessions, options.color)} ${b.sessions} / ${b.limit.sessions} (${pct(b.utilization)}), headroom ${b.headroom}`,
  );
  out.push(`  limit      ${b.limit.sessions} — ${b.limit.source}: ${b.limit.detail}`);
  const names: Record<string, string> = { overall: 'all tiers', ...POOL_NAMES };
  for (const l of b.limits ?? [])
    out.push(
      `  ${(l.name === b.binding ? 'binding' : '').padEnd(10)} ${(names[l.name] ?? l.name).padEnd(15)} expected peak ${l.expectedPeak} of ${l.sessions}${l.name === 'overall' ? '' : ' rated'}, headroom ${l.headroom}`,
    );
  out.push(
    `  target     ${b.targetSessions}    rated ${b.ratedSessions}    verified ${b.verified === null ? `none for this topology (since ${b.topology.since.slice(0, 19)})` : `${b.verified.sessions} at ${b.verified.at}${b.verified.dryRun === true ? ' — verified by a dry run (no load generated)' : ''}`}`,
  );
  out.push('');
  out.push(`  tier        ${'share of the limit'.padEnd(WIDTH + 1)}sessions  online  grants  expected peak`);
  for (const t of b.tiers) {
    if (t.tier === 'unknown' && t.sessions === 0) continue;
    out.push(
      `  ${t.tier.padEnd(12)}${bar(t.sessions, b.limit.sessions, options.color)} ${String(t.sessions).padStart(8)}${String(t.usersOnline).padStart(8)}${String(t.grants).padStart(8)}${String(t.expectedPeak).padStart(15)}${t.tier !== 'unknown' && t.usersOnline > t.grants ? '  ONLINE BEYOND GRANTS' : ''}`,
    );
  }
  out.push('');
  out.push('  gateway');
  for (const g of b.gateways) {
    const state = !g.up
      ? `DOWN${g.ageSeconds === null ? '' : `, last seen ${g.ageSeconds.toFixed(0)}s ago`}`
      : g.stale
        ? 'STALE'
        : 'up';
    const rated =
      g.rated > 0 ? `${bar(g.sessions, g.rated, options.color)} ${g.sessions} / ${g.rated}` : `${g.sessions}`;
    out.push(`  ${g.name.padEnd(12)}${g.kind.padEnd(9)}${rated}  ${state}`);
  }
  if (b.gateways.length === 0) out.push('  (no gateways configured)');
  return out;
}
