/**
 * The check's settings from __ENV, all at once: every problem is reported together, naming the
 * variable. Secrets (account passwords, the API token) come from files, never from the command
 * line. Runs in k6's init context (`read` is k6's open()).
 */

export interface Duration {
  /** As k6 takes it, e.g. "10m". */
  readonly text: string;
  readonly seconds: number;
}

export interface Account {
  readonly uid: string;
  readonly password: string;
}

export interface CheckSettings {
  readonly dryRun: boolean;
  readonly targetSessions: number;
  /** How long the target must hold without a break. */
  readonly hold: Duration;
  /** How long sessions_held watches (and api runs). */
  readonly duration: Duration;
  readonly pollInterval: Duration;
  readonly prometheusUrl: string;
  readonly sessionsQuery: string;
  readonly connectP95Ms: number;
  readonly accounts: readonly Account[];
  readonly ldap: {
    readonly url: string;
    readonly usersBase: string;
    readonly uidAttribute: string;
    readonly rate: number;
    readonly ramp: Duration;
    readonly peak: Duration;
    readonly startTime: Duration;
    readonly preAllocatedVUs: number;
    readonly maxVUs: number;
  } | null;
  readonly portal: {
    readonly url: string;
    readonly apiUrl: string | null;
    readonly users: number;
    readonly ramp: Duration;
    readonly activeWindow: Duration;
    readonly p95Ms: number;
  } | null;
  readonly api: { readonly url: string; readonly token: string; readonly rate: number; readonly p95Ms: number } | null;
  readonly summaryPath: string;
  readonly topology: string | null;
  readonly k6Version: string | null;
  /** Why a scenario is off, by scenario name. */
  readonly skipped: Readonly<Record<string, string>>;
}

export class SettingsError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`capacity check settings are invalid:\n  ${problems.join('\n  ')}`);
    this.name = 'SettingsError';
    this.problems = problems;
  }
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** Go duration strings as k6 reads them ("90s", "1h30m", "500ms"); a bare number is refused. */
export function parseDuration(text: string): Duration | null {
  const trimmed = text.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(trimmed)) return null;
  let seconds = 0;
  for (const part of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    seconds += Number(part[1]) * (UNIT_SECONDS[part[2] as string] as number);
  }
  return { text: trimmed, seconds };
}

/** uid,password with a header row; quoted fields may hold commas, quotes and line breaks. */
export function parseAccounts(text: string, source: string, problems: string[]): Account[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const input = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < input.length; i++) {
    const c = input[i] as string;
    if (quoted) {
      if (c === '"' && input[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && input[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  const nonEmpty = rows.filter((r) => r.some((f) => f.trim() !== ''));
  const header = (nonEmpty[0] ?? []).map((h) => h.trim().toLowerCase());
  const uidAt = header.indexOf('uid');
  const passwordAt = header.indexOf('password');
  if (uidAt === -1 || passwordAt === -1) {
    problems.push(`${source}: needs a header row with uid and password columns`);
    return [];
  }
  const accounts: Account[] = [];
  for (const [i, r] of nonEmpty.slice(1).entries()) {
    const uid = (r[uidAt] ?? '').trim();
    const password = r[passwordAt] ?? '';
    if (uid === '' || password === '') problems.push(`${source}: row ${i + 2}: uid and password are required`);
    else accounts.push({ uid, password });
  }
  if (accounts.length === 0 && problems.length === 0) problems.push(`${source}: no accounts`);
  return accounts;
}

/** The DN of a test account: `uid=<uid>,<users base>` with the value escaped (RFC 4514). */
export function accountDn(uidAttribute: string, uid: string, usersBase: string): string {
  const escaped = uid
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ');
  return `${uidAttribute}=${escaped},${usersBase}`;
}

export function readSettings(
  env: Readonly<Record<string, string | undefined>>,
  read: (path: string) => string,
): CheckSettings {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const number = (name: string, fallback: number | null, opts: { integer?: boolean; min?: number } = {}) => {
    const raw = get(name);
    if (raw === undefined) {
      if (fallback === null) problems.push(`${name}: required`);
      return fallback ?? 0;
    }
    const n = Number(raw);
    if (!Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) || n < (opts.min ?? 0)) {
      problems.push(`${name}: must be ${opts.integer ? 'an integer' : 'a number'} ≥ ${opts.min ?? 0}, not ${raw}`);
      return fallback ?? 0;
    }
    return n;
  };
  const duration = (name: string, fallback: string): Duration => {
    const raw = get(name) ?? fallback;
    const d = parseDuration(raw);
    if (d === null) {
      problems.push(`${name}: must be a duration such as 90s, 10m or 1h30m, not ${raw}`);
      return parseDuration(fallback) as Duration;
    }
    return d;
  };
  const url = (name: string): string | null => {
    const raw = get(name);
    if (raw === undefined) return null;
    if (!/^https?:\/\/[^\s/]+/.test(raw)) {
      problems.push(`${name}: must be an http:// or https:// URL, not ${raw}`);
      return null;
    }
    return raw.replace(/\/+$/, '');
  };
  const secretFile = (name: string): string | null => {
    const path = get(name);
    if (path === undefined) return null;
    try {
      return read(path).trim();
    } catch (err) {
      problems.push(`${name}: cannot read ${path} (${(err as Error).message})`);
      return null;
    }
  };

  const skipped: Record<string, string> = {};
  const prometheusUrl = url('RAC_PROMETHEUS_URL');
  if (get('RAC_PROMETHEUS_URL') === undefined)
    problems.push('RAC_PROMETHEUS_URL: required (the Prometheus that scrapes rac serve)');
  const targetSessions = number('RAC_TARGET_SESSIONS', null, { integer: true });
  const hold = duration('RAC_HOLD', '10m');
  const checkDuration = duration('RAC_DURATION', '20m');
  if (checkDuration.seconds < 1) problems.push('RAC_DURATION: must be at least 1s (k6 minimum)');
  if (hold.seconds > checkDuration.seconds)
    problems.push(`RAC_HOLD: ${hold.text} is longer than RAC_DURATION ${checkDuration.text}`);
  const pollInterval = duration('RAC_POLL_INTERVAL', '15s');

  const accountsFile = get('RAC_ACCOUNTS');
  let accounts: Account[] = [];
  if (accountsFile !== undefined) {
    try {
      accounts = parseAccounts(read(accountsFile), `RAC_ACCOUNTS ${accountsFile}`, problems);
    } catch (err) {
      problems.push(`RAC_ACCOUNTS: cannot read ${accountsFile} (${(err as Error).message})`);
    }
  }

  let ldap: CheckSettings['ldap'] = null;
  const ldapUrl = get('RAC_LDAP_URL');
  if (ldapUrl === undefined) skipped['login_storm'] = 'RAC_LDAP_URL not set';
  else if (accountsFile === undefined) problems.push('RAC_ACCOUNTS: required with RAC_LDAP_URL (uid,password CSV)');
  else {
    if (!/^ldaps?:\/\/[^\s/]+/.test(ldapUrl))
      problems.push(`RAC_LDAP_URL: must be ldap:// or ldaps://, not ${ldapUrl}`);
    const usersBase = get('RAC_LDAP_USERS_BASE');
    if (usersBase === undefined) problems.push('RAC_LDAP_USERS_BASE: required with RAC_LDAP_URL');
    const rate = number('RAC_LOGIN_RATE', 10, { integer: true, min: 1 });
    const preAllocatedVUs = number('RAC_LOGIN_VUS', Math.max(1, Math.ceil(rate * 2)), { integer: true, min: 1 });
    const maxVUs = number('RAC_LOGIN_MAX_VUS', preAllocatedVUs * 2, { integer: true, min: 1 });
    ldap = {
      url: ldapUrl,
      usersBase: usersBase ?? '',
      uidAttribute: get('RAC_LDAP_UID_ATTRIBUTE') ?? 'uid',
      rate,
      ramp: duration('RAC_LOGIN_RAMP', '1m'),
      peak: duration('RAC_LOGIN_DURATION', hold.seconds > 0 ? hold.text : '1m'),
      startTime: duration('RAC_LOGIN_START', '0s'),
      preAllocatedVUs,
      maxVUs,
    };
  }

  let portal: CheckSettings['portal'] = null;
  const portalUrl = url('RAC_PORTAL_URL');
  if (get('RAC_PORTAL_URL') === undefined) skipped['portal'] = 'RAC_PORTAL_URL not set';
  else if (accountsFile === undefined) problems.push('RAC_ACCOUNTS: required with RAC_PORTAL_URL (uid,password CSV)');
  else if (portalUrl !== null)
    portal = {
      url: portalUrl,
      apiUrl: url('RAC_PORTAL_API_URL'),
      users: number('RAC_PORTAL_USERS', Math.max(1, Math.min(accounts.length, 100)), { integer: true, min: 1 }),
      ramp: duration('RAC_PORTAL_RAMP', '1m'),
      activeWindow: duration('RAC_PORTAL_ACTIVE_WINDOW', '300s'),
      p95Ms: number('RAC_PORTAL_P95_MS', 2000, { min: 1 }),
    };

  let api: CheckSettings['api'] = null;
  const apiUrl = url('RAC_API_URL');
  if (get('RAC_API_URL') === undefined) skipped['api'] = 'RAC_API_URL not set';
  else {
    const token = secretFile('RAC_API_TOKEN_FILE') ?? get('RAC_API_TOKEN') ?? null;
    if (token === null) problems.push('RAC_API_TOKEN_FILE: required with RAC_API_URL (a file holding the token)');
    if (apiUrl !== null && token !== null)
      api = {
        url: apiUrl,
        token,
        rate: number('RAC_API_RATE', 2, { integer: true, min: 1 }),
        p95Ms: number('RAC_API_P95_MS', 1000, { min: 1 }),
      };
  }

  const settings: CheckSettings = {
    dryRun: get('RAC_DRY_RUN') === '1',
    targetSessions,
    hold,
    duration: checkDuration,
    pollInterval,
    prometheusUrl: prometheusUrl ?? '',
    sessionsQuery: get('RAC_SESSIONS_QUERY') ?? 'sum(remote_access_sessions)',
    connectP95Ms: number('RAC_CONNECT_P95_MS', 3000, { min: 1 }),
    accounts,
    ldap,
    portal,
    api,
    summaryPath: get('RAC_SUMMARY_PATH') ?? 'summary.json',
    topology: get('RAC_TOPOLOGY') ?? null,
    k6Version: get('RAC_K6_VERSION') ?? null,
    skipped,
  };
  if (problems.length > 0) throw new SettingsError(problems);
  return settings;
}
