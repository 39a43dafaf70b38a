import { parseArgs } from 'node:util';
import { AppError, ExitCode } from '../../core/errors.ts';
import { renderClientProfile } from '../../core/openvpn/render-profile.ts';
import { personStatus } from '../../services/user-status.ts';
import type { CliContext } from '../context.ts';
import { profileAllCommand, readProfileCa } from './profile-all.ts';
import { wireGuardProfileCommand } from './wireguard-profile.ts';

/** `rac profile <uid> [--gateway g]`: the person's OpenVPN client profile (.ovpn) on stdout. */
export async function profileCommand(ctx: CliContext, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      gateway: { type: 'string' },
      out: { type: 'string' },
      rotate: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.all) return profileAllCommand(ctx, values.out);
  if (positionals.length !== 1)
    throw new AppError(
      'RAC_USAGE',
      'usage: rac profile <uid> [--gateway g] | --all --out <dir> (WireGuard: --gateway g [--out file] [--rotate])',
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
  const caPem = readProfileCa(loaded);
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
