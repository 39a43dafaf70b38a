// npm run dashboards: writes grafana/dashboards/*.json from the board builders (committed; a unit
// test fails when they differ from what the builders produce).
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBoards, renderBoard } from './boards.ts';

const out = join(import.meta.dirname, '..', 'dashboards');
mkdirSync(out, { recursive: true });
const boards = buildBoards();
// A board that was renamed or removed must not linger as a stale file.
for (const f of readdirSync(out)) if (f.endsWith('.json') && !boards.some((b) => b.file === f)) rmSync(join(out, f));
for (const board of boards) {
  writeFileSync(join(out, board.file), renderBoard(board));
  process.stdout.write(`wrote grafana/dashboards/${board.file} (${board.dashboard.uid})\n`);
}
