import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseOpenVpnServerConfig } from '../../../src/core/openvpn/parse-server-config.ts';

describe('parseOpenVpnServerConfig', () => {
  it('finds the options rac relies on in the shipped server config template', () => {
    const text = readFileSync(new URL('../../../infra/openvpn/server.conf.template', import.meta.url), 'utf8');
    expect(parseOpenVpnServerConfig(text)).toEqual({
      ccdExclusive: true,
      usernameAsCommonName: true,
      authUserPassVerify: '/bin/sh @AUTH_SCRIPT@ @AUTH_CONF@',
      scriptSecurity: 2,
      clientConfigDir: '@CCD_DIR@',
      managementSocket: '@MANAGEMENT_SOCKET@',
      includes: [],
    });
  });

  it('ignores commented-out options, inline files and trailing comments', () => {
    const options = parseOpenVpnServerConfig(
      [
        '# ccd-exclusive',
        ';username-as-common-name',
        '<ca>',
        'ccd-exclusive',
        '</ca>',
        'client-config-dir /etc/openvpn/ccd # where the files are',
        'management 127.0.0.1 7505',
      ].join('\n'),
    );
    expect(options).toMatchObject({
      ccdExclusive: false,
      usernameAsCommonName: false,
      authUserPassVerify: null,
      scriptSecurity: null,
      clientConfigDir: '/etc/openvpn/ccd',
      managementSocket: null,
    });
  });

  it('reads quoted commands, --spelled directives, CRLF lines and config includes', () => {
    const options = parseOpenVpnServerConfig(
      '--ccd-exclusive\r\nUsername-As-Common-Name\r\nauth-user-pass-verify "/usr/bin/env A=\\"b c\\" /x.sh" via-file\r\nscript-security 3\r\nconfig /etc/openvpn/common.conf\r\nmanagement /run/openvpn/s.sock unix\r\n',
    );
    expect(options).toEqual({
      ccdExclusive: true,
      usernameAsCommonName: true,
      authUserPassVerify: '/usr/bin/env A="b c" /x.sh',
      scriptSecurity: 3,
      clientConfigDir: null,
      managementSocket: '/run/openvpn/s.sock',
      includes: ['/etc/openvpn/common.conf'],
    });
  });
});
