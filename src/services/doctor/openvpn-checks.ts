import type { Finding } from '../../core/doctor/findings.ts';
import { parseOpenVpnServerConfig } from '../../core/openvpn/parse-server-config.ts';
import type { HostContext } from './host-checks.ts';
import { make, messageOf } from './support.ts';

export async function checkCcdSymlink(ctx: HostContext): Promise<Finding[]> {
  const { name } = ctx.gateway;
  const ccd = ctx.gateway.openvpn?.ccd_dir as string;
  const check = 'openvpn.ccd-symlink';
  // `symlink <target>`, `dangling <target>`, `directory`, `other` or `missing`.
  const r = await ctx.runAsRoot('ccdKind');
  const answer = r.stdout.toString('utf8').trim();
  if (r.code !== 0) return [make(check, name, 'fail', `cannot look at ${ccd}: ${r.stderr.trim()}`, null)];
  if (answer.startsWith('symlink ')) {
    if (!ccd.startsWith('/'))
      return [
        make(check, name, 'fail', `ccd_dir ${ccd} is not an absolute path`, 'give openvpn.ccd_dir as an absolute path'),
      ];
    return [make(check, name, 'ok', `${ccd} is a symlink to ${answer.slice('symlink '.length)}`)];
  }
  const parent = ccd.replace(/\/+$/, '').replace(/\/[^/]*$/, '') || '/';
  const link = `ln -s ${ccd}.0 ${ccd}`;
  const fixes: Record<string, { detail: string; fix: string }> = {
    directory: {
      detail: `${ccd} is a plain directory: rac swaps client-config-dir as a symlink, in one rename, so OpenVPN never reads a half-written set`,
      fix: `on ${name}, as root:\n  mv -T ${ccd} ${ccd}.0 && ${link}\n(a login in the instant between the two commands is refused by ccd-exclusive; nothing needs a restart, OpenVPN reads ${ccd}/<user> at each connect). rac writes its sets as ${parent}/.rac-ccd.* next to it.`,
    },
    missing: {
      detail: `${ccd} does not exist`,
      fix: `on ${name}, as root: mkdir ${ccd}.0 && ${link}, and point client-config-dir in the server config at ${ccd}`,
    },
    other: {
      detail: `${ccd} is neither a directory nor a symlink`,
      fix: `make ${ccd} a symlink to a directory: ${link}`,
    },
  };
  const known = fixes[answer];
  if (known !== undefined) return [make(check, name, 'fail', known.detail, known.fix)];
  return [
    make(
      check,
      name,
      'fail',
      `${ccd} is a symlink to ${answer.replace(/^dangling /, '')}, which is not a directory`,
      `on ${name}, as root: mkdir ${ccd}.0 && ln -sfn ${ccd}.0 ${ccd}`,
    ),
  ];
}

export async function checkManagement(ctx: HostContext): Promise<Finding[]> {
  const { name } = ctx.gateway;
  const socket = ctx.gateway.openvpn?.management as string;
  try {
    const reply = await ctx.host.management('load-stats');
    if (reply.ok) return [make('openvpn.management', name, 'ok', `${socket} answers load-stats: ${reply.text}`)];
    return [make('openvpn.management', name, 'fail', `${socket} answers load-stats with ${reply.text}`, null)];
  } catch (err) {
    return [
      make(
        'openvpn.management',
        name,
        'fail',
        messageOf(err),
        `in the server config:\n  management ${socket} unix\n  management-client-user ${ctx.gateway.ssh.user}\nthen restart OpenVPN. rac reaches the socket over SSH as ${ctx.gateway.ssh.user} (stream-local forwarding: AllowStreamLocalForwarding must not be "no" in sshd_config), so OpenVPN must admit exactly that user (it compares the connecting uid, and with management-client-group the primary gid only), and the socket's directories must let ${ctx.gateway.ssh.user} through while nobody else may${ctx.gateway.ssh.user === 'root' ? ' (0700 root)' : ` (e.g. 0750 root:${ctx.gateway.ssh.user})`}`,
      ),
    ];
  }
}

/**
 * The options rac relies on, read from the server's config file: ccd-exclusive (no CCD file, no
 * login: removing the file revokes), username-as-common-name (the CCD file and `kill` go by the
 * person's name) and the auth script (the password and the tier group are checked at each login).
 */
export async function checkOpenVpnServerConfig(ctx: HostContext): Promise<Finding[]> {
  const { name } = ctx.gateway;
  const openvpn = ctx.gateway.openvpn;
  const file = openvpn?.config_file;
  if (openvpn === undefined || file === undefined) {
    return [
      make(
        'openvpn.server-config',
        name,
        'skipped',
        'could not be checked: ccd-exclusive, username-as-common-name and auth-user-pass-verify are read from the server config file, and openvpn.config_file is not set',
        `set openvpn.config_file (e.g. /etc/openvpn/server/server.conf) for gateway ${name}`,
      ),
    ];
  }
  const r = await ctx.runAsRoot('config');
  if (r.code !== 0) {
    return [
      make(
        'openvpn.server-config',
        name,
        'warn',
        `could not be checked: cannot read ${file}: ${r.stderr.trim()}`,
        'check openvpn.config_file: the file the running server was started with',
      ),
    ];
  }
  const options = parseOpenVpnServerConfig(r.stdout.toString('utf8'));
  const out: Finding[] = [];
  const includes =
    options.includes.length === 0 ? '' : ` (${file} includes ${options.includes.join(', ')}, which is not read)`;
  out.push(
    options.ccdExclusive
      ? make('openvpn.ccd-exclusive', name, 'ok', `${file} has ccd-exclusive`)
      : make(
          'openvpn.ccd-exclusive',
          name,
          'fail',
          `${file} has no ccd-exclusive${includes}: people without a CCD file could still log in, and revocation would not hold`,
          `add the line "ccd-exclusive" to ${file} and restart OpenVPN`,
        ),
  );
  out.push(
    options.usernameAsCommonName
      ? make('openvpn.username-as-common-name', name, 'ok', `${file} has username-as-common-name`)
      : make(
          'openvpn.username-as-common-name',
          name,
          'fail',
          `${file} has no username-as-common-name${includes}: CCD files are named by person, and OpenVPN would look them up by certificate name`,
          `add the line "username-as-common-name" to ${file} and restart OpenVPN`,
        ),
  );
  out.push(authScriptFinding(name, file, options, includes));
  if (
    options.clientConfigDir !== null &&
    options.clientConfigDir.replace(/\/+$/, '') !== openvpn.ccd_dir.replace(/\/+$/, '')
  )
    out.push(
      make(
        'openvpn.client-config-dir',
        name,
        'fail',
        `${file} reads client-config-dir ${options.clientConfigDir}, but rac writes openvpn.ccd_dir ${openvpn.ccd_dir}`,
        'make both the same path',
      ),
    );
  if (options.managementSocket !== null && options.managementSocket !== openvpn.management)
    out.push(
      make(
        'openvpn.management-path',
        name,
        'warn',
        `${file} opens the management socket ${options.managementSocket}, but rac talks to openvpn.management ${openvpn.management}`,
        'make both the same path',
      ),
    );
  return out;
}

function authScriptFinding(
  name: string,
  file: string,
  options: ReturnType<typeof parseOpenVpnServerConfig>,
  includes: string,
): Finding {
  const check = 'openvpn.auth-script';
  if (options.authUserPassVerify === null) {
    return make(
      check,
      name,
      'fail',
      `${file} has no auth-user-pass-verify${includes}: nothing checks the password and the tier group at login`,
      `add to ${file}:\n  script-security 2\n  auth-user-pass-verify "/bin/sh /etc/openvpn/auth-ldap.sh /etc/openvpn/auth-ldap.conf" via-file\n(the script is infra/openvpn/auth-ldap.sh) and restart OpenVPN`,
    );
  }
  if (options.scriptSecurity === null || options.scriptSecurity < 2) {
    return make(
      check,
      name,
      'fail',
      `${file} has auth-user-pass-verify but script-security ${options.scriptSecurity ?? '1 (the default)'}: OpenVPN will not run the script`,
      `add "script-security 2" to ${file} and restart OpenVPN`,
    );
  }
  return make(check, name, 'ok', `${file} checks logins with ${options.authUserPassVerify}`);
}
