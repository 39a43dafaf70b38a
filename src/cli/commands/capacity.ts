import { parseArgs } from 'node:util';
import { ExitCode } from '../../core/errors.ts';
import { buildCapacityBoard } from '../../services/capacity-board.ts';
import { createCollector } from '../../services/collector.ts';
import type { CliContext } from '../context.ts';
import { renderCapacityBoard } from '../render-capacity.ts';
import { warnUnrecordedTopology } from '../topology-warning.ts';

/** `rac capacity [--json]`: the capacity board in the terminal, from one collection now. */
export async function capacityCommand(ctx: CliContext, args: string[]): Promise<number> {
  parseArgs({ args, options: {}, allowPositionals: false, strict: true });
  await using services = ctx.services();
  warnUnrecordedTopology(ctx.output, services);
  const collector = createCollector(services, { intervalMs: 60_000, timeoutMs: 10_000 });
  const snapshot = await collector.collectOnce();
  const board = buildCapacityBoard(services, snapshot, 60_000);
  if (ctx.output.json) ctx.output.document(board);
  else for (const line of renderCapacityBoard(board, { color: ctx.output.stdoutIsTTY })) ctx.output.text(line);
  return board.gateways.some((g) => !g.up) ? ExitCode.upstreamUnavailable : ExitCode.ok;
}
