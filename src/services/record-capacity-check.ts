import { randomUUID } from 'node:crypto';
import {
  type CapacityVerification,
  type CheckVerdict,
  judgeCheck,
  verificationOf,
} from '../core/capacity-check/judge-check.ts';
import { parseK6Summary, type SummaryShape } from '../core/capacity-check/parse-summary.ts';
import { AppError } from '../core/errors.ts';
import type { CapacityCheckRecord } from '../ports.ts';
import { topologyDigest } from './capacity-limit.ts';
import type { ServiceDeps } from './deps.ts';
import { configTopology } from './topology.ts';

export interface RecordedCheck {
  readonly id: string;
  readonly at: string;
  readonly topology: string;
  readonly shape: SummaryShape;
  readonly k6Version: string | null;
  readonly durationSeconds: number | null;
  readonly verdict: CheckVerdict;
  readonly verification: CapacityVerification;
}

/**
 * `rac check record`: judges a k6 summary (any shape k6 writes) and stores the result against
 * the CURRENT topology. A bad summary or one from another topology changes nothing.
 */
export function recordCapacityCheck(
  deps: Pick<ServiceDeps, 'config' | 'store' | 'clock' | 'actor'>,
  input: { readonly text: string; readonly source: string },
): RecordedCheck {
  let doc: unknown;
  try {
    doc = JSON.parse(input.text);
  } catch (err) {
    throw new AppError('RAC_CHECK_SUMMARY_INVALID', `${input.source}: not JSON (${(err as Error).message})`, {
      cause: err,
    });
  }
  const parsed = parseK6Summary(doc);
  if (!parsed.ok)
    throw new AppError(
      'RAC_CHECK_SUMMARY_INVALID',
      `${input.source} is not a k6 summary rac can read:\n  ${parsed.errors.join('\n  ')}`,
      { details: { errors: parsed.errors } },
    );
  const summary = parsed.summary;
  const topology = topologyDigest(deps.config);
  const ranAgainst = summary.envelope?.topology ?? null;
  if (ranAgainst !== null && ranAgainst !== topology)
    throw new AppError(
      'RAC_CHECK_TOPOLOGY_MISMATCH',
      `${input.source}: the check ran against topology ${ranAgainst}, but the config's topology is ${topology}; a check proves only the topology it ran against`,
      { details: { ranAgainst, current: topology } },
    );
  const verdict = judgeCheck(summary);
  const verification =
    deps.config.gateways.length === 0
      ? { verifies: false, reason: 'no gateways in the config: there is no topology to verify' }
      : verificationOf(verdict, { acceptDryRun: deps.config.capacity.accept_dry_run });
  const record: CapacityCheckRecord = {
    id: `chk-${randomUUID().slice(0, 8)}`,
    at: deps.clock.now().toISOString(),
    topology,
    peakSessions: verdict.peakSessions ?? 0,
    passed: verdict.passed,
    dryRun: verdict.dryRun,
    targetSessions: verdict.targetSessions,
    k6Version: summary.k6Version,
    durationSeconds: summary.durationSeconds,
    shape: summary.shape,
    scenarios: verdict.scenarios,
    conditions: verdict.conditions,
    source: input.source,
    recordedBy: deps.actor,
    summary: input.text,
  };
  deps.store.saveCapacityCheck(record);
  // A check proves a topology that must be describable later (rac expand compares against it).
  if (deps.config.gateways.length > 0 && deps.store.topologies.current() === null)
    deps.store.topologies.record(configTopology(deps.config), deps.actor, { baseline: true, check: record.id });
  return {
    id: record.id,
    at: record.at,
    topology,
    shape: summary.shape,
    k6Version: summary.k6Version,
    durationSeconds: summary.durationSeconds,
    verdict,
    verification,
  };
}
