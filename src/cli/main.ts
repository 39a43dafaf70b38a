import { createInterface } from 'node:readline/promises';
import { loadConfig, readCliEnvironment } from '../config/load.ts';
import { AppError, ExitCode, exitCodeFor } from '../core/errors.ts';
import { applyCommand } from './commands/apply.ts';
import { capacityCommand } from './commands/capacity.ts';
import { driftCommand } from './commands/drift.ts';
import { initCommand } from './commands/init.ts';
import { planCommand } from './commands/plan.ts';
import { profileCommand } from './commands/profile.ts';
import { revokeCommand } from './commands/revoke.ts';
import { rollbackCommand } from './commands/rollback.ts';
import { serveCommand } from './commands/serve.ts';
import { sessionsCommand } from './commands/sessions.ts';
import { statusCommand } from './commands/status.ts';
import { swarmCommand } from './commands/swarm.ts';
import { trustCommand } from './commands/trust.ts';
import { type CliContext, servicesFor } from './context.ts';
import { createOutput, type Output } from './output.ts';

type Command = (ctx: CliContext, args: string[]) => Promise<number>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  init: { run: initCommand, summary: 'write an example config, tier policy and roster to start from' },
  plan: { run: planCommand, summary: 'show every change a roster causes, with capacity before/after' },
  apply: { run: applyCommand, summary: 'apply a saved plan or a roster (--canary N, --wave-size M)' },
  revoke: { run: revokeCommand, summary: 'remove people’s access' },
  rollback: { run: rollbackCommand, summary: 'restore exactly what a batch changed' },
  status: {
    run: statusCommand,
    summary: 'a person’s tier, groups, gateway access, sessions and history, or the overview',
  },
  drift: { run: driftCommand, summary: 'compare rac’s records, the directory and every host (--fix repairs hosts)' },
  profile: { run: profileCommand, summary: 'a person’s VPN client profile (.ovpn)' },
  sessions: { run: sessionsCommand, summary: 'live sessions on every gateway and bastion (--gateway g, --tier t)' },
  capacity: {
    run: capacityCommand,
    summary: 'the capacity board: sessions against target, verified and rated capacity',
  },
  serve: { run: serveCommand, summary: 'the session collector and /metrics for Prometheus' },
  trust: { run: trustCommand, summary: 'show a gateway’s host key and record it as the pin when confirmed' },
  swarm: { run: swarmCommand, summary: 'real VPN clients for a capacity check: paced, held, then all ended' },
};

const HELP = `rac — remote-access-capacity

usage: rac <command> [options]   (global: --config <rac.yaml>, --json)

${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)}${c.summary}`)
  .join('\n')}

exit codes: 0 ok, 1 unexpected, 2 usage/config, 3 roster rejected, 4 capacity refused,
5 partial failure, 6 upstream unavailable, 7 plan stale`;

/** Splits global options (anywhere on the line) from the command's own. */
function splitGlobal(argv: readonly string[]): {
  json: boolean;
  config: string | undefined;
  help: boolean;
  rest: string[];
} {
  let json = false;
  let help = false;
  let config: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--json') json = true;
    else if (arg === '--help' || arg === '-h') help = true;
    else if (arg === '--config' || arg === '-c') {
      config = argv[++i];
      if (config === undefined) throw new AppError('RAC_USAGE', '--config needs a file');
    } else if (arg.startsWith('--config=')) config = arg.slice('--config='.length);
    else rest.push(arg);
  }
  return { json, config, help, rest };
}

export async function main(argv: readonly string[]): Promise<number> {
  let output: Output = createOutput(argv.includes('--json'));
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    output.note('Interrupted: finishing the current wave, then stopping (press again to stop now).');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  try {
    const global = splitGlobal(argv);
    output = createOutput(global.json);
    const [name, ...args] = global.rest;
    if (name === undefined || global.help || name === 'help') {
      output.note(HELP);
      return name === undefined && !global.help ? ExitCode.usage : ExitCode.ok;
    }
    const command = COMMANDS[name];
    if (command === undefined) throw new AppError('RAC_USAGE', `unknown command ${name}\n\n${HELP}`);
    const env = readCliEnvironment();
    const cwd = process.cwd();
    let loaded: ReturnType<typeof loadConfig> | null = null;
    const config = () => {
      loaded ??= loadConfig({ path: global.config, cwd });
      return loaded;
    };
    const ctx: CliContext = {
      output,
      env,
      configPath: global.config,
      cwd,
      signal: controller.signal,
      stdinIsTTY: process.stdin.isTTY === true,
      config,
      services: () => servicesFor({ env }, config()),
      ask: async (question) => {
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        try {
          return await rl.question(question);
        } finally {
          rl.close();
        }
      },
    };
    return await command.run(ctx, args);
  } catch (err) {
    return reportError(output, err);
  } finally {
    process.off('SIGINT', onSignal);
  }
}

/** The one place that turns an error into what the user sees and an exit code. */
function reportError(output: Output, err: unknown): number {
  output.endStatus();
  if (err instanceof AppError) {
    if (output.json) output.document({ error: { code: err.code, message: err.message, details: err.details ?? null } });
    else output.note(`rac: ${err.message} [${err.code}]`);
    return exitCodeFor(err.code);
  }
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
    const message = (err as Error).message;
    if (output.json) output.document({ error: { code: 'RAC_USAGE', message } });
    else output.note(`rac: ${message} [RAC_USAGE]`);
    return ExitCode.usage;
  }
  if (output.json)
    output.document({ error: { code: 'RAC_UNEXPECTED', message: String((err as Error)?.message ?? err) } });
  else output.note(`rac: unexpected error: ${(err as Error)?.stack ?? String(err)}`);
  return ExitCode.unexpected;
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  // Pipes are asynchronous: exit only once everything written has been flushed.
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise((r) => s.write('', r))));
  process.exit(code);
}
