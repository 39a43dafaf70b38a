// Starts rac: the build in dist/ when it is at least as new as every file of src/ (npm's prepare
// and the bootstrap make it), else src/ itself through type stripping — the same code, slower to
// start. Checked here, in-process, because every extra process costs more than the check.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const built = join(root, 'dist/cli/main.js');

function newestUnder(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(path) : statSync(path).mtimeMs);
  }
  return newest;
}

let target = join(root, 'src/cli/main.ts');
try {
  if (statSync(built).mtimeMs >= newestUnder(join(root, 'src'))) target = built;
} catch {
  // no build: run the sources
}
const { runCli } = await import(target);
await runCli();
