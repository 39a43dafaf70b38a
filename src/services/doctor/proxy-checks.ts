import type { Finding } from '../../core/doctor/findings.ts';
import { dumpCommandOf } from '../../core/proxy/dump-command.ts';
import type { HostContext } from './host-checks.ts';
import { make } from './support.ts';

/**
 * The access proxy: its configuration passes its own test, and the running configuration
 * includes the allow map rac writes (else the map would change nothing).
 */
export async function checkProxyMapInclude(ctx: HostContext): Promise<Finding[]> {
  const { name } = ctx.gateway;
  const proxy = ctx.gateway.proxy;
  if (proxy === undefined) return [];
  const tested = await ctx.runAsRoot('test');
  if (tested.code !== 0) {
    return [
      make(
        'proxy.config',
        name,
        'fail',
        `${proxy.test_command.join(' ')} failed (exit ${tested.code}): ${tested.stderr.trim().split('\n').slice(-2).join(' ')}`,
        `fix the proxy's configuration on ${name} until ${proxy.test_command.join(' ')} passes`,
      ),
    ];
  }
  // nginx -T prints the whole configuration as nginx reads it, included files among it. It is the
  // test command with -t turned into -T, so the same -p/-c flags name the same configuration.
  const dumpCommand = dumpCommandOf(proxy.test_command);
  if (dumpCommand === null) {
    return [
      make(
        'proxy.map-include',
        name,
        'skipped',
        `the test command ${proxy.test_command.join(' ')} has no -t to turn into -T, so the included files cannot be listed`,
      ),
    ];
  }
  const dump = await ctx.runAsRoot('dump', { maxStdoutBytes: 64 * 1024 * 1024 });
  const text = `${dump.stdout.toString('utf8')}\n${dump.stderr}`;
  if (dump.code !== 0) {
    return [make('proxy.map-include', name, 'skipped', `${dumpCommand.join(' ')} failed (exit ${dump.code})`)];
  }
  const included = text.split('\n').some((line) => /^\s*include\s/.test(line) && line.includes(proxy.allow_map));
  return [
    included
      ? make('proxy.map-include', name, 'ok', `the running configuration includes ${proxy.allow_map}`)
      : make(
          'proxy.map-include',
          name,
          'fail',
          `no include of ${proxy.allow_map} in the configuration ${dumpCommand.join(' ')} prints: the allow map would change nothing`,
          `add "include ${proxy.allow_map};" inside the map block of the portal site (see infra/nginx/rac-portal.conf)`,
        ),
  ];
}
