import { parseArgs } from 'node:util';
import { AppError, ExitCode } from '../../core/errors.ts';
import { overview, personStatus } from '../../services/user-status.ts';
import type { CliContext } from '../context.ts';
import { renderOverview, renderPersonStatus } from '../render.ts';

/** `rac status [uid…]`: one person's access in the directory and in rac's records, or the overview. */
export async function statusCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true, strict: true });
  await using services = ctx.services();
  if (positionals.length === 0) {
    const o = await overview(services);
    if (ctx.output.json) ctx.output.document(o);
    else for (const line of renderOverview(o)) ctx.output.text(line);
    return ExitCode.ok;
  }
  if (positionals.length > 50) throw new AppError('RAC_USAGE', 'rac status takes at most 50 uids');
  const people = [];
  for (const uid of positionals) people.push(await personStatus(services, uid));
  if (ctx.output.json) ctx.output.document(positionals.length === 1 ? people[0] : people);
  else
    for (const p of people) {
      for (const line of renderPersonStatus(p)) ctx.output.text(line);
      ctx.output.text('');
    }
  return ExitCode.ok;
}
