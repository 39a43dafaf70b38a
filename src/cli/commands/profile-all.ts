import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type LoadedConfig, resolveFrom } from '../../config/load.ts';
import { toCsv } from '../../core/csv-export.ts';
import { AppError, ExitCode } from '../../core/errors.ts';
import { grantedVpnPeople, renderProfileFor } from '../../services/client-profiles.ts';
import type { CliContext } from '../context.ts';

/** The CA of the gateways' certificates, inlined in every client profile. */
export function readProfileCa(loaded: LoadedConfig): string {
  const { config } = loaded;
  if (config.profiles.ca_file === undefined)
    throw new AppError(
      'RAC_CONFIG_INVALID',
      'profiles.ca_file: required for client profiles (the CA of the gateways’ certificates)',
    );
  const caFile = resolveFrom(loaded.baseDir, config.profiles.ca_file);
  try {
    return readFileSync(caFile, 'utf8');
  } catch (err) {
    throw new AppError('RAC_CONFIG_INVALID', `profiles.ca_file: cannot read ${caFile}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * `rac profile --all --out <dir>`: one .ovpn per person granted a VPN tier (0600, in a 0700
 * directory) and mail-merge.csv (uid, name, email, file) for sites that mail them out.
 */
export async function profileAllCommand(ctx: CliContext, out: string | undefined): Promise<number> {
  if (out === undefined) throw new AppError('RAC_USAGE', 'usage: rac profile --all --out <dir>');
  const loaded = ctx.config();
  const caPem = readProfileCa(loaded);
  await using services = ctx.services();
  const people = await grantedVpnPeople(services);
  const dir = resolveFrom(ctx.cwd, out);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const rows: Array<[string, string, string, string]> = [];
  for (const person of people) {
    const file = `${person.uid}.ovpn`;
    const path = join(dir, file);
    writeFileSync(path, renderProfileFor(services, person.uid, caPem), { mode: 0o600 });
    chmodSync(path, 0o600);
    rows.push([person.uid, person.name ?? '', person.email ?? '', file]);
  }
  const csv = join(dir, 'mail-merge.csv');
  writeFileSync(csv, toCsv(['uid', 'name', 'email', 'file'], rows), { mode: 0o600 });
  chmodSync(csv, 0o600);
  services.store.audit({ action: 'profile.export', actor: services.actor, detail: { people: rows.length, dir } });
  if (ctx.output.json) ctx.output.document({ dir, people: rows.length, csv });
  else ctx.output.text(`${rows.length} profiles and mail-merge.csv written to ${dir}`);
  return ExitCode.ok;
}
