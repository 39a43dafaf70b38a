import { AppError } from '../errors.ts';
import { isTier, TIERS, type Tier } from '../tiers.ts';
import { UID_PATTERN } from '../uid.ts';
import { explainBadWireGuardKey } from '../wireguard/keys.ts';
import { decodeRoster, type RosterEncoding, type RosterEncodingOption } from './decode-roster.ts';
import { parseCsv } from './parse-csv.ts';
import { checkSshPublicKey, looksLikePrivateKey } from './ssh-public-key.ts';

export const ROSTER_COLUMNS = [
  'uid',
  'name',
  'email',
  'department',
  'title',
  'tier',
  'ssh_key',
  'expires',
  'wg_key',
] as const;
export type RosterColumn = (typeof ROSTER_COLUMNS)[number];

export const RosterProblemCode = {
  csv: 'RAC_ROSTER_CSV',
  fieldCount: 'RAC_ROSTER_FIELD_COUNT',
  controlCharacter: 'RAC_ROSTER_CONTROL_CHARACTER',
  uidInvalid: 'RAC_ROSTER_UID_INVALID',
  uidDuplicate: 'RAC_ROSTER_UID_DUPLICATE',
  tierUnknown: 'RAC_ROSTER_TIER_UNKNOWN',
  sshKeyInvalid: 'RAC_ROSTER_SSH_KEY_INVALID',
  sshKeyMissing: 'RAC_ROSTER_SSH_KEY_MISSING',
  emailInvalid: 'RAC_ROSTER_EMAIL_INVALID',
  dateInvalid: 'RAC_ROSTER_DATE_INVALID',
  expired: 'RAC_ROSTER_EXPIRED',
  wgKeyInvalid: 'RAC_ROSTER_WG_KEY_INVALID',
} as const;
export type RosterProblemCode = (typeof RosterProblemCode)[keyof typeof RosterProblemCode];

export interface RosterPerson {
  line: number;
  uid: string;
  name: string | null;
  email: string | null;
  department: string | null;
  title: string | null;
  tier: Tier | null;
  /** The normalised 'type blob comment' line. */
  sshKey: string | null;
  /** YYYY-MM-DD */
  expires: string | null;
  /** The person's WireGuard public key (`wg pubkey` output), when the roster gives one. */
  wgKey?: string | null;
}

export interface RosterProblem {
  line: number;
  column: string | null;
  code: string;
  reason: string;
  /** The offending value, at most 80 characters, control characters escaped; null when it must not be echoed. */
  value: string | null;
}

export interface ParsedRoster {
  people: RosterPerson[];
  problems: RosterProblem[];
  warnings: string[];
  encoding: RosterEncoding;
  encodingDetected: boolean;
  /** Data rows read, broken ones included; blank rows are not counted. */
  rows: number;
}

export interface ParseRosterOptions {
  encoding?: RosterEncodingOption;
  /** YYYY-MM-DD; rows expiring before this day are refused. Passed in so the core stays clock-free. */
  today: string;
}

/** POSIX portable user names (useradd's default check), lowercase only so LDAP and Unix agree on one spelling. */
const EMAIL_LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
/**
 * Two or more dot-separated labels of letters, digits and inner hyphens (up to 63 characters each), the last
 * also a top-level domain: letters, or an IDN's xn-- form. One regex, not a split: it runs once per row.
 */
const DOMAIN =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?=[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$)(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const VALUE_LIMIT = 80;

/**
 * Bytes of HR's CSV → people, or the full list of what is wrong with it. Every row is checked completely
 * so one run tells HR everything to fix; a row with any problem is left out of `people`. Only a file with
 * no usable header throws, because then no row can be read at all.
 */
export function parseRoster(bytes: Uint8Array, options: ParseRosterOptions): ParsedRoster {
  if (parseIsoDate(options.today) === null) throw new TypeError(`today must be YYYY-MM-DD, got '${options.today}'`);
  const decoded = decodeRoster(bytes, options.encoding ?? 'auto');
  const csv = parseCsv(decoded.text);

  const header = csv.records[0];
  const headerProblem = csv.problems[0];
  if (headerProblem !== undefined && (header === undefined || headerProblem.line < header.line)) {
    throw new AppError(
      'RAC_ROSTER_HEADER',
      `The header row (line ${headerProblem.line}) is not valid CSV: ${headerProblem.reason}.`,
      {
        details: { line: headerProblem.line },
      },
    );
  }
  if (header === undefined) {
    throw new AppError(
      'RAC_ROSTER_HEADER',
      'The roster is empty; it needs a header row naming at least the uid column.',
    );
  }

  const layout = readHeader(header.fields, header.line);
  const warnings: string[] = [];
  if (decoded.encoding === 'gbk' && decoded.detected) {
    warnings.push('The roster is not valid UTF-8 and was read as GBK; check that names came out right.');
  }
  if (layout.unknown.length > 0) {
    warnings.push(
      `Ignoring unknown column${layout.unknown.length === 1 ? '' : 's'} ${layout.unknown.map((name) => `"${showValue(name)}"`).join(', ')}; ` +
        `known columns are ${ROSTER_COLUMNS.join(', ')}.`,
    );
  }

  const problems: RosterProblem[] = [];
  for (const problem of csv.problems) {
    problems.push({
      line: problem.line,
      column: layout.names[problem.field - 1] ?? null,
      code: RosterProblemCode.csv,
      reason: `not valid CSV: ${problem.reason}`,
      value: null,
    });
  }

  const people: RosterPerson[] = [];
  const firstLineOfUid = new Map<string, number>();
  const unnamedWithData = new Set<number>();
  // Every CSV problem left here is one broken data row (a broken header threw above).
  let rows = csv.problems.length;

  for (let r = 1; r < csv.records.length; r++) {
    const record = csv.records[r] as (typeof csv.records)[number];
    if (record.fields.every((field) => trimSpaces(field) === '')) continue;
    rows++;
    const before = problems.length;
    const report = (column: RosterColumn | null, code: RosterProblemCode, reason: string, value: string | null) => {
      problems.push({ line: record.line, column, code, reason, value: value === null ? null : showValue(value) });
    };

    if (record.fields.length > header.fields.length) {
      const extra = record.fields.slice(header.fields.length);
      report(
        null,
        RosterProblemCode.fieldCount,
        `row has ${record.fields.length} fields but the header has ${header.fields.length}; ` +
          'a value containing the delimiter must be quoted',
        extra.join(csv.delimiter),
      );
    }
    for (let f = 0; f < record.fields.length && f < header.fields.length; f++) {
      if (layout.names[f] === '' && trimSpaces(record.fields[f] ?? '') !== '') unnamedWithData.add(f + 1);
    }

    // A control character makes a value unusable whatever the column: it is reported once, as such, and
    // the value comes back null so the column's own checks stay quiet.
    const value = (column: RosterColumn): string | null => {
      const index = layout.index.get(column);
      const raw = index === undefined ? '' : trimSpaces(record.fields[index] ?? '');
      const control = findControlCharacter(raw);
      if (control === null) return raw;
      report(column, RosterProblemCode.controlCharacter, `${column} contains a control character (${control})`, raw);
      return null;
    };

    const uid = value('uid');
    if (uid === null) {
      // Reported already.
    } else if (uid === '') {
      report('uid', RosterProblemCode.uidInvalid, 'uid is empty; every row needs one', uid);
    } else if (!UID_PATTERN.test(uid)) {
      report('uid', RosterProblemCode.uidInvalid, explainBadUid(uid), uid);
    } else {
      const first = firstLineOfUid.get(uid);
      if (first === undefined) firstLineOfUid.set(uid, record.line);
      else report('uid', RosterProblemCode.uidDuplicate, `uid '${uid}' already appears on line ${first}`, uid);
    }

    const name = value('name');
    const email = value('email');
    if (email !== null && email !== '' && !isEmail(email)) {
      report('email', RosterProblemCode.emailInvalid, 'email is not a valid address (name@example.com)', email);
    }

    const department = value('department');
    const title = value('title');

    const tierText = value('tier');
    const tierValue = tierText?.toLowerCase() ?? '';
    let tier: Tier | null = null;
    if (tierText !== null && tierValue !== '') {
      if (isTier(tierValue)) tier = tierValue;
      else
        report('tier', RosterProblemCode.tierUnknown, `tier must be one of ${TIERS.join(', ')} (or empty)`, tierText);
    }

    const keyText = value('ssh_key');
    let sshKey: string | null = null;
    if (keyText === null) {
      // Reported already; a missing key would be a second complaint about the same cell.
    } else if (keyText !== '') {
      const parsed = checkSshPublicKey(keyText);
      if (parsed.ok) sshKey = parsed.line;
      else {
        // Never copy something that may be a private key into a report that gets mailed around.
        const shown = looksLikePrivateKey(keyText) ? null : keyText;
        report('ssh_key', RosterProblemCode.sshKeyInvalid, `ssh_key ${parsed.reason}`, shown);
      }
    } else if (tier === 'vpn-bastion') {
      report(
        'ssh_key',
        RosterProblemCode.sshKeyMissing,
        'tier vpn-bastion needs an ssh_key to log in to the bastion',
        null,
      );
    }

    const expiresText = value('expires');
    let expires: string | null = null;
    if (expiresText !== null && expiresText !== '') {
      if (parseIsoDate(expiresText) === null) {
        report(
          'expires',
          RosterProblemCode.dateInvalid,
          'expires must be a real date written YYYY-MM-DD (e.g. 2030-12-31); if Excel reformatted it, format the column as Text',
          expiresText,
        );
      } else if (expiresText < options.today) {
        report(
          'expires',
          RosterProblemCode.expired,
          `expires ${expiresText} is before today (${options.today})`,
          expiresText,
        );
      } else {
        expires = expiresText;
      }
    }

    const wgKey = checkWireGuardKey(value('wg_key'), report);

    if (problems.length === before && uid !== null) {
      const person: RosterPerson = {
        line: record.line,
        uid,
        name: name || null,
        email: email || null,
        department: department || null,
        title: title || null,
        tier,
        sshKey,
        expires,
      };
      // Set, not spread in: a spread builds every row's object the slow way.
      if (wgKey !== null) person.wgKey = wgKey;
      people.push(person);
    }
  }

  if (unnamedWithData.size > 0) {
    const columns = [...unnamedWithData].sort((a, b) => a - b);
    warnings.push(
      `Column${columns.length === 1 ? '' : 's'} ${columns.join(', ')} ${columns.length === 1 ? 'has' : 'have'} ` +
        'values but no header; those values were ignored.',
    );
  }

  problems.sort((a, b) => a.line - b.line);
  return { people, problems, warnings, encoding: decoded.encoding, encodingDetected: decoded.detected, rows };
}

/** A WireGuard PUBLIC key, strictly as `wg pubkey` prints it; what looks like a private key is never echoed. */
function checkWireGuardKey(
  text: string | null,
  report: (column: RosterColumn, code: RosterProblemCode, reason: string, value: string | null) => void,
): string | null {
  if (text === null || text === '') return null;
  const bad = explainBadWireGuardKey(text);
  if (bad === null) return text;
  // A private key has the same shape as a public one; anything key-like is kept out of reports.
  report('wg_key', RosterProblemCode.wgKeyInvalid, `wg_key ${bad}`, /^[A-Za-z0-9+/=]{40,}$/.test(text) ? null : text);
  return null;
}

interface HeaderLayout {
  /** Normalised name per position; '' for a column with an empty header cell. */
  names: string[];
  index: Map<RosterColumn, number>;
  unknown: string[];
}

function readHeader(fields: readonly string[], line: number): HeaderLayout {
  const names = fields.map(normaliseColumnName);
  const index = new Map<RosterColumn, number>();
  const unknown: string[] = [];
  const unknownNames = new Set<string>();
  for (const [position, name] of names.entries()) {
    if (name === '') continue;
    if (!isRosterColumn(name)) {
      // An unknown column is ignored, so a repeated one is harmless; it is named once.
      if (!unknownNames.has(name)) unknown.push(trimSpaces(fields[position] ?? ''));
      unknownNames.add(name);
      continue;
    }
    const first = index.get(name);
    if (first !== undefined) {
      // Two "Tier" columns: which one HR meant is a guess, and a wrong guess grants access.
      throw new AppError(
        'RAC_ROSTER_HEADER',
        `The header (line ${line}) has the column ${name} twice (columns ${first + 1} and ${position + 1}); keep one.`,
        { details: { line, column: name } },
      );
    }
    index.set(name, position);
  }
  if (!index.has('uid')) {
    const found = fields.map((field) => `"${showValue(trimSpaces(field))}"`).join(', ');
    throw new AppError(
      'RAC_ROSTER_HEADER',
      `The header (line ${line}) has no uid column; found ${found}. The first row must name the columns, ` +
        `e.g. ${ROSTER_COLUMNS.join(',')}.`,
      { details: { line } },
    );
  }
  return { names, index, unknown };
}

/** 'SSH Key', 'ssh-key' and ' SSH_KEY ' all mean ssh_key. */
export function normaliseColumnName(header: string): string {
  return trimSpaces(header)
    .toLowerCase()
    .replace(/[\s_-]+/g, '_');
}

function isRosterColumn(name: string): name is RosterColumn {
  return (ROSTER_COLUMNS as readonly string[]).includes(name);
}

/**
 * Leading and trailing spaces in an Excel cell are nearly always accidental (copy-paste from mail or chat),
 * and no column gives them meaning — a uid cannot hold a space at all — so ' bob' means bob. Only spaces go:
 * ASCII, no-break (U+00A0, from web pages), ideographic (U+3000, from Chinese input methods) and friends.
 * Tabs and line breaks stay so that the control-character check can refuse them.
 */
function trimSpaces(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isSpace(value.charCodeAt(start))) start++;
  while (end > start && isSpace(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

function isSpace(c: number): boolean {
  return (
    c === 0x20 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** C0 controls (NUL, tab, CR, LF, …), DEL, C1 controls, and the Unicode line/paragraph separators. */
function findControlCharacter(value: string): string | null {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) {
      return `${escapeCharacter(c)} at position ${i + 1}`;
    }
  }
  return null;
}

function explainBadUid(uid: string): string {
  const rule =
    'uid must be a POSIX portable user name: a lowercase letter or _ first, then up to 31 lowercase letters, ' +
    'digits, ., _ or -';
  if (uid.length > 32) return `${rule}; this one is ${uid.length} characters long`;
  if (uid !== uid.toLowerCase() && UID_PATTERN.test(uid.toLowerCase())) {
    return `${rule}; uppercase is not allowed (did you mean '${uid.toLowerCase()}'?)`;
  }
  return rule;
}

function isEmail(value: string): boolean {
  if (value.length > 254) return false;
  const at = value.lastIndexOf('@');
  if (at <= 0 || at > 64) return false;
  return EMAIL_LOCAL.test(value.slice(0, at)) && DOMAIN.test(value.slice(at + 1));
}

/** A real calendar date in YYYY-MM-DD (2023-02-29 is not), or null. */
function parseIsoDate(value: string): { year: number; month: number; day: number } | null {
  const match = ISO_DATE.exec(value);
  if (match === null) return null;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (year < 1 || month < 1 || month > 12 || day < 1) return null;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  return day <= days ? { year, month, day } : null;
}

/** The value as a person should see it in a report: control characters visible, at most 80 characters. */
function showValue(value: string): string {
  let out = '';
  let count = 0;
  const chars = Array.from(value);
  for (const [i, char] of chars.entries()) {
    const code = char.codePointAt(0) ?? 0;
    const isControl = code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
    const shown = isControl ? escapeCharacter(code) : char;
    const width = isControl ? shown.length : 1;
    // Room for the ellipsis is kept unless this is the last character.
    const room = i === chars.length - 1 ? VALUE_LIMIT : VALUE_LIMIT - 1;
    if (count + width > room) return `${out}…`;
    out += shown;
    count += width;
  }
  return out;
}

function escapeCharacter(code: number): string {
  if (code === 0x00) return '\\0';
  if (code === 0x09) return '\\t';
  if (code === 0x0a) return '\\n';
  if (code === 0x0d) return '\\r';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}
