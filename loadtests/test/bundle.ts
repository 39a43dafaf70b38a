/**
 * Proves a k6 script imports only what k6 can resolve: `k6…` modules and relative files. esbuild
 * bundles it with every `k6…` module left external (as k6 provides them); any other import
 * (an npm package, node:*, a URL) is a problem, even one esbuild could have bundled.
 *
 *   node loadtests/test/bundle.ts [script.ts] [--out dist/capacity-check.js]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';

export interface BundleReport {
  readonly code: string;
  /** Every import of every file in the bundle: `file: specifier`. */
  readonly imports: readonly string[];
  readonly problems: readonly string[];
}

const K6_MODULE = /^k6(\/[a-z0-9/_-]+)?$/;
const RELATIVE = /^\.\.?\//;

export async function bundleScript(script: string): Promise<BundleReport> {
  const imports: string[] = [];
  const problems: string[] = [];
  // Every import is seen here before esbuild resolves it: anything k6 would not resolve is a
  // problem and stays external, so no package is ever pulled in to hide it.
  const audit: Plugin = {
    name: 'k6-imports',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point') return undefined;
        const file = relative(process.cwd(), args.importer);
        imports.push(`${file}: ${args.path}`);
        if (K6_MODULE.test(args.path)) return { path: args.path, external: true };
        if (!RELATIVE.test(args.path)) {
          problems.push(`${file}: imports ${args.path}: k6 resolves only k6… modules and relative files`);
          return { path: args.path, external: true };
        }
        if (!/\.(ts|js)$/.test(args.path))
          problems.push(`${file}: imports ${args.path} without its extension: k6 resolves no extensions`);
        return undefined;
      });
    },
  };
  try {
    const result = await build({
      entryPoints: [script],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
      plugins: [audit],
    });
    return { code: result.outputFiles[0]?.text ?? '', imports, problems };
  } catch (err) {
    const errors = (err as { errors?: Array<{ text: string; location?: { file: string } | null }> }).errors ?? [];
    for (const e of errors) problems.push(`${e.location?.file ?? script}: ${e.text}`);
    if (errors.length === 0) problems.push(`${script}: ${(err as Error).message}`);
    return { code: '', imports, problems };
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ options: { out: { type: 'string' } }, allowPositionals: true });
  const script = positionals[0] ?? new URL('../capacity-check.ts', import.meta.url).pathname;
  const report = await bundleScript(script);
  for (const line of report.imports) process.stdout.write(`  ${line}\n`);
  if (report.problems.length > 0) {
    process.stderr.write(`bundle: ${script} cannot run in k6:\n  ${report.problems.join('\n  ')}\n`);
    process.exitCode = 1;
  } else {
    if (values.out !== undefined) {
      mkdirSync(dirname(values.out), { recursive: true });
      writeFileSync(values.out, report.code);
    }
    process.stdout.write(
      `bundle: ${script} imports only k6 modules and relative files (${report.code.length} bytes)\n`,
    );
  }
}
