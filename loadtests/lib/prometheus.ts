import http from 'k6/http';

export type PromResult = { ok: true; values: number[] } | { ok: false; error: string };

/** One instant query through Prometheus's HTTP API: the sample values of the resulting vector. */
export function promQuery(baseUrl: string, expr: string): PromResult {
  const res = http.get(`${baseUrl}/api/v1/query?query=${encodeURIComponent(expr)}`, {
    tags: { name: 'prometheus-query' },
    timeout: '10s',
  });
  if (res.status !== 200) return { ok: false, error: `HTTP ${res.status} from Prometheus for ${expr}` };
  let body: { status?: string; error?: string; data?: { resultType?: string; result?: unknown } };
  try {
    body = JSON.parse(String(res.body)) as typeof body;
  } catch {
    return { ok: false, error: `Prometheus answered ${expr} with something other than JSON` };
  }
  if (body.status !== 'success') return { ok: false, error: `Prometheus: ${body.error ?? 'query failed'} (${expr})` };
  const result = body.data?.result;
  if (body.data?.resultType === 'scalar' && Array.isArray(result)) return { ok: true, values: [Number(result[1])] };
  if (!Array.isArray(result)) return { ok: false, error: `Prometheus returned no vector for ${expr}` };
  return { ok: true, values: result.map((r) => Number((r as { value: [number, string] }).value[1])) };
}
