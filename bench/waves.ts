/**
 * npm run bench:waves — the cost of verified waves. The same 5000-person apply onto an empty
 * directory (slapd, fsync on, memberof), in one wave and in waves of 100, each on a fresh
 * directory, in the same run. Goal: waves of 100 ≤ 1.2× one wave.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCompany } from '../infra/local/company.ts';
import { startDirectory } from '../infra/local/directory.ts';
import { configFor, rosterFor } from '../infra/local/workspace.ts';
import { composeServices } from '../src/compose.ts';
import { loadConfig } from '../src/config/load.ts';
import { applyPlan } from '../src/services/apply-plan.ts';
import { planRoster } from '../src/services/plan-batch.ts';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 2);
const company = generateCompany(5000, { seed: 42 });
const roster = new TextEncoder().encode(rosterFor(company, () => ({ tier: 'vpn' })));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function applyOnce(waveSize: number | undefined): Promise<{ ms: number; modifies: number }> {
  const directory = await startDirectory({ people: company, sync: true });
  const dir = mkdtempSync(join(tmpdir(), 'rac-bench-waves-'));
  try {
    writeFileSync(
      join(dir, 'rac.yaml'),
      configFor(directory)
        .replace('target_sessions: 5000', 'target_sessions: 100000')
        .replace('timeout_ms: 10000', 'timeout_ms: 120000'),
    );
    writeFileSync(join(dir, 'policy.yaml'), 'default: { tier: public, max: vpn-bastion }\nrules: []\n');
    await using services = composeServices(loadConfig({ path: join(dir, 'rac.yaml'), env: {} }), {
      actor: 'bench',
      logLevel: 'silent',
    });
    const plan = await planRoster(services, { bytes: roster, file: 'w.csv' });
    const t = performance.now();
    const report = await applyPlan(services, plan, { waveSize });
    if (report.status !== 'applied') throw new Error(`bench: apply ${report.status}`);
    return { ms: performance.now() - t, modifies: report.ldap.modifies };
  } finally {
    await directory.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log('W. 5000 people (vpn) onto an empty directory: one wave against waves of 100\n');
const one: number[] = [];
const waves: number[] = [];
for (let run = 1; run <= RUNS; run++) {
  const a = await applyOnce(undefined);
  const b = await applyOnce(100);
  one.push(a.ms);
  waves.push(b.ms);
  console.log(
    `  run ${run}: one wave ${a.ms.toFixed(0)} ms (${a.modifies} modifies)   waves of 100 ${b.ms.toFixed(0)} ms (${b.modifies} modifies)`,
  );
}
const ratio = median(waves) / median(one);
console.log(`\n  median ratio ${ratio.toFixed(2)}×   goal ≤ 1.2×   ${ratio <= 1.2 ? 'MET' : 'MISSED'}`);
process.exit(0);
