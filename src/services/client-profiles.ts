import { normalizeDn } from '../core/dn.ts';
import { AppError } from '../core/errors.ts';
import { renderClientProfile } from '../core/openvpn/render-profile.ts';
import { observedGroupsOf } from '../core/plan/build-plan.ts';
import { type Tier, tierFromMemberships } from '../core/tiers.ts';
import type { ServiceDeps } from './deps.ts';

export interface SelfView {
  readonly uid: string;
  readonly name: string | null;
  readonly tier: Tier | null;
  readonly expires: string | null;
  /** OpenVPN gateways this person may download a profile for (none for `public` or no tier). */
  readonly gateways: readonly string[];
}

const VPN_TIERS: ReadonlySet<Tier | null> = new Set(['vpn', 'vpn-bastion']);

/** A person's own view for the portal: tier from the directory, expiry from rac's record. */
export async function selfView(deps: ServiceDeps, uid: string): Promise<SelfView> {
  const key = uid.toLowerCase();
  const [people, memberships] = await Promise.all([deps.directory.findPeople([key]), deps.directory.readMemberships()]);
  const person = people.get(key);
  if (person === undefined) throw new AppError('RAC_USAGE_UNKNOWN_PERSON', `no person with uid ${key}`);
  const tier = tierFromMemberships(new Set(observedGroupsOf(memberships, normalizeDn(person.dn))));
  return {
    uid: key,
    name: person.name,
    tier,
    expires: deps.store.getGrant(key)?.expires ?? null,
    gateways: VPN_TIERS.has(tier) ? openVpnGateways(deps).map((g) => g.name) : [],
  };
}

function openVpnGateways(deps: Pick<ServiceDeps, 'config'>) {
  return deps.config.gateways.filter((g) => g.kind === 'openvpn' && g.openvpn !== undefined);
}

/** One profile (.ovpn) with the named gateway first and the others as fail-over. */
export function renderProfileFor(
  deps: Pick<ServiceDeps, 'config'>,
  uid: string,
  caPem: string,
  gateway?: string,
): string {
  const all = openVpnGateways(deps);
  const chosen = gateway === undefined ? all : all.filter((g) => g.name === gateway);
  if (chosen.length === 0)
    throw new AppError(
      'RAC_NOT_FOUND',
      gateway === undefined ? 'no OpenVPN gateway is configured' : `no OpenVPN gateway ${gateway}`,
    );
  return renderClientProfile({
    uid,
    caPem,
    remotes: chosen.map((g) => ({
      host: g.openvpn?.remote.host as string,
      port: g.openvpn?.remote.port ?? 1194,
      proto: g.openvpn?.remote.proto ?? 'udp',
    })),
  });
}

/** The portal's download: only for the person's own VPN tier, audited with who and which gateway. */
export async function downloadOwnProfile(
  deps: ServiceDeps,
  uid: string,
  gateway: string,
  caPem: string,
): Promise<string> {
  const view = await selfView(deps, uid);
  if (!view.gateways.includes(gateway))
    throw new AppError(
      'RAC_USAGE_NO_VPN',
      view.gateways.length === 0
        ? `${view.uid} has tier ${view.tier ?? 'none'}: no VPN profile`
        : `no gateway ${gateway}`,
    );
  const profile = renderProfileFor(deps, view.uid, caPem, gateway);
  deps.store.audit({ action: 'portal.profile.download', actor: view.uid, uid: view.uid, detail: { gateway } });
  return profile;
}

/** Everyone granted a VPN tier, as the directory has them now, with their mail address. */
export async function grantedVpnPeople(
  deps: ServiceDeps,
): Promise<Array<{ uid: string; name: string | null; email: string | null; tier: Tier }>> {
  const recorded = [...deps.store.listGrants()].filter(([, tier]) => VPN_TIERS.has(tier)).map(([uid]) => uid);
  const [people, memberships, emails] = await Promise.all([
    deps.directory.findPeople(recorded),
    deps.directory.readMemberships(),
    deps.directory.findEmails(recorded),
  ]);
  const out: Array<{ uid: string; name: string | null; email: string | null; tier: Tier }> = [];
  for (const uid of recorded.sort()) {
    const person = people.get(uid);
    if (person === undefined) continue;
    const tier = tierFromMemberships(new Set(observedGroupsOf(memberships, normalizeDn(person.dn))));
    if (tier === null || !VPN_TIERS.has(tier)) continue;
    out.push({ uid, name: person.name, email: emails.get(uid) ?? null, tier });
  }
  return out;
}
