/**
 * Builds what `bin/rac` runs: src/ bundled by esbuild into dist/ (ESM, one chunk per command,
 * npm packages left to node_modules but for BUNDLED). Type stripping of the whole import graph at every start
 * is what made `rac --help` slow; the bundle is plain JavaScript loaded once.
 *
 *   node scripts/build.ts        (npm's `prepare` runs it after npm ci / npm install)
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'dist');

/**
 * Files the product reads at run time, found relative to the module that reads them. In the
 * bundle that module's code sits in the entry (dist/cli) or a chunk (dist/cli/chunks), so each
 * directory is copied to where both would look for it.
 *   bastion scripts:  new URL('./scripts/…', import.meta.url)
 *   http assets:      join(import.meta.dirname, '../assets/…')
 */
const ASSETS: ReadonlyArray<{ from: string; to: readonly string[] }> = [
  { from: 'src/adapters/gateways/bastion/scripts', to: ['cli/scripts', 'cli/chunks/scripts'] },
  { from: 'src/http/assets', to: ['assets', 'cli/assets'] },
];

/**
 * Pure-JavaScript packages bundled in with rac: loading typebox's and yaml's hundreds of module
 * files from node_modules was most of every command's start (~90 ms of `rac plan`, profiled);
 * in the bundle they are parsed once with rac. Every other package stays in node_modules.
 */
const BUNDLED = new Set(['@sinclair/typebox', 'yaml']);
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};
const external = Object.keys(manifest.dependencies)
  .filter((name) => !BUNDLED.has(name))
  .flatMap((name) => [name, `${name}/*`]);

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
  external,
  // yaml ships CommonJS for Node, which requires Node's built-ins: give ESM chunks a require.
  banner: {
    js: "import { createRequire as racCreateRequire } from 'node:module'; const require = racCreateRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
  metafile: true,
});
for (const asset of ASSETS) {
  for (const to of asset.to) cpSync(join(ROOT, asset.from), join(OUT, to), { recursive: true });
}
writeFileSync(join(OUT, 'package.json'), '{ "type": "module" }\n');
const files = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js')).length;
console.error(`build: dist/ (${files} modules) in ${Math.round(performance.now() - started)} ms`);
