import type { Finding } from '../../core/doctor/findings.ts';
import type { HostContext } from './host-checks.ts';
import { make } from './support.ts';

/** The commands the bastion account script runs, with the Debian package that has each. */
const BASTION_COMMANDS: ReadonlyArray<{ command: string; package: string; required: boolean }> = [
  { command: 'setpriv', package: 'util-linux', required: true },
  { command: 'flock', package: 'util-linux', required: false },
  { command: 'useradd', package: 'passwd', required: true },
  { command: 'usermod', package: 'passwd', required: true },
  { command: 'groupadd', package: 'passwd', required: true },
  { command: 'chpasswd', package: 'passwd', required: true },
  { command: 'getent', package: 'libc-bin', required: true },
  { command: 'pkill', package: 'procps', required: true },
  { command: 'ps', package: 'procps', required: true },
  { command: 'awk', package: 'mawk', required: true },
  { command: 'xargs', package: 'findutils', required: true },
  { command: 'mktemp', package: 'coreutils', required: true },
];

/** Prints each argument that is not a command, with the PATH the account script sets. */
const MISSING_COMMANDS_SCRIPT = `PATH=/usr/sbin:/usr/bin:/sbin:/bin
for c in "$@"; do command -v "$c" >/dev/null 2>&1 || echo "$c"; done`;

export async function checkBastionCommands(ctx: HostContext): Promise<Finding[]> {
  const { name } = ctx.gateway;
  const r = await ctx.shell.exec(
    ['sh', '-c', MISSING_COMMANDS_SCRIPT, 'rac-doctor', ...BASTION_COMMANDS.map((c) => c.command)],
    { timeoutMs: ctx.timeoutMs },
  );
  if (r.code !== 0)
    return [make('bastion.commands', name, 'warn', `could not be checked: exit ${r.code}: ${r.stderr.trim()}`, null)];
  const missing = new Set(r.stdout.toString('utf8').split('\n').filter(Boolean));
  const lacking = BASTION_COMMANDS.filter((c) => missing.has(c.command));
  if (lacking.length === 0)
    return [
      make(
        'bastion.commands',
        name,
        'ok',
        `the account script's commands are there (${BASTION_COMMANDS.map((c) => c.command).join(', ')})`,
      ),
    ];
  const required = lacking.filter((c) => c.required);
  const packages = [...new Set(lacking.map((c) => c.package))].join(' ');
  return [
    make(
      'bastion.commands',
      name,
      required.length > 0 ? 'fail' : 'warn',
      `missing on ${name}: ${lacking.map((c) => c.command).join(', ')}${required.length === 0 ? ' (optional: without flock two rac runs could interleave)' : ''}`,
      `apt-get install --no-install-recommends ${packages}`,
    ),
  ];
}
