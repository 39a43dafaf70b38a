import type { CheckVerdict } from './judge-check.ts';

export const DRY_RUN_BANNER = 'dry run: no load generated';

const MARK = { passed: '✓', failed: '✗', 'not-carried': '-' } as const;

/** The verdict as people read it, the same at the end of a k6 run and in `rac check record`. */
export function renderVerdict(verdict: CheckVerdict): string[] {
  const lines: string[] = [];
  if (verdict.dryRun) lines.push(`${DRY_RUN_BANNER} (scenarios ran once each through stand-ins for k6)`);
  const peak = verdict.peakSessions === null ? 'no sessions observed' : `peak ${verdict.peakSessions} sessions`;
  const target = verdict.targetSessions === null ? '' : `, target ${verdict.targetSessions}`;
  lines.push(`capacity check ${verdict.passed ? 'PASSED' : 'FAILED'}: ${peak}${target}`);
  for (const c of verdict.conditions)
    lines.push(`  ${MARK[c.status]} ${c.id}: ${c.status === 'not-carried' ? 'not in this summary — ' : ''}${c.detail}`);
  const scenarios = Object.entries(verdict.scenarios).map(([name, s]) =>
    s.status === 'skipped'
      ? `${name} skipped${s.reason === undefined ? '' : ` (${s.reason})`}`
      : `${name} ran${s.iterations === undefined ? '' : ` (${s.iterations} iteration${s.iterations === 1 ? '' : 's'})`}`,
  );
  if (scenarios.length > 0) lines.push(`  scenarios: ${scenarios.join(', ')}`);
  return lines;
}
