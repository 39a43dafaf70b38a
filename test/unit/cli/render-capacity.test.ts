import { describe, expect, it } from 'vitest';
import { renderCapacityBoard } from '../../../src/cli/render-capacity.ts';
import type { CapacityBoard } from '../../../src/services/capacity-board.ts';

const board: CapacityBoard = {
  at: '2026-11-26T22:00:00.000Z',
  targetSessions: 5000,
  limit: { sessions: 4000, source: 'verified', detail: 'verified by the capacity check of 2026-11-25' },
  limits: [
    { name: 'overall', sessions: 4000, expectedPeak: 3669, headroom: 331 },
    { name: 'vpn', sessions: 5000, expectedPeak: 3609, headroom: 1391 },
    { name: 'bastion', sessions: 400, expectedPeak: 99, headroom: 301 },
  ],
  binding: 'bastion',
  verified: { sessions: 4000, at: '2026-11-25T10:00:00.000Z' },
  topology: { digest: 'sha256:x', since: '2026-11-20T00:00:00.000Z' },
  ratedSessions: 5000,
  sessions: 3600,
  headroom: 400,
  utilization: 0.9,
  tiers: [
    { tier: 'public', sessions: 0, usersOnline: 0, grants: 100, expectedPeak: 60 },
    { tier: 'vpn', sessions: 3500, usersOnline: 3500, grants: 3900, expectedPeak: 3510 },
    { tier: 'vpn-bastion', sessions: 100, usersOnline: 120, grants: 110, expectedPeak: 99 },
    { tier: 'unknown', sessions: 0, usersOnline: 0, grants: 0, expectedPeak: 0 },
  ],
  gateways: [
    { name: 'gw-1', kind: 'openvpn', up: true, sessions: 2400, rated: 2500, ageSeconds: 3, stale: false, error: null },
    {
      name: 'gw-2',
      kind: 'openvpn',
      up: false,
      sessions: 1100,
      rated: 2500,
      ageSeconds: 95,
      stale: true,
      error: 'timeout',
    },
    {
      name: 'bastion-1',
      kind: 'bastion',
      up: true,
      sessions: 100,
      rated: 400,
      ageSeconds: 200,
      stale: true,
      error: null,
    },
  ],
};

describe('renderCapacityBoard', () => {
  const lines = renderCapacityBoard(board, { color: false });
  const text = lines.join('\n');

  it('shows sessions against the limit with headroom and where the limit comes from', () => {
    expect(text).toContain('3600 / 4000 (90.0%), headroom 400');
    expect(text).toContain('limit      4000 — verified');
    expect(text).toContain('verified 4000 at 2026-11-25T10:00:00.000Z');
  });

  it('says when the verified figure comes from a dry run', () => {
    const dry = renderCapacityBoard(
      { ...board, verified: { sessions: 180, at: '2026-11-30T09:00:00.000Z', dryRun: true } },
      { color: false },
    ).join('\n');
    expect(dry).toContain('verified 180 at 2026-11-30T09:00:00.000Z — verified by a dry run (no load generated)');
    expect(text).not.toContain('dry run');
  });

  it('draws a bar per tier and per gateway in proportion', () => {
    const gw1 = lines.find((l) => l.includes('gw-1')) as string;
    expect((gw1.match(/█/g) ?? []).length).toBe(Math.round((2400 / 2500) * 40));
    const vpn = lines.find((l) => l.trimStart().startsWith('vpn ')) as string;
    expect((vpn.match(/█/g) ?? []).length).toBe(Math.round((3500 / 4000) * 40));
  });

  it('flags hosts that are down or stale, and people online beyond their grants', () => {
    expect(lines.find((l) => l.includes('gw-2'))).toContain('DOWN, last seen 95s ago');
    expect(lines.find((l) => l.includes('bastion-1'))).toContain('STALE');
    expect(lines.find((l) => l.trimStart().startsWith('vpn-bastion'))).toContain('ONLINE BEYOND GRANTS');
  });

  it('colours bars by how full they are only on a terminal', () => {
    expect(text).not.toContain('\x1b[');
    expect(renderCapacityBoard(board, { color: true }).join('\n')).toContain('\x1b[31m');
  });

  it('shows every limit the gate holds grants to, and which one binds', () => {
    const text = renderCapacityBoard(board, { color: false }).join('\n');
    expect(text).toMatch(/all tiers\s+expected peak 3669 of 4000, headroom 331/);
    expect(text).toMatch(/VPN gateways\s+expected peak 3609 of 5000 rated, headroom 1391/);
    expect(text).toMatch(/binding\s+bastions\s+expected peak 99 of 400 rated, headroom 301/);
  });
});
