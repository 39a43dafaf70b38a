import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { type CapacityView, capacityView } from '../../services/capacity-view.ts';
import type { AppOptions } from '../app.ts';
import { escapeHtml, sendPage } from '../html.ts';

const REFRESH_SECONDS = 15;
const HISTORY_WINDOW_SECONDS = 6 * 3600;

function readAssets() {
  const require = createRequire(import.meta.url);
  const uplotDir = dirname(require.resolve('uplot/package.json'));
  return {
    js: readFileSync(join(uplotDir, 'dist/uPlot.iife.min.js')),
    css: readFileSync(join(uplotDir, 'dist/uPlot.min.css')),
    chart: readFileSync(join(import.meta.dirname, '../assets/capacity-chart.js')),
  };
}

const pct = (part: number, whole: number) => (whole <= 0 ? 0 : Math.min(100, Math.round((part / whole) * 100)));

/** The capacity page's HTML from the same view as GET /v1/capacity (so the two always agree). */
function renderCapacityPage(view: CapacityView): { body: string; history: string } {
  const { board, funnel, lastCheck } = view;
  const util = Math.round(board.utilization * 100);
  const hosts = board.gateways
    .map(
      (
        g,
      ) => `<tr data-host="${escapeHtml(g.name)}"><td>${escapeHtml(g.name)} <span class="muted">${escapeHtml(g.kind)}</span>${
        g.stale ? ' <span class="stale">stale</span>' : ''
      }${g.up ? '' : ' <span class="bad">down</span>'}</td><td class="host-sessions">${g.sessions}</td><td>${g.rated}</td>
<td style="width:45%"><div class="bar${g.rated > 0 && g.sessions > g.rated ? ' over' : ''}"><span style="width:${pct(g.sessions, g.rated)}%"></span></div></td></tr>`,
    )
    .join('');
  const tiers = board.tiers
    .filter((t) => t.tier !== 'unknown' || t.sessions > 0)
    .map(
      (t) =>
        `<tr data-tier="${escapeHtml(t.tier)}"><td>${escapeHtml(t.tier)}</td><td class="tier-grants">${t.grants}</td><td class="tier-peak">${Math.round(t.expectedPeak)}</td><td class="tier-sessions">${t.sessions}</td><td>${t.usersOnline}</td></tr>`,
    )
    .join('');
  const funnelRows = Object.entries(funnel)
    .map(
      ([tier, s]) =>
        `<tr><td>${escapeHtml(tier)}</td><td>${s.granted}</td><td>${s.connectedOnce}</td><td>${s.active24h}</td><td>${s.active7d}</td></tr>`,
    )
    .join('');
  const verified =
    board.verified === null
      ? '<span class="bad" id="verified">not verified</span> for this topology'
      : `<span class="good" id="verified">verified</span>: ${board.verified.sessions} sessions at ${escapeHtml(board.verified.at)}${board.verified.dryRun === true ? ' (dry run)' : ''}`;
  const check =
    lastCheck === null
      ? 'none recorded'
      : `${escapeHtml(lastCheck.id)} at ${escapeHtml(lastCheck.at)}: ${lastCheck.passed ? '<span class="good">passed</span>' : '<span class="bad">failed</span>'}${lastCheck.dryRun ? ' (dry run)' : ''}, peak ${lastCheck.peakSessions}`;
  const stale = board.gateways.filter((g) => g.stale).map((g) => g.name);
  const body = `<h1>Remote access capacity</h1><p class="muted">as of ${escapeHtml(board.at)} · refreshes every ${REFRESH_SECONDS} s</p>
${stale.length > 0 ? `<p class="stale" id="stale-hosts">Stale hosts (no fresh observation): ${stale.map(escapeHtml).join(', ')}</p>` : ''}
<div class="grid">
<div class="card"><div class="muted">sessions now</div><div class="big" id="sessions">${board.sessions}</div></div>
<div class="card"><div class="muted">capacity limit (${escapeHtml(board.limit.source)})</div><div class="big" id="limit">${board.limit.sessions}</div></div>
<div class="card"><div class="muted">target</div><div class="big" id="target">${board.targetSessions}</div></div>
<div class="card"><div class="muted">utilisation</div><div class="big" id="utilization">${util}%</div><div class="bar${util > 100 ? ' over' : ''}"><span style="width:${Math.min(100, util)}%"></span></div></div>
</div>
<div class="card"><h2>Last hours</h2><div id="history"></div></div>
<div class="card"><h2>Hosts</h2><table><tr><th>host</th><th>sessions</th><th>rated</th><th></th></tr>${hosts}</table></div>
<div class="card"><h2>Tiers</h2><table><tr><th>tier</th><th>grants</th><th>expected peak</th><th>sessions</th><th>people online</th></tr>${tiers}</table></div>
<div class="card"><h2>Onboarding funnel</h2><table><tr><th>tier</th><th>granted</th><th>connected once</th><th>active 24 h</th><th>active 7 d</th></tr>${funnelRows}</table></div>
<div class="card"><h2>Capacity check</h2><p>Topology ${escapeHtml(board.topology.digest)}: ${verified}.</p><p>Last check: <span id="last-check">${check}</span></p></div>`;
  const names = [...new Set(view.history.flatMap((p) => Object.keys(p.byTier)))];
  const to = Date.parse(board.at) / 1000;
  const history = JSON.stringify({
    from: to - HISTORY_WINDOW_SECONDS,
    to,
    t: view.history.map((p) => Date.parse(p.at) / 1000),
    tiers: Object.fromEntries(names.map((n) => [n, view.history.map((p) => p.byTier[n] ?? 0)])),
    limit: view.history.map((p) => p.limit),
  }).replaceAll('<', '\\u003c');
  return { body, history };
}

/** GET /: the capacity page, server-rendered; uPlot draws the history. Loopback or a viewer token, by config. */
export const capacityPageRoutes: FastifyPluginAsync<AppOptions> = async (app, options) => {
  const { deps, guard, collector, staleAfterMs } = options;
  const assets = readAssets();
  const allowLoopback = () => deps.config.http.capacity_page === 'loopback';
  const access = guard('viewer', { allowLoopback });
  const asset = (type: string, body: Buffer) => async (_request: unknown, reply: import('fastify').FastifyReply) =>
    reply.header('content-type', type).header('cache-control', 'public, max-age=3600').send(body);
  app.get('/assets/uplot.js', { schema: { hide: true } }, asset('text/javascript; charset=utf-8', assets.js));
  app.get('/assets/uplot.css', { schema: { hide: true } }, asset('text/css; charset=utf-8', assets.css));
  app.get(
    '/assets/capacity-chart.js',
    { schema: { hide: true } },
    asset('text/javascript; charset=utf-8', assets.chart),
  );
  app.get('/', { onRequest: access, schema: { tags: ['capacity'], hide: true } }, async (_request, reply) => {
    const { body, history } = renderCapacityPage(capacityView(deps, collector.snapshot(), staleAfterMs));
    return sendPage(
      reply,
      200,
      'Remote access capacity',
      `${body}<script type="application/json" id="history-data">${history}</script><script src="/assets/uplot.js"></script><script src="/assets/capacity-chart.js"></script>`,
      `<meta http-equiv="refresh" content="${REFRESH_SECONDS}"><link rel="stylesheet" href="/assets/uplot.css">`,
    );
  });
};
