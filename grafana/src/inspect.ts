import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { BOARD_TAG, DATASOURCE } from './common.ts';

/**
 * Structure checks of generated boards, without a Grafana: what Grafana would reject or render
 * wrong (uids, ids, grid, data sources, variables), and what our own boards promise (a unit and a
 * description on every panel, links between boards). Used by the unit and e2e tests.
 */

export interface PanelJson {
  id?: number;
  type?: string;
  title?: string;
  description?: string;
  repeat?: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: Array<{ refId?: string; expr?: string; instant?: boolean; range?: boolean; legendFormat?: string }>;
  fieldConfig?: { defaults?: { unit?: string } };
  panels?: PanelJson[];
}

export interface VariableJson {
  type?: string;
  name?: string;
  query?: unknown;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
  options?: Array<{ value?: unknown }>;
}

export interface QueryRef {
  readonly board: string;
  readonly panelId: number;
  readonly panelTitle: string;
  readonly refId: string;
  readonly expr: string;
  readonly instant: boolean;
}

/** Variables Grafana defines itself. */
export const GRAFANA_BUILTINS: ReadonlySet<string> = new Set([
  '__interval',
  '__interval_ms',
  '__rate_interval',
  '__rate_interval_ms',
  '__range',
  '__range_s',
  '__range_ms',
  '__from',
  '__to',
  '__all',
  '__dashboard',
  '__org',
  '__user',
  '__timezone',
]);

const UID = /^[a-zA-Z0-9_-]{1,40}$/;
const GRID_COLUMNS = 24;

const panelsOf = (d: Dashboard): PanelJson[] => (d.panels ?? []) as PanelJson[];
const variablesOf = (d: Dashboard): VariableJson[] => (d.templating?.list ?? []) as VariableJson[];
const annotationsOf = (d: Dashboard) =>
  ((d.annotations as { list?: Array<{ name?: string; expr?: string; datasource?: { uid?: string } }> } | undefined)
    ?.list ?? []) as Array<{ name?: string; expr?: string; datasource?: { uid?: string } }>;

/** Every panel, rows included, with the panels of collapsed rows. */
export function allPanels(d: Dashboard): PanelJson[] {
  return panelsOf(d).flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Panels that show data (rows only group them). */
export function dataPanels(d: Dashboard): PanelJson[] {
  return allPanels(d).filter((p) => p.type !== 'row');
}

export function panelQueries(d: Dashboard): QueryRef[] {
  return dataPanels(d).flatMap((p) =>
    (p.targets ?? []).map((t) => ({
      board: d.uid ?? '',
      panelId: p.id ?? 0,
      panelTitle: p.title ?? '',
      refId: t.refId ?? '',
      expr: t.expr ?? '',
      instant: t.instant === true,
    })),
  );
}

export function annotationQueries(d: Dashboard): Array<{ name: string; expr: string }> {
  return annotationsOf(d).flatMap((a) => (a.expr ? [{ name: a.name ?? '', expr: a.expr }] : []));
}

/** Names of the variables a text refers to: `$name`, `${name}`, `${name:format}`, `[[name]]`. */
export function variableRefs(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(/\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]/g)) {
    const name = m[1] ?? m[2] ?? m[3] ?? '';
    // `$1` in a label_replace replacement is a capture group, which Grafana leaves alone.
    if (!/^\d+$/.test(name)) names.add(name);
  }
  return [...names];
}

/** Alert names the boards show (`alertname="…"` in their queries). */
export function alertNames(boards: readonly Dashboard[]): string[] {
  const names = new Set<string>();
  for (const d of boards)
    for (const q of panelQueries(d)) for (const m of q.expr.matchAll(/alertname="([^"]+)"/g)) names.add(m[1] ?? '');
  return [...names].sort();
}

const overlaps = (a: NonNullable<PanelJson['gridPos']>, b: NonNullable<PanelJson['gridPos']>) =>
  a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/** Every problem of a set of boards, each naming the board and panel (empty when all is well). */
export function boardProblems(
  boards: readonly Dashboard[],
  sdk: { readonly panelTypes: ReadonlySet<string>; readonly schemaVersion: number },
): string[] {
  const problems: string[] = [];
  const uids = new Map<string, number>();
  for (const d of boards) uids.set(d.uid ?? '', (uids.get(d.uid ?? '') ?? 0) + 1);
  for (const d of boards) {
    const at = `${d.uid ?? d.title ?? '?'}`;
    const say = (what: string) => problems.push(`${at}: ${what}`);
    if (!UID.test(d.uid ?? '')) say(`uid "${d.uid ?? ''}" must be 1 to 40 characters of [a-zA-Z0-9_-]`);
    if ((uids.get(d.uid ?? '') ?? 0) > 1) say(`uid "${d.uid}" is used by another board`);
    if (!d.title) say('no title');
    if (d.schemaVersion !== sdk.schemaVersion)
      say(`schemaVersion ${d.schemaVersion} is not the SDK's ${sdk.schemaVersion}`);
    if (!(d.tags ?? []).includes(BOARD_TAG)) say(`no "${BOARD_TAG}" tag: the links between boards would miss it`);
    const linked = (d.links ?? []).some((l) => l.type === 'dashboards' && (l.tags ?? []).includes(BOARD_TAG));
    if (!linked) say(`no link to the other "${BOARD_TAG}" boards`);

    const variables = variablesOf(d);
    const defined = new Set(variables.map((v) => v.name ?? ''));
    const ds = variables.find((v) => v.name === 'datasource');
    if (ds?.type !== 'datasource' || ds.query !== 'prometheus') say('no datasource variable of type prometheus');
    const checkRefs = (where: string, text: string) => {
      for (const name of variableRefs(text))
        if (!defined.has(name) && !GRAFANA_BUILTINS.has(name)) say(`${where} uses $${name}, which is not defined`);
    };
    for (const v of variables) if (typeof v.query === 'string') checkRefs(`variable ${v.name}`, v.query);
    for (const a of annotationsOf(d)) {
      checkRefs(`annotation "${a.name}"`, a.expr ?? '');
      if (a.datasource?.uid !== DATASOURCE.uid) say(`annotation "${a.name}" does not use $datasource`);
    }

    const ids = new Map<number, number>();
    for (const p of allPanels(d)) ids.set(p.id ?? 0, (ids.get(p.id ?? 0) ?? 0) + 1);
    const placed: Array<{ p: PanelJson; g: NonNullable<PanelJson['gridPos']> }> = [];
    for (const p of allPanels(d)) {
      const where = `panel ${p.id ?? '?'} "${p.title ?? ''}"`;
      if (!Number.isInteger(p.id) || (p.id ?? 0) < 1) say(`${where}: id must be a positive integer`);
      else if ((ids.get(p.id as number) ?? 0) > 1) say(`${where}: id ${p.id} is not unique`);
      if (!p.type || !sdk.panelTypes.has(p.type)) say(`${where}: panel type "${p.type}" is not one the SDK knows`);
      checkRefs(where, p.title ?? '');
      if (p.repeat !== undefined) {
        const v = variables.find((x) => x.name === p.repeat);
        if (!v?.multi && !v?.includeAll) say(`${where}: repeats over "${p.repeat}", not a multi-value variable`);
      }
      const g = p.gridPos;
      if (
        !g ||
        ![g.x, g.y, g.w, g.h].every(Number.isInteger) ||
        g.x < 0 ||
        g.y < 0 ||
        g.w < 1 ||
        g.h < 1 ||
        g.x + g.w > GRID_COLUMNS
      )
        say(`${where}: gridPos ${JSON.stringify(g)} is off the ${GRID_COLUMNS}-column grid`);
      else {
        for (const o of placed) if (overlaps(o.g, g)) say(`${where}: overlaps panel ${o.p.id} "${o.p.title}"`);
        placed.push({ p, g });
      }
      if (p.type === 'row') continue;
      if (p.datasource?.uid !== DATASOURCE.uid) say(`${where}: data source is not $datasource`);
      if (!p.description?.trim()) say(`${where}: no description`);
      if (!p.fieldConfig?.defaults?.unit) say(`${where}: no unit`);
      const targets = p.targets ?? [];
      if (targets.length === 0) say(`${where}: no query`);
      const refIds = new Set<string>();
      for (const t of targets) {
        if (!t.expr?.trim()) say(`${where}: query ${t.refId ?? '?'} has no expression`);
        if (!t.refId || refIds.has(t.refId)) say(`${where}: query refId "${t.refId ?? ''}" missing or repeated`);
        refIds.add(t.refId ?? '');
        checkRefs(`${where} query ${t.refId}`, `${t.expr ?? ''} ${t.legendFormat ?? ''}`);
      }
    }
  }
  return problems;
}

/**
 * What the installed Foundation SDK knows, read from the SDK itself at run time: the panel type
 * each of its panel builders produces, and the schemaVersion its dashboard builder declares.
 */
export async function sdkFacts(): Promise<{ panelTypes: Set<string>; schemaVersion: number }> {
  // The package does not export its package.json: find it from a module it does export.
  const entry = createRequire(import.meta.url).resolve('@grafana/grafana-foundation-sdk/dashboard');
  const root = entry.slice(0, entry.lastIndexOf('/dist/'));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
  const { defaultDashboard, RowBuilder } = await import('@grafana/grafana-foundation-sdk/dashboard');
  const panelTypes = new Set<string>([new RowBuilder('').build().type]);
  for (const sub of Object.keys(pkg.exports)) {
    if (!/^\.\/[a-z0-9]+$/.test(sub)) continue;
    const mod = (await import(/* @vite-ignore */ `@grafana/grafana-foundation-sdk/${sub.slice(2)}`)) as {
      PanelBuilder?: new () => { build(): { type?: string } };
    };
    if (typeof mod.PanelBuilder !== 'function') continue;
    const type = new mod.PanelBuilder().build().type;
    if (type) panelTypes.add(type);
  }
  return { panelTypes, schemaVersion: defaultDashboard().schemaVersion };
}

/** A variable's selection: All (its allValue), or the values picked. */
export type Selection = 'all' | readonly string[];

const escapeRegex = (v: string) => v.replace(/[\\^$*+?.()|[\]{}]/g, '\\$&');

/**
 * A query as Grafana sends it to Prometheus: `$var` / `${var}` / `[[var]]` replaced by the
 * selection (All → the variable's allValue; several values → `(a|b)`, regex-escaped, as Grafana
 * formats multi-value variables for PromQL), Grafana's own variables by `builtins`. A variable
 * without a selection is an error, naming it.
 */
export function interpolate(
  expr: string,
  variables: readonly VariableJson[],
  selection: Readonly<Record<string, Selection>>,
  builtins: Readonly<Record<string, string>>,
): string {
  return expr.replace(/\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]/g, (whole, a, b, c) => {
    const name = (a ?? b ?? c) as string;
    if (/^\d+$/.test(name)) return whole;
    if (name in builtins) return builtins[name] as string;
    const picked = selection[name];
    const v = variables.find((x) => x.name === name);
    if (picked === undefined || v === undefined) throw new Error(`no value for $${name} in ${expr}`);
    if (picked === 'all')
      return v.allValue ?? `(${(v.options ?? []).map((o) => escapeRegex(String(o.value))).join('|')})`;
    if (picked.length === 1) return escapeRegex(picked[0] as string);
    return `(${picked.map(escapeRegex).join('|')})`;
  });
}
