import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildBoards, renderBoard } from '../../grafana/src/boards.ts';
import { HOME_ALERTS } from '../../grafana/src/capacity-home.ts';
import {
  alertNames,
  boardProblems,
  dataPanels,
  interpolate,
  type PanelJson,
  panelQueries,
  sdkFacts,
  variableRefs,
} from '../../grafana/src/inspect.ts';
import { DEFAULT_SITE, type SiteConfig, siteProblems } from '../../grafana/src/site.ts';

const root = join(import.meta.dirname, '..', '..');
const out = join(root, 'grafana', 'dashboards');
const boards = buildBoards();
const committed = (): Dashboard[] =>
  boards.map((b) => JSON.parse(readFileSync(join(out, b.file), 'utf8')) as Dashboard);

let sdk: Awaited<ReturnType<typeof sdkFacts>>;
beforeAll(async () => {
  sdk = await sdkFacts();
});

/** The committed boards, one of them changed by `mutate`; returns the problems found. */
function problemsAfter(mutate: (boards: Dashboard[]) => void): string[] {
  const copy = committed();
  mutate(copy);
  return boardProblems(copy, sdk);
}
const home = (list: Dashboard[]) => list[0] as Dashboard;
const panelOf = (d: Dashboard, id: number) => dataPanels(d).find((p) => p.id === id) as PanelJson;

describe('generated boards', () => {
  it('the committed JSON is exactly what npm run dashboards writes', () => {
    for (const b of boards) expect(readFileSync(join(out, b.file), 'utf8'), b.file).toBe(renderBoard(b));
    expect(readdirSync(out).sort()).toEqual(boards.map((b) => b.file).sort());
  });

  it('are four boards with stable uids', () => {
    expect(boards.map((b) => b.dashboard.uid)).toEqual([
      'rac-capacity',
      'rac-gateways',
      'rac-onboarding',
      'rac-capacity-checks',
    ]);
  });

  it('pass every structure check', () => {
    expect(boardProblems(committed(), sdk)).toEqual([]);
  });

  it('declare the schemaVersion of the SDK and use only panel types it knows', () => {
    expect(sdk.schemaVersion).toBe(42);
    expect(sdk.panelTypes).toContain('timeseries');
    for (const d of committed()) {
      expect(d.schemaVersion).toBe(sdk.schemaVersion);
      for (const p of dataPanels(d)) expect(sdk.panelTypes).toContain(p.type);
    }
  });

  it('have variables for datasource, gateway and tier everywhere, and testid on the checks board', () => {
    for (const d of committed()) {
      const names = (d.templating.list ?? []).map((v) => v.name);
      expect(names, d.uid).toEqual(expect.arrayContaining(['datasource', 'gateway', 'tier']));
    }
    expect((committed()[3]?.templating.list ?? []).map((v) => v.name)).toContain('testid');
  });

  it('annotate topology changes and capacity checks on the home and checks boards', () => {
    for (const d of [committed()[0], committed()[3]])
      expect((d?.annotations.list ?? []).map((a) => a.name)).toEqual(['Topology changes', 'Capacity checks']);
  });

  it('repeat a row per gateway kind on the gateways board', () => {
    const rows = (committed()[1]?.panels ?? []) as PanelJson[];
    expect(rows.find((p) => p.type === 'row' && p.repeat === 'gateway_kind')).toBeDefined();
  });

  it('show every remote_access alert of infra/prometheus/rules.yml, and only those', () => {
    const rules = parse(readFileSync(join(root, 'infra/prometheus/rules.yml'), 'utf8')) as {
      groups: { rules: { alert?: string }[] }[];
    };
    const defined = new Set(rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : []))));
    const shown = alertNames(committed());
    expect(shown.filter((n) => !defined.has(n))).toEqual([]);
    expect(shown).toEqual([...defined].sort());
    expect([...HOME_ALERTS].sort()).toEqual(shown);
  });

  it('are functions of the site config', () => {
    const site: SiteConfig = {
      ...DEFAULT_SITE,
      uidPrefix: 'hq',
      titlePrefix: 'HQ',
      targetSessions: 8000,
      enforcers: [...DEFAULT_SITE.enforcers, { title: 'Lab', kinds: ['lab'] }],
    };
    const other = buildBoards(site).map((b) => b.dashboard);
    expect(other.map((d) => d.uid)).toEqual(['hq-capacity', 'hq-gateways', 'hq-onboarding', 'hq-capacity-checks']);
    expect(boardProblems(other, sdk)).toEqual([]);
    const binding = panelQueries(other[0] as Dashboard).find((q) => q.panelId === 11);
    expect(binding?.expr).toContain('"enforcer", "Lab"');
    expect(binding?.expr).toContain('gateway_kind!~"openvpn|wireguard|bastion|proxy|lab"');
    const thresholds = (panelOf(other[0] as Dashboard, 1) as { fieldConfig: { defaults: { thresholds: unknown } } })
      .fieldConfig.defaults.thresholds;
    expect(JSON.stringify(thresholds)).toContain('6400');
  });

  it('refuse a bad site config, naming every problem', () => {
    const bad: SiteConfig = {
      ...DEFAULT_SITE,
      uidPrefix: 'a-prefix-far-too-long',
      targetSessions: 0,
      tiers: ['VPN Users'],
      warnRatio: 0.95,
    };
    expect(siteProblems(DEFAULT_SITE)).toEqual([]);
    expect(siteProblems(bad).map((p) => p.split(':')[0])).toEqual([
      'uidPrefix',
      'targetSessions',
      'tiers.0',
      'warnRatio, criticalRatio',
    ]);
    expect(() => buildBoards(bad)).toThrow(/invalid site config:\n {2}uidPrefix/);
  });
});

describe('structure checks catch what they claim to (each on a broken copy of the real boards)', () => {
  it('a uid over 40 characters or with other characters', () => {
    expect(
      problemsAfter((l) => {
        home(l).uid = 'x'.repeat(41);
      }),
    ).toEqual([`${'x'.repeat(41)}: uid "${'x'.repeat(41)}" must be 1 to 40 characters of [a-zA-Z0-9_-]`]);
    expect(
      problemsAfter((l) => {
        home(l).uid = 'rac/capacity';
      }),
    ).toHaveLength(1);
  });

  it('two boards with the same uid', () => {
    const problems = problemsAfter((l) => {
      (l[1] as Dashboard).uid = 'rac-capacity';
    });
    expect(problems).toEqual([
      'rac-capacity: uid "rac-capacity" is used by another board',
      'rac-capacity: uid "rac-capacity" is used by another board',
    ]);
  });

  it('two panels with the same id, or a panel without one', () => {
    expect(
      problemsAfter((l) => {
        panelOf(home(l), 2).id = 1;
      }),
    ).toEqual([
      'rac-capacity: panel 1 "Sessions now": id 1 is not unique',
      'rac-capacity: panel 1 "Sessions against target and verified capacity": id 1 is not unique',
    ]);
    expect(
      problemsAfter((l) => {
        delete panelOf(home(l), 2).id;
      }),
    ).toEqual(['rac-capacity: panel ? "Sessions against target and verified capacity": id must be a positive integer']);
  });

  it('a panel without the datasource variable, or without a query', () => {
    expect(
      problemsAfter((l) => {
        delete panelOf(home(l), 3).datasource;
      }),
    ).toEqual(['rac-capacity: panel 3 "Capacity": data source is not $datasource']);
    expect(
      problemsAfter((l) => {
        panelOf(home(l), 3).targets = [];
      }),
    ).toEqual(['rac-capacity: panel 3 "Capacity": no query']);
  });

  it('a query using a variable the board does not define', () => {
    expect(
      problemsAfter((l) => {
        const t = panelOf(home(l), 1).targets?.[0];
        if (t) t.expr = 'sum(remote_access_sessions{site=~"$site"})';
      }),
    ).toEqual(['rac-capacity: panel 1 "Sessions now" query A uses $site, which is not defined']);
  });

  it('a panel without a unit or a description', () => {
    expect(
      problemsAfter((l) => {
        const p = panelOf(home(l), 5) as PanelJson & { fieldConfig: { defaults: { unit?: string } } };
        delete p.fieldConfig.defaults.unit;
        p.description = ' ';
      }),
    ).toEqual(['rac-capacity: panel 5 "Headroom": no description', 'rac-capacity: panel 5 "Headroom": no unit']);
  });

  it('a panel off the grid, or on top of another', () => {
    expect(
      problemsAfter((l) => {
        const p = panelOf(home(l), 14);
        p.gridPos = { ...(p.gridPos as NonNullable<PanelJson['gridPos']>), x: 4 };
      }),
    ).toEqual([
      expect.stringMatching(/^rac-capacity: panel 14 "Remote-access alerts": gridPos .* is off the 24-column grid$/),
    ]);
    expect(
      problemsAfter((l) => {
        const p = panelOf(home(l), 2);
        p.gridPos = { ...(panelOf(home(l), 1).gridPos as NonNullable<PanelJson['gridPos']>) };
      }),
    ).toEqual([
      'rac-capacity: panel 2 "Sessions against target and verified capacity": overlaps panel 1 "Sessions now"',
    ]);
  });

  it('a panel type the SDK does not know', () => {
    expect(
      problemsAfter((l) => {
        panelOf(home(l), 1).type = 'singlestat';
      }),
    ).toEqual(['rac-capacity: panel 1 "Sessions now": panel type "singlestat" is not one the SDK knows']);
  });

  it('another schemaVersion than the SDK declares', () => {
    expect(
      problemsAfter((l) => {
        home(l).schemaVersion = 39;
      }),
    ).toEqual(["rac-capacity: schemaVersion 39 is not the SDK's 42"]);
  });

  it('a repeat over a single-value variable, and a board without links', () => {
    expect(
      problemsAfter((l) => {
        const row = ((l[1] as Dashboard).panels as PanelJson[]).find((p) => p.repeat);
        if (row) row.repeat = 'datasource';
      }),
    ).toEqual(['rac-gateways: panel 101 "$gateway_kind": repeats over "datasource", not a multi-value variable']);
    expect(
      problemsAfter((l) => {
        (l[2] as Dashboard).links = [];
      }),
    ).toEqual(['rac-onboarding: no link to the other "remote-access" boards']);
  });
});

describe('the remaining structure checks, each on a broken copy', () => {
  const cases: Array<[string, (l: Dashboard[]) => void, string]> = [
    [
      'no title',
      (l) => {
        home(l).title = '';
      },
      'rac-capacity: no title',
    ],
    [
      'no board tag',
      (l) => {
        home(l).tags = ['capacity'];
      },
      'rac-capacity: no "remote-access" tag: the links between boards would miss it',
    ],
    [
      'no datasource variable',
      (l) => {
        home(l).templating.list = (home(l).templating.list ?? []).filter((v) => v.name !== 'datasource');
      },
      'rac-capacity: no datasource variable of type prometheus',
    ],
    [
      'an annotation on another data source',
      (l) => {
        const a = home(l).annotations.list?.[0];
        if (a) a.datasource = { type: 'prometheus', uid: 'other' };
      },
      'rac-capacity: annotation "Topology changes" does not use $datasource',
    ],
    [
      'an annotation using an undefined variable',
      (l) => {
        const a = home(l).annotations.list?.[1];
        if (a) (a as { expr?: string }).expr = 'max(x{site="$site"})';
      },
      'rac-capacity: annotation "Capacity checks" uses $site, which is not defined',
    ],
    [
      'an empty expression',
      (l) => {
        const t = panelOf(home(l), 5).targets?.[0];
        if (t) t.expr = '';
      },
      'rac-capacity: panel 5 "Headroom": query A has no expression',
    ],
    [
      'a repeated refId',
      (l) => {
        const t = panelOf(home(l), 3).targets?.[1];
        if (t) t.refId = 'A';
      },
      'rac-capacity: panel 3 "Capacity": query refId "A" missing or repeated',
    ],
  ];
  it.each(cases)('%s', (_name, mutate, problem) => {
    expect(problemsAfter(mutate)).toEqual([problem]);
  });
});

describe('variable references', () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana variable syntax, not a JS template
  it('finds $name, ${name}, ${name:format} and [[name]], and not capture groups like $1', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana variable syntax, not a JS template
    expect(variableRefs('a{x=~"$tier", y="${gateway}", z="${testid:regex}"} [[old]] "$1" $__rate_interval')).toEqual([
      'tier',
      'gateway',
      'testid',
      'old',
      '__rate_interval',
    ]);
  });
});

describe('provisioning files', () => {
  it('point Grafana at the data source uid the boards start on, and at the board files', () => {
    const ds = parse(readFileSync(join(root, 'grafana/provisioning/datasources/remote-access.yaml'), 'utf8')) as {
      apiVersion: number;
      datasources: { type: string; uid: string }[];
    };
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources).toEqual([expect.objectContaining({ type: 'prometheus', uid: DEFAULT_SITE.datasourceUid })]);
    for (const d of committed()) {
      const variable = (d.templating.list ?? []).find((v) => v.name === 'datasource');
      expect(variable?.current?.value).toBe(DEFAULT_SITE.datasourceUid);
    }
    const dash = parse(readFileSync(join(root, 'grafana/provisioning/dashboards/remote-access.yaml'), 'utf8')) as {
      apiVersion: number;
      providers: { type: string; options: { path: string } }[];
    };
    expect(dash.apiVersion).toBe(1);
    expect(dash.providers).toEqual([expect.objectContaining({ type: 'file' })]);
  });
});

describe('interpolation as Grafana does it for PromQL', () => {
  const variables = [
    { name: 'tier', multi: true, includeAll: true, allValue: '.*' },
    { name: 'gateway', multi: true, includeAll: true, allValue: '.*' },
  ];
  const expr =
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana variable syntax, not a JS template
    'sum(x{tier=~"$tier", gateway=~"${gateway}"}[$__rate_interval]) / label_replace(y, "a", "$1", "b", "(.+)")';

  it('puts All, one value and several values in the shape Grafana sends', () => {
    expect(interpolate(expr, variables, { tier: 'all', gateway: ['gw-1'] }, { __rate_interval: '1m' })).toBe(
      'sum(x{tier=~".*", gateway=~"gw-1"}[1m]) / label_replace(y, "a", "$1", "b", "(.+)")',
    );
    expect(interpolate(expr, variables, { tier: ['vpn', 'vpn.x'], gateway: 'all' }, { __rate_interval: '1m' })).toBe(
      'sum(x{tier=~"(vpn|vpn\\.x)", gateway=~".*"}[1m]) / label_replace(y, "a", "$1", "b", "(.+)")',
    );
  });

  it('refuses a variable it has no value for', () => {
    expect(() => interpolate(expr, variables, { tier: 'all' }, { __rate_interval: '1m' })).toThrow(
      /no value for \$gateway/,
    );
  });
});
