import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as Stat } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeSeries } from '@grafana/grafana-foundation-sdk/timeseries';
import {
  type Board,
  bars,
  baseBoard,
  gatewayVariable,
  LAST,
  NEUTRAL,
  panel,
  prom,
  sel,
  steps,
  tierVariable,
} from './common.ts';
import type { SiteConfig } from './site.ts';

const TIER = sel('tier', 'tier');

export function onboarding(site: SiteConfig): Board {
  const b = baseBoard(site, {
    title: 'onboarding',
    uid: 'onboarding',
    description: 'Batches, revocations and the onboarding funnel: who is still not connected after onboarding?',
    tags: ['onboarding'],
    from: 'now-7d',
    variables: [gatewayVariable(), tierVariable(site)],
  });

  b.withRow(new RowBuilder('Funnel').id(100));
  b.withPanel(
    bars({
      id: 1,
      title: 'Funnel per tier',
      description:
        'Per tier: people granted, connected at least once since their grant, active in the last 7 days and in the last 24 hours.',
      unit: 'none',
      w: 12,
      h: 9,
      queries: [
        prom(
          'A',
          `sum by (tier) (remote_access_onboarding_people{stage="granted", ${TIER}})`,
          '{{tier}} granted',
          'instant',
        ),
        prom(
          'B',
          `sum by (tier) (remote_access_onboarding_people{stage="connected_once", ${TIER}})`,
          '{{tier}} first connected',
          'instant',
        ),
        prom(
          'C',
          `sum by (tier) (remote_access_onboarding_people{stage="active_7d", ${TIER}})`,
          '{{tier}} active this week',
          'instant',
        ),
        prom(
          'D',
          `sum by (tier) (remote_access_onboarding_people{stage="active_24h", ${TIER}})`,
          '{{tier}} active today',
          'instant',
        ),
      ],
    }).thresholds(NEUTRAL),
  );
  b.withPanel(
    panel(new Stat(), {
      id: 2,
      title: 'Never connected',
      description:
        'People granted who have not connected once since their grant, per tier: the list to chase after an onboarding wave (rac status shows who).',
      unit: 'none',
      w: 6,
      h: 9,
      queries: [
        prom(
          'A',
          `sum by (tier) (remote_access_onboarding_people{stage="granted", ${TIER}})
- on (tier)
sum by (tier) (remote_access_onboarding_people{stage="connected_once", ${TIER}})`,
          '{{tier}}',
          'instant',
        ),
      ],
    })
      .reduceOptions(LAST)
      .thresholds(steps(['green', null], ['orange', 1])),
  );
  b.withPanel(
    panel(new Stat(), {
      id: 3,
      title: 'Time to first connection',
      description:
        'From a person’s grant to their first live session: median and 90th percentile over everyone connected so far. Orange beyond a day, red beyond three.',
      unit: 's',
      w: 6,
      h: 9,
      queries: [
        prom(
          'A',
          'histogram_quantile(0.5, sum by (le) (remote_access_time_to_first_connection_seconds_bucket))',
          'median',
          'instant',
        ),
        prom(
          'B',
          'histogram_quantile(0.9, sum by (le) (remote_access_time_to_first_connection_seconds_bucket))',
          'p90',
          'instant',
        ),
      ],
    })
      .reduceOptions(LAST)
      .thresholds(steps(['green', null], ['orange', 86400], ['red', 3 * 86400])),
  );

  b.withRow(new RowBuilder('Batches and revocations').id(101));
  b.withPanel(
    bars({
      id: 4,
      title: 'Provisioning operations by system and result',
      description:
        'Operations recorded in the audit log since the store was created, by system (ldap, gateways, bastions) and result. Any failure is red.',
      unit: 'none',
      w: 8,
      h: 8,
      queries: [
        prom(
          'A',
          'sum by (system, result) (remote_access_provisioning_operations_total)',
          '{{system}} {{result}}',
          'instant',
        ),
      ],
    })
      .thresholds(NEUTRAL)
      .overrideByRegexp('.*(fail|error).*', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }]),
  );
  b.withPanel(
    panel(new TimeSeries(), {
      id: 5,
      title: 'Provisioning operations over time',
      description: 'Operations per hour by system and result: onboarding waves show as bursts.',
      unit: 'none',
      w: 16,
      h: 8,
      queries: [
        prom(
          'A',
          'sum by (system, result) (increase(remote_access_provisioning_operations_total[1h]))',
          '{{system}} {{result}}',
        ),
      ],
    })
      .min(0)
      .thresholds(NEUTRAL),
  );
  b.withPanel(
    panel(new Stat(), {
      id: 6,
      title: 'Batch durations',
      description:
        'Finished batches (apply, revoke, rollback) from creation to last update, including resumed runs: median and slowest bucket bound. Orange beyond 10 minutes.',
      unit: 's',
      w: 8,
      h: 6,
      queries: [
        prom(
          'A',
          'histogram_quantile(0.5, sum by (le) (remote_access_batch_duration_seconds_bucket))',
          'median',
          'instant',
        ),
        prom('B', 'histogram_quantile(1, sum by (le) (remote_access_batch_duration_seconds_bucket))', 'max', 'instant'),
        prom('C', 'sum(remote_access_batch_duration_seconds_count)', 'batches', 'instant'),
      ],
    })
      .reduceOptions(LAST)
      .thresholds(steps(['green', null], ['orange', 600])),
  );
  b.withPanel(
    panel(new Stat(), {
      id: 7,
      title: 'Revocation latency',
      description:
        'From rac revoke to verified (no access and no live session left on any host): median and 95th percentile. The goal is p95 at most 2 s; red beyond 5 s.',
      unit: 's',
      w: 8,
      h: 6,
      queries: [
        prom(
          'A',
          'histogram_quantile(0.5, sum by (le) (remote_access_revocation_seconds_bucket))',
          'median',
          'instant',
        ),
        prom('B', 'histogram_quantile(0.95, sum by (le) (remote_access_revocation_seconds_bucket))', 'p95', 'instant'),
      ],
    })
      .reduceOptions(LAST)
      .thresholds(steps(['green', null], ['orange', 2], ['red', 5])),
  );
  b.withPanel(
    bars({
      id: 8,
      title: 'Expiries ahead',
      description:
        'Grants whose access ends within 7 days, per tier (the roster’s expires column); rac expire revokes them when the date passes.',
      unit: 'none',
      w: 8,
      h: 6,
      queries: [prom('A', `sum by (tier) (remote_access_grants_expiring{${TIER}})`, '{{tier}}', 'instant')],
    }).thresholds(steps(['green', null], ['orange', 1])),
  );

  return {
    file: 'onboarding.json',
    dashboard: b.build(),
  };
}
