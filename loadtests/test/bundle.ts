/**
 * Proves a k6 script imports only what k6 can resolve: `k6…` modules and relative files. esbuild
 * bundles it with every `k6…` module left external (as k6 provides them); any other import
 * (an npm package, node:*, a URL) is a problem, even one esbuild could have bundled.
 *
 *   node loadtests/test/bundle.ts [script.ts] [--out dist/capacity-check.js]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

export interface BundleReport {
  readonly code: string;
  /** Every import of every file in the bundle: `file: specifier`. */
  readonly imports: readonly string[];
  readonly problems: readonly string[];
}

const K6_MODULE = /^k6(\/[a-z0-9/_-]+)?$/;
const RELATIVE = /^\.\.?\//;

export async function bundleScript(script: string): Promise<BundleReport> {
  const result = await build({
    entryPoints: [script],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    external: ['k6', 'k6/*'],
    write: false,
    metafile: true,
    logLevel: 'silent',
  }).catch((err: { errors?: Array<{ text: string; location?: { file: string } | null }> }) => {
    const errors = err.errors ?? [];
    return { problems: errors.map((e) => `${e.location?.file ?? script}: ${e.text}`) };
  });
  if ('problems' in result) return { code: '', imports: [], problems: result.problems };
  const imports: string[] = [];
  const problems: string[] = [];
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    if (file.includes('node_modules/'))
      problems.push(`${file}: a package file is in the bundle; k6 resolves no packages`);
    for (const imp of input.imports) {
      const specifier = imp.original ?? imp.path;
      imports.push(`${file}: ${specifier}`);
      if (K6_MODULE.test(specifier)) continue;
      if (!RELATIVE.test(specifier))
        problems.push(`${file}: imports ${specifier}: k6 resolves only k6… modules and relative files`);
      else if (!/\.(ts|js)$/.test(specifier))
        problems.push(`${file}: imports ${specifier} without its extension: k6 resolves no extensions`);
    }
  }
  return { code: result.outputFiles[0]?.text ?? '', imports, problems };
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
