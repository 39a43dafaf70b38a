import { PanelBuilder as BarGauge } from '@grafana/grafana-foundation-sdk/bargauge';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import { BarGaugeDisplayMode, ReduceDataOptionsBuilder, VizOrientation } from '@grafana/grafana-foundation-sdk/common';
import {
  AnnotationQueryBuilder,
  CustomVariableBuilder,
  type Dashboard,
  DashboardBuilder,
  DashboardLinkBuilder,
  DashboardLinkType,
  DatasourceVariableBuilder,
  MappingType,
  QueryVariableBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type ValueMapping,
  type VariableModel,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import type { SiteConfig } from './site.ts';

/** A generated board: the file it is written to under grafana/dashboards/, and the dashboard. */
export interface Board {
  readonly file: string;
  readonly dashboard: Dashboard;
}

/** Every board shares this tag: the links between boards follow it. */
export const BOARD_TAG = 'remote-access';

/** Every panel and annotation queries the data source picked in the `datasource` variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable reference, not a JS template
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

/** What every panel builder of the SDK offers (each panel kind has its own class). */
interface PanelLike<T> {
  id(id: number): T;
  title(title: string): T;
  description(description: string): T;
  datasource(datasource: { type?: string; uid?: string }): T;
  unit(unit: string): T;
  span(w: number): T;
  height(h: number): T;
  withTarget(target: cog.Builder<cog.Dataquery>): T;
}

export interface PanelSpec {
  readonly id: number;
  readonly title: string;
  readonly description: string;
  readonly unit: string;
  readonly w: number;
  readonly h: number;
  readonly queries: readonly DataqueryBuilder[];
}

/** Applies what every panel must have: stable id, title, description, unit, data source, queries, size. */
export function panel<T extends PanelLike<T>>(builder: T, spec: PanelSpec): T {
  let b = builder
    .id(spec.id)
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .unit(spec.unit)
    .span(spec.w)
    .height(spec.h);
  for (const q of spec.queries) b = b.withTarget(q);
  return b;
}

/** The boards' bar gauge: one horizontal bar per series, from 0, showing its last value. */
export function bars(spec: PanelSpec, mode: BarGaugeDisplayMode = BarGaugeDisplayMode.Basic): BarGauge {
  return panel(new BarGauge(), spec)
    .reduceOptions(LAST)
    .displayMode(mode)
    .orientation(VizOrientation.Horizontal)
    .min(0);
}

/** A PromQL query; refIds are given in order A, B, C… by the caller. */
export function prom(
  refId: string,
  expr: string,
  legend: string,
  mode: 'range' | 'instant' = 'range',
): DataqueryBuilder {
  const q = new DataqueryBuilder().refId(refId).expr(expr).legendFormat(legend);
  return mode === 'instant' ? q.instant() : q.range();
}

export const LAST = new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);

/** Absolute thresholds from [color, from] steps (the first step has no lower bound). */
export function steps(...list: ReadonlyArray<readonly [string, number | null]>): ThresholdsConfigBuilder {
  return new ThresholdsConfigBuilder()
    .mode(ThresholdsMode.Absolute)
    .steps(list.map(([color, value]) => ({ color, value })));
}

/** Green, then orange at the warning share, red at the critical share of `limit` (1 for ratios). */
export function usageThresholds(site: SiteConfig, limit = 1): ThresholdsConfigBuilder {
  return steps(['green', null], ['orange', site.warnRatio * limit], ['red', site.criticalRatio * limit]);
}

/** No colours: a plain figure whose level means nothing on its own. */
export const NEUTRAL = steps(['blue', null]);

export function valueText(entries: Record<string, { text: string; color: string }>): ValueMapping[] {
  return [
    {
      type: MappingType.ValueToText,
      options: Object.fromEntries(Object.entries(entries).map(([k, v], index) => [k, { ...v, index }])),
    },
  ];
}

/** A `label="$var"`-style regex matcher for multi-value variables (All is `.*`). */
export const sel = (label: string, variable: string) => `${label}=~"$${variable}"`;

export function datasourceVariable(site: SiteConfig) {
  return new DatasourceVariableBuilder('datasource')
    .label('Data source')
    .type('prometheus')
    .current({ text: site.datasourceUid, value: site.datasourceUid });
}

function labelVariable(name: string, label: string, query: string) {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ text: 'All', value: '$__all' });
}

export const gatewayVariable = () =>
  labelVariable('gateway', 'Gateway', 'label_values(remote_access_gateway_up, gateway)');

export const gatewayKindVariable = () =>
  labelVariable('gateway_kind', 'Gateway kind', 'label_values(remote_access_gateway_up, gateway_kind)');

/** The tiers of the site, plus `unknown` (sessions of people rac holds no grant for). */
export function tierVariable(site: SiteConfig) {
  const values = [...site.tiers, 'unknown'];
  return new CustomVariableBuilder('tier')
    .label('Tier')
    .values(values.join(','))
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ text: 'All', value: '$__all' })
    .options(values.map((v) => ({ text: v, value: v, selected: false })));
}

export const testidVariable = () =>
  new QueryVariableBuilder('testid')
    .label('k6 test id')
    .description('The testid tag of the k6 run (k6 run --tag testid=…)')
    .datasource(DATASOURCE)
    .query('label_values(k6_vus, testid)')
    .definition('label_values(k6_vus, testid)')
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalDesc)
    .multi(true)
    .includeAll(false);

/** One drop-down of every board of the set, keeping the time range and the variables. */
export function boardLinks() {
  return new DashboardLinkBuilder('Remote access boards')
    .type(DashboardLinkType.Dashboards)
    .tags([BOARD_TAG])
    .asDropdown(true)
    .includeVars(true)
    .keepTime(true)
    .targetBlank(false)
    .icon('external link')
    .tooltip('Other remote-access boards');
}

/** What sets one board apart in the header every board shares. */
export interface BoardHeader {
  /** After the site's title prefix, e.g. `capacity` → "<prefix> capacity". */
  readonly title: string;
  /** After the site's uid prefix, e.g. `capacity` → "<prefix>-capacity". */
  readonly uid: string;
  readonly description: string;
  /** Besides BOARD_TAG, which every board carries first. */
  readonly tags: readonly string[];
  /** The default time range's start, up to now (e.g. `now-6h`). */
  readonly from: string;
  /** The board's variables after the data source one, in order. */
  readonly variables: ReadonlyArray<cog.Builder<VariableModel>>;
}

/**
 * The header every board shares: title, uid, description, tags, refresh, time range, browser
 * time zone, read-only, the data source variable then the board's own, and the links between boards.
 */
export function baseBoard(site: SiteConfig, header: BoardHeader): DashboardBuilder {
  let b = new DashboardBuilder(`${site.titlePrefix} ${header.title}`)
    .uid(`${site.uidPrefix}-${header.uid}`)
    .description(header.description)
    .tags([BOARD_TAG, ...header.tags])
    .refresh(site.refresh)
    .time({ from: header.from, to: 'now' })
    .timezone('browser')
    .readonly()
    .withVariable(datasourceVariable(site));
  for (const variable of header.variables) b = b.withVariable(variable);
  return b.link(boardLinks());
}

/** Topology changes and verified capacity checks, as annotations from the exporter's timestamps. */
export function capacityAnnotations() {
  return [
    new AnnotationQueryBuilder()
      .name('Topology changes')
      .datasource(DATASOURCE)
      .enable(true)
      .iconColor('orange')
      .expr('max(remote_access_capacity_topology_changed_timestamp_seconds) * 1000')
      .useValueForTime(true)
      .step('1m')
      .titleFormat('Gateway topology changed')
      .textFormat('capacity unverified until a passing check is recorded'),
    new AnnotationQueryBuilder()
      .name('Capacity checks')
      .datasource(DATASOURCE)
      .enable(true)
      .iconColor('green')
      .expr('max by (topology) (remote_access_capacity_verified_timestamp_seconds) * 1000')
      .useValueForTime(true)
      .step('1m')
      .titleFormat('Capacity verified')
      .textFormat('passing capacity check of topology {{topology}}'),
  ];
}
