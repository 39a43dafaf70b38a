import { parseArgs } from 'node:util';
import { AppError, ExitCode } from '../../core/errors.ts';
import { createToken } from '../../services/api-tokens.ts';
import type { CliContext } from '../context.ts';

const USAGE =
  'usage: rac token create --role viewer|operator|admin --name <name> | rac token list | rac token revoke <name>';

/** `rac token`: API bearer tokens. A new token is printed once; only its hash is kept. */
export async function tokenCommand(ctx: CliContext, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    options: { role: { type: 'string' }, name: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  await using services = ctx.services();
  const { output } = ctx;
  switch (sub) {
    case 'create': {
      if (values.role === undefined || values.name === undefined || positionals.length > 0)
        throw new AppError('RAC_USAGE', USAGE);
      const { token, record } = createToken(services, { name: values.name, role: values.role });
      if (output.json) output.document({ ...record, token });
      else {
        output.text(`token ${record.name} (${record.role}), shown once — keep it in a secret store:`);
        output.text(token);
      }
      return ExitCode.ok;
    }
    case 'list': {
      const tokens = services.store.service.listTokens();
      if (output.json) output.document({ tokens });
      else
        for (const t of tokens)
          output.text(
            `${t.name.padEnd(24)} ${t.role.padEnd(9)} created ${t.createdAt} by ${t.createdBy}${t.lastUsedAt === null ? '' : `, last used ${t.lastUsedAt}`}${t.revokedAt === null ? '' : `, REVOKED ${t.revokedAt}`}`,
          );
      return ExitCode.ok;
    }
    case 'revoke': {
      if (positionals.length !== 1) throw new AppError('RAC_USAGE', USAGE);
      const record = services.store.service.revokeToken(positionals[0] as string, services.actor);
      if (output.json) output.document(record);
      else output.text(`token ${record.name} revoked`);
      return ExitCode.ok;
    }
    default:
      throw new AppError('RAC_USAGE', USAGE);
  }
}
