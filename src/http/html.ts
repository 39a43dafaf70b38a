import type { FastifyReply } from 'fastify';

/** Text into HTML: every value on a page goes through here. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const STYLE = `body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1c2330}
main{max-width:980px;margin:0 auto;padding:20px}h1{font-size:22px;margin:0 0 12px}h2{font-size:16px;margin:18px 0 8px}
.card{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:14px 16px;margin:10px 0}
.big{font-size:34px;font-weight:600}.muted{color:#5b6576;font-size:13px}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:10px}
.bar{background:#e7ebf0;border-radius:4px;height:14px;position:relative}.bar>span{display:block;height:100%;border-radius:4px;background:#3b7ddd}
.bar.over>span{background:#d9534f}.stale{color:#b35c00;font-weight:600}.bad{color:#c0392b}.good{color:#1e8449}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 6px;border-bottom:1px solid #eef0f3}
input,button{font:inherit;padding:6px 10px}form.login{display:grid;gap:8px;max-width:320px}a.button{display:inline-block;background:#3b7ddd;color:#fff;padding:6px 12px;border-radius:6px;text-decoration:none;margin:4px 6px 4px 0}`;

/** One page: no inline script (CSP forbids it), styles inline, nothing cached. */
export function sendPage(reply: FastifyReply, status: number, title: string, body: string, head = ''): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header(
      'content-security-policy',
      "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    )
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style>${head}</head><body><main>${body}</main></body></html>`,
    );
}
