import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as Stat } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeSeries } from '@grafana/grafana-foundation-sdk/timeseries';
import { VPN_SESSIONS } from './capacity-home.ts';
import {
  type Board,
  baseBoard,
  capacityAnnotations,
  gatewayVariable,
  LAST,
  NEUTRAL,
  panel,
  prom,
  sel,
  steps,
  testidVariable,
  tierVariable,
  usageThresholds,
} from './common.ts';
import type { SiteConfig } from './site.ts';

/**
 * k6 results as its Prometheus remote-write output names them: `k6_` prefix, Counter → `_total`,
 * Rate → `_rate`, Trend → one gauge per stat (`_p95`, `_p99`, …) in seconds, the run's tags
 * (`--tag testid=…`) as labels.
 */
const TEST = sel('testid', 'testid');

export function capacityChecks(site: SiteConfig): Board {
  const b = baseBoard(site, {
    title: 'capacity checks',
    uid: 'capacity-checks',
    description:
      'k6 capacity checks (remote write, filtered by testid) beside the sessions rac serve saw during the same window.',
    tags: ['k6', 'capacity'],
    from: 'now-3h',
    variables: [testidVariable(), gatewayVariable(), tierVariable(site)],
  }).annotations(capacityAnnotations());

  b.withRow(new RowBuilder('Load and sessions').id(100));
  b.withPanel(
    panel(new TimeSeries(), {
      id: 1,
      title: 'k6 virtual users and sessions seen',
      description:
        'k6 virtual users of the selected runs, beside the live VPN sessions rac serve counted on the selected gateways and tiers. A check proves capacity only when the sessions seen reach the target while the thresholds hold.',
      unit: 'none',
      w: 16,
      h: 9,
      queries: [
        prom('A', `sum by (testid) (k6_vus{${TEST}})`, 'k6 VUs {{testid}}'),
        prom('B', VPN_SESSIONS, 'sessions seen'),
        prom('C', 'max(remote_access_capacity_target_sessions)', 'target'),
      ],
    })
      .min(0)
      .thresholds(usageThresholds(site, site.targetSessions))
      .overrideByQuery('C', [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }]),
  );
  b.withPanel(
    panel(new Stat(), {
      id: 2,
      title: 'Peak sessions seen',
      description:
        'The most live VPN sessions rac serve counted in the time range, against the target: orange and red at 80 and 90% (the check must reach the target).',
      unit: 'none',
      w: 4,
      h: 9,
      queries: [prom('A', 'max_over_time(remote_access:sessions:sum[$__range])', 'peak', 'instant')],
    })
      .reduceOptions(LAST)
      .thresholds(usageThresholds(site, site.targetSessions)),
  );
  b.withPanel(
    panel(new Stat(), {
      id: 3,
      title: 'Verified capacity',
      description: 'Sessions proven by the last passing check of the current topology; UNVERIFIED when none covers it.',
      unit: 'none',
      w: 4,
      h: 9,
      queries: [prom('A', 'max(remote_access_capacity_verified_sessions)', 'verified', 'instant')],
    })
      .reduceOptions(LAST)
      .noValue('UNVERIFIED')
      .thresholds(NEUTRAL),
  );

  b.withRow(new RowBuilder('k6 results').id(101));
  b.withPanel(
    panel(new TimeSeries(), {
      id: 4,
      title: 'Request duration p95 and p99',
      description:
        'k6 http_req_duration (login, portal and API requests), 95th and 99th percentile per run, in seconds (k6_http_req_duration_p95/_p99). Orange beyond 0.5 s, red beyond 1 s.',
      unit: 's',
      w: 12,
      h: 8,
      queries: [
        prom('A', `max by (testid) (k6_http_req_duration_p95{${TEST}})`, 'p95 {{testid}}'),
        prom('B', `max by (testid) (k6_http_req_duration_p99{${TEST}})`, 'p99 {{testid}}'),
      ],
    })
      .min(0)
      .thresholds(steps(['green', null], ['orange', 0.5], ['red', 1])),
  );
  b.withPanel(
    panel(new TimeSeries(), {
      id: 5,
      title: 'Requests per second',
      description: 'k6 HTTP requests per second, per run (k6_http_reqs_total).',
      unit: 'reqps',
      w: 12,
      h: 8,
      queries: [prom('A', `sum by (testid) (rate(k6_http_reqs_total{${TEST}}[$__rate_interval]))`, '{{testid}}')],
    })
      .min(0)
      .thresholds(NEUTRAL),
  );
  b.withPanel(
    panel(new Stat(), {
      id: 6,
      title: 'Checks passed',
      description: 'Share of k6 checks that passed (k6_checks_rate). Red below 99%, orange below 99.5%.',
      unit: 'percentunit',
      w: 6,
      h: 6,
      queries: [prom('A', `min by (testid) (k6_checks_rate{${TEST}})`, '{{testid}}', 'instant')],
    })
      .reduceOptions(LAST)
      .min(0)
      .max(1)
      .thresholds(steps(['red', null], ['orange', 0.99], ['green', 0.995])),
  );
  b.withPanel(
    panel(new Stat(), {
      id: 7,
      title: 'Failed requests',
      description: 'Share of k6 HTTP requests that failed (k6_http_req_failed_rate). Orange from 0.5%, red from 1%.',
      unit: 'percentunit',
      w: 6,
      h: 6,
      queries: [prom('A', `max by (testid) (k6_http_req_failed_rate{${TEST}})`, '{{testid}}', 'instant')],
    })
      .reduceOptions(LAST)
      .min(0)
      .thresholds(steps(['green', null], ['orange', 0.005], ['red', 0.01])),
  );
  b.withPanel(
    panel(new Stat(), {
      id: 8,
      title: 'Iterations and dropped iterations',
      description:
        'k6 iterations completed and dropped (k6_iterations_total, k6_dropped_iterations_total): any dropped iteration means the load generator ran out of VUs and the check did not offer the load it claims.',
      unit: 'none',
      w: 12,
      h: 6,
      queries: [
        prom('A', `sum(max_over_time(k6_iterations_total{${TEST}}[$__range]))`, 'iterations', 'instant'),
        prom('B', `sum(max_over_time(k6_dropped_iterations_total{${TEST}}[$__range]))`, 'dropped', 'instant'),
      ],
    })
      .reduceOptions(LAST)
      .thresholds(NEUTRAL)
      .overrideByQuery('B', [
        {
          id: 'thresholds',
          value: {
            mode: 'absolute',
            steps: [
              { color: 'green', value: null },
              { color: 'red', value: 1 },
            ],
          },
        },
        { id: 'color', value: { mode: 'thresholds' } },
      ]),
  );

  return { file: 'capacity-checks.json', dashboard: b.build() };
}
