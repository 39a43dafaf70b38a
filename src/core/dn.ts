/**
 * DN comparison. Servers return DNs in their own spelling (`\2C` hex escapes, other case,
 * spaces after commas), so DNs are never compared with `===`: both sides are normalised first.
 * This is a parser of RFC 4514 strings, good for the attribute types a directory of people uses
 * (case-insensitive string values such as uid and cn).
 */
export function normalizeDn(dn: string): string {
  // Fast path for the common shape (no escapes, no multi-valued RDNs): large groups hold tens
  // of thousands of member DNs, and every one is normalised on each read.
  if (!/[\\+"#;]/.test(dn)) {
    if (isNormalForm(dn)) return dn;
    return dn
      .split(',')
      .map((part) => {
        const eq = part.indexOf('=');
        if (eq < 0) throw new Error(`invalid DN ${JSON.stringify(dn)}: missing '='`);
        return `${part.slice(0, eq).trim().toLowerCase()}=${part
          .slice(eq + 1)
          .trim()
          .toLowerCase()}`;
      })
      .join(',');
  }
  return parseDn(dn)
    .map((rdn) =>
      rdn
        .map(([type, value]) => `${type.toLowerCase()}=${escapeDnValue(value.toLowerCase())}`)
        .sort()
        .join('+'),
    )
    .join(',');
}

/**
 * True when the split-trim-lowercase below would give the DN back unchanged: no white space, no
 * upper case, and an '=' in every RDN. Servers mostly return DNs so; checking is cheaper than rebuilding.
 */
function isNormalForm(dn: string): boolean {
  if (/\s/.test(dn) || dn.toLowerCase() !== dn) return false;
  let start = 0;
  for (;;) {
    const comma = dn.indexOf(',', start);
    const eq = dn.indexOf('=', start);
    if (eq < 0 || (comma >= 0 && eq > comma)) return false;
    if (comma < 0) return true;
    start = comma + 1;
  }
}

export type Rdn = Array<[type: string, value: string]>;

export function parseDn(dn: string): Rdn[] {
  const rdns: Rdn[] = [];
  let rdn: Rdn = [];
  let i = 0;
  const n = dn.length;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  while (i < n) {
    while (i < n && dn[i] === ' ') i++;
    const eq = dn.indexOf('=', i);
    if (eq < 0) throw new Error(`invalid DN ${JSON.stringify(dn)}: missing '='`);
    const type = dn.slice(i, eq).trim();
    i = eq + 1;
    while (i < n && dn[i] === ' ') i++;
    let value = '';
    let hex: number[] = [];
    let rawTrailing = 0;
    const flushHex = () => {
      if (hex.length > 0) {
        value += decoder.decode(Uint8Array.from(hex));
        hex = [];
      }
    };
    while (i < n && dn[i] !== ',' && dn[i] !== '+' && dn[i] !== ';') {
      const ch = dn[i] as string;
      if (ch === '\\') {
        const next = dn.slice(i + 1, i + 3);
        if (/^[0-9a-fA-F]{2}$/.test(next)) {
          hex.push(Number.parseInt(next, 16));
          i += 3;
        } else if (i + 1 < n) {
          flushHex();
          value += dn[i + 1];
          i += 2;
        } else throw new Error(`invalid DN ${JSON.stringify(dn)}: trailing backslash`);
        rawTrailing = 0;
        continue;
      }
      flushHex();
      value += ch;
      rawTrailing = ch === ' ' ? rawTrailing + 1 : 0;
      i++;
    }
    flushHex();
    rdn.push([type, rawTrailing > 0 ? value.slice(0, value.length - rawTrailing) : value]);
    if (i < n && dn[i] === '+') {
      i++;
      continue;
    }
    rdns.push(rdn);
    rdn = [];
    if (i < n) i++; // ',' or ';'
  }
  if (rdn.length > 0) rdns.push(rdn);
  return rdns;
}

/** RFC 4514 §2.4 escaping of an attribute value inside a DN. */
export function escapeDnValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    const code = ch.charCodeAt(0);
    if (',+"\\<>;='.includes(ch)) out += `\\${ch}`;
    else if (code === 0) out += '\\00';
    else if ((i === 0 && (ch === ' ' || ch === '#')) || (i === value.length - 1 && ch === ' ')) out += `\\${ch}`;
    else out += ch;
  }
  return out;
}
