import { appendFile, readFile, rename, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCompany } from '../../infra/local/company.ts';
import { type LocalDirectory, startDirectory } from '../../infra/local/directory.ts';
import { cleanupAll, newRunId } from '../../infra/local/netns.ts';
import { type ProxyHost, startProxyHost, waitForLogGrowth } from '../../infra/local/proxy-host.ts';
import { sshRun } from '../../infra/local/ssh-host.ts';
import { createProxyDriver } from '../../src/adapters/gateways/proxy/driver.ts';
import { createSshShell } from '../../src/adapters/ssh/ssh-shell.ts';
import type { ProxyConfig } from '../../src/config/schema.ts';
import { renderAllowMap } from '../../src/core/proxy/allow-map.ts';
import { Secret } from '../../src/core/secret.ts';
import type { GatewayDriver } from '../../src/ports.ts';
import { describeGatewayDriver } from '../support/gateway-contract.ts';

const people = generateCompany(6, { seed: 41 });
const password = (uid: string) => people.find((p) => p.uid === uid)?.password as string;

function proxyDriver(host: ProxyHost, overrides: Partial<ProxyConfig> = {}): GatewayDriver {
  const shell = createSshShell({
    name: host.name,
    host: host.address,
    port: 22,
    user: 'root',
    privateKey: new Secret(host.ssh.privateKey),
    hostKey: host.ssh.hostKeyLine.split(' ').slice(1, 3).join(' '),
  });
  return createProxyDriver({
    name: host.name,
    shell,
    timeoutMs: 15_000,
    proxy: {
      allow_map: host.allowMap,
      map_hash_conf: host.mapHashConf,
      map_hash_bucket_size: 128,
      access_log: host.accessLog,
      active_window_seconds: 300,
      test_command: host.testCommand,
      reload_command: host.reloadCommand,
      generation_command: host.generationCommand,
      reload_timeout_ms: 10_000,
      pid_file: host.pidFile,
      initial_read_bytes: 16 * 1024 * 1024,
      max_read_bytes: 256 * 1024 * 1024,
      ...overrides,
    },
  });
}

/** One real request as `uid` through the portal; waits until nginx has logged it. */
async function browse(host: ProxyHost, uid: string, path = '/') {
  const before = await readFile(host.accessLog).then(
    (b) => b.length,
    () => 0,
  );
  const answer = await host.get(path, { user: uid, password: password(uid) });
  await waitForLogGrowth(host.accessLog, before);
  return answer;
}

async function startHost(index: number) {
  const directory: LocalDirectory = await startDirectory({ people });
  try {
    const host = await startProxyHost({ name: `portal-${index}`, runId: newRunId(), index, directory });
    return { directory, host };
  } catch (err) {
    await directory.stop();
    throw err;
  }
}

describeGatewayDriver('proxy', async () => {
  const { directory, host } = await startHost(3);
  const driver = proxyDriver(host);
  return {
    driver,
    people: people.slice(0, 4).map((p) => p.uid),
    grant: (uid, variant = 0) => ({ uid, tier: variant === 0 ? 'public' : 'vpn' }),
    async connect(uid) {
      const answer = await browse(host, uid);
      if (answer.status !== 200) throw new Error(`${uid} got ${answer.status} from the portal`);
      return {
        stop: async () => {},
        // Ended = the person's valid credentials now get 403.
        ended: async () => (await host.get('/', { user: uid, password: password(uid) })).status === 403,
      };
    },
    async tamper(granted) {
      // Someone edits the map by hand: a stray entry, a person removed.
      const text = await readFile(host.allowMap, 'utf8');
      const lines = text.split('\n').filter((l) => !l.startsWith(`${granted[0]} `));
      await writeFile(host.allowMap, `${lines.join('\n')}mallory 1;\n`);
    },
    async stop() {
      await host.stop();
      await directory.stop();
      await cleanupAll();
    },
  };
});

describe('proxy driver on a real nginx', () => {
  let host: ProxyHost;
  let directory: LocalDirectory;
  let driver: GatewayDriver;
  const [ann, ben, cat] = people.map((p) => p.uid) as [string, string, string];

  beforeAll(async () => {
    ({ host, directory } = await startHost(4));
    driver = proxyDriver(host);
  }, 120_000);

  afterAll(async () => {
    await driver?.close();
    await host?.stop();
    await directory?.stop();
    await cleanupAll();
  });

  it('lets people in the map through, refuses everyone else with 403, and unauthenticated with 401', async () => {
    await driver.apply({ desired: new Map([[ann, { uid: ann, tier: 'vpn' }]]) });
    const inside = await host.get('/api/me', { user: ann, password: password(ann) });
    expect(inside).toEqual({ status: 200, body: `{"app":"portal","user":"${ann}"}\n` });
    expect((await host.get('/', { user: ben, password: password(ben) })).status).toBe(403);
    expect((await host.get('/', { user: ann, password: 'wrong' })).status).toBe(401);
    expect((await host.get('/', null)).status).toBe(401);
  });

  it('sizes the map hash and loads uids that need care', async () => {
    const uids = ['default', 'include', '~root', 'john smith', 'a;b', 'say"hi"', 'back\\slash', 'Mixed.Case', ann];
    const report = await driver.apply({
      desired: new Map(uids.map((uid) => [uid, { uid, tier: 'public' as const }])),
    });
    expect(report.failed).toEqual([]);
    const observed = await driver.observe();
    expect([...observed.grants.keys()].sort()).toEqual(
      uids.map((u) => u.replace(/[A-Z]/g, (c) => c.toLowerCase())).sort(),
    );
    expect(await readFile(host.mapHashConf, 'utf8')).toContain('map_hash_max_size 2048;');
    // A regex-looking uid is a plain key: nobody else matches it.
    expect((await host.get('/', { user: ben, password: password(ben) })).status).toBe(403);
  });

  it('keeps the old map and does not reload when nginx -t refuses the new one', async () => {
    await driver.apply({ desired: new Map([[ann, { uid: ann, tier: 'public' }]]) });
    const before = await readFile(host.allowMap, 'utf8');
    // A key longer than a hash bucket (nginx rounds 32 up to a 64-byte cache line): nginx -t
    // fails with "could not build map_hash, you should increase map_hash_bucket_size".
    const small = proxyDriver(host, { map_hash_bucket_size: 32 });
    const long = 'a'.repeat(70);
    await expect(small.apply({ desired: new Map([[long, { uid: long, tier: 'public' }]]) })).rejects.toMatchObject({
      code: 'RAC_PROXY_CONFIG_TEST',
      message: expect.stringContaining('previous map is back in place'),
    });
    await small.close();
    expect(await readFile(host.allowMap, 'utf8')).toBe(before);
    expect((await host.get('/', { user: ann, password: password(ann) })).status).toBe(200);
    // the sizing include is back too: the next apply still passes nginx -t
    expect((await driver.apply({ desired: new Map([[ben, { uid: ben, tier: 'public' }]]) })).wrote).toBe(true);
  });

  it('decides every request right after an apply by the new map (the reload is proven, not assumed)', async () => {
    // A generation served by one new worker is not enough: an old worker may still accept a
    // connection (seen 2 times in 30 with 2 workers). The proof also waits for the old workers.
    let stale = 0;
    for (let i = 0; i < 16; i++) {
      const uid = i % 2 === 0 ? ann : ben;
      await driver.apply({ desired: new Map([[uid, { uid, tier: 'public' }]]) });
      if ((await host.get('/', { user: ann, password: password(ann) })).status !== (uid === ann ? 200 : 403)) stale++;
    }
    expect(stale).toBe(0);
  });

  it('reports the map generation nginx serves', async () => {
    const rendered = renderAllowMap([{ uid: ben, tier: 'public' }]);
    expect(await driver.probe()).toMatchObject({ up: true, detail: `serving map ${rendered.generation}` });
  });

  it('reads the log incrementally across a rotation and a partial line, counting people once', async () => {
    const fresh = proxyDriver(host, { active_window_seconds: 60 });
    await driver.apply({
      desired: new Map([ann, ben, cat].map((uid) => [uid, { uid, tier: 'public' as const }])),
    });
    await browse(host, ann);
    expect((await fresh.listSessions()).map((s) => s.uid)).toContain(ann);
    // logrotate: rename, then USR1 (reopen); a request lands in the old file before the reopen
    await rename(host.accessLog, `${host.accessLog}.1`);
    const rotatedSize = (await readFile(`${host.accessLog}.1`)).length;
    expect((await host.get('/', { user: ben, password: password(ben) })).status).toBe(200);
    await waitForLogGrowth(`${host.accessLog}.1`, rotatedSize);
    await appendFile(`${host.accessLog}.1`, `{"t":${Date.now() / 1000},"u":"${cat}","s":200}\n{"t":1,"u":"par`);
    const reopen = await sshRun(host.ssh, [...host.reloadCommand.slice(0, -2), '-s', 'reopen']);
    expect(reopen.code).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const sessions = await fresh.listSessions();
    expect(sessions.map((s) => s.uid).sort()).toEqual([ann, ben, cat].sort());
    expect(sessions.every((s) => s.kind === 'proxy' && s.tier === 'public')).toBe(true);
    await fresh.close();
  });

  it('proves a revocation: out of the map, reloaded, and the next request gets 403', async () => {
    await driver.apply({ desired: new Map([ann, ben].map((uid) => [uid, { uid, tier: 'public' as const }])) });
    const agent = host.agent();
    expect((await host.get('/', { user: ann, password: password(ann) }, agent)).status).toBe(200);
    const started = performance.now();
    const report = await driver.disconnect([ann]);
    const elapsed = performance.now() - started;
    expect(report.failed).toEqual([]);
    // the same keep-alive client, right after: the old worker closed the idle connection
    expect((await host.get('/', { user: ann, password: password(ann) }, agent)).status).toBe(403);
    expect((await host.get('/', { user: ben, password: password(ben) })).status).toBe(200);
    expect(elapsed).toBeLessThan(2_000);
    agent.destroy();
  });
});
