import { type MessagePort, workerData } from 'node:worker_threads';
import { Client } from 'ldapts';
import type { BridgeRequest } from './sync-bridge.ts';

/** The real clients behind the k6 stand-ins: fetch for k6/http, ldapts for k6/x/ldap. */
const { port, flag } = workerData as { port: MessagePort; flag: Int32Array };
const connections = new Map<number, Client>();
let nextConnection = 1;

/**
 * The dry run runs beside the local stack: it speaks to loopback only, and to the addresses the
 * caller names in RAC_DRY_RUN_LOCAL_HOSTS as its own test hosts (in network namespaces it made),
 * never further.
 */
const LOCAL_HOSTS = new Set(
  (process.env['RAC_DRY_RUN_LOCAL_HOSTS'] ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== ''),
);
function assertLoopback(url: string): void {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (!(host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || LOCAL_HOSTS.has(host)))
    throw new Error(
      `dry run: refusing ${url}: only loopback addresses and the hosts in RAC_DRY_RUN_LOCAL_HOSTS are allowed`,
    );
}

async function handle(request: BridgeRequest): Promise<unknown> {
  switch (request.kind) {
    case 'http': {
      assertLoopback(request.url);
      const started = performance.now();
      try {
        const res = await fetch(request.url, {
          method: request.method,
          headers: request.headers,
          body: request.body,
          signal: AbortSignal.timeout(request.timeoutMs),
        });
        const waiting = performance.now() - started;
        const body = await res.text();
        return {
          status: res.status,
          body,
          headers: Object.fromEntries(res.headers),
          durationMs: performance.now() - started,
          waitingMs: waiting,
          error: '',
        };
      } catch (err) {
        // k6 reports a failed request as status 0 with the error text.
        return {
          status: 0,
          body: '',
          headers: {},
          durationMs: performance.now() - started,
          waitingMs: 0,
          error: String((err as Error).message),
        };
      }
    }
    case 'ldap.dial': {
      assertLoopback(request.url.replace(/^ldaps?:/, 'http:'));
      const id = nextConnection++;
      connections.set(id, new Client({ url: request.url, connectTimeout: 5_000, timeout: 10_000 }));
      return id;
    }
    case 'ldap.bind': {
      const client = connections.get(request.conn);
      if (client === undefined) throw new Error('ldap: connection is closed');
      await client.bind(request.dn, request.password);
      return null;
    }
    case 'ldap.close': {
      const client = connections.get(request.conn);
      connections.delete(request.conn);
      await client?.unbind();
      return null;
    }
  }
}

port.on('message', (request: BridgeRequest) => {
  handle(request)
    .then(
      (value) => port.postMessage({ ok: true, value }),
      (err: unknown) => port.postMessage({ ok: false, error: String((err as Error)?.message ?? err) }),
    )
    .finally(() => {
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    });
});
