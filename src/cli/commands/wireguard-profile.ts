import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { GatewayConfig, WireGuardConfig } from '../../config/schema.ts';
import { AppError, ExitCode } from '../../core/errors.ts';
import { generateWireGuardKeyPair, type WireGuardKeyPair } from '../../core/wireguard/keys.ts';
import { renderWireGuardProfile } from '../../core/wireguard/render-profile.ts';
import { readDirectoryView, syncGateways } from '../../services/sync-gateways.ts';
import { wireGuardAssignments, wireGuardDesiredState } from '../../services/wireguard-desired.ts';
import type { CliContext } from '../context.ts';

export interface WireGuardProfileOptions {
  readonly rotate: boolean;
  readonly out: string | undefined;
}

/**
 * `rac profile <uid> --gateway <wireguard gateway> [--out file] [--rotate]`: the person's
 * wg-quick profile. When rac makes the key pair, the private key exists only in this profile:
 * generated here, its public half stored (and pushed to the gateway), the private half printed
 * once and forgotten. Asking again is refused — rac cannot print a key it does not keep — unless
 * `--rotate`, which issues a new pair and retires the old one (audited). A public key from the
 * roster (wg_key) gives a profile without a private key, for the person to complete.
 */
export async function wireGuardProfileCommand(
  ctx: CliContext,
  gateway: GatewayConfig,
  uidArg: string,
  options: WireGuardProfileOptions,
): Promise<number> {
  const wg = gateway.wireguard as WireGuardConfig;
  if (ctx.output.json && options.out === undefined)
    throw new AppError(
      'RAC_USAGE_JSON_PRIVATE_KEY',
      '--json never carries a private key: add --out <file> for the profile',
    );
  const out = options.out === undefined ? undefined : resolve(ctx.cwd, options.out);
  await using services = ctx.services();
  const uid = uidArg.trim().toLowerCase();
  const [people, view] = await Promise.all([services.directory.findPeople([uid]), readDirectoryView(services)]);
  if (!people.has(uid))
    throw new AppError(
      'RAC_USAGE_UNKNOWN_PERSON',
      `no person with uid ${uid} under ${services.config.directory.users_base}`,
    );
  // The people hosts carry: the directory's, less those rac revoked and nobody granted since.
  const tiers = new Map([...view.people.tiers].filter(([u]) => !view.revoked.has(u)));
  const tier = tiers.get(uid);
  if (tier !== 'vpn' && tier !== 'vpn-bastion')
    throw new AppError('RAC_USAGE_NO_VPN', `${uid} has tier ${tier ?? 'none'}: no VPN profile`);
  const assigned = wireGuardAssignments(services, tiers, true).get(uid);
  if (assigned !== gateway.name)
    throw new AppError(
      'RAC_USAGE_WRONG_GATEWAY',
      `${uid} is on the WireGuard gateway ${assigned ?? '(none)'}, not ${gateway.name}: rac profile ${uid} --gateway ${assigned ?? '<gateway>'}`,
    );

  const store = services.store.wireguard;
  const current = store.getKey(uid);
  let pair: WireGuardKeyPair | null = null;
  if (current?.source === 'generated' && !options.rotate) {
    throw new AppError(
      'RAC_USAGE_PROFILE_ISSUED',
      `a WireGuard profile for ${uid} was issued at ${current.issuedAt}; rac keeps only its public key, so it cannot print it again. ` +
        `--rotate issues a new key pair and profile (the old profile stops working).`,
    );
  }
  if (current === null || options.rotate) pair = generateWireGuardKeyPair();
  const publicKey = pair?.publicKey ?? (current?.publicKey as string);

  // The address first (without storing anything): a full pool must not cost the person a key.
  const trial = wireGuardDesiredState(services, gateway.name, tiers, false, { uid, publicKey });
  if (!trial.desired.has(uid))
    throw new AppError('RAC_WIREGUARD_POOL_EXHAUSTED', `the ${tier} address pool of ${gateway.name} is full`);
  if (pair !== null) {
    // Compare-and-set on what was read above: of two concurrent runs, one hands out a key.
    const stored = store.setKey({
      uid,
      publicKey: pair.publicKey,
      source: 'generated',
      actor: ctx.env.actor,
      expect: { issuedAt: current?.issuedAt ?? null },
    });
    if (!stored) throw new AppError('RAC_USAGE_PROFILE_ISSUED', `another run issued a key for ${uid} just now`);
  }
  const address = wireGuardDesiredState(services, gateway.name, tiers, true).desired.get(uid)?.address as string;
  const profile = renderWireGuardProfile({
    uid,
    gateway: gateway.name,
    privateKey: pair?.privateKey ?? null,
    publicKey,
    address,
    dns: wg.dns,
    serverPublicKey: wg.public_key,
    endpoint: { host: wg.endpoint.host, port: wg.endpoint.port },
    allowedIps: [wg.server_network, ...wg.routes[tier]],
    persistentKeepalive: wg.persistent_keepalive,
  });
  services.store.audit({
    action: 'wireguard.profile.issued',
    actor: ctx.env.actor,
    uid,
    detail: { gateway: gateway.name, publicKey, address, privateKeyIncluded: pair !== null, rotated: options.rotate },
  });
  if (out !== undefined) {
    try {
      writeFileSync(out, profile, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      throw new AppError(
        'RAC_USAGE_OUT_FILE',
        `cannot write ${out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` +
          (pair === null
            ? ''
            : ` — the key was issued; rac profile ${uid} --gateway ${gateway.name} --rotate issues a new one`),
        { cause: err },
      );
    }
  }

  // Put the peer on the gateway now rather than at the next apply.
  const [synced] = await syncGateways(services, { signal: ctx.signal, only: [gateway.name] });
  const live = synced?.status === 'applied';
  if (ctx.output.json) {
    ctx.output.document({
      uid,
      gateway: gateway.name,
      address,
      publicKey,
      out,
      privateKeyIncluded: pair !== null,
      live,
    });
  } else {
    if (out === undefined) ctx.output.raw(profile);
    else ctx.output.note(`wrote ${out} (mode 0600)`);
    if (!live)
      ctx.output.note(
        `${gateway.name} is not reachable now (${synced?.error ?? 'unknown'}): the peer is added at the next rac apply`,
      );
  }
  return ExitCode.ok;
}
