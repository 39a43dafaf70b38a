import { createInterface } from 'node:readline/promises';
import type { LoadedConfig } from '../config/load.ts';
import { AppError, ExitCode, exitCodeFor } from '../core/errors.ts';
import type { CliContext } from './context.ts';
import { createOutput, type Output } from './output.ts';

type Command = (ctx: CliContext, args: string[]) => Promise<number>;

/**
 * Commands are loaded when run, never all at once: `rac status` does not load fastify or
 * prom-client, and `rac --help` loads no command at all.
 */
const COMMANDS: Record<string, { load: () => Promise<Command>; summary: string }> = {
  init: {
    load: async () => (await import('./commands/init.ts')).initCommand,
    summary: 'write an example config, tier policy and roster to start from',
  },
  plan: {
    load: async () => (await import('./commands/plan.ts')).planCommand,
    summary: 'show every change a roster causes, with capacity before/after',
  },
  apply: {
    load: async () => (await import('./commands/apply.ts')).applyCommand,
    summary: 'apply a saved plan or a roster (--canary N, --wave-size M)',
  },
  revoke: { load: async () => (await import('./commands/revoke.ts')).revokeCommand, summary: 'remove people’s access' },
  rollback: {
    load: async () => (await import('./commands/rollback.ts')).rollbackCommand,
    summary: 'restore exactly what a batch changed',
  },
  expire: {
    load: async () => (await import('./commands/expire.ts')).expireCommand,
    summary: 'revoke grants whose expires date has passed (--dry-run shows them)',
  },
  status: {
    load: async () => (await import('./commands/status.ts')).statusCommand,
    summary: 'a person’s tier, groups, gateway access, sessions and history, or the overview',
  },
  drift: {
    load: async () => (await import('./commands/drift.ts')).driftCommand,
    summary: 'compare rac’s records, the directory and every host (--fix repairs hosts)',
  },
  profile: {
    load: async () => (await import('./commands/profile.ts')).profileCommand,
    summary: 'a person’s VPN client profile (.ovpn)',
  },
  sessions: {
    load: async () => (await import('./commands/sessions.ts')).sessionsCommand,
    summary: 'live sessions on every gateway and bastion (--gateway g, --tier t)',
  },
  capacity: {
    load: async () => (await import('./commands/capacity.ts')).capacityCommand,
    summary: 'the capacity board: sessions against target, verified and rated capacity',
  },
  expand: {
    load: async () => (await import('./commands/expand.ts')).expandCommand,
    summary: 'take a topology change in: push grants to new hosts, record it, capacity unverified',
  },
  check: {
    load: async () => (await import('./commands/check.ts')).checkCommand,
    summary: 'record a k6 capacity-check summary (check record <file>), list checks',
  },
  serve: {
    load: async () => (await import('./commands/serve.ts')).serveCommand,
    summary: 'the provisioning service: /v1 API, portal (/me), capacity page, /metrics',
  },
  trust: {
    load: async () => (await import('./commands/trust.ts')).trustCommand,
    summary: 'show a gateway’s host key and record it as the pin when confirmed',
  },
  doctor: {
    load: async () => (await import('./commands/doctor.ts')).doctorCommand,
    summary: 'check the directory and every host before the first apply; says what to fix',
  },
  helpers: {
    load: async () => (await import('./commands/helpers.ts')).helpersCommand,
    summary: 'export rac’s host programs and per-host sudoers rules, to manage hosts as a non-root account',
  },
  token: {
    load: async () => (await import('./commands/token.ts')).tokenCommand,
    summary: 'API tokens: create --role viewer|operator|admin --name n, list, revoke n',
  },
  swarm: {
    load: async () => (await import('./commands/swarm.ts')).swarmCommand,
    summary: 'real VPN clients for a capacity check: paced, held, then all ended',
  },
};

const HELP = `rac — remote-access-capacity

usage: rac <command> [options]   (global: --config <rac.yaml>, --json, --reason "why" — kept in the audit log)

${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)}${c.summary}`)
  .join('\n')}

exit codes: 0 ok, 1 unexpected, 2 usage/config, 3 roster rejected, 4 capacity refused,
5 partial failure, 6 upstream unavailable, 7 plan stale, 8 busy (another apply holds the lock)`;

/** Splits global options (anywhere on the line) from the command's own. */
function splitGlobal(argv: readonly string[]): {
  json: boolean;
  config: string | undefined;
  help: boolean;
  reason: string | null;
  rest: string[];
} {
  let json = false;
  let help = false;
  let reason: string | null = null;
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
    else if (arg === '--reason') {
      reason = argv[++i] ?? null;
      if (reason === null || reason.trim() === '') throw new AppError('RAC_USAGE', '--reason needs a text');
    } else if (arg.startsWith('--reason=')) reason = arg.slice('--reason='.length);
    else rest.push(arg);
  }
  if (reason !== null && reason.length > 1000)
    throw new AppError('RAC_USAGE', '--reason is limited to 1000 characters');
  return { json, config, help, reason, rest };
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
    const [{ loadConfig, readCliEnvironment }, { servicesFor }] = await Promise.all([
      import('../config/load.ts'),
      import('./context.ts'),
    ]);
    const env = readCliEnvironment();
    const cwd = process.cwd();
    let loaded: LoadedConfig | null = null;
    const config = () => {
      loaded ??= loadConfig({ path: global.config, cwd });
      return loaded;
    };
    const ctx: CliContext = {
      output,
      env,
      configPath: global.config,
      reason: global.reason,
      cwd,
      signal: controller.signal,
      stdinIsTTY: process.stdin.isTTY === true,
      config,
      services: () => servicesFor({ env, reason: global.reason }, config()),
      ask: async (question) => {
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        try {
          return await rl.question(question);
        } finally {
          rl.close();
        }
      },
    };
    return await (await command.load())(ctx, args);
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

/** Runs the CLI on this process's arguments and exits with its code (bin/launch.mjs calls it). */
export async function runCli(): Promise<never> {
  const code = await main(process.argv.slice(2));
  // Pipes are asynchronous: exit only once everything written has been flushed.
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise((r) => s.write('', r))));
  process.exit(code);
}

if (import.meta.main) await runCli();
