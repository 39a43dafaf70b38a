import { addSample, bridge } from '../runtime.ts';

/**
 * Stand-in for `k6/http`: real requests through fetch (in the bridge's worker), with the
 * built-in metrics k6 records for each (http_reqs, http_req_duration, http_req_waiting,
 * http_req_failed; a status of 200–399 is expected, as k6's default).
 */

interface Params {
  headers?: Record<string, string>;
  tags?: Record<string, string>;
  timeout?: string | number;
}

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string>;
  durationMs: number;
  waitingMs: number;
  error: string;
}

function timeoutMs(t: Params['timeout']): number {
  if (typeof t === 'number') return t;
  const m = typeof t === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(t) : null;
  if (m === null) return 60_000;
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
}

export function request(method: string, url: string, body?: string | null, params: Params = {}) {
  const answer = bridge().call<Answer>({
    kind: 'http',
    method,
    url,
    headers: params.headers ?? {},
    body: body ?? null,
    timeoutMs: timeoutMs(params.timeout),
  });
  const expected = answer.status >= 200 && answer.status < 400;
  const tags = {
    name: url,
    method,
    status: String(answer.status),
    expected_response: String(expected),
    ...params.tags,
  };
  addSample('http_reqs', 1, tags);
  addSample('http_req_duration', answer.durationMs, tags);
  addSample('http_req_waiting', answer.waitingMs, tags);
  addSample('http_req_failed', expected ? 0 : 1, tags);
  return {
    url,
    status: answer.status,
    body: answer.body,
    headers: answer.headers,
    error: answer.error,
    error_code: answer.error === '' ? 0 : 1000,
    timings: {
      duration: answer.durationMs,
      waiting: answer.waitingMs,
      blocked: 0,
      connecting: 0,
      tls_handshaking: 0,
      sending: 0,
      receiving: Math.max(0, answer.durationMs - answer.waitingMs),
    },
    json(): unknown {
      return JSON.parse(answer.body);
    },
  };
}

export const get = (url: string, params?: Params) => request('GET', url, null, params);
export const post = (url: string, body?: string | null, params?: Params) => request('POST', url, body, params);
export const put = (url: string, body?: string | null, params?: Params) => request('PUT', url, body, params);
export const del = (url: string, body?: string | null, params?: Params) => request('DELETE', url, body, params);

export default { request, get, post, put, del };
