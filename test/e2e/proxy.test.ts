import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CompanyPerson, generateCompany } from '../../infra/local/company.ts';
import { cleanupAll, newRunId } from '../../infra/local/netns.ts';
import { freePort } from '../../infra/local/prometheus.ts';
import { type ProxyHost, startProxyHost } from '../../infra/local/proxy-host.ts';
import { type RacEnv, type RacServe, rosterFor, startRacEnv, startRacServe } from '../support/rac-env.ts';

const POLICY = 'default: { tier: public, max: vpn-bastion }\nrules: []\n';
const company = generateCompany(214, { seed: 1010 });
const publicPeople = company.slice(0, 205);
const vpnPeople = company.slice(205, 210);
/** In the directory, in no tier group. */
const outsider = company[213] as CompanyPerson;
const WINDOW_SECONDS = 6;

const sessionsIn = (metrics: string, name: string, labels: string): number => {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? Number.NaN : Number(line.split(' ').pop());
};

describe('the public tier through a real access proxy', () => {
  let env: RacEnv;
  let host: ProxyHost;
  let serve: RacServe;
  let metricsUrl: string;
  const credentials = (p: CompanyPerson) => ({ user: p.uid, password: p.password });

  beforeAll(async () => {
    env = await startRacEnv({ people: company, policy: POLICY });
    host = await startProxyHost({ name: 'portal-1', runId: newRunId(), index: 1, directory: env.directory });
    const port = await freePort();
    const base = await import('node:fs').then((fs) => fs.readFileSync(env.configPath, 'utf8'));
    env.write(
      'rac.yaml',
      `${base}gateways:\n${host.gatewayYaml({ activeWindowSeconds: WINDOW_SECONDS, ratedSessions: 4000 })}collector: { interval_seconds: 1 }\nhttp: { listen: "127.0.0.1:${port}" }\n`,
    );
    env.write(
      'roster.csv',
      rosterFor([...publicPeople, ...vpnPeople], (p) => ({ tier: vpnPeople.includes(p) ? 'vpn' : 'public' })),
    );
    const applied = await env.rac(['apply', 'roster.csv', '--yes']);
    if (applied.code !== 0) throw new Error(`apply failed: ${applied.stdout}${applied.stderr}`);
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    serve = await startRacServe(env.dir, { port, env: { ...process.env } });
  }, 180_000);

  afterAll(async () => {
    await serve?.stop();
    await host?.stop();
    await env?.stop();
    await cleanupAll();
  }, 60_000);

  const metrics = () => fetch(metricsUrl).then((r) => r.text());
  const proxySessions = async () =>
    sessionsIn(await metrics(), 'remote_access_sessions', 'gateway="portal-1",gateway_kind="proxy",tier="public"');
  async function waitForSessions(n: number, timeoutMs: number): Promise<number> {
    const until = Date.now() + timeoutMs;
    let seen = Number.NaN;
    while (Date.now() < until) {
      seen = await proxySessions();
      if (seen === n) return seen;
      await new Promise((r) => setTimeout(r, 250));
    }
    return seen;
  }

  it('lets a public person and a vpn person reach the app, and refuses a person outside the tier with 403', async () => {
    const page = await host.get('/', credentials(publicPeople[0] as CompanyPerson));
    expect(page.status).toBe(200);
    expect(page.body).toContain(`Hello ${publicPeople[0]?.uid}`);
    expect((await host.get('/api/me', credentials(vpnPeople[0] as CompanyPerson))).status).toBe(200);
    expect((await host.get('/', credentials(outsider))).status).toBe(403);
  });

  it('revokes a public person: their next request gets 403, within the revocation goal, proven by rac', async () => {
    const person = publicPeople[204] as CompanyPerson;
    const agent = host.agent();
    expect((await host.get('/', credentials(person), agent)).status).toBe(200);
    const revoked = await env.rac(['revoke', person.uid, '--json']);
    expect(revoked.code).toBe(0);
    const report = revoked.json<{
      verified: boolean;
      latencyMs: number;
      disconnected: Array<{ gateway: string; disconnected: Array<{ uid: string; sessions: number }> }>;
    }>();
    expect(report.verified).toBe(true);
    expect(report.latencyMs).toBeLessThan(2_000);
    expect(report.disconnected.find((d) => d.gateway === 'portal-1')?.disconnected).toEqual([
      { uid: person.uid, sessions: 1 },
    ]);
    // the same keep-alive client, at once
    expect((await host.get('/', credentials(person), agent)).status).toBe(403);
    agent.destroy();
  });

  it('finds a hand-edited allow map with rac drift and repairs it with --fix', async () => {
    const { readFileSync, writeFileSync } = await import('node:fs');
    const original = readFileSync(host.allowMap, 'utf8');
    const victim = publicPeople[1] as CompanyPerson;
    writeFileSync(host.allowMap, `${original.replace(`\n${victim.uid} public;`, '')}${outsider.uid} public;\n`);
    const drift = await env.rac(['drift', '--json']);
    const found = drift.json<{ items: Array<{ system: string; uid: string; expected: string; observed: string }> }>();
    expect(found.items.filter((i) => i.system === 'portal-1')).toEqual(
      expect.arrayContaining([
        { system: 'portal-1', uid: victim.uid, expected: 'public', observed: 'none' },
        { system: 'portal-1', uid: outsider.uid, expected: 'none', observed: 'public' },
      ]),
    );
    const fixed = await env.rac(['drift', '--fix', '--json']);
    expect(fixed.code).toBe(0);
    expect(readFileSync(host.allowMap, 'utf8')).toBe(original);
    expect((await host.get('/', credentials(outsider))).status).toBe(403);
    expect((await host.get('/', credentials(victim))).status).toBe(200);
  });

  it('counts 200 distinct real HTTP clients exactly as public sessions, and drops them after the window', async () => {
    // Earlier requests leave the window first.
    expect(await waitForSessions(0, (WINDOW_SECONDS + 5) * 1000)).toBe(0);
    const people = publicPeople.slice(0, 200);
    let next = 0;
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 25 }, async () => {
        while (next < people.length) {
          const p = people[next++] as CompanyPerson;
          statuses.push((await host.get('/api/me', credentials(p))).status);
        }
      }),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(200);
    expect(await waitForSessions(200, 5_000)).toBe(200);
    const text = await metrics();
    expect(sessionsIn(text, 'remote_access_users_online', 'tier="public"')).toBe(200);
    expect(sessionsIn(text, 'remote_access_gateway_up', 'gateway="portal-1",gateway_kind="proxy"')).toBe(1);
    expect(await waitForSessions(0, (WINDOW_SECONDS + 5) * 1000)).toBe(0);
  });
  it('rac doctor finds the allow map in the running configuration, and fails a map the proxy never reads', async () => {
    const { readFileSync } = await import('node:fs');
    const config = readFileSync(env.configPath, 'utf8');
    type Doc = { findings: Array<{ check: string; target: string; status: string; detail: string }> };
    const mapFinding = (doc: Doc) =>
      doc.findings.find((f) => f.check === 'proxy.map-include' && f.target === 'portal-1');
    const good = await env.rac(['doctor', '--json']);
    expect(mapFinding(good.json<Doc>())?.status).toBe('ok');
    try {
      env.write('rac.yaml', config.replace(`allow_map: ${host.allowMap}`, `allow_map: ${host.allowMap}.elsewhere`));
      const bad = await env.rac(['doctor', '--json']);
      expect(bad.code).not.toBe(0);
      expect(mapFinding(bad.json<Doc>())).toMatchObject({ status: 'fail' });
    } finally {
      env.write('rac.yaml', config);
    }
  });
});
