import { describe, expect, it } from 'vitest';
import { isAuthenticated, type OpenVpnClient, parseOpenVpnStatus } from '../../../src/core/openvpn/parse-status.ts';

// Recorded from a real OpenVPN 2.6.14 server (topology subnet, username-as-common-name, ccd-exclusive,
// auth-user-pass-verify via-file) in a private network namespace, with five real clients:
// alice, bob, carol authenticated; 'pending' whose auth script deferred (exit 2, never decided);
// 'mallory' whose auth failed. `status 3` over the management socket (CRLF line ends, as sent).
const TITLE =
  'OpenVPN 2.6.14 x86_64-pc-linux-gnu [SSL (OpenSSL)] [LZO] [LZ4] [EPOLL] [PKCS11] [MH/PKTINFO] [AEAD] [DCO]';
const HEADER_COLUMNS =
  'Common Name\tReal Address\tVirtual Address\tVirtual IPv6 Address\tBytes Received\tBytes Sent\tConnected Since\tConnected Since (time_t)\tUsername\tClient ID\tPeer ID\tData Channel Cipher';
const STATUS_3 = [
  `TITLE\t${TITLE}`,
  'TIME\t2026-11-26 22:26:58\t1795732018',
  `HEADER\tCLIENT_LIST\t${HEADER_COLUMNS}`,
  'CLIENT_LIST\talice\t127.0.0.1:34503\t10.99.0.10\t\t980\t1942\t2026-11-26 22:26:55\t1795732015\talice\t0\t0\tAES-256-GCM',
  'CLIENT_LIST\tpending\t127.0.0.1:47165\t\t\t1021\t1697\t2026-11-26 22:26:55\t1795732015\tpending\t3\t3\tBF-CBC',
  'CLIENT_LIST\tcarol\t127.0.0.1:58172\t10.99.0.11\t\t980\t1941\t2026-11-26 22:26:55\t1795732015\tcarol\t2\t2\tAES-256-GCM',
  'CLIENT_LIST\tbob\t127.0.0.1:48303\t10.99.16.2\t\t978\t1972\t2026-11-26 22:26:55\t1795732015\tbob\t1\t1\tAES-256-GCM',
  'CLIENT_LIST\tUNDEF\t127.0.0.1:49749\t\t\t948\t1796\t2026-11-26 22:26:55\t1795732015\tUNDEF\t4\t4\tBF-CBC',
  'HEADER\tROUTING_TABLE\tVirtual Address\tCommon Name\tReal Address\tLast Ref\tLast Ref (time_t)',
  'ROUTING_TABLE\t10.99.16.2\tbob\t127.0.0.1:48303\t2026-11-26 22:26:55\t1795732015',
  'ROUTING_TABLE\t10.99.0.11\tcarol\t127.0.0.1:58172\t2026-11-26 22:26:55\t1795732015',
  'ROUTING_TABLE\t10.99.0.10\talice\t127.0.0.1:34503\t2026-11-26 22:26:55\t1795732015',
  'GLOBAL_STATS\tMax bcast/mcast queue length\t0',
  'GLOBAL_STATS\tdco_enabled\t0',
  'END',
  '',
].join('\r\n');

// The same server, same moment, `status 2` (comma-separated).
const STATUS_2 = [
  `TITLE,${TITLE}`,
  'TIME,2026-11-26 22:26:58,1795732018',
  `HEADER,CLIENT_LIST,${HEADER_COLUMNS.replaceAll('\t', ',')}`,
  'CLIENT_LIST,alice,127.0.0.1:34503,10.99.0.10,,980,1942,2026-11-26 22:26:55,1795732015,alice,0,0,AES-256-GCM',
  'CLIENT_LIST,pending,127.0.0.1:47165,,,1021,1697,2026-11-26 22:26:55,1795732015,pending,3,3,BF-CBC',
  'CLIENT_LIST,carol,127.0.0.1:58172,10.99.0.11,,980,1941,2026-11-26 22:26:55,1795732015,carol,2,2,AES-256-GCM',
  'CLIENT_LIST,bob,127.0.0.1:48303,10.99.16.2,,978,1972,2026-11-26 22:26:55,1795732015,bob,1,1,AES-256-GCM',
  'CLIENT_LIST,UNDEF,127.0.0.1:49749,,,948,1796,2026-11-26 22:26:55,1795732015,UNDEF,4,4,BF-CBC',
  'HEADER,ROUTING_TABLE,Virtual Address,Common Name,Real Address,Last Ref,Last Ref (time_t)',
  'ROUTING_TABLE,10.99.16.2,bob,127.0.0.1:48303,2026-11-26 22:26:55,1795732015',
  'GLOBAL_STATS,Max bcast/mcast queue length,0',
  'GLOBAL_STATS,dco_enabled,0',
  'END',
  '',
].join('\r\n');

// The v3 status file (`status <file> 1` + `status-version 3`) five seconds later: LF line ends, and the
// failed client already gone.
const STATUS_FILE = [
  `TITLE\t${TITLE}`,
  'TIME\t2026-11-26 22:27:03\t1795732023',
  `HEADER\tCLIENT_LIST\t${HEADER_COLUMNS}`,
  'CLIENT_LIST\talice\t127.0.0.1:34503\t10.99.0.10\t\t980\t2014\t2026-11-26 22:26:55\t1795732015\talice\t0\t0\tAES-256-GCM',
  'CLIENT_LIST\tpending\t127.0.0.1:47165\t\t\t1094\t1731\t2026-11-26 22:26:55\t1795732015\tpending\t3\t3\tBF-CBC',
  'CLIENT_LIST\tcarol\t127.0.0.1:58172\t10.99.0.11\t\t980\t2013\t2026-11-26 22:26:55\t1795732015\tcarol\t2\t2\tAES-256-GCM',
  'CLIENT_LIST\tbob\t127.0.0.1:48303\t10.99.16.2\t\t978\t2044\t2026-11-26 22:26:55\t1795732015\tbob\t1\t1\tAES-256-GCM',
  'HEADER\tROUTING_TABLE\tVirtual Address\tCommon Name\tReal Address\tLast Ref\tLast Ref (time_t)',
  'ROUTING_TABLE\t10.99.16.2\tbob\t127.0.0.1:48303\t2026-11-26 22:26:55\t1795732015',
  'GLOBAL_STATS\tMax bcast/mcast queue length\t5',
  'GLOBAL_STATS\tdco_enabled\t0',
  'END',
  '',
].join('\n');

const ALICE: OpenVpnClient = {
  commonName: 'alice',
  username: 'alice',
  realAddress: '127.0.0.1:34503',
  virtualAddress: '10.99.0.10',
  bytesIn: 980,
  bytesOut: 1942,
  connectedSince: 1795732015,
  clientId: 0,
  peerId: 0,
};

describe('parseOpenVpnStatus', () => {
  it('reads every client of a real status 3 reply', () => {
    const status = parseOpenVpnStatus(STATUS_3);
    expect(status.warnings).toEqual([]);
    expect(status.updatedAt).toBe(1795732018);
    expect(status.clients.map((c) => c.commonName)).toEqual(['alice', 'pending', 'carol', 'bob', 'UNDEF']);
    expect(status.clients[0]).toEqual(ALICE);
    expect(status.clients[3]).toMatchObject({ username: 'bob', virtualAddress: '10.99.16.2', clientId: 1, peerId: 1 });
  });

  it('counts only clients past authentication: a failed one (UNDEF) and a deferred one (no address) are not connected', () => {
    const { clients } = parseOpenVpnStatus(STATUS_3);
    const failed = clients.find((c) => c.clientId === 4);
    const deferred = clients.find((c) => c.commonName === 'pending');
    expect(failed).toMatchObject({ username: null, virtualAddress: null });
    // Recorded: while the auth script's verdict is pending the server already lists the username.
    expect(deferred).toMatchObject({ username: 'pending', virtualAddress: null });
    expect(clients.filter(isAuthenticated).map((c) => c.username)).toEqual(['alice', 'carol', 'bob']);
  });

  it('reads the comma-separated status 2 the same way', () => {
    const v2 = parseOpenVpnStatus(STATUS_2);
    const v3 = parseOpenVpnStatus(STATUS_3);
    expect(v2.warnings).toEqual([]);
    expect(v2.clients).toEqual(v3.clients);
    expect(v2.updatedAt).toBe(v3.updatedAt);
  });

  it('reads a status-version 3 file (LF line ends)', () => {
    const status = parseOpenVpnStatus(STATUS_FILE);
    expect(status.warnings).toEqual([]);
    expect(status.updatedAt).toBe(1795732023);
    expect(status.clients.filter(isAuthenticated)).toHaveLength(3);
  });

  it('maps columns by the HEADER names, so an added or moved column shifts nothing', () => {
    const text = [
      'HEADER\tCLIENT_LIST\tCommon Name\tNew Column\tUsername\tReal Address\tVirtual Address\tBytes Received\tBytes Sent\tConnected Since (time_t)\tClient ID\tPeer ID',
      'CLIENT_LIST\tbob\tsurprise\tbob\t192.0.2.7:1194\t10.8.0.9\t12\t34\t1700000000\t42\t7',
      'END',
    ].join('\n');
    const { clients, warnings } = parseOpenVpnStatus(text);
    expect(warnings).toEqual([]);
    expect(clients).toEqual([
      {
        commonName: 'bob',
        username: 'bob',
        realAddress: '192.0.2.7:1194',
        virtualAddress: '10.8.0.9',
        bytesIn: 12,
        bytesOut: 34,
        connectedSince: 1700000000,
        clientId: 42,
        peerId: 7,
      },
    ]);
  });

  it('reports odd lines as warnings and keeps every readable client', () => {
    const lines = STATUS_3.split('\r\n');
    lines.splice(4, 0, 'CLIENT_LIST\tshort', 'SOMETHING\tnew', 'CLIENT_LIST\tx\t1.2.3.4:5\t\t\tNaN\t1\t\t1\tx\t9\t9\t');
    const status = parseOpenVpnStatus(lines.join('\n'));
    expect(status.clients).toHaveLength(5);
    expect(status.warnings).toHaveLength(3);
    expect(status.warnings[0]).toMatch(/^line 5: CLIENT_LIST row with 2 fields/);
    expect(status.warnings[1]).toMatch(/^line 6: unexpected line 'SOMETHING/);
    expect(status.warnings[2]).toMatch(/non-numeric/);
  });

  it('skips management notifications that arrive in the middle of the output', () => {
    const lines = STATUS_3.split('\r\n');
    lines.splice(5, 0, '>CLIENT:CONNECT,5,1', '>CLIENT:ENV,username=zoe', '>CLIENT:ENV,END');
    const status = parseOpenVpnStatus(lines.join('\r\n'));
    expect(status.warnings).toEqual([]);
    expect(status.clients).toHaveLength(5);
  });

  it('caps the number of warnings', () => {
    const status = parseOpenVpnStatus('junk\n'.repeat(500));
    expect(status.warnings).toHaveLength(51);
    expect(status.warnings.at(-1)).toBe('450 more warnings not shown');
  });

  it('handles empty input and a status without clients', () => {
    expect(parseOpenVpnStatus('')).toEqual({ clients: [], updatedAt: null, warnings: [] });
    const none = parseOpenVpnStatus(
      STATUS_FILE.split('\n')
        .filter((l) => !l.startsWith('CLIENT_LIST'))
        .join('\n'),
    );
    expect(none).toEqual({ clients: [], updatedAt: 1795732023, warnings: [] });
  });

  it('parses 5000 clients (the design target) correctly', () => {
    const rows = Array.from({ length: 5000 }, (_, i) => {
      const user = `user${String(i).padStart(4, '0')}`;
      const address = `10.8.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`;
      return `CLIENT_LIST\t${user}\t198.51.100.${i % 250}:${20000 + i}\t${address}\t\t${i * 10}\t${i * 20}\t2026-11-26 22:26:55\t${1795732015 + i}\t${i % 100 === 0 ? 'UNDEF' : user}\t${i}\t${i}\tAES-256-GCM`;
    });
    const text = [STATUS_3.split('\r\n').slice(0, 3).join('\n'), ...rows, 'END'].join('\n');
    const status = parseOpenVpnStatus(text);
    expect(status.warnings).toEqual([]);
    expect(status.clients).toHaveLength(5000);
    expect(status.clients.filter(isAuthenticated)).toHaveLength(4950);
    expect(status.clients[4999]).toMatchObject({ commonName: 'user4999', clientId: 4999, bytesOut: 99980 });
  });
});
