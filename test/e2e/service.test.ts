import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCompany } from '../../infra/local/company.ts';
import { memberUids } from '../../infra/local/ldapsearch.ts';
import { freePort } from '../../infra/local/prometheus.ts';
import { type LocalStack, startStack } from '../../infra/local/stack.ts';
import { connectVpnClient, type VpnClient } from '../../infra/local/vpn-clients.ts';
import { rosterFor } from '../../infra/local/workspace.ts';
import { type RacServe, ROOT, runRac, startRacServe } from '../support/rac-env.ts';

const POLICY = 'default: { tier: public, max: vpn-bastion }\nrules: []\n';
const company = generateCompany(14, { seed: 909 });
const vpn = company.slice(0, 8);
const pub = company.slice(8, 10);
/** Screenshots and downloads of the browser test (gitignored). */
const ARTIFACTS = join(ROOT, 'test/artifacts');

describe('rac serve on the real stack: API, portal in a real browser, capacity page', () => {
  let stack: LocalStack;
  let dir: string;
  let serve: RacServe;
  let base: string;
  let browser: Browser;
  const tokens: Record<string, string> = {};
  const clients: VpnClient[] = [];
  const api = (path: string, init: RequestInit & { role?: string } = {}) =>
    fetch(`${base}${path}`, {
      ...init,
      headers: {
        ...(init.headers as Record<string, string>),
        authorization: `Bearer ${tokens[init.role ?? 'viewer']}`,
      },
    });

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startStack({ people: company, gateways: 1, bastions: 0 });
    dir = mkdtempSync(join(tmpdir(), 'rac-serve-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    writeFileSync(
      join(dir, 'rac.yaml'),
      `${stack.config({ sshTimeoutMs: 5000 })}collector: { interval_seconds: 1 }\nhttp: { listen: "127.0.0.1:${port}" }\n`,
    );
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    for (const role of ['viewer', 'operator']) {
      const made = await runRac(dir, ['token', 'create', '--role', role, '--name', `e2e-${role}`, '--json']);
      if (made.code !== 0) throw new Error(made.stderr);
      tokens[role] = made.json<{ token: string }>().token;
    }
    serve = await startRacServe(dir, { port, env: { ...process.env } });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox'] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    for (const c of clients) await c.stop();
    await serve?.stop();
    await stack?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('plans a GBK roster posted as CSV, applies it in the background and polls it to completion', async () => {
    const csv = rosterFor([...vpn, ...pub], (p) => ({ tier: pub.includes(p) ? 'public' : 'vpn' }));
    const gbk = spawnSync('iconv', ['-f', 'UTF-8', '-t', 'GBK'], { input: csv }).stdout;
    const planned = await api('/v1/plans', {
      method: 'POST',
      role: 'operator',
      headers: { 'content-type': 'text/csv' },
      body: gbk,
    });
    const plan = (await planned.json()) as { id: string; source: { encoding: string }; summary: { changes: number } };
    expect(planned.status, JSON.stringify(plan)).toBe(201);
    expect(plan.source.encoding).toBe('gbk (detected)');
    const full = (await (await api(`/v1/plans/${plan.id}`)).json()) as { people: Array<{ uid: string; name: string }> };
    expect(full.people.find((p) => p.uid === vpn[0]?.uid)?.name).toBe(vpn[0]?.cn); // Chinese names came through

    const started = await api('/v1/batches', {
      method: 'POST',
      role: 'operator',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ plan_id: plan.id, wave_size: 4 }),
    });
    expect(started.status).toBe(202);
    const { batchId } = (await started.json()) as { batchId: string };
    type Progress = { running: boolean; status: string; report: { status: string } | null };
    let progress = null as Progress | null;
    for (let i = 0; i < 120 && progress?.running !== false; i++) {
      await new Promise((r) => setTimeout(r, 250));
      progress = (await (await api(`/v1/batches/${batchId}`)).json()) as Progress;
    }
    expect(progress).toMatchObject({ running: false, status: 'applied', report: { status: 'applied' } });

    // The directory and the gateway, read directly.
    const members = await memberUids(stack.directory, 'vpn');
    expect(vpn.every((p) => members.has(p.uid))).toBe(true);
    expect(pub.some((p) => members.has(p.uid))).toBe(false);
    const ccd = readdirSync(stack.gateways[0]?.ccdDir as string);
    expect(vpn.every((p) => ccd.includes(p.uid))).toBe(true);
    expect(pub.some((p) => ccd.includes(p.uid))).toBe(false);
  });

  it('writes every granted person’s profile (0600, in a 0700 directory) and a mail-merge CSV', async () => {
    const out = join(dir, 'profiles');
    const run = await runRac(dir, ['profile', '--all', '--out', 'profiles']);
    expect(run.code, run.stderr).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o700);
    expect(readdirSync(out).sort()).toEqual([...vpn.map((p) => `${p.uid}.ovpn`), 'mail-merge.csv'].sort());
    for (const f of readdirSync(out)) expect(statSync(join(out, f)).mode & 0o777, f).toBe(0o600);
    const csv = readFileSync(join(out, 'mail-merge.csv'), 'utf8').trim().split('\r\n');
    expect(csv[0]).toBe('uid,name,email,file');
    const first = vpn[0] as (typeof vpn)[0];
    expect(csv).toContain(`${first.uid},${first.cn},${first.mail},${first.uid}.ovpn`);
    expect(readFileSync(join(out, `${first.uid}.ovpn`), 'utf8')).toContain('auth-user-pass');
  });

  it('lets a person sign in at /me in a real browser, download their profile, and connect with it', async () => {
    const person = vpn[0] as (typeof vpn)[0];
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 900, height: 640 } });
    const page = await context.newPage();
    await page.goto(`${base}/me`);
    await page.fill('input[name=uid]', person.uid);
    await page.fill('input[name=password]', `${person.password}-wrong`);
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('[role=alert]')).toContain('Wrong username or password');
    await page.screenshot({ path: join(ARTIFACTS, 'portal-wrong-password.png') });

    await page.fill('input[name=uid]', person.uid);
    await page.fill('input[name=password]', person.password);
    await page.click('button[type=submit]');
    await page.waitForSelector('#tier');
    expect(await page.textContent('#tier')).toBe('vpn');
    await page.screenshot({ path: join(ARTIFACTS, 'portal-signed-in.png') });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('a.button')]);
    const profileFile = join(dir, 'downloaded.ovpn');
    await download.saveAs(profileFile);
    await context.close();
    const profile = readFileSync(profileFile, 'utf8');
    expect(profile).toContain(`remote ${stack.gateways[0]?.vpnAddress} ${stack.gateways[0]?.vpnPort} udp`);

    const client = await connectVpnClient({
      gateway: stack.gateways[0] as never,
      username: person.uid,
      password: person.password,
      profileFile,
      timeoutMs: 20_000,
    });
    clients.push(client);
    expect(client.outcome, client.log).toBe('connected');
    const downloads = (await (await api('/v1/audit?action=portal.profile.download')).json()) as {
      records: Array<{ actor: string; detail: { gateway: string } }>;
    };
    expect(downloads.records[0]).toMatchObject({ actor: person.uid, detail: { gateway: 'gw-1' } });
  });

  it('shows the same numbers on the capacity page as GET /v1/capacity', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1100 } });
    let matched = false;
    for (let attempt = 0; attempt < 20 && !matched; attempt++) {
      const view = (await (await api('/v1/capacity')).json()) as {
        board: { sessions: number; limit: { sessions: number }; tiers: Array<{ tier: string; grants: number }> };
      };
      await page.goto(`${base}/`);
      const shown = {
        sessions: Number(await page.textContent('#sessions')),
        limit: Number(await page.textContent('#limit')),
        vpnGrants: Number(await page.textContent('[data-tier="vpn"] .tier-grants')),
      };
      const expected = {
        sessions: view.board.sessions,
        limit: view.board.limit.sessions,
        vpnGrants: view.board.tiers.find((t) => t.tier === 'vpn')?.grants,
      };
      matched = JSON.stringify(shown) === JSON.stringify(expected) && expected.sessions === 1;
      if (!matched) await new Promise((r) => setTimeout(r, 500));
      else expect(shown).toEqual({ sessions: 1, limit: expected.limit, vpnGrants: 8 });
    }
    expect(matched).toBe(true);
    await page.waitForSelector('#history');
    await page.screenshot({ path: join(ARTIFACTS, 'capacity-page.png') });
    await page.close();
  });

  it('stops on SIGTERM mid-batch, and the next start finishes the batch', async () => {
    const rest = company.slice(10, 14);
    const planned = await api('/v1/plans', {
      method: 'POST',
      role: 'operator',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ people: rest.map((p) => ({ uid: p.uid, tier: 'vpn' })) }),
    });
    const { id } = (await planned.json()) as { id: string };
    const started = await api('/v1/batches', {
      method: 'POST',
      role: 'operator',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ plan_id: id, wave_size: 1 }),
    });
    expect(started.status).toBe(202);
    const { batchId } = (await started.json()) as { batchId: string };
    const stopped = serve;
    const exited = new Promise<number | null>((r) => stopped.process.once('exit', (code) => r(code)));
    stopped.process.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stopped.stderr()).toContain('rac serve: stopping');

    serve = await startRacServe(dir, { env: { ...process.env } });
    let progress: { running: boolean; status: string } | null = null;
    for (let i = 0; i < 120; i++) {
      await new Promise((r) => setTimeout(r, 250));
      progress = await api(`/v1/batches/${batchId}`).then(
        (r) => (r.ok ? (r.json() as Promise<{ running: boolean; status: string }>) : null),
        () => null,
      );
      if (progress?.status === 'applied' && !progress.running) break;
    }
    expect(progress).toMatchObject({ status: 'applied', running: false });
    const members = await memberUids(stack.directory, 'vpn');
    expect(rest.every((p) => members.has(p.uid))).toBe(true);
  });

  it('revokes through the API with its proof, and the live session ends', async () => {
    const person = vpn[0] as (typeof vpn)[0];
    const res = await api(`/v1/users/${person.uid}/access`, { method: 'DELETE', role: 'operator' });
    const proof = (await res.json()) as {
      verified: boolean;
      remaining: Record<string, unknown[]>;
      disconnected: unknown[];
    };
    expect(res.status, JSON.stringify(proof)).toBe(200);
    expect(proof.verified).toBe(true);
    expect(proof.remaining).toMatchObject({ sessions: [], grants: [], groups: [], unreachable: [] });
    expect(await clients[0]?.waitForExit(15_000)).toBe(true);
    expect((await memberUids(stack.directory, 'public')).has(person.uid)).toBe(false);
    expect(readdirSync(stack.gateways[0]?.ccdDir as string)).not.toContain(person.uid);
    const audit = (await (await api(`/v1/audit?uid=${person.uid}&action=access.revoke`)).json()) as {
      records: Array<{ actor: string }>;
    };
    expect(audit.records.map((r) => r.actor)).toContain('token:e2e-operator');
  });
});
