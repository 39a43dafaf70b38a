// Starts rac: the build in dist/ when it is at least as new as every file of src/ (npm's prepare
// and the bootstrap make it), else src/ itself through type stripping — the same code, slower to
// start. Checked here, in-process, because every extra process costs more than the check.
import { lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { tmpdir } from 'node:os';
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

/**
 * Keeps V8's compiled code of rac's modules between runs (~25 ms of every start). The directory
 * is this user's alone (0700): what is read from it runs as rac, so one that someone else owns or
 * may write to is not used, nor one that cannot be made; rac then starts as it would without.
 */
function enablePrivateCompileCache() {
  const uid = process.getuid();
  const dir = join(tmpdir(), `rac-compile-cache-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if (err.code !== 'EEXIST') return;
  }
  try {
    const stat = lstatSync(dir);
    if (stat.isDirectory() && stat.uid === uid && (stat.mode & 0o077) === 0) enableCompileCache(dir);
  } catch {
    // gone or unreadable since: no cache this time
  }
}

enablePrivateCompileCache();
let target = join(root, 'src/cli/main.ts');
try {
  if (statSync(built).mtimeMs >= newestUnder(join(root, 'src'))) target = built;
} catch {
  // no build: run the sources
}
const { runCli } = await import(target);
await runCli();
