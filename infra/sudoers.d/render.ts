/**
 * infra/sudoers.d/rac: the sudoers rules rac renders for the example hosts in
 * example-gateways.yaml, one block per host kind (a host installs only its own block; `rac helpers
 * export` writes the exact file for each of your hosts). A unit test keeps the file equal to this
 * rendering, CI checks it with visudo -cf.
 *
 *   node infra/sudoers.d/render.ts           prints the rendering
 *   node infra/sudoers.d/render.ts --write   writes infra/sudoers.d/rac
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { parse } from 'yaml';
import { renderSudoers } from '../../src/adapters/host-programs/index.ts';
import { type GatewayConfig, GatewaySchema } from '../../src/config/schema.ts';

export const SUDOERS_FILE = new URL('./rac', import.meta.url);

export function renderExampleSudoers(): string {
  const raw = parse(readFileSync(new URL('./example-gateways.yaml', import.meta.url), 'utf8')) as unknown[];
  const blocks = raw.map((entry, i) => {
    const gateway = Value.Convert(GatewaySchema, Value.Default(GatewaySchema, entry));
    const error = Value.Errors(GatewaySchema, gateway).First();
    if (error !== undefined) throw new Error(`example-gateways.yaml entry ${i}: ${error.path} ${error.message}`);
    return renderSudoers(gateway as GatewayConfig);
  });
  const header = [
    '# rac: example sudoers rules, one block per host kind, for the hosts in example-gateways.yaml.',
    '# A host installs only its own block as /etc/sudoers.d/rac; `rac helpers export` renders the',
    '# exact file for each of your hosts from your rac.yaml.',
    '',
  ].join('\n');
  return `${header}${blocks.join('\n')}`;
}

if (import.meta.main === true) {
  const text = renderExampleSudoers();
  if (process.argv.includes('--write')) writeFileSync(SUDOERS_FILE, text, { mode: 0o440 });
  else process.stdout.write(text);
}
