import { BarGaugeDisplayMode, StackingConfigBuilder, StackingMode } from '@grafana/grafana-foundation-sdk/common';
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as Gauge } from '@grafana/grafana-foundation-sdk/gauge';
import { PanelBuilder as Stat } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeSeries } from '@grafana/grafana-foundation-sdk/timeseries';
import {
  type Board,
  bars,
  baseBoard,
  capacityAnnotations,
  gatewayVariable,
  LAST,
  NEUTRAL,
  panel,
  prom,
  sel,
  steps,
  tierVariable,
  usageThresholds,
  valueText,
} from './common.ts';
import type { SiteConfig } from './site.ts';

/**
 * Alerts of infra/prometheus/rules.yml shown on the home board, in the order shown. A unit test
 * checks that each one exists there.
 */
export const HOME_ALERTS = [
  'RemoteAccessCapacityCritical',
  'RemoteAccessCapacityHigh',
  'RemoteAccessCapacityExhaustionPredicted',
  'RemoteAccessCapacityUnverified',
  'RemoteAccessGatewayDown',
  'RemoteAccessGatewayNearRated',
  'RemoteAccessCollectorStale',
  'RemoteAccessCollectorErrors',
  'RemoteAccessSessionsBeyondGrants',
  'RemoteAccessExporterDown',
] as const;

/** Live VPN sessions under the board's filters: bastion SSH sessions ride on a VPN session. */
export const VPN_SESSIONS = `sum(remote_access_sessions{gateway_kind!="bastion", ${sel('gateway', 'gateway')}, ${sel('tier', 'tier')}})`;

/**
 * Utilization per enforcer class, with a class label `enforcer`: the site's classes (sessions and
 * ratings summed over their kinds), then any gateway kind no class names, by its label value.
 */
function enforcerUtilization(site: SiteConfig): string {
  const named = site.enforcers.flatMap((e) => e.kinds);
  const classes = site.enforcers.map((e) => {
    const kinds = `gateway_kind=~"${e.kinds.join('|')}"`;
    return `label_replace(sum(remote_access_sessions{${kinds}}) / (sum(remote_access_capacity_rated_sessions{${kinds}}) > 0), "enforcer", "${e.title}", "", "")`;
  });
  const others = `label_replace(remote_access:gateway_kind_utilization:ratio{gateway_kind!~"${named.join('|')}"}, "enforcer", "$1", "gateway_kind", "(.+)")`;
  return [...classes, others].join('\nor\n');
}

/** Seconds until the limit at the trend of the last hour; 7 days stands for "not in sight". */
const TIME_TO_EXHAUSTION = `clamp(
  (remote_access:capacity_limit:sessions - remote_access:sessions:sum)
  /
  clamp_min((predict_linear(remote_access:sessions:sum[1h], 3600) - predict_linear(remote_access:sessions:sum[1h], 0)) / 3600, 1e-9),
  0, 604800)`;

export function capacityHome(site: SiteConfig): Board {
  const target = site.targetSessions;
  const b = baseBoard(site, {
    title: 'capacity',
    uid: 'capacity',
    description: 'Are we about to run out, and where? Live sessions against the target and the verified capacity.',
    tags: ['capacity'],
    from: 'now-6h',
    variables: [gatewayVariable(), tierVariable(site)],
  }).annotations(capacityAnnotations());

  b.withRow(new RowBuilder('Now').id(100));
  b.withPanel(
    panel(new Stat(), {
      id: 1,
      title: 'Sessions now',
      description:
        'Live VPN sessions (OpenVPN clients past authentication, WireGuard peers with a recent handshake) on the selected gateways and tiers. Bastion SSH sessions ride on a VPN session and are not counted again; they are on the Gateways board. Orange and red at 80 and 90% of the target.',
      unit: 'none',
      w: 4,
      h: 6,
      queries: [prom('A', VPN_SESSIONS, 'sessions', 'instant')],
    })
      .reduceOptions(LAST)
      .thresholds(usageThresholds(site, target))
      .decimals(0),
  );
  b.withPanel(
    panel(new Gauge(), {
      id: 2,
      title: 'Sessions against target and verified capacity',
      description:
        'Live VPN sessions (all gateways and tiers) as a share of the target and of the capacity verified by the last passing load test of the current topology. "of verified" is empty while the topology is unverified.',
      unit: 'percentunit',
      w: 6,
      h: 6,
      queries: [
        prom('A', 'remote_access:sessions:sum / max(remote_access_capacity_target_sessions)', 'of target', 'instant'),
        prom(
          'B',
          'remote_access:sessions:sum / max(remote_access_capacity_verified_sessions)',
          'of verified',
          'instant',
        ),
      ],
    })
      .reduceOptions(LAST)
      .min(0)
      .max(1)
      .thresholds(usageThresholds(site))
      .showThresholdMarkers(true),
  );
  b.withPanel(
    panel(new Stat(), {
      id: 3,
      title: 'Capacity',
      description:
        'The target, the capacity verified by load test (absent while unverified), and the limit onboarding grants against: verified, else (after an expansion) the previous topology’s verified figure, else the VPN gateways’ rated sessions, else the target.',
      unit: 'none',
      w: 6,
      h: 6,
      queries: [
        prom('A', 'max(remote_access_capacity_target_sessions)', 'target', 'instant'),
        prom('B', 'max(remote_access_capacity_verified_sessions)', 'verified', 'instant'),
        prom('C', 'remote_access:capacity_limit:sessions', 'limit', 'instant'),
      ],
    })
      .reduceOptions(LAST)
      .thresholds(NEUTRAL)
      .noValue('unverified'),
  );
  b.withPanel(
    panel(new Stat(), {
      id: 5,
      title: 'Headroom',
      description:
        'Sessions left before the capacity limit (verified, else rated, else target). Red below 10%, orange below 20% of the target.',
      unit: 'none',
      w: 4,
      h: 6,
      queries: [prom('A', 'remote_access:capacity_limit:sessions - remote_access:sessions:sum', 'headroom', 'instant')],
    })
      .reduceOptions(LAST)
      .thresholds(
        steps(['red', null], ['orange', (1 - site.criticalRatio) * target], ['green', (1 - site.warnRatio) * target]),
      ),
  );
  b.withPanel(
    panel(new Stat(), {
      id: 7,
      title: 'Time to exhaustion',
      description:
        'Time until live VPN sessions reach the capacity limit at the trend of the last hour (predict_linear on remote_access:sessions:sum). Capped at 7 days, which means not in sight. Red below 2 hours, orange below 8.',
      unit: 's',
      w: 4,
      h: 6,
      queries: [prom('A', TIME_TO_EXHAUSTION, 'time to limit', 'instant')],
    })
      .reduceOptions(LAST)
      .thresholds(steps(['red', null], ['orange', 2 * 3600], ['green', 8 * 3600])),
  );

  b.withPanel(
    panel(new Stat(), {
      id: 4,
      title: 'Topology verified',
      description:
        'Whether a passing capacity check covers the current gateway topology. Any expansion makes it unverified until the new topology is load-tested and recorded.',
      unit: 'none',
      w: 12,
      h: 4,
      queries: [prom('A', 'count(remote_access_capacity_verified_sessions) or on () vector(0)', 'verified', 'instant')],
    })
      .reduceOptions(LAST)
      .mappings(valueText({ '0': { text: 'UNVERIFIED', color: 'red' }, '1': { text: 'Verified', color: 'green' } }))
      .thresholds(steps(['red', null], ['green', 1])),
  );
  b.withPanel(
    panel(new Stat(), {
      id: 6,
      title: 'Age of the capacity check',
      description:
        'Time since the passing capacity check of the current topology, and since the topology last changed. Orange after 30 days, red after 90: re-test periodically.',
      unit: 's',
      w: 12,
      h: 4,
      queries: [
        prom('A', 'time() - max(remote_access_capacity_verified_timestamp_seconds)', 'check', 'instant'),
        prom('B', 'time() - max(remote_access_capacity_topology_changed_timestamp_seconds)', 'topology', 'instant'),
      ],
    })
      .reduceOptions(LAST)
      .thresholds(steps(['green', null], ['orange', 30 * 86400], ['red', 90 * 86400])),
  );
  b.withRow(new RowBuilder('Sessions').id(101));
  b.withPanel(
    panel(new TimeSeries(), {
      id: 8,
      title: 'Sessions per tier',
      description:
        'Live VPN sessions per tier, stacked, against the target and the verified capacity (lines). "unknown": sessions of people rac holds no grant for.',
      unit: 'none',
      w: 12,
      h: 8,
      queries: [
        prom(
          'A',
          `sum by (tier) (remote_access_sessions{gateway_kind!="bastion", ${sel('gateway', 'gateway')}, ${sel('tier', 'tier')}})`,
          '{{tier}}',
        ),
        prom('B', 'max(remote_access_capacity_target_sessions)', 'target'),
        prom('C', 'max(remote_access_capacity_verified_sessions)', 'verified capacity'),
      ],
    })
      .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
      .fillOpacity(30)
      .min(0)
      .thresholds(usageThresholds(site, target))
      .overrideByQuery('B', [
        { id: 'custom.stacking', value: { mode: StackingMode.None } },
        { id: 'custom.fillOpacity', value: 0 },
        { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
        { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
      ])
      .overrideByQuery('C', [
        { id: 'custom.stacking', value: { mode: StackingMode.None } },
        { id: 'custom.fillOpacity', value: 0 },
        { id: 'color', value: { mode: 'fixed', fixedColor: 'green' } },
      ]),
  );
  b.withPanel(
    panel(new TimeSeries(), {
      id: 9,
      title: 'People online per tier',
      description: 'Distinct people with at least one live session, per tier (one person on two gateways counts once).',
      unit: 'none',
      w: 6,
      h: 8,
      queries: [prom('A', `sum by (tier) (remote_access_users_online{${sel('tier', 'tier')}})`, '{{tier}}')],
    })
      .min(0)
      .thresholds(NEUTRAL),
  );
  b.withPanel(
    panel(new TimeSeries(), {
      id: 10,
      title: 'Sessions predicted in 2 hours',
      description:
        'Live VPN sessions two hours ahead at the trend of the last hour (predict_linear on remote_access:sessions:sum), against the capacity limit. RemoteAccessCapacityExhaustionPredicted fires when the prediction stays at or above the limit.',
      unit: 'none',
      w: 6,
      h: 8,
      queries: [
        prom('A', 'predict_linear(remote_access:sessions:sum[1h], 2 * 3600)', 'predicted in 2 h'),
        prom('B', 'remote_access:capacity_limit:sessions', 'limit'),
      ],
    })
      .min(0)
      .thresholds(NEUTRAL),
  );

  b.withRow(new RowBuilder('Limits').id(102));
  b.withPanel(
    bars(
      {
        id: 11,
        title: 'Binding limit per enforcer class',
        description: `Live sessions as a share of rated sessions, per enforcer class (${site.enforcers.map((e) => `${e.title}: ${e.kinds.join(', ')}`).join('; ')}), from the gateway_kind label: a kind no class names shows under its own name. The fullest class is the binding limit.`,
        unit: 'percentunit',
        w: 12,
        h: 7,
        queries: [prom('A', enforcerUtilization(site), '{{enforcer}}', 'instant')],
      },
      BarGaugeDisplayMode.Gradient,
    )
      .max(1)
      .thresholds(usageThresholds(site)),
  );
  b.withPanel(
    panel(new Stat(), {
      id: 12,
      title: 'Binding enforcer class',
      description: 'The enforcer class closest to its rated sessions, and how close.',
      unit: 'percentunit',
      w: 4,
      h: 7,
      queries: [prom('A', `topk(1, ${enforcerUtilization(site)})`, '{{enforcer}}', 'instant')],
    })
      .reduceOptions(LAST)
      .thresholds(usageThresholds(site)),
  );
  b.withPanel(
    bars({
      id: 13,
      title: 'Grants and expected peak per tier',
      description:
        'People granted each tier, and the sessions they are expected to open at peak (grants × capacity.peak_concurrency of the tier). Orange and red when a tier’s expected peak reaches 80 and 90% of the target.',
      unit: 'none',
      w: 8,
      h: 7,
      queries: [
        prom('A', `sum by (tier) (remote_access_grants{${sel('tier', 'tier')}})`, '{{tier}} granted', 'instant'),
        prom(
          'B',
          `sum by (tier) (remote_access_expected_peak_sessions{${sel('tier', 'tier')}})`,
          '{{tier}} expected peak',
          'instant',
        ),
      ],
    }).thresholds(usageThresholds(site, target)),
  );

  b.withRow(new RowBuilder('Alerts').id(103));
  b.withPanel(
    panel(new Stat(), {
      id: 14,
      title: 'Remote-access alerts',
      description:
        'Each remote_access alert of infra/prometheus/rules.yml: FIRING (red) or OK. Pending alerts show OK until their for: duration has passed.',
      unit: 'none',
      w: 24,
      h: 4,
      queries: HOME_ALERTS.map((name, i) =>
        prom(
          String.fromCharCode(65 + i),
          `max(ALERTS{alertname="${name}", alertstate="firing"}) or on () vector(0)`,
          name,
          'instant',
        ),
      ),
    })
      .reduceOptions(LAST)
      .mappings(valueText({ '0': { text: 'OK', color: 'green' }, '1': { text: 'FIRING', color: 'red' } }))
      .thresholds(steps(['green', null], ['red', 1])),
  );

  return {
    file: 'capacity-home.json',
    dashboard: b.build(),
  };
}
