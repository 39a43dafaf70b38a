/**
 * What the boards need to know about a site. Everything else (gateways, kinds, tiers present) is
 * read from label values at query time, so a new gateway or gateway kind needs no new board.
 */
export interface SiteConfig {
  /** Prefix of every board's uid and title, e.g. `rac` / `Remote access`. */
  readonly uidPrefix: string;
  readonly titlePrefix: string;
  /** The concurrent-session target: the gauges' scale when the exporter has no target series yet. */
  readonly targetSessions: number;
  /** Tier label values in their order (`unknown` is added where sessions of no grant can show). */
  readonly tiers: readonly string[];
  /** Enforcer classes for the capacity board, each a set of `gateway_kind` label values. */
  readonly enforcers: readonly { readonly title: string; readonly kinds: readonly string[] }[];
  /** Share of a limit where panels turn orange, then red (the alert rules use 0.8 and 0.9/0.95). */
  readonly warnRatio: number;
  readonly criticalRatio: number;
  /** Uid of the provisioned Prometheus data source the `datasource` variable starts on. */
  readonly datasourceUid: string;
  readonly refresh: string;
}

export const DEFAULT_SITE: SiteConfig = {
  uidPrefix: 'rac',
  titlePrefix: 'Remote access',
  targetSessions: 5000,
  tiers: ['public', 'vpn', 'vpn-bastion'],
  enforcers: [
    { title: 'VPN gateways', kinds: ['openvpn', 'wireguard'] },
    { title: 'Bastions', kinds: ['bastion'] },
    { title: 'Access proxies', kinds: ['proxy'] },
  ],
  warnRatio: 0.8,
  criticalRatio: 0.9,
  datasourceUid: 'rac-prometheus',
  refresh: '30s',
};

const LABEL_VALUE = /^[a-z][a-z0-9_-]*$/;

/** Every problem of a site config at once, as `path: message` (empty when valid). */
export function siteProblems(site: SiteConfig): string[] {
  const problems: string[] = [];
  if (!/^[a-zA-Z0-9_-]{1,12}$/.test(site.uidPrefix))
    problems.push('uidPrefix: 1 to 12 characters of [a-zA-Z0-9_-], so every uid stays within 40');
  if (!(Number.isInteger(site.targetSessions) && site.targetSessions > 0))
    problems.push('targetSessions: a positive whole number');
  if (site.tiers.length === 0) problems.push('tiers: at least one tier');
  for (const [i, t] of site.tiers.entries())
    if (!LABEL_VALUE.test(t)) problems.push(`tiers.${i}: "${t}" is not a plain label value`);
  for (const [i, e] of site.enforcers.entries()) {
    if (e.kinds.length === 0) problems.push(`enforcers.${i}.kinds: at least one gateway kind`);
    for (const k of e.kinds)
      if (!LABEL_VALUE.test(k)) problems.push(`enforcers.${i}.kinds: "${k}" is not a plain label value`);
  }
  if (!(site.warnRatio > 0 && site.warnRatio < site.criticalRatio && site.criticalRatio <= 1))
    problems.push('warnRatio, criticalRatio: 0 < warnRatio < criticalRatio <= 1');
  if (!/^[a-zA-Z0-9_-]{1,40}$/.test(site.datasourceUid))
    problems.push('datasourceUid: 1 to 40 characters of [a-zA-Z0-9_-]');
  return problems;
}
