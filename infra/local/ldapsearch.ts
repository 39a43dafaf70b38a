import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { LocalDirectory } from './directory.ts';

const run = promisify(execFile);

/**
 * A second, independent client: OpenLDAP's own ldapsearch, bound as the directory's root
 * (password from a file, never argv). Tests check the real state through it, not through rac.
 */
export async function ldapsearch(
  directory: LocalDirectory,
  base: string,
  filter: string,
  attrs: string[],
  scope = 'sub',
): Promise<string> {
  const pwFile = join(directory.dataDir, 'root-password');
  writeFileSync(pwFile, directory.rootPassword, { mode: 0o600 });
  const { stdout } = await run(
    'ldapsearch',
    [
      '-x',
      '-LLL',
      '-o',
      'ldif-wrap=no',
      '-H',
      directory.url,
      '-D',
      directory.rootDn,
      '-y',
      pwFile,
      '-s',
      scope,
      '-b',
      base,
      filter,
      ...attrs,
    ],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  return stdout;
}

/** uids of the people in a tier group, as ldapsearch sees it. */
export async function memberUids(
  directory: LocalDirectory,
  tier: keyof LocalDirectory['groups'],
): Promise<Set<string>> {
  const out = await ldapsearch(directory, directory.groups[tier], '(objectClass=*)', ['member'], 'base');
  const uids = new Set<string>();
  for (const line of out.split('\n')) {
    const m = /^member: uid=([^,]+),/i.exec(line);
    if (m !== null) uids.add((m[1] as string).toLowerCase());
  }
  return uids;
}

export async function sshKeysOf(directory: LocalDirectory, uid: string): Promise<string[]> {
  const out = await ldapsearch(directory, directory.usersBase, `(uid=${uid})`, ['sshPublicKey']);
  return out
    .split('\n')
    .filter((l) => l.startsWith('sshPublicKey: '))
    .map((l) => l.slice('sshPublicKey: '.length));
}
