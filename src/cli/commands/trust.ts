import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';
import { parseHostKeyPin, scanHostKey } from '../../adapters/ssh/ssh-shell.ts';
import { openStore } from '../../adapters/store/sqlite-store.ts';
import { loadConfig, resolveFrom } from '../../config/load.ts';
import { AppError, ExitCode } from '../../core/errors.ts';
import { sshKeyId } from '../../core/ssh-key-id.ts';
import type { CliContext } from '../context.ts';

/**
 * `rac trust <gateway> [--yes]`: shows the host key the gateway offers and, once the operator
 * confirms it matches what the host itself reports (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`),
 * records it in the config as the pin. A key that differs from an existing pin is never replaced
 * without the operator saying so.
 */
export async function trustCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { yes: { type: 'boolean', short: 'y', default: false }, replace: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1)
    throw new AppError('RAC_USAGE', 'usage: rac trust <gateway> [--yes] [--replace <old fingerprint>]');
  const name = positionals[0] as string;
  const loaded = loadConfig({ path: ctx.configPath, cwd: ctx.cwd, allowUnpinned: [name] });
  const index = loaded.config.gateways.findIndex((g) => g.name === name);
  const gateway = loaded.config.gateways[index];
  if (gateway === undefined) throw new AppError('RAC_USAGE', `no gateway ${name} in ${loaded.path}`);
  const seen = await scanHostKey(gateway.ssh.host, gateway.ssh.port, 10_000);
  const { output } = ctx;
  const pinned = gateway.ssh.host_key;
  const matches = pinned !== undefined && (pinned === seen.fingerprint || sshKeyId(pinned) === sshKeyId(seen.keyLine));
  output.note(
    `${name} (${gateway.ssh.host}:${gateway.ssh.port}) offers ${seen.keyLine.split(' ')[0]} ${seen.fingerprint}`,
  );
  if (matches) {
    output.note('This is the pinned key already; nothing changed.');
    if (output.json) output.document({ gateway: name, fingerprint: seen.fingerprint, recorded: false, pinned: true });
    return ExitCode.ok;
  }
  let replaced: string | null = null;
  if (pinned !== undefined) {
    // A changed host key is what a man in the middle looks like: never replaced on a yes alone.
    const old = parseHostKeyPin(pinned, name).fingerprint;
    if (values.replace !== old) {
      throw new AppError(
        'RAC_SSH_HOST_KEY_CHANGED',
        `${name} offers ${seen.fingerprint}, not the pinned ${old}. If the host was rebuilt and you checked the new key on the host itself, run: rac trust ${name} --replace ${old}`,
        { details: { gateway: name, pinned: old, offered: seen.fingerprint } },
      );
    }
    replaced = old;
    output.note(`Replacing the pinned key ${old} of ${name}.`);
  }
  if (!values.yes) {
    if (!ctx.stdinIsTTY)
      throw new AppError(
        'RAC_USAGE_CONFIRM',
        'not a terminal: compare the fingerprint with the host, then run rac trust with --yes',
      );
    const answer = await ctx.ask('Does this fingerprint match the one the host reports? Type yes to record it: ');
    if (answer.trim().toLowerCase() !== 'yes') {
      output.note('Nothing recorded.');
      return ExitCode.ok;
    }
  }
  const doc = parseDocument(readFileSync(loaded.path, 'utf8'));
  doc.setIn(['gateways', index, 'ssh', 'host_key'], sshKeyId(seen.keyLine));
  writeFileSync(loaded.path, doc.toString());
  const store = openStore(resolveFrom(loaded.baseDir, loaded.config.store), { reason: ctx.reason });
  try {
    store.audit({
      action: replaced === null ? 'host-key.trust' : 'host-key.replace',
      actor: ctx.env.actor,
      detail: { gateway: name, fingerprint: seen.fingerprint, ...(replaced === null ? {} : { replaced }) },
    });
  } finally {
    store.close();
  }
  output.note(`Recorded the host key of ${name} in ${loaded.path}.`);
  if (output.json) output.document({ gateway: name, fingerprint: seen.fingerprint, recorded: true, pinned: true });
  return ExitCode.ok;
}
