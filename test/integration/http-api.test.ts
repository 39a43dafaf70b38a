import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCompany } from '../../infra/local/company.ts';
import { memberUids } from '../../infra/local/ldapsearch.ts';
import type { Services } from '../../src/compose.ts';
import { buildApp } from '../../src/http/app.ts';
import { createMetrics } from '../../src/metrics/registry.ts';
import type { Directory } from '../../src/ports.ts';
import { createToken } from '../../src/services/api-tokens.ts';
import { createBatchRunner } from '../../src/services/batch-runner.ts';
import { type Collector, createCollector } from '../../src/services/collector.ts';
import { gatedDirectory } from '../support/gated-directory.ts';
import { type RacEnv, ROOT, rosterFor, startRacEnv } from '../support/rac-env.ts';

const company = generateCompany(120, { seed: 71 });

describe('the /v1 API on a real slapd and SQLite store', () => {
  let env: RacEnv;
  let services: Services;
  let app: FastifyInstance;
  let collector: Collector;
  let gated: ReturnType<typeof gatedDirectory>;
  const tokens: Record<'viewer' | 'operator' | 'admin', string> = { viewer: '', operator: '', admin: '' };
  const auth = (role: keyof typeof tokens | null) => (role === null ? {} : { authorization: `Bearer ${tokens[role]}` });

  beforeAll(async () => {
    env = await startRacEnv({
      people: company,
      config: (d) =>
        `${d}http:\n  listen: 127.0.0.1:0\n  roster_limit_bytes: 65536\n  body_limit_bytes: 8192\n  rate_limit: { per_token: 1000, failed_auth: 40, login: 30 }\n`,
    });
    services = env.services();
    gated = gatedDirectory(services.directory);
    gated.open();
    const deps = { ...services, directory: gated.directory };
    collector = createCollector(deps, { intervalMs: 60_000, timeoutMs: 1000 });
    await collector.collectOnce();
    const metrics = createMetrics(deps, () => collector, { staleAfterMs: 180_000 });
    app = await buildApp({ deps, collector, metrics, runner: createBatchRunner(deps) });
    for (const role of ['viewer', 'operator', 'admin'] as const)
      tokens[role] = createToken(services, { name: `t-${role}`, role }).token;
  });
  afterAll(async () => {
    await app?.close();
    await env?.stop();
  });

  const roster = (people = company.slice(0, 5), tier = 'vpn') => rosterFor(people, () => ({ tier }));

  // Every route with the least role it needs; null = open.
  const ROUTES: Array<{
    method: 'GET' | 'POST' | 'PUT' | 'DELETE';
    url: string;
    role: keyof typeof tokens | null;
    body?: unknown;
  }> = [
    { method: 'GET', url: '/healthz', role: null },
    { method: 'GET', url: '/metrics', role: null },
    { method: 'GET', url: '/docs', role: null },
    {
      method: 'POST',
      url: '/v1/plans',
      role: 'operator',
      body: { people: [{ uid: company[0]?.uid, tier: 'public' }] },
    },
    { method: 'GET', url: '/v1/plans/p-none', role: 'viewer' },
    { method: 'POST', url: '/v1/batches', role: 'operator', body: { plan_id: 'p-none' } },
    { method: 'GET', url: '/v1/batches/b-none', role: 'viewer' },
    { method: 'POST', url: '/v1/batches/b-none/rollback', role: 'operator' },
    { method: 'GET', url: `/v1/users/${company[0]?.uid}`, role: 'viewer' },
    { method: 'PUT', url: '/v1/users/nobody-here/tier', role: 'operator', body: { tier: 'public' } },
    { method: 'DELETE', url: '/v1/users/nobody-here/access', role: 'operator' },
    { method: 'GET', url: '/v1/sessions', role: 'viewer' },
    { method: 'GET', url: '/v1/capacity', role: 'viewer' },
    { method: 'POST', url: '/v1/capacity/checks', role: 'admin', body: { not: 'a summary' } },
    { method: 'GET', url: '/v1/capacity/checks', role: 'viewer' },
    { method: 'GET', url: '/v1/audit', role: 'viewer' },
    { method: 'GET', url: '/v1/tokens', role: 'admin' },
    { method: 'POST', url: '/v1/tokens', role: 'admin', body: { name: 'matrix-made', role: 'viewer' } },
    { method: 'DELETE', url: '/v1/tokens/t-none', role: 'admin' },
  ];
  const RANK = { viewer: 0, operator: 1, admin: 2 } as const;

  it('enforces the role matrix on every route: no token 401, too low a role 403, enough passes auth', async () => {
    for (const route of ROUTES) {
      for (const who of [null, 'viewer', 'operator', 'admin'] as const) {
        const res = await app.inject({
          method: route.method,
          url: route.url,
          headers: auth(who),
          ...(route.body === undefined ? {} : { payload: route.body as object }),
        });
        const where = `${route.method} ${route.url} as ${who ?? 'nobody'}`;
        if (route.role === null) expect(res.statusCode, where).toBe(200);
        else if (who === null) {
          expect(res.statusCode, where).toBe(401);
          expect(res.json(), where).toMatchObject({ code: 'RAC_AUTH_REQUIRED' });
        } else if (RANK[who] < RANK[route.role]) {
          expect(res.statusCode, where).toBe(403);
          expect(res.json(), where).toMatchObject({ code: 'RAC_AUTH_FORBIDDEN' });
        } else {
          expect([401, 403], where).not.toContain(res.statusCode);
          expect(res.statusCode, `${where}: ${res.body}`).toBeLessThan(500);
        }
      }
    }
    const denied = services.store.listAudit({ action: 'api.denied' });
    expect(denied.length).toBeGreaterThan(10);
    expect(denied.every((a) => a.actor.startsWith('token:t-'))).toBe(true);
  });

  it('refuses a revoked token and a token it never issued', async () => {
    const { token } = createToken(services, { name: 'short-lived', role: 'admin' });
    expect((await app.inject({ url: '/v1/tokens', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(
      200,
    );
    const revoked = await app.inject({ method: 'DELETE', url: '/v1/tokens/short-lived', headers: auth('admin') });
    expect(revoked.statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/tokens', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(
      401,
    );
    const forged = `rac_${'A'.repeat(43)}`;
    expect((await app.inject({ url: '/v1/audit', headers: { authorization: `Bearer ${forged}` } })).statusCode).toBe(
      401,
    );
    const listed = (await app.inject({ url: '/v1/tokens', headers: auth('admin') })).body;
    expect(listed).not.toContain(token);
    expect(listed).not.toMatch(/"hash"/);
  });

  it('plans a GBK roster posted as text/csv with the CLI parser, and reports row errors by line', async () => {
    const people = company.slice(0, 3);
    const gbk = spawnSync('iconv', ['-f', 'UTF-8', '-t', 'GBK'], { input: roster(people) }).stdout;
    expect(gbk.length).toBeGreaterThan(0);
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/plans',
      headers: { ...auth('operator'), 'content-type': 'text/csv' },
      payload: gbk,
    });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json()).toMatchObject({ mode: 'roster', source: { encoding: 'gbk (detected)', rows: 3 } });
    const stored = await app.inject({ url: `/v1/plans/${ok.json().id}`, headers: auth('viewer') });
    expect(
      stored
        .json()
        .people.map((p: { uid: string }) => p.uid)
        .sort(),
    ).toEqual(people.map((p) => p.uid).sort());
    expect(stored.json().people[0].name).toBe(people.find((p) => p.uid === stored.json().people[0].uid)?.cn);

    const bad = await app.inject({
      method: 'POST',
      url: '/v1/plans',
      headers: { ...auth('operator'), 'content-type': 'text/csv; charset=utf-8' },
      payload: `uid,tier\n${company[0]?.uid},vpn\nBad Uid!,vpn\n${company[1]?.uid},platinum\n`,
    });
    expect(bad.statusCode).toBe(400);
    const body = bad.json();
    expect(body.code).toBe('RAC_ROSTER_REJECTED');
    expect(body.details.problems.map((p: { line: number }) => p.line)).toEqual([3, 4]);
    expect(services.store.listBatches(50)).toHaveLength(0);
  });

  it('validates JSON bodies, params and queries with a 400 naming the field', async () => {
    const cases = [
      { method: 'POST', url: '/v1/plans', payload: { people: [] } },
      { method: 'POST', url: '/v1/plans', payload: { people: [{ uid: 'a', shoe_size: 9 }] } },
      { method: 'POST', url: '/v1/batches', payload: { plan_id: 'p-1', canary: 0 } },
      { method: 'PUT', url: `/v1/users/${company[0]?.uid}/tier`, payload: { tier: 'gold' } },
      { method: 'GET', url: '/v1/audit?limit=5000' },
      { method: 'GET', url: '/v1/users/a%20b' },
    ] as const;
    for (const c of cases) {
      const res = await app.inject({ ...c, headers: auth('admin') } as never);
      expect(res.statusCode, `${c.method} ${c.url}`).toBe(400);
      expect(res.json().code).toBe('RAC_USAGE_VALIDATION');
      expect(res.json().message.length).toBeGreaterThan(5);
    }
  });

  it('answers odd Content-Type headers with a 4xx or the right parser, never a bypass', async () => {
    const csv = roster(company.slice(0, 2));
    const json = JSON.stringify({ people: [{ uid: 'x' }], extra: 'refused by the schema' });
    const variants = [
      'TEXT/CSV',
      'text/csv ; charset=utf-8',
      'text/csv\t',
      'text/csvx',
      'text/csv;;;garbage',
      'application/json\t',
      'APPLICATION/JSON',
      'application/json; charset=utf-8 extra',
      'application/jsonx',
      'application/x-www-form-urlencoded',
      '',
    ];
    for (const type of variants) {
      for (const payload of [csv, json]) {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/plans',
          headers: { ...auth('operator'), 'content-type': type },
          payload,
        });
        const where = `content-type '${type}' with ${payload === csv ? 'CSV' : 'JSON'}`;
        expect(res.statusCode, where).toBeLessThan(500);
        // The JSON document has a property the schema refuses: whatever parser took it, it never plans.
        if (payload === json) expect(res.statusCode, where).not.toBe(201);
        if (res.statusCode === 201) expect(payload, where).toBe(csv);
      }
    }
  });

  it('refuses bodies over the limits: 413 for a roster over roster_limit_bytes and JSON over body_limit_bytes', async () => {
    const big = `uid,tier\n${'a'.repeat(70_000)},vpn\n`;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/plans',
      headers: { ...auth('operator'), 'content-type': 'text/csv' },
      payload: big,
    });
    expect(res.statusCode).toBe(413);
    const json = await app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: auth('admin'),
      payload: { name: 'x'.repeat(10_000), role: 'viewer' },
    });
    expect(json.statusCode).toBe(413);
  });

  it('applies in the background, answers 409 with the running batch while it runs, and never refuses a revocation', async () => {
    const people = company.slice(10, 40);
    const planned = await app.inject({
      method: 'POST',
      url: '/v1/plans',
      headers: auth('operator'),
      payload: { people: people.map((p) => ({ uid: p.uid, tier: 'vpn' })) },
    });
    expect(planned.statusCode, planned.body).toBe(201);
    const other = await app.inject({
      method: 'POST',
      url: '/v1/plans',
      headers: auth('operator'),
      payload: { people: [{ uid: company[50]?.uid, tier: 'public' }] },
    });
    gated.close();
    const started = await app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: auth('operator'),
      payload: { plan_id: planned.json().id, wave_size: 10 },
    });
    expect(started.statusCode, started.body).toBe(202);
    const batchId = started.json().batchId as string;
    const second = await app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: auth('operator'),
      payload: { plan_id: other.json().id },
    });
    expect(second.statusCode).toBe(409);
    expect(second.json()).toMatchObject({ code: 'RAC_LOCKED', details: { batchId } });
    const tier = await app.inject({
      method: 'PUT',
      url: `/v1/users/${company[51]?.uid}/tier`,
      headers: auth('operator'),
      payload: { tier: 'public' },
    });
    expect(tier.statusCode).toBe(409);
    const polling = await app.inject({ url: `/v1/batches/${batchId}`, headers: auth('viewer') });
    expect(polling.json()).toMatchObject({ running: true, status: 'applying' });

    // A revocation beside the held batch: it goes through at once (its own writes pass the gate).
    const revokeUid = people[29]?.uid as string;
    gated.open();
    const revoked = await app.inject({
      method: 'DELETE',
      url: `/v1/users/${revokeUid}/access`,
      headers: auth('operator'),
    });
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect(revoked.json()).toMatchObject({ verified: true, remaining: { groups: [], sessions: [], grants: [] } });

    let done: { running: boolean; status: string; items: { applied: number; failed: number } } | null = null;
    for (let i = 0; i < 200; i++) {
      done = (await app.inject({ url: `/v1/batches/${batchId}`, headers: auth('viewer') })).json();
      if (done?.running === false) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(done?.running).toBe(false);
    expect(done?.items.applied).toBe(29);
    const members = await memberUids(env.directory, 'vpn');
    expect(people.slice(0, 29).every((p) => members.has(p.uid))).toBe(true);
    expect(members.has(revokeUid)).toBe(false);
    const audit = services.store.listAudit({ batchId }).filter((a) => a.action === 'access.grant');
    expect(new Set(audit.map((a) => a.actor))).toEqual(new Set(['token:t-operator']));
    const page = (
      await app.inject({ url: '/v1/audit?actor=token:t-operator&limit=5', headers: auth('viewer') })
    ).json();
    expect(page.records).toHaveLength(5);
    const next = (
      await app.inject({ url: `/v1/audit?actor=token:t-operator&limit=5&before=${page.next}`, headers: auth('viewer') })
    ).json();
    expect(next.records[0].id).toBeLessThan(page.records[4].id);
  });

  it('hides the detail of a 5xx and logs it', async () => {
    const lines: string[] = [];
    const { createHttpLogger } = await import('../../src/http/request-logger.ts');
    const logger = createHttpLogger('info', { write: (l: string) => lines.push(l) } as never);
    const broken: Directory = {
      ...services.directory,
      findPeople: async () => {
        throw new Error('ECONNRESET while reading /var/lib/secret-path password=hunter2');
      },
    };
    const deps = { ...services, directory: broken };
    const failing = await buildApp({
      deps,
      collector,
      metrics: createMetrics(deps, () => collector, { staleAfterMs: 1 }),
      logger,
    });
    const res = await failing.inject({ url: `/v1/users/${company[0]?.uid}`, headers: auth('viewer') });
    await failing.close();
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ code: 'RAC_INTERNAL', message: 'internal error' });
    expect(res.body).not.toContain('secret-path');
    expect(lines.join('')).toContain('secret-path');
    expect(lines.join('')).not.toContain(tokens.viewer);
    const requestLines = lines.filter((l) => l.includes('"msg":"request"')).map((l) => JSON.parse(l));
    expect(requestLines).toHaveLength(1);
    expect(requestLines[0]).toMatchObject({ res: { statusCode: 500 }, tokenName: 't-viewer', req: { method: 'GET' } });
    expect(JSON.stringify(requestLines[0])).not.toMatch(/authorization|Bearer/i);
  });

  it('rate-limits failed authentication per address', async () => {
    const limited = await buildApp({
      deps: {
        ...services,
        config: {
          ...services.config,
          http: { ...services.config.http, rate_limit: { per_token: 1000, failed_auth: 3, login: 3 } },
        },
      },
      collector,
      metrics: createMetrics(services, () => collector, { staleAfterMs: 1 }),
    });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++)
      codes.push(
        (await limited.inject({ url: '/v1/audit', headers: { authorization: 'Bearer rac_wrong' } })).statusCode,
      );
    // Once over the limit, even a good token from that address waits.
    const good = await limited.inject({ url: '/v1/audit', headers: auth('viewer') });
    const other = await limited.inject({ url: '/v1/audit', headers: auth('viewer'), remoteAddress: '127.0.0.9' });
    await limited.close();
    expect(codes).toEqual([401, 401, 401, 429, 429]);
    expect(good.statusCode).toBe(429);
    expect(good.json().code).toBe('RAC_AUTH_RATE_LIMITED');
    expect(other.statusCode).toBe(200);
  });

  it('rate-limits each token on its own', async () => {
    const limited = await buildApp({
      deps: {
        ...services,
        config: {
          ...services.config,
          http: { ...services.config.http, rate_limit: { per_token: 3, failed_auth: 100, login: 3 } },
        },
      },
      collector,
      metrics: createMetrics(services, () => collector, { staleAfterMs: 1 }),
    });
    const viewer = [];
    for (let i = 0; i < 5; i++)
      viewer.push((await limited.inject({ url: '/v1/sessions', headers: auth('viewer') })).statusCode);
    const operator = (await limited.inject({ url: '/v1/sessions', headers: auth('operator') })).statusCode;
    await limited.close();
    expect(viewer).toEqual([200, 200, 200, 429, 429]);
    expect(operator).toBe(200);
  });

  it('sets a tier, rolls the batch back, and records a capacity check through the same services', async () => {
    const uid = company[70]?.uid as string;
    const set = await app.inject({
      method: 'PUT',
      url: `/v1/users/${uid}/tier`,
      headers: auth('operator'),
      payload: { tier: 'vpn' },
    });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toMatchObject({ status: 'applied', person: { uid, to: 'vpn', outcome: 'applied' } });
    expect((await memberUids(env.directory, 'vpn')).has(uid)).toBe(true);
    const user = await app.inject({ url: `/v1/users/${uid}`, headers: auth('viewer') });
    expect(user.json()).toMatchObject({ uid, tier: 'vpn', recorded: { tier: 'vpn' } });

    const rollback = await app.inject({
      method: 'POST',
      url: `/v1/batches/${set.json().batchId}/rollback`,
      headers: auth('operator'),
    });
    expect(rollback.statusCode, rollback.body).toBe(202);
    for (let i = 0; i < 100; i++) {
      const p = (await app.inject({ url: `/v1/batches/${rollback.json().batchId}`, headers: auth('viewer') })).json();
      if (p.running === false) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect((await memberUids(env.directory, 'public')).has(uid)).toBe(false);

    const summary = readFileSync(join(ROOT, 'test/fixtures/k6/handle-summary-passed.json'), 'utf8');
    const check = await app.inject({
      method: 'POST',
      url: '/v1/capacity/checks',
      headers: { ...auth('admin'), 'content-type': 'application/json' },
      payload: summary,
    });
    expect(check.statusCode, check.body).toBe(201);
    expect(check.json().verdict.passed).toBe(true);
    const listed = (await app.inject({ url: '/v1/capacity/checks', headers: auth('viewer') })).json();
    expect(listed.checks[0]).toMatchObject({ id: check.json().id, recordedBy: 'token:t-admin' });
  });

  it('reports readiness with the directory, the store and each host, and guards /metrics and the page by config', async () => {
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', directory: { ok: true }, store: { ok: true }, hosts: [] });
    const page = await app.inject({ url: '/', remoteAddress: '127.0.0.1' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('id="sessions"');
    expect((await app.inject({ url: '/', remoteAddress: '10.9.9.9' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/', remoteAddress: '10.9.9.9', headers: auth('viewer') })).statusCode).toBe(200);
    expect((await app.inject({ url: '/assets/uplot.js' })).body.length).toBeGreaterThan(10_000);

    const strict = {
      ...services.config,
      http: { ...services.config.http, metrics: 'token' as const, capacity_page: 'token' as const },
    };
    const locked = await buildApp({
      deps: { ...services, config: strict },
      collector,
      metrics: createMetrics(services, () => collector, { staleAfterMs: 1 }),
    });
    try {
      expect((await locked.inject({ url: '/metrics' })).statusCode).toBe(401);
      expect((await locked.inject({ url: '/metrics', headers: auth('viewer') })).statusCode).toBe(200);
      expect((await locked.inject({ url: '/', remoteAddress: '127.0.0.1' })).statusCode).toBe(401);
    } finally {
      await locked.close();
    }
  });

  it('serves the OpenAPI document built from the route schemas', async () => {
    const doc = (await app.inject({ url: '/docs' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/plans', '/v1/batches', '/v1/batches/{id}', '/v1/users/{uid}/access', '/v1/audit']),
    );
    expect(doc.paths['/v1/plans'].post.tags).toEqual(['plans']);
  });
});
