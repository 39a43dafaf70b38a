import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBoards } from '../../grafana/src/boards.ts';
import {
  annotationQueries,
  interpolate,
  panelQueries,
  type QueryRef,
  type Selection,
  type VariableJson,
} from '../../grafana/src/inspect.ts';
import { type HeldSession, sshLogin } from '../../infra/local/bastion-host.ts';
import { generateCompany } from '../../infra/local/company.ts';
import { freePort, type LocalPrometheus, startPrometheus } from '../../infra/local/prometheus.ts';
import { type LocalStack, startStack } from '../../infra/local/stack.ts';
import { connectVpnClients, stopVpnClients, type VpnClient } from '../../infra/local/vpn-clients.ts';
import { rosterFor } from '../../infra/local/workspace.ts';
import { loadConfig } from '../../src/config/load.ts';
import { topologyDigest } from '../../src/services/capacity-limit.ts';
import { K6_RUN_VALUES, k6RemoteWrite } from '../support/k6-remote-write.ts';
import { type RacServe, runRac, startRacServe } from '../support/rac-env.ts';

// One small stack: 1 OpenVPN gateway, 1 bastion, 6 real VPN clients (one then revoked) and 2 real
// bastion logins. Every query of every board runs against the real Prometheus that scrapes it.
const company = generateCompany(20, { seed: 1212 });
const vpnPeople = company.slice(0, 8);
const bastionPeople = company.slice(8, 10);
const publicPeople = company.slice(10, 13);
const connecting = vpnPeople.slice(0, 6);
const revoked = connecting[5];
const LIVE_VPN_SESSIONS = 5;
const VERIFIED = 40;
const TESTID = 'capacity-check-e2e';
const inThreeDays = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
const expiring = new Set(vpnPeople.slice(6, 8).map((p) => p.uid));

// Grafana's own variables, as Grafana fills them for a 1-hour range and a 15 s step.
const BUILTINS = { __rate_interval: '1m', __interval: '15s', __range: '1h', __range_s: '3600' };

type Sample = { metric: Record<string, string>; value?: [number, string]; values?: Array<[number, string]> };

describe('every board query on a real Prometheus scraping a real rac serve', () => {
  let stack: LocalStack;
  let dir: string;
  let serve: RacServe;
  let prometheus: LocalPrometheus;
  const clients: VpnClient[] = [];
  const held: HeldSession[] = [];
  const boards = buildBoards().map((b) => b.dashboard);
  const variableValues = new Map<string, string[]>();

  async function api(path: string, params: Record<string, string>): Promise<{ result: Sample[] }> {
    const res = await fetch(`${prometheus.url}${path}?${new URLSearchParams(params)}`);
    const body = (await res.json()) as { status: string; data: { result: Sample[] }; error?: string };
    if (body.status !== 'success') throw new Error(body.error ?? `status ${body.status}`);
    return body.data;
  }

  /** Runs a query the way its panel asks for it (instant, or range over the last 10 minutes). */
  async function run(expr: string, instant: boolean): Promise<Sample[]> {
    const now = Date.now() / 1000;
    return instant
      ? (await api('/api/v1/query', { query: expr, time: String(now) })).result
      : (await api('/api/v1/query_range', { query: expr, start: String(now - 600), end: String(now), step: '15' }))
          .result;
  }

  const hasData = (result: Sample[]) =>
    result.some((s) =>
      [...(s.value ? [s.value] : []), ...(s.values ?? [])].some(([, v]) => Number.isFinite(Number(v))),
    );

  /** label_values(metric, label) as Grafana's Prometheus data source resolves it. */
  async function resolveVariable(v: VariableJson): Promise<string[]> {
    const m = /^label_values\((\w+),\s*(\w+)\)$/.exec(String(v.query));
    if (!m) throw new Error(`variable ${v.name}: cannot resolve ${String(v.query)}`);
    const now = Date.now() / 1000;
    const res = await fetch(
      `${prometheus.url}/api/v1/series?${new URLSearchParams({ 'match[]': m[1] as string, start: String(now - 3600), end: String(now) })}`,
    );
    const body = (await res.json()) as { data: Array<Record<string, string>> };
    return [...new Set(body.data.map((s) => s[m[2] as string]).filter((x): x is string => x !== undefined))].sort();
  }

  const variablesOf = (d: Dashboard) => (d.templating.list ?? []) as VariableJson[];

  /** All of every variable (its allValue), or every value where the variable has no All. */
  function allSelected(d: Dashboard): Record<string, Selection> {
    return Object.fromEntries(
      variablesOf(d)
        .filter((v) => v.type !== 'datasource')
        .map((v) => [v.name as string, v.includeAll ? 'all' : (variableValues.get(v.name as string) ?? [])]),
    );
  }

  function valuesOf(v: VariableJson): string[] {
    if (v.type === 'custom') return (v.options ?? []).map((o) => String(o.value));
    return variableValues.get(v.name as string) ?? [];
  }

  beforeAll(async () => {
    stack = await startStack({ people: company, gateways: 1, bastions: 1 });
    dir = mkdtempSync(join(tmpdir(), 'rac-boards-'));
    const keyFiles = new Map<string, string>();
    for (const p of bastionPeople) {
      const file = join(dir, `${p.uid}.key`);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
      keyFiles.set(p.uid, file);
    }
    const port = await freePort();
    writeFileSync(
      join(dir, 'rac.yaml'),
      `${stack.config({ sshTimeoutMs: 5000 })}collector: { interval_seconds: 1 }\nhttp: { listen: "127.0.0.1:${port}" }\n`,
    );
    writeFileSync(join(dir, 'policy.yaml'), 'default: { tier: public, max: vpn-bastion }\nrules: []\n');
    writeFileSync(
      join(dir, 'roster.csv'),
      rosterFor([...vpnPeople, ...bastionPeople, ...publicPeople], (p) =>
        bastionPeople.includes(p)
          ? { tier: 'vpn-bastion', ssh_key: readFileSync(`${keyFiles.get(p.uid)}.pub`, 'utf8').trim() }
          : publicPeople.includes(p)
            ? { tier: 'public' }
            : { tier: 'vpn', ...(expiring.has(p.uid) ? { expires: inThreeDays } : {}) },
      ),
    );
    const applied = await runRac(dir, ['apply', 'roster.csv', '--yes']);
    if (applied.code !== 0) throw new Error(`apply failed: ${applied.stdout}${applied.stderr}`);

    // A passing capacity check of this topology, as the store keeps it (rac has no command to
    // record one yet): the verified series, the check's age and its annotation then have data.
    const { config } = loadConfig({ path: join(dir, 'rac.yaml'), env: {} });
    const db = new DatabaseSync(join(dir, 'rac.db'));
    db.prepare(
      'INSERT INTO capacity_checks (id, at, topology, verified_sessions, passed, summary) VALUES (?, ?, ?, ?, 1, ?)',
    ).run('check-e2e', new Date(Date.now() - 3_600_000).toISOString(), topologyDigest(config), VERIFIED, '{}');
    db.close();

    clients.push(
      ...(await connectVpnClients(
        stack.gateways[0] as never,
        connecting.map((p) => ({ username: p.uid, password: p.password })),
        { concurrency: 6, timeoutMs: 30_000 },
      )),
    );
    for (const p of bastionPeople)
      held.push(
        await sshLogin({
          bastion: stack.bastions[0] as never,
          user: p.uid,
          privateKeyFile: keyFiles.get(p.uid) as string,
          hold: true,
        }),
      );
    // A verified revocation, for the revocation latency panel (its client is killed).
    const revokedOut = await runRac(dir, ['revoke', revoked?.uid as string]);
    if (revokedOut.code !== 0) throw new Error(`revoke failed: ${revokedOut.stdout}${revokedOut.stderr}`);

    serve = await startRacServe(dir, { port, env: { ...process.env } });
    prometheus = await startPrometheus(`127.0.0.1:${port}`, {
      openMetrics: k6RemoteWrite({ testid: TESTID, end: Math.floor(Date.now() / 1000), minutes: 20, peakVus: 50 }),
    });
    await prometheus.waitFor('remote_access:sessions:sum', (r) => Number(r[0]?.value[1]) === LIVE_VPN_SESSIONS, 30_000);
    for (const d of boards)
      for (const v of variablesOf(d))
        if (v.type === 'query' && !variableValues.has(v.name as string))
          variableValues.set(v.name as string, await resolveVariable(v));
  }, 180_000);

  afterAll(async () => {
    await serve?.stop();
    await prometheus?.stop();
    await stopVpnClients(clients);
    await Promise.all(held.map((h) => h.stop()));
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('connected the clients', () => {
    expect(clients.filter((c) => c.outcome === 'connected')).toHaveLength(connecting.length);
  });

  it('resolves every query variable from the real series', () => {
    expect(Object.fromEntries(variableValues)).toEqual({
      gateway: ['bastion-1', 'gw-1'],
      gateway_kind: ['bastion', 'openvpn'],
      testid: [TESTID],
    });
  });

  it('runs every panel and annotation query with All selected: no errors, and every one returns data', async () => {
    const failures = async () => {
      const out: string[] = [];
      for (const d of boards) {
        const selection = allSelected(d);
        const queries: Array<Pick<QueryRef, 'expr' | 'instant'> & { at: string }> = [
          ...panelQueries(d).map((q) => ({ ...q, at: `${d.uid} panel ${q.panelId} "${q.panelTitle}" ${q.refId}` })),
          ...annotationQueries(d).map((a) => ({ expr: a.expr, instant: false, at: `${d.uid} annotation "${a.name}"` })),
        ];
        for (const q of queries) {
          const expr = interpolate(q.expr, variablesOf(d), selection, BUILTINS);
          try {
            if (!hasData(await run(expr, q.instant))) out.push(`${q.at}: no data for ${expr}`);
          } catch (err) {
            out.push(`${q.at}: ${(err as Error).message} in ${expr}`);
          }
        }
      }
      return out;
    };
    // Rates, predictions and histograms need a few scrapes and rule evaluations after start.
    let found = await failures();
    for (let i = 0; i < 30 && found.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      found = await failures();
    }
    expect(found).toEqual([]);
  });

  it('runs every query without errors for each single value of each variable', async () => {
    const errors: string[] = [];
    let runs = 0;
    for (const d of boards)
      for (const v of variablesOf(d).filter((x) => x.type !== 'datasource'))
        for (const value of valuesOf(v)) {
          const selection = { ...allSelected(d), [v.name as string]: [value] };
          for (const q of panelQueries(d)) {
            const expr = interpolate(q.expr, variablesOf(d), selection, BUILTINS);
            runs++;
            await run(expr, q.instant).catch((err: Error) =>
              errors.push(`${d.uid} ${q.panelId}/${q.refId}: ${err.message}`),
            );
          }
        }
    expect(errors).toEqual([]);
    expect(runs).toBeGreaterThan(200);
  });

  it('"Sessions now" shows exactly the live VPN sessions, and follows the tier and gateway filters', async () => {
    const home = boards[0] as Dashboard;
    const q = panelQueries(home).find((x) => x.panelTitle === 'Sessions now') as QueryRef;
    const value = async (selection: Record<string, Selection>) => {
      const result = await run(
        interpolate(q.expr, variablesOf(home), { ...allSelected(home), ...selection }, BUILTINS),
        true,
      );
      expect(result.length).toBeLessThanOrEqual(1);
      return result[0] === undefined ? 'no data' : Number(result[0].value?.[1]);
    };
    const live = clients.filter((c) => c.outcome === 'connected' && c.username !== revoked?.uid).length;
    expect(live).toBe(LIVE_VPN_SESSIONS);
    expect(await value({})).toBe(live);
    expect(await value({ tier: ['vpn'] })).toBe(live);
    expect(await value({ gateway: ['gw-1'], tier: ['vpn', 'vpn-bastion'] })).toBe(live);
    expect(await value({ tier: ['public'] })).toBe(0);
    // Bastion SSH sessions are not VPN sessions: the bastion alone has none to show.
    expect(await value({ gateway: ['bastion-1'] })).toBe('no data');
    // rac itself lists the same people online.
    const listed = await runRac(dir, ['sessions', '--json']);
    const sessions = listed.json<{ sessions: Array<{ gateway: string }> }>().sessions;
    expect(sessions.filter((s) => s.gateway === 'gw-1')).toHaveLength(live);
  });

  it('shows per host sessions against rating, the verified capacity and the binding enforcer class', async () => {
    const [home, gateways] = boards as [Dashboard, Dashboard];
    const instant = async (d: Dashboard, title: string, refId = 'A', selection: Record<string, Selection> = {}) => {
      const q = panelQueries(d).find((x) => x.panelTitle === title && x.refId === refId) as QueryRef;
      const result = await run(
        interpolate(q.expr, variablesOf(d), { ...allSelected(d), ...selection }, BUILTINS),
        true,
      );
      return Object.fromEntries(
        result.map((r) => [
          r.metric['gateway'] ?? r.metric['enforcer'] ?? r.metric['tier'] ?? '',
          Number(r.value?.[1]),
        ]),
      );
    };
    expect(await instant(gateways, 'Sessions and rating, per host')).toEqual({ 'gw-1': 5, 'bastion-1': 2 });
    expect(await instant(gateways, 'Sessions and rating, per host', 'A', { gateway_kind: ['bastion'] })).toEqual({
      'bastion-1': 2,
    });
    expect(await instant(gateways, 'Sessions against rated, per host')).toEqual({
      'gw-1': 5 / 2500,
      'bastion-1': 2 / 400,
    });
    expect(await instant(gateways, 'Up')).toEqual({ 'gw-1': 1, 'bastion-1': 1 });
    expect(await instant(home, 'Capacity', 'B')).toEqual({ '': VERIFIED });
    expect(await instant(home, 'Topology verified')).toEqual({ '': 1 });
    expect(await instant(home, 'Binding limit per enforcer class')).toEqual({
      'VPN gateways': 5 / 2500,
      Bastions: 2 / 400,
    });
    expect(await instant(home, 'Binding enforcer class')).toEqual({ Bastions: 2 / 400 });
  });

  it('shows the onboarding funnel, expiries and a measured revocation', async () => {
    const onboarding = boards[2] as Dashboard;
    const byTier = async (title: string, refId = 'A') => {
      const q = panelQueries(onboarding).find((x) => x.panelTitle === title && x.refId === refId) as QueryRef;
      const result = await run(interpolate(q.expr, variablesOf(onboarding), allSelected(onboarding), BUILTINS), true);
      return Object.fromEntries(result.map((r) => [r.metric['tier'] ?? '', Number(r.value?.[1])]));
    };
    // The revoked person no longer holds a grant.
    expect(await byTier('Funnel per tier', 'A')).toEqual({ public: 3, vpn: 7, 'vpn-bastion': 2 });
    expect(await byTier('Funnel per tier', 'B')).toEqual({ public: 0, vpn: 5, 'vpn-bastion': 2 });
    expect(await byTier('Funnel per tier', 'C')).toEqual({ public: 0, vpn: 5, 'vpn-bastion': 2 });
    expect(await byTier('Never connected')).toEqual({ public: 3, vpn: 2, 'vpn-bastion': 0 });
    expect(await byTier('Expiries ahead')).toEqual({ public: 0, vpn: 2, 'vpn-bastion': 0 });
    const p95 = (await byTier('Revocation latency', 'B'))[''];
    expect(p95).toBeGreaterThan(0);
    expect(p95).toBeLessThanOrEqual(30);
  });

  it('reads the k6 run in remote-write naming, filtered by testid', async () => {
    const checks = boards[3] as Dashboard;
    const value = async (title: string, refId = 'A', testid: string[] = [TESTID]) => {
      const q = panelQueries(checks).find((x) => x.panelTitle === title && x.refId === refId) as QueryRef;
      const expr = interpolate(q.expr, variablesOf(checks), { ...allSelected(checks), testid }, BUILTINS);
      return (await run(expr, true)).map((r) => Number(r.value?.[1]));
    };
    expect(await value('Checks passed')).toEqual([K6_RUN_VALUES.checksRate]);
    expect(await value('Failed requests')).toEqual([K6_RUN_VALUES.failedRate]);
    expect(await value('Iterations and dropped iterations', 'B')).toEqual([0]);
    expect(await value('Checks passed', 'A', ['another-run'])).toEqual([]);
    const p95 = panelQueries(checks).find((x) => x.panelTitle === 'Request duration p95 and p99') as QueryRef;
    const series = await run(interpolate(p95.expr, variablesOf(checks), allSelected(checks), BUILTINS), false);
    expect(series.map((s) => s.metric['testid'])).toEqual([TESTID]);
    expect(new Set(series[0]?.values?.map(([, v]) => Number(v)))).toEqual(new Set([K6_RUN_VALUES.p95Seconds]));
  });
});
