import { createHash } from 'node:crypto';
import { isTier, type Tier, tierRank } from '../tiers.ts';

/**
 * The access proxy's allow map: the body of an nginx `map` block, one line per person,
 * `<uid> <tier>;`, included by the site's own map (infra/nginx/rac-portal.conf):
 *
 *   map $rac_user $rac_access { default 0; include /etc/nginx/rac-allow.map; }
 *
 * The value is the person's highest tier, so the map mirrors the directory faithfully (drift sees
 * a tier change); the site allows exactly the three tier values and denies everything else.
 *
 * The first entry is the generation marker: `@rac-generation g-<hash>;`. `@` is outside every
 * uid rac accepts, and its value is not a tier, so it grants nothing even to someone who managed
 * to authenticate under that name. The site returns `$rac_access` for that key on a loopback-only
 * location, which is how rac proves that the running nginx has loaded a given map.
 *
 * nginx rules this follows (ngx_http_map_module.c, ngx_conf_file.c, ngx_hash.c):
 * - keys match case-insensitively, lower-cased with ASCII rules only (ngx_strlow): so are ours,
 *   and a case-insensitive repeat would fail the reload ("conflicting parameter");
 * - a key starting with `~` is a regex, and `default`, `hostnames`, `include`, `volatile` are
 *   keywords: they get a `\` in front;
 * - a key with whitespace, `;`, `{`, `}`, `#`, quotes or `\` is double-quoted with `\"` and `\\`;
 * - control characters cannot be written at all (nginx would turn `\n` in quotes into a newline).
 */

export const GENERATION_KEY = '@rac-generation';
const HEADER = '# Managed by rac: the allow map of the public tier. Hand edits are replaced by the next apply.';
const KEYWORDS = new Set(['default', 'hostnames', 'include', 'volatile']);

export interface AllowMapEntry {
  readonly uid: string;
  readonly tier: Tier;
}

export interface RenderedAllowMap {
  /** The file, ending with a newline. */
  readonly text: string;
  /** `g-` + 16 hex digits of the entries: what the running nginx reports once it loaded this map. */
  readonly generation: string;
  /** Entries written, by their map key (ASCII lower case). */
  readonly entries: ReadonlyMap<string, Tier>;
  /** People who cannot be written, with why. */
  readonly rejected: ReadonlyArray<{ uid: string; reason: string }>;
}

/** nginx lower-cases map keys with ASCII rules only: 'É' stays 'É'. */
export function mapKeyOf(uid: string): string {
  for (let i = 0; i < uid.length; i++) {
    const c = uid.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return uid.replace(/[A-Z]+/g, (s) => s.toLowerCase());
  }
  return uid; // the common case, without allocating
}

/**
 * The key as nginx must read it back. A keyword, a leading `~` or a leading `\\` gets a `\\`
 * prefix (ngx_http_map() strips one, quoted or not); a key with whitespace, `;`, braces, `#`,
 * quotes or `\\` is double-quoted, with `"` and `\\` escaped (ngx_conf_read_token unescapes them).
 */
export function formatMapKey(key: string): string {
  const prefix = KEYWORDS.has(key) || key.startsWith('~') || key.startsWith('\\') ? '\\' : '';
  if (/[\s;{}#"'\\]/.test(key)) return `"${prefix}${key.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  return `${prefix}${key}`;
}

function rejectReason(uid: string): string | null {
  if (uid.length === 0) return 'empty uid';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(uid)) return 'uid contains a control character';
  if (uid.startsWith('@')) return 'uid starts with @ (reserved for the generation marker)';
  return null;
}

/**
 * Renders the map from the people who should pass. Lower-cased and deduplicated: a repeat keeps
 * the higher tier. Entries are sorted, so the same people always give the same bytes and hash.
 */
export function renderAllowMap(people: Iterable<AllowMapEntry>): RenderedAllowMap {
  const entries = new Map<string, Tier>();
  const rejected: Array<{ uid: string; reason: string }> = [];
  for (const { uid, tier } of people) {
    const reason = rejectReason(uid);
    if (reason !== null) {
      rejected.push({ uid, reason });
      continue;
    }
    const key = mapKeyOf(uid);
    const current = entries.get(key);
    if (current === undefined || tierRank(tier) > tierRank(current)) entries.set(key, tier);
  }
  const keys = [...entries.keys()].sort();
  const body = keys.map((k) => `${formatMapKey(k)} ${entries.get(k)};\n`).join('');
  const generation = generationOf(body);
  const text = `${HEADER}\n${GENERATION_KEY} ${generation};\n${body}`;
  return { text, generation, entries: new Map(keys.map((k) => [k, entries.get(k) as Tier])), rejected };
}

function generationOf(body: string): string {
  return `g-${createHash('sha256').update(body).digest('hex').slice(0, 16)}`;
}

/**
 * `map_hash_max_size` for a map of `count` keys: a power of two at least twice the count (so
 * nginx finds a table where every bucket fits, instead of warning and scanning ~25 keys per
 * lookup), never below nginx's default 2048. To be set in the http block before the first map.
 */
export function mapHashMaxSize(count: number): number {
  let size = 2048;
  while (size < count * 2) size *= 2;
  return size;
}

export interface ParsedAllowMap {
  readonly entries: ReadonlyMap<string, Tier>;
  readonly generation: string | null;
  /** Lines rac did not write: other values, directives, unparseable text. */
  readonly foreign: readonly string[];
  /** Whether the file's generation marker matches its entries (false for a hand-edited file). */
  readonly consistent: boolean;
}

/** Reads a map back (observe, drift): nginx's tokenizer rules for what rac writes. */
export function parseAllowMap(text: string): ParsedAllowMap {
  const entries = new Map<string, Tier>();
  const foreign: string[] = [];
  let generation: string | null = null;
  const statements = tokenize(text);
  for (const statement of statements) {
    const [key, value, ...rest] = statement.tokens;
    const shown = statement.source.trim();
    if (key === undefined || value === undefined || rest.length > 0 || !statement.terminated) {
      foreign.push(shown);
      continue;
    }
    if (key.text === GENERATION_KEY) {
      generation = value.text;
      continue;
    }
    // Regexes and keywords are never written by rac; a leading `\\` is stripped, as nginx does.
    if (!isTier(value.text) || key.text.startsWith('~') || KEYWORDS.has(key.text)) {
      foreign.push(shown);
      continue;
    }
    const uid = key.text.startsWith('\\') ? key.text.slice(1) : key.text;
    const lower = mapKeyOf(uid);
    if (entries.has(lower)) foreign.push(shown);
    else entries.set(lower, value.text);
  }
  const body = [...entries.keys()]
    .sort()
    .map((k) => `${formatMapKey(k)} ${entries.get(k)};\n`)
    .join('');
  return { entries, generation, foreign, consistent: generation === generationOf(body) && foreign.length === 0 };
}

interface Token {
  readonly text: string;
}

interface Statement {
  readonly tokens: Token[];
  readonly source: string;
  readonly terminated: boolean;
}

function tokenize(text: string): Statement[] {
  const out: Statement[] = [];
  let tokens: Token[] = [];
  let start = 0;
  let i = 0;
  const flush = (end: number, terminated: boolean) => {
    if (tokens.length > 0 || terminated) out.push({ tokens, source: text.slice(start, end), terminated });
    tokens = [];
    start = end;
  };
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '#') {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? text.length : nl;
      if (tokens.length === 0) start = i;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      if (tokens.length === 0) start = i;
      continue;
    }
    if (c === ';') {
      i++;
      flush(i, true);
      continue;
    }
    if (c === '{' || c === '}') {
      i++;
      tokens.push({ text: c });
      continue;
    }
    if (c === '"' || c === "'") {
      const end = scan(text, i + 1, (ch) => ch === c);
      tokens.push({ text: unescapeToken(text.slice(i + 1, end)) });
      i = end + 1;
      continue;
    }
    const end = scan(text, i, (ch) => /[\s;{}]/.test(ch));
    tokens.push({ text: unescapeToken(text.slice(i, end)) });
    i = end;
  }
  flush(text.length, false);
  return out;
}

/** Index of the first unescaped character matching `stop` from `from` (or the end). */
function scan(text: string, from: number, stop: (c: string) => boolean): number {
  let j = from;
  while (j < text.length && !stop(text[j] as string)) j += text[j] === '\\' ? 2 : 1;
  return Math.min(j, text.length);
}

/** ngx_conf_read_token's escapes (quote, apostrophe, backslash, t, r, n); any other backslash pair stays. */
function unescapeToken(raw: string): string {
  return raw.replace(/\\(["'\\trn])/g, (_, c: string) => (c === 't' ? '\t' : c === 'r' ? '\r' : c === 'n' ? '\n' : c));
}
