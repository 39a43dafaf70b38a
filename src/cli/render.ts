import type { CapacityVerdict } from '../core/capacity.ts';
import type { Plan, PlanProblem } from '../core/plan/plan.ts';
import { parseSshPublicKey } from '../core/roster/ssh-public-key.ts';
import { sshKeyId } from '../core/ssh-key-id.ts';
import { TIERS } from '../core/tiers.ts';
import type { ApplyReport } from '../services/apply-plan.ts';
import type { Overview, PersonStatus } from '../services/user-status.ts';

const MAX_LISTED = 15;

export function renderPlan(plan: Plan): string[] {
  const s = plan.summary;
  const out: string[] = [];
  const source =
    plan.mode === 'roster'
      ? `roster ${plan.source.file ?? '(stdin)'} (${plan.source.rows} rows, ${plan.source.encoding})`
      : plan.mode === 'rollback'
        ? `rollback of ${plan.source.rollbackOf}`
        : `revocation of ${plan.source.rows} ${plan.source.rows === 1 ? 'person' : 'people'}`;
  out.push(`Plan ${plan.id} — ${source}`);
  out.push(
    `  ${s.grant} grant · ${s.upgrade} upgrade · ${s.downgrade} downgrade · ${s.revoke} revoke · ${s.update} update · ${s.unchanged} unchanged${s.rejected > 0 ? ` · ${s.rejected} rejected` : ''}`,
  );
  out.push('');
  out.push(`LDAP ${plan.directory.url}`);
  let any = false;
  for (const tier of TIERS) {
    const g = plan.systems.ldap.groups[tier];
    if (g.add.length + g.remove.length === 0) continue;
    any = true;
    out.push(`  ${plan.directory.groups[tier]}: +${g.add.length} −${g.remove.length}`);
  }
  if (plan.systems.ldap.sshKeys.length > 0) {
    any = true;
    out.push(
      `  sshPublicKey: ${plan.systems.ldap.sshKeys.length} ${plan.systems.ldap.sshKeys.length === 1 ? 'person' : 'people'}`,
    );
    const going = plan.people.flatMap((p) => {
      if (p.setSshKeys === null) return [];
      const kept = new Set(p.setSshKeys.map(sshKeyId));
      return p.observedSshKeys.filter((k) => !kept.has(sshKeyId(k))).map((k) => ({ uid: p.uid, key: k }));
    });
    for (const g of going.slice(0, MAX_LISTED)) out.push(`    key removed from ${g.uid}: ${describeKey(g.key)}`);
    if (going.length > MAX_LISTED) out.push(`    … ${going.length - MAX_LISTED} more keys removed (--json lists them)`);
  }
  if (!any) out.push('  no changes');
  const changed = plan.people.filter((p) => p.action !== 'unchanged');
  if (changed.length > 0) {
    out.push('');
    out.push('People');
    for (const p of changed.slice(0, MAX_LISTED)) {
      out.push(
        `  ${pad(p.action, 9)} ${pad(p.uid, 16)} ${pad(p.from ?? '—', 11)} → ${pad(p.to ?? '—', 11)} ${p.name ?? ''}  (${p.decidedBy})`,
      );
    }
    if (changed.length > MAX_LISTED) out.push(`  … ${changed.length - MAX_LISTED} more (--json lists everyone)`);
  }
  out.push('');
  out.push(...renderCapacity(plan.capacity));
  if (plan.problems.length > 0) {
    out.push('');
    out.push(`Rejected (${plan.problems.length}, not in the plan)`);
    out.push(...renderProblems(plan.problems));
  }
  const trusted = plan.source.trustedRosterAttributes ?? [];
  if (trusted.length > 0) {
    out.push('');
    out.push(
      `Roster attributes used instead of the directory's (--trust-roster-attributes, audited): ${trusted.length}`,
    );
    for (const t of trusted.slice(0, MAX_LISTED))
      out.push(`  ${pad(t.uid, 16)} ${t.field}: ${t.roster} (directory: ${t.directory ?? 'none'})`);
  }
  const expiring = plan.expiring ?? [];
  if (expiring.length > 0) {
    out.push('');
    out.push(`Access ending within 7 days: ${expiring.length}`);
    for (const e of expiring.slice(0, MAX_LISTED))
      out.push(`  ${pad(e.uid, 16)} ${pad(e.tier ?? '—', 11)} until ${e.expires}`);
    if (expiring.length > MAX_LISTED) out.push(`  … ${expiring.length - MAX_LISTED} more (--json lists everyone)`);
  }
  for (const warning of plan.warnings) out.push(`warning: ${warning}`);
  return out;
}

function describeKey(line: string): string {
  const parsed = parseSshPublicKey(line);
  return parsed.ok ? `${parsed.key.type} ${parsed.key.fingerprint}` : 'an unparseable key';
}

export function renderCapacity(c: CapacityVerdict): string[] {
  const mark = c.verdict === 'ok' ? 'ok' : c.verdict === 'warn' ? 'WARNING' : 'REFUSED';
  return [
    `Capacity [${mark}]`,
    `  grants       ${TIERS.map((t) => `${t} ${c.before.grants[t]}→${c.after.grants[t]}`).join(' · ')}`,
    `  peak         ${c.before.expectedPeak} → ${c.after.expectedPeak} expected sessions`,
    `  limit        ${c.limit.sessions} (${c.limit.source}: ${c.limit.detail})`,
    `  headroom     ${c.headroom}`,
  ];
}

export function renderProblems(problems: readonly PlanProblem[], limit = 50): string[] {
  const lines = problems.slice(0, limit).map((p) => {
    const where = [
      p.line === null ? null : `line ${p.line}`,
      p.column,
      p.uid === null || p.line !== null ? null : p.uid,
    ]
      .filter((x) => x !== null)
      .join(', ');
    return `  ${where === '' ? '' : `${where}: `}${p.reason}${p.value === null || p.reason.includes(p.value) ? '' : ` (${p.value})`}`;
  });
  if (problems.length > limit) lines.push(`  … ${problems.length - limit} more (--json lists all)`);
  return lines;
}

export function renderApplyReport(report: ApplyReport): string[] {
  const c = report.counts;
  const out = [
    `Batch ${report.batchId} ${report.status} (run ${report.run}${report.resumed ? ', resumed' : ''}) in ${(report.durationMs / 1000).toFixed(2)}s`,
    `  ${c.applied} applied · ${c.already} already in place · ${c.unchanged} unchanged · ${c.failed} failed · ${c.pending} pending`,
    `  LDAP: ${report.ldap.modifies} modifies, ${report.ldap.retries} narrowed retries`,
  ];
  for (const s of report.systems) {
    out.push(
      s.status === 'applied'
        ? `  ${s.name} (${s.kind}): +${s.added} ~${s.changed} −${s.removed} =${s.unchanged}${s.wrote ? '' : ', nothing written'} in ${(s.durationMs / 1000).toFixed(2)}s`
        : `  ${s.name} (${s.kind}): ${s.status.toUpperCase()} — ${s.error}`,
    );
  }
  if (report.stoppedEarly !== null) out.push(`  stopped early: ${report.stoppedEarly}`);
  if (report.unusable.length > 0) {
    out.push(
      `  not on hosts, outside this batch (their directory data cannot be used; nobody else was held up): ${report.unusable.length}`,
    );
    for (const u of report.unusable.slice(0, 10)) out.push(`    ${u.system}: ${u.uid}: ${u.error}`);
    if (report.unusable.length > 10) out.push(`    … ${report.unusable.length - 10} more (rac drift lists them)`);
  }
  const failed = report.people.filter((p) => p.outcome === 'failed');
  for (const p of failed.slice(0, 50)) out.push(`  failed  ${p.uid}: ${p.error}`);
  if (failed.length > 50) out.push(`  … ${failed.length - 50} more failed (--json lists all)`);
  const pending = report.people.filter((p) => p.outcome === 'pending');
  if (pending.length > 0) out.push(`  pending ${pending.length}: run the same apply again to continue`);
  const elsewhere = new Map<string, number>();
  for (const p of report.people) for (const g of p.pendingOn) elsewhere.set(g, (elsewhere.get(g) ?? 0) + 1);
  for (const [g, n] of elsewhere)
    out.push(`  pending on ${g}: ${n} ${n === 1 ? 'person' : 'people'} — run the same apply again once it is back`);
  return out;
}

export function renderPersonStatus(s: PersonStatus): string[] {
  const out = [
    `${s.uid}  ${s.name ?? ''}  ${s.department ?? ''} ${s.title ?? ''}`.trimEnd(),
    `  dn        ${s.dn}`,
    `  tier      ${s.tier ?? 'none'}${s.consistent ? '' : '  (INCONSISTENT group membership: rac drift / apply repairs it)'}`,
    `  groups    ${s.groups.length === 0 ? 'none' : s.groups.join(', ')}`,
    `  recorded  ${s.recorded === null ? 'no grant recorded by rac' : `${s.recorded.tier} by batch ${s.recorded.batchId} at ${s.recorded.updatedAt}${s.recorded.expires === null ? '' : `, expires ${s.recorded.expires}`}`}`,
    `  ssh keys  ${s.sshKeys.length === 0 ? 'none' : s.sshKeys.join('\n            ')}`,
  ];
  for (const h of s.hosts) {
    const grant =
      h.grant === null
        ? 'no access'
        : `${h.grant.tier}${h.grant.address === null ? '' : ` ${h.grant.address}`}${h.grant.keys === null ? '' : `, ${h.grant.keys} key${h.grant.keys === 1 ? '' : 's'}`}`;
    const live =
      h.sessions.length === 0
        ? 'not connected'
        : `${h.sessions.length} live session${h.sessions.length === 1 ? '' : 's'}${h.sessions[0]?.address ? ` (${h.sessions[0].address})` : ''}`;
    out.push(`  ${pad(h.gateway, 9)} ${h.error === null ? `${grant}; ${live}` : `unreachable: ${h.error}`}`);
  }
  if (s.recorded !== null && s.recorded.tier !== s.tier)
    out.push(`  DRIFT     the directory says ${s.tier ?? 'none'}, rac recorded ${s.recorded.tier}`);
  if (s.history.length > 0) {
    out.push('  history');
    for (const h of s.history)
      out.push(`    ${h.at}  ${pad(h.action, 18)} ${h.from ?? '—'} → ${h.to ?? '—'}  ${h.batchId ?? ''}`);
  }
  return out;
}

export function renderOverview(o: Overview): string[] {
  const out = ['Tier          directory  recorded by rac'];
  for (const t of TIERS)
    out.push(`  ${pad(t, 12)}${String(o.directory[t]).padStart(9)}  ${String(o.recorded[t]).padStart(15)}`);
  out.push('');
  out.push(o.batches.length === 0 ? 'No batches yet.' : 'Recent batches');
  for (const b of o.batches)
    out.push(
      `  ${b.id}  ${pad(b.mode, 8)} ${pad(b.status, 8)} runs ${b.runs}  ${b.updatedAt}  ${b.actor}${b.rollbackOf ? `  (rollback of ${b.rollbackOf})` : ''}`,
    );
  return out;
}

function pad(value: string, width: number): string {
  return value.length >= width ? value : value + ' '.repeat(width - value.length);
}
