/**
 * Builds what `bin/rac` runs: src/ bundled by esbuild into dist/ (ESM, one chunk per command,
 * npm packages left to node_modules). Type stripping of the whole import graph at every start
 * is what made `rac --help` slow; the bundle is plain JavaScript loaded once.
 *
 *   node scripts/build.ts        (npm's `prepare` runs it after npm ci / npm install)
 */
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'dist');

/** Files the product reads at run time, next to the module that reads them (copied as they are). */
const ASSETS: readonly string[] = [];

const started = performance.now();
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const result = await build({
  entryPoints: [join(ROOT, 'src/cli/main.ts')],
  outdir: join(OUT, 'cli'),
  outbase: join(ROOT, 'src/cli'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  packages: 'external',
  sourcemap: 'linked',
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
  metafile: true,
});
for (const asset of ASSETS) {
  const from = join(ROOT, asset);
  if (!existsSync(from)) continue;
  // Modules that read assets find them relative to their own file; in the bundle that is dist/cli.
  const to = join(OUT, 'cli', relative(join(ROOT, 'src'), from));
  mkdirSync(dirname(to), { recursive: true });
  cpSync(from, to, { recursive: true });
}
writeFileSync(join(OUT, 'package.json'), '{ "type": "module" }\n');
const files = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js')).length;
console.error(`build: dist/ (${files} modules) in ${Math.round(performance.now() - started)} ms`);
