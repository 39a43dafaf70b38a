import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';

/**
 * k6's APIs are synchronous (http.get, ldap bind return values); Node's real clients (fetch,
 * ldapts) are not. The bridge runs them in a worker thread and blocks the calling thread on
 * Atomics.wait until the answer is back, so a scenario function runs unchanged, in one call.
 */
export interface SyncBridge {
  call<T>(request: BridgeRequest, timeoutMs?: number): T;
  close(): Promise<void>;
}

export type BridgeRequest =
  | {
      kind: 'http';
      method: string;
      url: string;
      headers: Record<string, string>;
      body: string | null;
      timeoutMs: number;
    }
  | { kind: 'ldap.dial'; url: string }
  | { kind: 'ldap.bind'; conn: number; dn: string; password: string }
  | { kind: 'ldap.close'; conn: number };

export function createSyncBridge(): SyncBridge {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL('./bridge-worker.ts', import.meta.url), {
    workerData: { port: port2, flag },
    transferList: [port2],
  });
  worker.unref();
  return {
    call<T>(request: BridgeRequest, timeoutMs = 30_000): T {
      Atomics.store(flag, 0, 0);
      port1.postMessage(request);
      // The worker answers within its own timeouts; this bound only guards against a lost worker.
      if (Atomics.wait(flag, 0, 0, timeoutMs + 5_000) === 'timed-out')
        throw new Error(`dry run: no answer to ${request.kind} within ${timeoutMs} ms`);
      const message = receiveMessageOnPort(port1);
      if (message === undefined) throw new Error(`dry run: ${request.kind} answered nothing`);
      const answer = message.message as { ok: true; value: T } | { ok: false; error: string };
      if (!answer.ok) throw new Error(answer.error);
      return answer.value;
    },
    async close() {
      port1.close();
      await worker.terminate();
    },
  };
}
