/**
 * `k6 inspect` for CI, where k6 cannot run: runs the script's init context through the k6
 * stand-ins and applies k6's option rules to its exported options.
 *
 *   node loadtests/test/inspect.ts [script.ts]     (environment: the script's RAC_* variables)
 *
 * Prints one JSON document { options, declaredMetrics, exportedFunctions, problems } and exits
 * 104 (k6's InvalidConfig) when there are problems.
 */
import { loadScript } from './dry-run/load-script.ts';
import { validateOptions } from './validate-options.ts';

const script = process.argv[2] ?? new URL('../capacity-check.ts', import.meta.url).pathname;
try {
  const loaded = await loadScript(script, process.env as Record<string, string>);
  const problems = validateOptions(loaded.options, loaded);
  process.stdout.write(
    `${JSON.stringify(
      {
        options: loaded.options,
        declaredMetrics: Object.fromEntries(loaded.declaredMetrics),
        exportedFunctions: [...loaded.exportedFunctions].sort(),
        problems,
      },
      null,
      2,
    )}\n`,
  );
  process.exitCode = problems.length > 0 ? 104 : 0;
} catch (err) {
  process.stderr.write(`inspect: the script's init context failed: ${(err as Error).message}\n`);
  process.exitCode = 107;
}
