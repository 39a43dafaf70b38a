import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/core/errors.ts';
import { type CcdEntry, parseCcd, renderCcd } from '../../../src/core/openvpn/render-ccd.ts';

const BOB: CcdEntry = {
  uid: 'bob',
  tier: 'vpn-bastion',
  address: '10.99.16.2',
  netmask: '255.255.0.0',
  routes: ['10.20.0.0/16', '172.16.5.0/24'],
};

// Byte for byte what a real OpenVPN 2.6.14 server (topology subnet, ccd-exclusive) read while recording
// test/unit/openvpn/parse-status.test.ts: bob's client came up with exactly 10.99.16.2.
const BOB_CCD = `# managed by rac: bob (vpn-bastion)
ifconfig-push 10.99.16.2 255.255.0.0
push "route 10.20.0.0 255.255.0.0"
push "route 172.16.5.0 255.255.255.0"
`;

function renderError(entry: Partial<CcdEntry>): AppError {
  try {
    renderCcd({ ...BOB, ...entry } as CcdEntry);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('RAC_OPENVPN_RENDER');
    return err as AppError;
  }
  throw new Error(`expected ${JSON.stringify(entry)} to be refused`);
}

describe('renderCcd', () => {
  it('writes the header, the static address and one push per route', () => {
    expect(renderCcd(BOB)).toBe(BOB_CCD);
  });

  it('writes an entry without routes, and drops repeated routes', () => {
    expect(renderCcd({ ...BOB, tier: 'vpn', routes: [] })).toBe(
      '# managed by rac: bob (vpn)\nifconfig-push 10.99.16.2 255.255.0.0\n',
    );
    expect(renderCcd({ ...BOB, routes: ['10.0.0.0/8', '10.0.0.0/8', '0.0.0.0/0'] })).toBe(
      '# managed by rac: bob (vpn-bastion)\nifconfig-push 10.99.16.2 255.255.0.0\npush "route 10.0.0.0 255.0.0.0"\npush "route 0.0.0.0 0.0.0.0"\n',
    );
  });

  it.each([
    'Alice',
    '1alice',
    '',
    'a'.repeat(33),
    'alice\nifconfig-push 10.0.0.1 255.0.0.0',
    'alice bob',
    'al"ice',
    '../etc',
    'alice\r',
  ])('refuses the uid %j', (uid) => {
    expect(renderError({ uid }).message).toMatch(/uid .* is not a valid account name/);
  });

  it('never echoes control characters of a refused value', () => {
    expect(renderError({ uid: 'x\ny' }).message).toContain("'x?y'");
  });

  it('refuses a tier without a VPN', () => {
    expect(renderError({ tier: 'public' as CcdEntry['tier'] }).message).toMatch(/tier 'public'/);
  });

  it.each([
    '10.99.16.2\npush "route 0.0.0.0 0.0.0.0"',
    '10.99.16.2 255.255.255.0',
    '10.99.16',
    '10.99.016.2',
    '10.99.16.256',
    ' 10.99.16.2',
    '10.99.16.2"',
    '::1',
  ])('refuses the address %j', (address) => {
    expect(renderError({ address }).message).toMatch(/address/);
  });

  it('refuses the network and broadcast address of the subnet', () => {
    expect(renderError({ address: '10.99.0.0' }).message).toMatch(/network or broadcast/);
    expect(renderError({ address: '10.99.255.255' }).message).toMatch(/network or broadcast/);
  });

  it.each(['255.0.255.0', '255.255.255.254', '255.255.255.255', '255.255.0.0\nup /bin/sh', '24'])(
    'refuses the netmask %j',
    (netmask) => {
      renderError({ netmask });
    },
  );

  it.each([
    '10.20.0.1/16',
    '10.20.0.0/33',
    '10.20.0.0',
    '10.20.0.0/16"\npush "redirect-gateway def1',
    '10.20.0.0/16 vpn_gateway',
    '10.20.0.0/016',
    'fd00::/8',
  ])('refuses the route %j', (route) => {
    expect(renderError({ routes: [route] }).message).toMatch(/route/);
  });

  it('only ever emits its three kinds of line, whatever the fields hold', () => {
    const pieces = ['"', '\n', '\r', '\\', ' ', '\t', '\u2028', 'push', '#', ';', '0', '1', '.', '/', '8', 'a', '_'];
    const line =
      /^(?:# managed by rac: [a-z_][a-z0-9._-]* \((?:vpn|vpn-bastion)\)|ifconfig-push [0-9.]+ [0-9.]+|push "route [0-9.]+ [0-9.]+")$/;
    let rendered = 0;
    for (let i = 0; i < 3000; i++) {
      const noise = Array.from({ length: 1 + (i % 4) }, (_, j) => pieces[(i * 7 + j * 13) % pieces.length]).join('');
      const field = i % 4;
      const entry = {
        ...BOB,
        uid: field === 0 ? `bob${noise}` : 'bob',
        address: field === 1 ? `10.99.16.${noise}` : BOB.address,
        netmask: field === 2 ? `255.255.${noise}` : BOB.netmask,
        routes: field === 3 ? [`10.${noise}`] : BOB.routes,
      };
      try {
        const text = renderCcd(entry);
        rendered++;
        for (const l of text.slice(0, -1).split('\n')) expect(l).toMatch(line);
      } catch (err) {
        expect((err as AppError).code).toBe('RAC_OPENVPN_RENDER');
      }
    }
    expect(rendered).toBeGreaterThan(100);
  });
});

describe('parseCcd', () => {
  it('reads back what renderCcd wrote', () => {
    expect(parseCcd(renderCcd(BOB))).toEqual({
      uid: 'bob',
      tier: 'vpn-bastion',
      address: '10.99.16.2',
      netmask: '255.255.0.0',
      routes: ['10.20.0.0/16', '172.16.5.0/24'],
      disabled: false,
      unknown: [],
    });
  });

  it('tolerates comments, blank lines, CRLF and extra blanks', () => {
    const text =
      '# managed by rac: bob (vpn-bastion)\r\n\r\n; edited by hand\r\n  ifconfig-push   10.99.16.2\t255.255.0.0  \r\n# a note\r\npush  "route 10.20.0.0 255.255.0.0"\r\n';
    expect(parseCcd(text)).toMatchObject({
      uid: 'bob',
      tier: 'vpn-bastion',
      address: '10.99.16.2',
      netmask: '255.255.0.0',
      routes: ['10.20.0.0/16'],
      unknown: [],
    });
  });

  it('lists every directive rac does not write, so drift shows', () => {
    const text = [
      '# managed by rac: carol (vpn)',
      'ifconfig-push 10.8.0.5 255.255.0.0',
      'push "route 10.20.0.0 255.255.0.0 vpn_gateway 100"',
      'push "dhcp-option DNS 10.0.0.53"',
      'push "route 10.20.0.1 255.255.0.0"',
      'iroute 192.168.0.0 255.255.255.0',
      'ifconfig-push 10.8.0.6 255.255.0.0',
    ].join('\n');
    const parsed = parseCcd(text);
    expect(parsed.address).toBe('10.8.0.5');
    expect(parsed.routes).toEqual([]);
    expect(parsed.unknown).toEqual([
      'push "route 10.20.0.0 255.255.0.0 vpn_gateway 100"',
      'push "dhcp-option DNS 10.0.0.53"',
      'push "route 10.20.0.1 255.255.0.0"',
      'iroute 192.168.0.0 255.255.255.0',
      'ifconfig-push 10.8.0.6 255.255.0.0',
    ]);
  });

  it('reads files rac did not write: no header, an empty file, a disabled user', () => {
    expect(parseCcd('ifconfig-push 10.8.0.7 255.255.0.0\n')).toMatchObject({
      uid: null,
      tier: null,
      address: '10.8.0.7',
    });
    expect(parseCcd('')).toEqual({
      uid: null,
      tier: null,
      address: null,
      netmask: null,
      routes: [],
      disabled: false,
      unknown: [],
    });
    expect(parseCcd('disable\n')).toMatchObject({ disabled: true, unknown: [] });
    expect(parseCcd('# managed by rac: Bob (vpn)\n').uid).toBeNull();
  });
});
