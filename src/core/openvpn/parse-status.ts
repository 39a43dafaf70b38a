/** One row of the management interface's CLIENT_LIST. */
export interface OpenVpnClient {
  commonName: string;
  /** The name the client authenticated with; null while it is mid-handshake or failing auth ('UNDEF'). */
  username: string | null;
  /** 'ip:port' (or '[v6]:port'), as the server saw it. */
  realAddress: string;
  /** The tun address pushed to it; null before one is assigned. */
  virtualAddress: string | null;
  /** Bytes the server received from this client. */
  bytesIn: number;
  /** Bytes the server sent to this client. */
  bytesOut: number;
  /** time_t; 0 when the server did not report one (pre-2.4 status without the time_t column). */
  connectedSince: number;
  /** The management client id, for `client-kill <cid> HALT`; -1 when the server did not report one. */
  clientId: number;
  peerId: number | null;
}

export interface OpenVpnStatus {
  clients: OpenVpnClient[];
  /** The status's TIME line (time_t), null when absent. */
  updatedAt: number | null;
  /** Lines that could not be read; never thrown, so one odd line cannot hide every session. */
  warnings: string[];
}

/**
 * A client counts as connected only once it is past authentication (README.md, "One definition of connected"). A failed or unfinished
 * handshake shows username 'UNDEF'; but a client whose auth is deferred (a script that exits 2, or
 * management-client-auth) is listed WITH its username while the verdict is pending (recorded on 2.6.14).
 * The server assigns the tun address only when the connection is established, after auth succeeded, so
 * a username and a virtual address together mean authenticated. rac's gateways always push an address
 * (ccd-exclusive with ifconfig-push), so no authenticated client lacks one.
 */
export function isAuthenticated(client: OpenVpnClient): boolean {
  return client.username !== null && client.virtualAddress !== null;
}

/** CLIENT_LIST columns rac reads, by their header name (OpenVPN 2.4–2.6). */
const COLUMNS = {
  commonName: 'Common Name',
  realAddress: 'Real Address',
  virtualAddress: 'Virtual Address',
  bytesIn: 'Bytes Received',
  bytesOut: 'Bytes Sent',
  connectedSince: 'Connected Since (time_t)',
  username: 'Username',
  clientId: 'Client ID',
  peerId: 'Peer ID',
} as const;
type Column = keyof typeof COLUMNS;
type ColumnIndex = Record<Column, number>;

/** Before any HEADER line: the order OpenVPN 2.6 prints (after the CLIENT_LIST tag). */
const DEFAULT_COLUMNS: ColumnIndex = {
  commonName: 1,
  realAddress: 2,
  virtualAddress: 3,
  bytesIn: 5,
  bytesOut: 6,
  connectedSince: 8,
  username: 9,
  clientId: 10,
  peerId: 11,
};

/** Record types that carry nothing rac needs but are expected in a status. */
const KNOWN_SKIPPED = new Set(['TITLE', 'ROUTING_TABLE', 'GLOBAL_STATS', 'END']);
const MAX_WARNINGS = 50;

/**
 * Parses `status 3` (tab-separated) or `status 2` (comma-separated) output, from the management interface
 * or a `status-version 3` file. Columns are found by the HEADER line's names, so an OpenVPN that adds a
 * column does not shift the rest. Management notifications (`>…`) interleaved with the output are skipped.
 */
export function parseOpenVpnStatus(text: string): OpenVpnStatus {
  const clients: OpenVpnClient[] = [];
  const warnings: string[] = [];
  let updatedAt: number | null = null;
  let columns = DEFAULT_COLUMNS;
  let warnedNoTime = false;
  let dropped = 0;
  const warn = (message: string) => {
    if (warnings.length < MAX_WARNINGS) warnings.push(message);
    else dropped++;
  };

  let lineNumber = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    lineNumber++;
    const line = text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
    start = end + 1;
    if (line === '' || line.charCodeAt(0) === 62 /* '>' */) continue;

    const separator = pickSeparator(line);
    const tagEnd = line.indexOf(separator);
    const kind = tagEnd === -1 ? line : line.slice(0, tagEnd);
    // Only the records rac reads are split: ROUTING_TABLE alone is as long as CLIENT_LIST at 5000 sessions.
    if (KNOWN_SKIPPED.has(kind)) continue;
    const fields = line.split(separator);
    if (kind === 'CLIENT_LIST') {
      const client = readClient(fields, columns);
      if (typeof client === 'string') warn(`line ${lineNumber}: ${client}`);
      else {
        if (client.connectedSince === 0 && columns.connectedSince === -1 && !warnedNoTime) {
          warnedNoTime = true;
          warn(`line ${lineNumber}: no 'Connected Since (time_t)' column; connectedSince is 0`);
        }
        clients.push(client);
      }
    } else if (kind === 'HEADER') {
      if (fields[1] === 'CLIENT_LIST') {
        const mapped = mapColumns(fields);
        if (typeof mapped === 'string') warn(`line ${lineNumber}: ${mapped}`);
        else columns = mapped;
      }
    } else if (kind === 'TIME') {
      const value = fields.length >= 3 ? toInteger(fields[fields.length - 1]) : null;
      if (value === null) warn(`line ${lineNumber}: TIME line without a time_t`);
      else updatedAt = value;
    } else {
      warn(`line ${lineNumber}: unexpected line '${shorten(line)}'`);
    }
  }
  if (dropped > 0) warnings.push(`${dropped} more warnings not shown`);
  return { clients, updatedAt, warnings };
}

function pickSeparator(line: string): string {
  const tab = line.indexOf('\t');
  const comma = line.indexOf(',');
  if (tab === -1) return ',';
  if (comma === -1) return '\t';
  return tab < comma ? '\t' : ',';
}

function mapColumns(fields: readonly string[]): ColumnIndex | string {
  const index = new Map<string, number>();
  // fields[0] is HEADER and fields[1] CLIENT_LIST; data rows have the CLIENT_LIST tag at 0, hence the -1.
  for (let i = 2; i < fields.length; i++) index.set((fields[i] as string).trim(), i - 1);
  const mapped = {} as ColumnIndex;
  for (const [key, name] of Object.entries(COLUMNS) as Array<[Column, string]>) {
    mapped[key] = index.get(name) ?? -1;
  }
  if (mapped.commonName === -1 || mapped.realAddress === -1) {
    return "CLIENT_LIST header without 'Common Name' or 'Real Address'; keeping the previous columns";
  }
  return mapped;
}

function readClient(fields: readonly string[], columns: ColumnIndex): OpenVpnClient | string {
  const at = (column: Column): string | undefined => {
    const i = columns[column];
    return i === -1 ? undefined : fields[i];
  };
  const commonName = at('commonName');
  const realAddress = at('realAddress');
  if (commonName === undefined || realAddress === undefined) {
    return `CLIENT_LIST row with ${fields.length} fields is shorter than its header`;
  }
  const username = at('username');
  const virtualAddress = at('virtualAddress');
  const bytesIn = toInteger(at('bytesIn'));
  const bytesOut = toInteger(at('bytesOut'));
  const connectedSince = columns.connectedSince === -1 ? 0 : toInteger(at('connectedSince'));
  const clientId = columns.clientId === -1 ? -1 : toInteger(at('clientId'));
  if (bytesIn === null || bytesOut === null || connectedSince === null || clientId === null) {
    return `CLIENT_LIST row for '${shorten(commonName)}' has a non-numeric byte count, time or client id`;
  }
  const peer = at('peerId');
  return {
    commonName,
    // Pre-2.4 status has no Username column: then the common name is all there is (username-as-common-name).
    username: columns.username === -1 ? commonName : username === undefined || username === 'UNDEF' ? null : username,
    realAddress,
    virtualAddress: virtualAddress === undefined || virtualAddress === '' ? null : virtualAddress,
    bytesIn,
    bytesOut,
    connectedSince,
    clientId,
    peerId: peer === undefined ? null : toInteger(peer),
  };
}

function toInteger(text: string | undefined): number | null {
  if (text === undefined || text === '') return null;
  const value = Number(text);
  return Number.isSafeInteger(value) && value >= 0 ? value : null;
}

function shorten(text: string): string {
  const shown = text.replace(/\p{Cc}/gu, ' ');
  return shown.length > 80 ? `${shown.slice(0, 80)}…` : shown;
}

// ── Management interface replies ─────────────────────────────────────────────────────────────────
