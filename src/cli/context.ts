import { composeServices, type Services } from '../compose.ts';
import type { CliEnvironment, LoadedConfig } from '../config/load.ts';
import { loadConfig } from '../config/load.ts';
import type { Output } from './output.ts';

export interface CliContext {
  readonly output: Output;
  readonly env: CliEnvironment;
  readonly configPath: string | undefined;
  /** --reason: why, stored with every audit record this command writes. */
  readonly reason: string | null;
  readonly cwd: string;
  readonly signal: AbortSignal;
  readonly stdinIsTTY: boolean;
  /** Loads config and wires the real adapters; the command closes them. */
  services(): Services;
  config(): LoadedConfig;
  /** Reads one line from the terminal (confirmation prompts). */
  ask(question: string): Promise<string>;
}

export function servicesFor(ctx: Pick<CliContext, 'env' | 'reason'>, loaded: LoadedConfig): Services {
  return composeServices(loaded, {
    actor: ctx.env.actor,
    reason: ctx.reason,
    logLevel: ctx.env.logLevel,
  });
}

export { loadConfig };
