/**
 * The capacity check: k6 judges whether the current topology holds the target.
 *
 *   k6 run -e RAC_TARGET_SESSIONS=5000 -e RAC_PROMETHEUS_URL=http://prom:9090 \
 *     -e RAC_LDAP_URL=ldaps://ldap:636 -e RAC_LDAP_USERS_BASE=ou=people,dc=corp,dc=example \
 *     -e RAC_ACCOUNTS=/etc/rac/test-accounts.csv loadtests/capacity-check.ts
 *
 * Scenarios: sessions_held (always), login_storm (RAC_LDAP_URL), portal (RAC_PORTAL_URL), api
 * (RAC_API_URL). Every variable is in loadtests/README.md.
 */
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Rate, Trend } from 'k6/metrics';
import type { Options } from 'k6/options';
import ldap from 'k6/x/ldap';
import { CHECK_METRICS } from '../src/core/capacity-check/check-metrics.ts';
import { basicAuth } from './lib/base64.ts';
import { accountDn, readSettings } from './lib/env.ts';
import { promQuery } from './lib/prometheus.ts';
import { buildScenarios } from './lib/scenarios.ts';
import { buildThresholds, SUMMARY_TREND_STATS } from './lib/thresholds.ts';
import { buildEnvelope, judgeDocument } from './lib/verdict.ts';
import type { SummaryData } from './types/k6-summary.d.ts';

const settings = readSettings(__ENV, (path) => open(path));
const scenarios = buildScenarios(settings);

export const options: Options = {
  scenarios,
  thresholds: buildThresholds(settings, Object.keys(scenarios)),
  summaryTrendStats: SUMMARY_TREND_STATS,
  // Bounded label sets for remote write: no per-URL series.
  systemTags: ['status', 'method', 'name', 'scenario', 'check', 'group', 'expected_response', 'error_code'],
};

const sessionsObserved = new Trend(CHECK_METRICS.sessionsObserved);
const sessionsHeldSeconds = new Trend(CHECK_METRICS.sessionsHeldSeconds);
const gatewaysUp = new Rate(CHECK_METRICS.gatewaysUp);
const loginSuccess = new Rate(CHECK_METRICS.loginSuccess);
const loginDuration = new Trend(CHECK_METRICS.loginDuration, true);

// sessions_held runs in one VU: module state lives as long as that VU.
let atTargetSince: number | null = null;

export function sessionsHeld(): void {
  const exporter = promQuery(settings.prometheusUrl, 'count(remote_access_capacity_target_sessions)');
  const exporterSeen = exporter.ok && exporter.values.length > 0;
  check(exporter, { 'Prometheus scrapes rac serve': () => exporterSeen });
  const sessions = promQuery(settings.prometheusUrl, settings.sessionsQuery);
  // An empty vector is no session at all (no gateway reports any), once the exporter is seen.
  const observed = sessions.ok && exporterSeen ? sessions.values.reduce((a, b) => a + b, 0) : null;
  if (check(sessions, { 'sessions read from Prometheus': () => observed !== null }) && observed !== null) {
    sessionsObserved.add(observed);
    if (observed >= settings.targetSessions) {
      if (atTargetSince === null) atTargetSince = Date.now();
      sessionsHeldSeconds.add((Date.now() - atTargetSince) / 1000);
    } else {
      atTargetSince = null;
      sessionsHeldSeconds.add(0);
    }
  }
  const down = promQuery(settings.prometheusUrl, 'count(remote_access_gateway_up == 0)');
  if (check(down, { 'gateway health read from Prometheus': (d) => d.ok })) {
    gatewaysUp.add(down.ok && down.values.every((n) => n === 0));
  }
  sleep(settings.pollInterval.seconds);
}

export function loginStorm(): void {
  const target = settings.ldap;
  const account = settings.accounts[exec.scenario.iterationInTest % settings.accounts.length];
  if (target === null || account === undefined) return;
  const started = Date.now();
  let ok = false;
  try {
    const conn = ldap.dialURL(target.url);
    try {
      conn.bind(accountDn(target.uidAttribute, account.uid, target.usersBase), account.password);
      ok = true;
    } finally {
      conn.close();
    }
  } catch {
    // The failure is counted below; the account and its error stay out of the metrics.
    ok = false;
  }
  if (ok) loginDuration.add(Date.now() - started, { via: 'ldap' });
  loginSuccess.add(ok, { via: 'ldap' });
  check(ok, { 'LDAP bind as a test account': (v) => v });
}

export function portal(): void {
  const target = settings.portal;
  const account = settings.accounts[(exec.vu.idInTest - 1) % settings.accounts.length];
  if (target === null || account === undefined) return;
  const params = {
    headers: { Authorization: basicAuth(account.uid, account.password) },
    tags: { name: 'portal-page' },
  };
  const page = http.get(target.url, params);
  const ok = page.status === 200;
  if (ok) loginDuration.add(page.timings.duration, { via: 'portal' });
  loginSuccess.add(ok, { via: 'portal' });
  check(page, { 'portal page as a test account': (r) => r.status === 200 });
  if (target.apiUrl !== null) {
    const api = http.get(target.apiUrl, { ...params, tags: { name: 'portal-api' } });
    check(api, { 'portal API call as a test account': (r) => r.status === 200 });
  }
  // Come back well within the proxy's active window, so the person counts as online throughout.
  sleep(target.activeWindow.seconds / 3);
}

export function api(): void {
  const target = settings.api;
  if (target === null) return;
  const headers = { Authorization: `Bearer ${target.token}` };
  for (const path of ['/v1/capacity', '/v1/sessions']) {
    const res = http.get(`${target.url}${path}`, { headers, tags: { name: path } });
    check(res, { [`GET ${path}`]: (r) => r.status === 200 });
  }
}

export function handleSummary(data: SummaryData): Record<string, string> {
  const doc = { ...data, rac: buildEnvelope(settings) };
  const body = JSON.stringify(doc, null, 2);
  const { lines } = judgeDocument(doc);
  if (settings.api !== null) {
    const res = http.post(`${settings.api.url}/v1/capacity/checks`, body, {
      headers: { Authorization: `Bearer ${settings.api.token}`, 'Content-Type': 'application/json' },
      tags: { name: '/v1/capacity/checks' },
    });
    lines.push(
      res.status === 200 || res.status === 201
        ? `recorded by ${settings.api.url} (HTTP ${res.status})`
        : `NOT recorded by ${settings.api.url} (HTTP ${res.status}): run rac check record ${settings.summaryPath}`,
    );
  } else lines.push(`record it: rac check record ${settings.summaryPath}`);
  return { [settings.summaryPath]: body, stdout: `\n${lines.join('\n')}\n\n` };
}
