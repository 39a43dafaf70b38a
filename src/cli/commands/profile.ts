import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolveFrom } from '../../config/load.ts';
import { AppError, ExitCode } from '../../core/errors.ts';
import { renderClientProfile } from '../../core/openvpn/render-profile.ts';
import { personStatus } from '../../services/user-status.ts';
import type { CliContext } from '../context.ts';
import { wireGuardProfileCommand } from './wireguard-profile.ts';

/** `rac profile <uid> [--gateway g]`: the person's OpenVPN client profile (.ovpn) on stdout. */
export async function profileCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { gateway: { type: 'string' }, out: { type: 'string' }, rotate: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1)
    throw new AppError(
      'RAC_USAGE',
      'usage: rac profile <uid> [--gateway g] (WireGuard: --gateway g [--out file] [--rotate])',
    );
  const loaded = ctx.config();
  const { config } = loaded;
  const wireguard = config.gateways.find((g) => g.kind === 'wireguard' && g.name === values.gateway);
  if (wireguard !== undefined)
    return wireGuardProfileCommand(ctx, wireguard, positionals[0] as string, {
      rotate: values.rotate,
      out: values.out,
    });
  const gateways = config.gateways.filter(
    (g) => g.kind === 'openvpn' && (values.gateway === undefined || g.name === values.gateway),
  );
  if (gateways.length === 0)
    throw new AppError(
      'RAC_USAGE',
      values.gateway === undefined ? 'no OpenVPN gateway is configured' : `no OpenVPN gateway ${values.gateway}`,
    );
  if (config.profiles.ca_file === undefined)
    throw new AppError(
      'RAC_CONFIG_INVALID',
      'profiles.ca_file: required for client profiles (the CA of the gateways’ certificates)',
    );
  const caFile = resolveFrom(loaded.baseDir, config.profiles.ca_file);
  let caPem: string;
  try {
    caPem = readFileSync(caFile, 'utf8');
  } catch (err) {
    throw new AppError('RAC_CONFIG_INVALID', `profiles.ca_file: cannot read ${caFile}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  await using services = ctx.services();
  const person = await personStatus(services, positionals[0] as string);
  if (person.tier !== 'vpn' && person.tier !== 'vpn-bastion') {
    throw new AppError('RAC_USAGE_NO_VPN', `${person.uid} has tier ${person.tier ?? 'none'}: no VPN profile`);
  }
  const profile = renderClientProfile({
    uid: person.uid,
    caPem,
    remotes: gateways.map((g) => ({
      host: g.openvpn?.remote.host as string,
      port: g.openvpn?.remote.port ?? 1194,
      proto: g.openvpn?.remote.proto ?? 'udp',
    })),
  });
  if (ctx.output.json) ctx.output.document({ uid: person.uid, gateways: gateways.map((g) => g.name), profile });
  else ctx.output.raw(profile);
  return ExitCode.ok;
}
