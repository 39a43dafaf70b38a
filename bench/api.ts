/**
 * npm run bench:api — the provisioning service over HTTP on loopback (autocannon), each run
 * bounded in time and count, against a real slapd with a 2000-person company.
 *
 *  A. GET /v1/capacity (viewer token): requests/s and p99.
 *  B. POST /v1/plans with a 2000-person roster (text/csv): requests/s and p99.
 *  C. The /me login (CSRF check, DN lookup (cached a few minutes), LDAP bind as the person on its own connection) at
 *     50 concurrent users, against the LDAP bind alone (connect, bind as the person, unbind) at
 *     the same concurrency, measured in the same run. Goal: login ≤ 1.5× the bind alone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Client } from 'ldapts';
import { generateCompany } from '../infra/local/company.ts';
import { startDirectory } from '../infra/local/directory.ts';
import { freePort } from '../infra/local/prometheus.ts';
import { configFor, rosterFor } from '../infra/local/workspace.ts';
import { EXAMPLE_POLICY } from '../src/cli/commands/init.ts';
import { composeServices } from '../src/compose.ts';
import { loadConfig } from '../src/config/load.ts';
import { buildApp } from '../src/http/app.ts';
import { createMetrics } from '../src/metrics/registry.ts';
import { createToken } from '../src/services/api-tokens.ts';
import { createCollector } from '../src/services/collector.ts';

const SECONDS = 8;
/** `node bench/api.ts C` runs only section C (any of A, B, C). */
const ONLY = new Set(process.argv.slice(2).map((a) => a.toUpperCase()));
const runs = (section: string) => ONLY.size === 0 || ONLY.has(section);
const CONCURRENT_USERS = 50;
const ms = (x: number) => `${x.toFixed(1).padStart(7)} ms`;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] as number;

const company = generateCompany(2000, { seed: 2000 });
const directory = await startDirectory({ people: company, sync: true });
const dir = mkdtempSync(join(tmpdir(), 'rac-bench-api-'));
writeFileSync(
  join(dir, 'rac.yaml'),
  `${configFor(directory)}http:\n  rate_limit: { per_token: 1000000, failed_auth: 1000000, login: 1000000 }\n  roster_limit_bytes: 33554432\n`,
);
writeFileSync(join(dir, 'policy.yaml'), EXAMPLE_POLICY);
const services = composeServices(loadConfig({ path: join(dir, 'rac.yaml'), env: {} }), {
  actor: 'bench',
  logLevel: 'silent',
});
const collector = createCollector(services, { intervalMs: 60_000, timeoutMs: 1000 });
await collector.collectOnce();
const app = await buildApp({
  deps: services,
  collector,
  metrics: createMetrics(services, () => collector, { staleAfterMs: 60_000 }),
});
const port = await freePort();
await app.listen({ host: '127.0.0.1', port });
const base = `http://127.0.0.1:${port}`;
const viewer = createToken(services, { name: 'bench-viewer', role: 'viewer' }).token;
const operator = createToken(services, { name: 'bench-operator', role: 'operator' }).token;

class Done extends Error {}

async function cannon(
  name: string,
  options: Omit<autocannon.Options, 'url'> & { url?: string },
): Promise<autocannon.Result> {
  // The load generator shares the process (a worker thread measured slower here: 2 cores for
  // slapd, the service and the generator).
  const result = await autocannon({ duration: SECONDS, ...options, url: options.url ?? base });
  // A good login answers 303 (to /me): only 4xx, 5xx, errors and timeouts are failures.
  const bad = result['4xx'] + result['5xx'] + result.errors + result.timeouts;
  console.log(
    `  ${name.padEnd(44)} ${result.requests.average.toFixed(1).padStart(8)} req/s   p50 ${ms(result.latency.p50)}   p99 ${ms(result.latency.p99)}   (${result.requests.total} requests${bad > 0 ? `, ${bad} FAILED` : ''})`,
  );
  if (bad > 0)
    throw new Error(
      `bench: ${name}: ${result['4xx']} 4xx, ${result['5xx']} 5xx, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  return result;
}

try {
  console.log(`rac serve on loopback, slapd with ${company.length} people; each run ${SECONDS} s\n`);
  if (runs('A')) console.log('A. GET /v1/capacity');
  if (runs('A'))
    await cannon('10 connections', {
      connections: 10,
      url: `${base}/v1/capacity`,
      headers: { authorization: `Bearer ${viewer}` },
    });

  if (runs('B')) console.log('\nB. POST /v1/plans, a 2000-person roster as text/csv');
  const roster = rosterFor(company, (p) => ({
    tier: Number.parseInt(p.uid.length.toString(), 10) % 2 === 0 ? 'vpn' : 'public',
  }));
  if (runs('B'))
    await cannon(`4 connections, ${(roster.length / 1024).toFixed(0)} KiB each`, {
      connections: 4,
      method: 'POST',
      url: `${base}/v1/plans`,
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'text/csv' },
      body: roster,
      amount: 24,
    });

  if (!runs('C')) throw new Done();
  console.log(`\nC. the /me login against the LDAP bind alone, ${CONCURRENT_USERS} concurrent users`);
  const users = company.slice(0, 200);
  // One login form (its CSRF cookie and field) reused by every request: the check is the same work.
  const page = await fetch(`${base}/me`);
  const csrfCookie = (page.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] as string;
  // Static requests (one per person, cycled): they can be handed to the load generator's worker.
  const login = await cannon('POST /me/login (DN lookup + bind as person)', {
    connections: CONCURRENT_USERS,
    workers: 1, // the generator in its own thread: the service's event loop is what is measured
    requests: users.map((user) => ({
      method: 'POST' as const,
      path: '/me/login',
      headers: { cookie: csrfCookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ uid: user.uid, password: user.password, csrf }).toString(),
    })),
  });

  // What HTTP alone costs here at the same concurrency (the floor under any endpoint).
  await cannon('GET /healthz (HTTP floor, for reference)', { connections: CONCURRENT_USERS, url: `${base}/healthz` });

  // The bind alone: what the login cannot avoid — a connection of its own, a bind as the person.
  const bindLatencies: number[] = [];
  let binds = 0;
  const until = performance.now() + SECONDS * 1000;
  let i = 0;
  await Promise.all(
    Array.from({ length: CONCURRENT_USERS }, async () => {
      while (performance.now() < until) {
        const user = users[i++ % users.length] as (typeof users)[0];
        const t = performance.now();
        const client = new Client({ url: directory.url, timeout: 10_000, connectTimeout: 10_000 });
        await client.bind(directory.dnOf(user.uid), user.password);
        await client.unbind();
        bindLatencies.push(performance.now() - t);
        binds++;
      }
    }),
  );
  const bindP50 = pct(bindLatencies, 50);
  console.log(
    `  ${'LDAP bind alone (ldapts, connect+bind+unbind)'.padEnd(44)} ${(binds / SECONDS).toFixed(1).padStart(8)} req/s   p50 ${ms(bindP50)}   p99 ${ms(pct(bindLatencies, 99))}   (${binds} binds)`,
  );
  const ratio = login.latency.p50 / bindP50;
  console.log(
    `\n  login / bind alone: p50 ${ratio.toFixed(2)}×, p99 ${(login.latency.p99 / pct(bindLatencies, 99)).toFixed(2)}×, throughput ${(binds / SECONDS / login.requests.average).toFixed(2)}× fewer   goal p50 ≤ 1.5×   ${ratio <= 1.5 ? 'MET' : 'MISSED'}`,
  );
} catch (err) {
  if (!(err instanceof Done)) throw err;
} finally {
  await app.close();
  await services.close();
  await directory.stop();
  rmSync(dir, { recursive: true, force: true });
}
