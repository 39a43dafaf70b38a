/**
 * Builds what `bin/rac` runs: src/ bundled by esbuild into dist/ (ESM, one chunk per command,
 * npm packages left to node_modules). Type stripping of the whole import graph at every start
 * is what made `rac --help` slow; the bundle is plain JavaScript loaded once.
 *
 *   node scripts/build.ts        (npm's `prepare` runs it after npm ci / npm install)
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'dist');

/** Files the product reads at run time, next to the module that reads them (copied as they are). */
const ASSETS: readonly string[] = ['src/adapters/gateways/bastion/scripts'];

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
  // A module finds its files with new URL('./<dir>/…', import.meta.url); in the bundle its code
  // sits in the entry or in a chunk, so the files go beside both.
  const from = join(ROOT, asset);
  const name = asset.slice(asset.lastIndexOf('/') + 1);
  for (const dir of [join(OUT, 'cli'), join(OUT, 'cli', 'chunks')]) {
    mkdirSync(dir, { recursive: true });
    cpSync(from, join(dir, name), { recursive: true });
  }
}
writeFileSync(join(OUT, 'package.json'), '{ "type": "module" }\n');
const files = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js')).length;
console.error(`build: dist/ (${files} modules) in ${Math.round(performance.now() - started)} ms`);
