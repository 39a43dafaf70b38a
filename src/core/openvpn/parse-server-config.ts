/**
 * What rac needs to know of an OpenVPN server configuration file: the options its grants and
 * revocations rely on. Parsed as OpenVPN reads a config file: one directive per line, `#` or `;`
 * starts a comment line, arguments split on blanks with double quotes grouping, inline files
 * (`<ca>…</ca>`) skipped.
 */
export interface OpenVpnServerOptions {
  readonly ccdExclusive: boolean;
  readonly usernameAsCommonName: boolean;
  /** The auth-user-pass-verify command as written, or null. */
  readonly authUserPassVerify: string | null;
  /** `script-security` level, or null when absent (OpenVPN's default is 1: no user scripts). */
  readonly scriptSecurity: number | null;
  readonly clientConfigDir: string | null;
  /** The management socket path (only the `unix` form), or null. */
  readonly managementSocket: string | null;
  /** Files pulled in with `config <file>`: not followed here, so their options are unknown. */
  readonly includes: readonly string[];
}

export function parseOpenVpnServerConfig(text: string): OpenVpnServerOptions {
  let ccdExclusive = false;
  let usernameAsCommonName = false;
  let authUserPassVerify: string | null = null;
  let scriptSecurity: number | null = null;
  let clientConfigDir: string | null = null;
  let managementSocket: string | null = null;
  const includes: string[] = [];
  let inlineTag: string | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (inlineTag !== null) {
      if (line.toLowerCase() === `</${inlineTag}>`) inlineTag = null;
      continue;
    }
    const open = /^<([a-z0-9-]+)>$/i.exec(line);
    if (open !== null) {
      inlineTag = (open[1] as string).toLowerCase();
      continue;
    }
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const words = splitArguments(line);
    const [first, ...args] = words;
    if (first === undefined) continue;
    // A config file may spell directives as on the command line (`--ccd-exclusive`).
    const directive = first.replace(/^--/, '').toLowerCase();
    switch (directive) {
      case 'ccd-exclusive':
        ccdExclusive = true;
        break;
      case 'username-as-common-name':
        usernameAsCommonName = true;
        break;
      case 'auth-user-pass-verify':
        authUserPassVerify = args[0] ?? null;
        break;
      case 'script-security': {
        const level = Number(args[0]);
        scriptSecurity = Number.isInteger(level) ? level : null;
        break;
      }
      case 'client-config-dir':
        clientConfigDir = args[0] ?? null;
        break;
      case 'management':
        if (args[1]?.toLowerCase() === 'unix' && args[0] !== undefined) managementSocket = args[0];
        break;
      case 'config':
        if (args[0] !== undefined) includes.push(args[0]);
        break;
      default:
        break;
    }
  }
  return {
    ccdExclusive,
    usernameAsCommonName,
    authUserPassVerify,
    scriptSecurity,
    clientConfigDir,
    managementSocket,
    includes,
  };
}

/** Blanks separate arguments; double quotes group them (a backslash escapes the next character). */
function splitArguments(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (ch === '\\' && i + 1 < line.length) {
      current += line[++i];
      inWord = true;
    } else if (ch === '"') {
      quoted = !quoted;
      inWord = true;
    } else if (!quoted && /\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else if (!quoted && (ch === '#' || ch === ';') && !inWord) {
      break; // a comment after the arguments
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}
