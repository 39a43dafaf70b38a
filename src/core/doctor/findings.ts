import { ExitCode } from '../errors.ts';

/** ok: in order; warn: works, but worth a look; fail: blocks an apply; skipped: could not be checked. */
export const FINDING_STATUSES = ['ok', 'warn', 'fail', 'skipped'] as const;
export type FindingStatus = (typeof FINDING_STATUSES)[number];

/** One result of `rac doctor`: what was checked, on what, and — unless ok — what to do about it. */
export interface Finding {
  /** A stable name, e.g. `directory.bind`, `host.pin`, `openvpn.ccd-symlink`. */
  readonly check: string;
  /** `directory` or a gateway's name. */
  readonly target: string;
  readonly status: FindingStatus;
  readonly detail: string;
  /** What to change, as commands or config lines; null when nothing needs doing. */
  readonly fix: string | null;
}

/**
 * Checks whose failure means the server could not be reached at all: the rest of that target
 * could not be looked at, so the outcome is "upstream unavailable", not a verdict on the site.
 */
export const UNREACHABLE_CHECKS: ReadonlySet<string> = new Set(['directory.reachable', 'host.reachable']);

/** 6 when the directory or a host could not be reached, 2 when anything else blocks an apply, else 0. */
export function doctorExitCode(findings: readonly Finding[]): ExitCode {
  const failed = findings.filter((f) => f.status === 'fail');
  if (failed.some((f) => UNREACHABLE_CHECKS.has(f.check))) return ExitCode.upstreamUnavailable;
  if (failed.length > 0) return ExitCode.usage;
  return ExitCode.ok;
}

export function countFindings(findings: readonly Finding[]): Record<FindingStatus, number> {
  const counts: Record<FindingStatus, number> = { ok: 0, warn: 0, fail: 0, skipped: 0 };
  for (const f of findings) counts[f.status]++;
  return counts;
}
