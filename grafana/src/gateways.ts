import { BarGaugeDisplayMode } from '@grafana/grafana-foundation-sdk/common';
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as Stat } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeSeries } from '@grafana/grafana-foundation-sdk/timeseries';
import {
  type Board,
  bars,
  baseBoard,
  gatewayKindVariable,
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

const GW = sel('gateway', 'gateway');
const KIND = sel('gateway_kind', 'gateway_kind');

export function gateways(site: SiteConfig): Board {
  const b = baseBoard(site, {
    title: 'gateways',
    uid: 'gateways',
    description:
      'Every VPN gateway, bastion and access proxy: sessions against its rating, and whether rac can see it.',
    tags: ['gateways'],
    from: 'now-6h',
    variables: [gatewayKindVariable(), gatewayVariable(), tierVariable(site)],
  });

  b.withRow(new RowBuilder('Health').id(100));
  b.withPanel(
    panel(new Stat(), {
      id: 1,
      title: 'Up',
      description:
        'Whether each host answered the collector’s last poll over SSH. A host that is down keeps its last session count for a while, then counts none.',
      unit: 'none',
      w: 8,
      h: 6,
      queries: [prom('A', `max by (gateway) (remote_access_gateway_up{${GW}, ${KIND}})`, '{{gateway}}', 'instant')],
    })
      .reduceOptions(LAST)
      .mappings(valueText({ '0': { text: 'DOWN', color: 'red' }, '1': { text: 'Up', color: 'green' } }))
      .thresholds(steps(['red', null], ['green', 1])),
  );
  b.withPanel(
    bars({
      id: 2,
      title: 'Observation age',
      description:
        'Age of the last good observation of each host. The collector polls every collector.interval_seconds; orange after 1 minute, red after 2 (RemoteAccessCollectorStale).',
      unit: 's',
      w: 8,
      h: 6,
      queries: [prom('A', `max by (gateway) (remote_access_observation_age_seconds{${GW}})`, '{{gateway}}', 'instant')],
    }).thresholds(steps(['green', null], ['orange', 60], ['red', 120])),
  );
  b.withPanel(
    panel(new TimeSeries(), {
      id: 3,
      title: 'Collect duration p95',
      description:
        '95th percentile of the time to poll one host for its sessions (SSH exec plus management socket). Orange above 1 s, red above 5 s.',
      unit: 's',
      w: 8,
      h: 6,
      queries: [
        prom(
          'A',
          `histogram_quantile(0.95, sum by (gateway, le) (rate(remote_access_collect_duration_seconds_bucket{${GW}}[$__rate_interval])))`,
          '{{gateway}}',
        ),
      ],
    })
      .min(0)
      .thresholds(steps(['green', null], ['orange', 1], ['red', 5])),
  );
  b.withPanel(
    panel(new TimeSeries(), {
      id: 4,
      title: 'Collect errors',
      description:
        'Failed polls per second, by host and reason (zero for a host without errors). Any lasting rate raises RemoteAccessCollectorErrors.',
      unit: 'reqps',
      w: 24,
      h: 6,
      queries: [
        prom(
          'A',
          `sum by (gateway, reason) (rate(remote_access_collect_errors_total{${GW}}[$__rate_interval]))
or on (gateway)
0 * max by (gateway) (remote_access_gateway_up{${GW}, ${KIND}})`,
          '{{gateway}} {{reason}}',
        ),
      ],
    })
      .min(0)
      .thresholds(steps(['green', null], ['red', 0.001])),
  );

  b.withRow(new RowBuilder('$gateway_kind').id(101).repeat('gateway_kind'));
  b.withPanel(
    bars(
      {
        id: 5,
        title: 'Sessions against rated, per host',
        description:
          'Live sessions of each host of this kind as a share of its rated_sessions. Orange at 80%, red at 90% (RemoteAccessGatewayNearRated fires at 90%).',
        unit: 'percentunit',
        w: 12,
        h: 7,
        queries: [
          prom(
            'A',
            `sum by (gateway) (remote_access_sessions{${GW}, ${KIND}})
/ on (gateway)
(max by (gateway) (remote_access_capacity_rated_sessions{${GW}, ${KIND}}) > 0)`,
            '{{gateway}}',
            'instant',
          ),
        ],
      },
      BarGaugeDisplayMode.Gradient,
    )
      .max(1)
      .thresholds(usageThresholds(site)),
  );
  b.withPanel(
    bars({
      id: 6,
      title: 'Sessions and rating, per host',
      description: 'Live sessions of each host of this kind on the selected tiers, beside its rated sessions.',
      unit: 'none',
      w: 12,
      h: 7,
      queries: [
        prom(
          'A',
          `sum by (gateway) (remote_access_sessions{${GW}, ${KIND}, ${sel('tier', 'tier')}})`,
          '{{gateway}} sessions',
          'instant',
        ),
        prom(
          'B',
          `max by (gateway) (remote_access_capacity_rated_sessions{${GW}, ${KIND}})`,
          '{{gateway}} rated',
          'instant',
        ),
      ],
    }).thresholds(NEUTRAL),
  );
  b.withPanel(
    panel(new TimeSeries(), {
      id: 7,
      title: 'Sessions per host and tier',
      description: 'Live sessions of each host of this kind over time, by tier.',
      unit: 'none',
      w: 24,
      h: 7,
      queries: [
        prom(
          'A',
          `sum by (gateway, tier) (remote_access_sessions{${GW}, ${KIND}, ${sel('tier', 'tier')}})`,
          '{{gateway}} {{tier}}',
        ),
      ],
    })
      .min(0)
      .thresholds(NEUTRAL),
  );

  return { file: 'gateways.json', dashboard: b.build() };
}
