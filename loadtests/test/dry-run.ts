/**
 * A dry run of a k6 script where k6 cannot run: the init context and then every scenario
 * function ONCE, in Node, through the smallest stand-ins for the k6 modules (k6, k6/http,
 * k6/metrics, k6/execution, k6/x/ldap) backed by real clients (fetch, ldapts) against the real
 * servers the environment names. Then handleSummary with the summary data of that one pass.
 * No load is generated, and the output and the summary say so.
 *
 *   RAC_TARGET_SESSIONS=0 RAC_HOLD=0s RAC_PROMETHEUS_URL=… node loadtests/test/dry-run.ts [script.ts]
 *
 * Exit codes as k6's: 0 thresholds passed, 99 a threshold failed, 104 invalid options, 107 the
 * script threw.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DRY_RUN_BANNER } from '../../src/core/capacity-check/render-verdict.ts';
import { loadScript } from './dry-run/load-script.ts';
import { addSample, runtime } from './dry-run/runtime.ts';
import { buildSummaryData } from './dry-run/summary-data.ts';
import { createSyncBridge } from './dry-run/sync-bridge.ts';
import { validateOptions } from './validate-options.ts';

const script = process.argv[2] ?? new URL('../capacity-check.ts', import.meta.url).pathname;
const say = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<number> {
  say(`${DRY_RUN_BANNER}: each scenario of ${script} runs once through stand-ins for k6, against real servers`);
  const r = runtime();
  r.bridge = createSyncBridge();
  try {
    const env = { ...(process.env as Record<string, string>), RAC_DRY_RUN: '1' };
    let loaded: Awaited<ReturnType<typeof loadScript>>;
    try {
      loaded = await loadScript(script, env);
    } catch (err) {
      say(`init context failed: ${(err as Error).message}`);
      return 107;
    }
    const problems = validateOptions(loaded.options, loaded);
    if (problems.length > 0) {
      say(`options k6 would refuse:\n  ${problems.join('\n  ')}`);
      return 104;
    }
    const options = loaded.options as Record<string, unknown>;
    const scenarios = (options['scenarios'] ?? {}) as Record<
      string,
      { executor: string; exec?: string; tags?: Record<string, string> }
    >;
    const started = Date.now();
    let threw = false;
    for (const [name, scenario] of Object.entries(scenarios)) {
      const exec = scenario.exec ?? 'default';
      const fn = loaded.module[exec] as () => void;
      r.scenario = { name, executor: scenario.executor, tags: scenario.tags ?? {} };
      const t0 = performance.now();
      try {
        fn();
        addSample('iterations', 1);
        addSample('iteration_duration', performance.now() - t0);
        say(
          `  scenario ${name} (${scenario.executor}, ${exec}): one iteration in ${(performance.now() - t0).toFixed(0)} ms`,
        );
      } catch (err) {
        // As in k6: an exception interrupts the iteration, which then does not count.
        threw = true;
        say(`  scenario ${name} (${exec}): the iteration threw: ${(err as Error).message}`);
      }
      r.scenario = null;
    }
    if (r.shortenedSleeps.length > 0)
      say(`  ${r.shortenedSleeps.length} sleep(s) shortened to ${r.maxSleepMs} ms (one pass, not a timed run)`);
    const durationMs = Date.now() - started;
    const summary = buildSummaryData(options, durationMs);
    const handleSummary = loaded.module['handleSummary'] as ((data: unknown) => Record<string, string>) | undefined;
    if (handleSummary === undefined) {
      process.stdout.write(`${JSON.stringify(summary.data, null, 2)}\n`);
    } else {
      const outputs = handleSummary(summary.data);
      for (const [target, content] of Object.entries(outputs)) {
        if (target === 'stdout') process.stdout.write(content);
        else if (target === 'stderr') process.stderr.write(content);
        else {
          writeFileSync(resolve(target), content);
          say(`  wrote ${target}`);
        }
      }
    }
    for (const failed of summary.failedThresholds) say(`  threshold failed: ${failed}`);
    say(`${DRY_RUN_BANNER}.`);
    if (threw) return 107;
    return summary.failedThresholds.length > 0 ? 99 : 0;
  } finally {
    await r.bridge.close();
  }
}

process.exitCode = await main();
