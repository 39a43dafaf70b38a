import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCompany } from '../../infra/local/company.ts';
import { assertPortalExposure } from '../../src/cli/commands/serve-tls.ts';
import type { Services } from '../../src/compose.ts';
import { buildApp } from '../../src/http/app.ts';
import { createMetrics } from '../../src/metrics/registry.ts';
import { applyPlan } from '../../src/services/apply-plan.ts';
import { createCollector } from '../../src/services/collector.ts';
import { planRoster } from '../../src/services/plan-batch.ts';
import { type RacEnv, rosterFor, startRacEnv } from '../support/rac-env.ts';

const company = generateCompany(20, { seed: 33 });
const [vpnPerson, publicPerson, stranger] = company as [(typeof company)[0], (typeof company)[0], (typeof company)[0]];

function cookiesOf(res: LightMyRequestResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of res.cookies as Array<{ name: string; value: string }>) out[c.name] = c.value;
  return out;
}
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

describe('the self-service portal on a real slapd', () => {
  let env: RacEnv;
  let services: Services;
  let app: FastifyInstance;

  beforeAll(async () => {
    env = await startRacEnv({
      people: company,
      config: (d) => `${d}http:\n  listen: 127.0.0.1:0\n  rate_limit: { login: 6 }\n`,
    });
    services = env.services();
    const plan = await planRoster(services, {
      bytes: new TextEncoder().encode(
        rosterFor([vpnPerson, publicPerson], (p) => ({
          tier: p === vpnPerson ? 'vpn' : 'public',
          ...(p === vpnPerson ? { expires: '2099-12-31' } : {}),
        })),
      ),
      file: null,
    });
    await applyPlan(services, plan);
    const collector = createCollector(services, { intervalMs: 60_000, timeoutMs: 1000 });
    app = await buildApp({
      deps: services,
      collector,
      metrics: createMetrics(services, () => collector, { staleAfterMs: 1 }),
    });
  });
  afterAll(async () => {
    await app?.close();
    await env?.stop();
  });

  async function login(uid: string, password: string, remoteAddress = '127.0.0.1') {
    const page = await app.inject({ url: '/me', remoteAddress });
    const res = await app.inject({
      method: 'POST',
      url: '/me/login',
      remoteAddress,
      cookies: cookiesOf(page),
      payload: form({ uid, password, csrf: csrfOf(page.body) }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    return { page, res };
  }

  it('signs a person in with their directory password and shows their tier and end date, no password kept', async () => {
    const { page, res } = await login(vpnPerson.uid, vpnPerson.password);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.statusCode, res.body).toBe(303);
    const cookie = (
      res.cookies as Array<{ name: string; httpOnly?: boolean; sameSite?: string; secure?: boolean; path?: string }>
    ).find((c) => c.name === 'rac_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/me' });
    expect(cookie?.secure).toBeFalsy(); // no TLS here: Secure comes with http.tls
    const me = await app.inject({ url: '/me', cookies: cookiesOf(res) });
    expect(me.body).toContain(`<td id="tier">vpn</td>`);
    expect(me.body).toContain('2099-12-31');
    expect(JSON.stringify(services.store.listAudit({}))).not.toContain(vpnPerson.password);
  });

  it('refuses a wrong password and an unknown person alike, and audits the attempt', async () => {
    const wrong = await login(vpnPerson.uid, `${vpnPerson.password}x`, '127.0.0.2');
    expect(wrong.res.statusCode).toBe(401);
    expect(wrong.res.body).toContain('Wrong username or password');
    expect(cookiesOf(wrong.res)['rac_session']).toBeUndefined();
    const unknown = await login('nosuchperson', 'whatever', '127.0.0.2');
    expect(unknown.res.statusCode).toBe(401);
    const empty = await login(vpnPerson.uid, '', '127.0.0.2');
    expect(empty.res.statusCode).toBe(400); // an empty password would be an anonymous bind
    expect(services.store.listAudit({ action: 'portal.login.failed' }).length).toBeGreaterThanOrEqual(2);
  });

  it('refuses a login or logout form without the right CSRF token', async () => {
    const page = await app.inject({ url: '/me', remoteAddress: '127.0.0.3' });
    const forged = await app.inject({
      method: 'POST',
      url: '/me/login',
      remoteAddress: '127.0.0.3',
      payload: form({ uid: vpnPerson.uid, password: vpnPerson.password, csrf: 'forged' }),
      cookies: cookiesOf(page),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(forged.statusCode).toBe(403);
    expect(forged.json().code).toBe('RAC_AUTH_CSRF');
    const noCookie = await app.inject({
      method: 'POST',
      url: '/me/login',
      remoteAddress: '127.0.0.3',
      payload: form({ uid: vpnPerson.uid, password: vpnPerson.password, csrf: csrfOf(page.body) }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(noCookie.statusCode).toBe(403);
    const { res } = await login(vpnPerson.uid, vpnPerson.password, '127.0.0.3');
    const logout = await app.inject({
      method: 'POST',
      url: '/me/logout',
      cookies: cookiesOf(res),
      payload: form({ csrf: 'forged' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(logout.statusCode).toBe(403);
    expect((await app.inject({ url: '/me', cookies: cookiesOf(res) })).body).toContain('id="tier"');
  });

  it('shows a public person no profile, and refuses their download', async () => {
    const { res } = await login(publicPerson.uid, publicPerson.password, '127.0.0.4');
    const me = await app.inject({ url: '/me', cookies: cookiesOf(res) });
    expect(me.body).toContain('<td id="tier">public</td>');
    expect(me.body).not.toContain('/me/profile/');
    const download = await app.inject({ url: '/me/profile/gw-1', cookies: cookiesOf(res) });
    expect(download.statusCode).toBeGreaterThanOrEqual(400);
    expect(download.body).not.toContain('client\ndev tun');
    const noSession = await app.inject({ url: '/me/profile/gw-1' });
    expect(noSession.statusCode).toBe(303);
  });

  it('marks the session cookie Secure when served over TLS', async () => {
    const tlsDir = mkdtempSync(join(tmpdir(), 'rac-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-keyout',
        join(tlsDir, 'key.pem'),
        '-out',
        join(tlsDir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const collector = createCollector(services, { intervalMs: 60_000, timeoutMs: 1000 });
    const tlsApp = await buildApp({
      deps: services,
      collector,
      metrics: createMetrics(services, () => collector, { staleAfterMs: 1 }),
      https: { cert: readFileSync(join(tlsDir, 'cert.pem')), key: readFileSync(join(tlsDir, 'key.pem')) },
    });
    try {
      const page = await tlsApp.inject({ url: '/me', remoteAddress: '127.0.0.7' });
      expect((page.cookies as Array<{ name: string; secure?: boolean }>)[0]).toMatchObject({
        name: 'rac_login_csrf',
        secure: true,
      });
      const res = await tlsApp.inject({
        method: 'POST',
        url: '/me/login',
        remoteAddress: '127.0.0.7',
        cookies: cookiesOf(page),
        payload: form({ uid: vpnPerson.uid, password: vpnPerson.password, csrf: csrfOf(page.body) }),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(
        (res.cookies as Array<{ name: string; secure?: boolean }>).find((c) => c.name === 'rac_session')?.secure,
      ).toBe(true);
    } finally {
      await tlsApp.close();
      rmSync(tlsDir, { recursive: true, force: true });
    }
  });

  it('refuses to expose the portal beyond loopback without TLS', () => {
    expect(() => assertPortalExposure(services.config, '0.0.0.0', false)).toThrow(/loopback only/);
    expect(() => assertPortalExposure(services.config, '10.1.2.3', true)).not.toThrow();
    expect(() => assertPortalExposure(services.config, '127.0.0.1', false)).not.toThrow();
    expect(() => assertPortalExposure(services.config, '::1', false)).not.toThrow();
    const noPortal = { ...services.config, http: { ...services.config.http, portal: false } };
    expect(() => assertPortalExposure(noPortal, '0.0.0.0', false)).not.toThrow();
  });

  it('rate-limits logins per address', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) codes.push((await login(stranger.uid, 'wrong', '127.0.0.5')).res.statusCode);
    expect(codes.slice(0, 6)).toEqual([401, 401, 401, 401, 401, 401]);
    expect(codes.slice(6)).toEqual([429, 429]);
    // Another address is not held up.
    expect((await login(vpnPerson.uid, vpnPerson.password, '127.0.0.6')).res.statusCode).toBe(303);
  });
});
