/**
 * rac's management account on the local hosts, as a bank runs it: rac logs in as `rac`, not root,
 * and does every privileged thing with `sudo -n` through its own programs in the host's
 * /usr/local/libexec/rac, allowed by the host's /etc/sudoers.d/rac.
 *
 * Everything lives in a host's private /etc and /home (ssh-host.ts, privateEtc): the account is
 * written into that copy's passwd/group/shadow/gshadow, the programs into a directory that only
 * the host's mount namespace sees at /usr/local/libexec/rac. The machine's own files are never
 * touched.
 */
import { chmod, chown, lstat, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { HostProgram } from '../../src/adapters/host-programs/index.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { GatewayConfig } from '../../src/config/schema.ts';
import { execOk } from './netns.ts';

/** Who rac logs in as on the stack's hosts: `rac` through sudo (default of the stack), or root. */
export type Manager = 'root' | 'rac';
export const MANAGER_USER = 'rac';
const VISUDO = '/usr/sbin/visudo';
/** Just above what useradd hands out (login.defs UID_MAX/GID_MAX 60000): a bastion's people never get it. */
const FIRST_ID = 60_001;
const LAST_ID = 60_999;

/** rac's account on a host, as an ssh target (the host's admin key logs it in too) plus its files. */
export interface ManagerAccount {
  host: string;
  port: number;
  user: typeof MANAGER_USER;
  privateKeyFile: string;
  knownHostsFile: string;
  uid: number;
  gid: number;
  /** The host directory mounted at /usr/local/libexec/rac in the host's mount namespace. */
  programsDir: string;
  /** /etc/sudoers.d/rac of the host, as seen from the machine. */
  sudoersFile: string;
}

/** The `ssh:` keys that say who rac logs in as. */
export function managerYaml(manager: Manager): string {
  return manager === 'rac' ? `user: ${MANAGER_USER}, become: sudo` : 'user: root';
}

let freeId: Promise<number> | undefined;

/**
 * rac's uid, also its gid: the first number of FIRST_ID..LAST_ID that the machine's /etc/passwd
 * has as no uid and /etc/group as no gid. Every host of the machine gets the same one, so files
 * on the shared file system (the management socket's directory) mean the same account everywhere.
 */
export async function managerId(): Promise<number> {
  freeId ??= (async () => {
    const taken = (text: string) => new Set(text.split('\n').map((line) => Number(line.split(':')[2])));
    const [uids, gids] = await Promise.all([
      readFile('/etc/passwd', 'utf8').then(taken),
      readFile('/etc/group', 'utf8').then(taken),
    ]);
    for (let id = FIRST_ID; id <= LAST_ID; id++) if (!uids.has(id) && !gids.has(id)) return id;
    throw new Error(`no uid/gid free for ${MANAGER_USER} in ${FIRST_ID}..${LAST_ID} on this machine`);
  })();
  return await freeId;
}

/**
 * `file` (of a private /etc copy) without any entry named `name`, plus `entry`. Replaced by a new
 * file, never written through: `cp -a` keeps a symlink of the machine's /etc as a symlink, and
 * writing through it would change the machine's own file.
 */
async function replaceEntry(file: string, name: string, entry: string): Promise<void> {
  const kept = (await readFile(file, 'utf8')).split('\n').filter((line) => line !== '' && !line.startsWith(`${name}:`));
  await replaceFile(file, `${[...kept, entry].join('\n')}\n`, (await stat(file)).mode & 0o777);
}

/**
 * Writes rac's account into a host's private /etc (etcDir) and /home (homeDir): group rac, a shell,
 * the password field `*` (no password, and not locked: sshd without PAM refuses locked accounts),
 * no password ageing (sudo's PAM account check would otherwise demand a change), and
 * ~/.ssh/authorized_keys holding `publicKey`. Any `rac` of the machine's copy is replaced, and a
 * copied /etc/sudoers.d/rac removed: the host's rules for rac are the ones the stack installs.
 */
export async function addManagerAccount(etcDir: string, homeDir: string, publicKey: string): Promise<number> {
  const id = await managerId();
  const home = join(homeDir, MANAGER_USER);
  await replaceEntry(
    join(etcDir, 'passwd'),
    MANAGER_USER,
    `${MANAGER_USER}:x:${id}:${id}:rac:/home/${MANAGER_USER}:/bin/sh`,
  );
  await replaceEntry(join(etcDir, 'group'), MANAGER_USER, `${MANAGER_USER}:x:${id}:`);
  await replaceEntry(join(etcDir, 'shadow'), MANAGER_USER, [MANAGER_USER, '*', '', '', '', '', '', '', ''].join(':'));
  await replaceEntry(join(etcDir, 'gshadow'), MANAGER_USER, `${MANAGER_USER}:!::`);
  // The rules are written into this directory later: it must be the copy's own, not a link to the machine's.
  if (!(await lstat(join(etcDir, 'sudoers.d'))).isDirectory())
    throw new Error(
      `${join(etcDir, 'sudoers.d')} is not a directory of the /etc copy (a symlink?): refusing to write rules through it`,
    );
  await rm(join(etcDir, 'sudoers.d', MANAGER_USER), { force: true });
  await mkdir(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  await writeFile(join(home, '.ssh', 'authorized_keys'), `${publicKey.trim()}\n`, { mode: 0o600 });
  for (const path of [home, join(home, '.ssh'), join(home, '.ssh', 'authorized_keys')]) await chown(path, id, id);
  await chmod(home, 0o700);
  return id;
}

/** Every host's entry of a rac.yaml, as rac itself reads them (the same loader, the same defaults). */
export function gatewayConfigs(configText: string): Map<string, GatewayConfig> {
  const loaded = parseConfig(configText, { path: 'rac.yaml (local stack)', env: {} });
  return new Map(loaded.config.gateways.map((g) => [g.name, g]));
}

/** Writes `text` to `file` through a temporary name in the same directory: readers see old or new, whole. */
async function replaceFile(file: string, text: string, mode: number): Promise<void> {
  // A dot in the name: sudo's @includedir skips it while it is being written.
  const temporary = join(dirname(file), `.${basename(file)}.new`);
  await writeFile(temporary, text, { mode });
  await chmod(temporary, mode);
  await rename(temporary, file);
}

/**
 * Installs rac's programs (root's, 0755; exactly these, earlier ones removed) and the host's
 * sudoers file (root's, 0440). A rendered sudoers file is checked with visudo first (sudo would
 * refuse every rule of a file that does not parse); `unchecked` installs the text as given, e.g. a
 * broken rule, to see sudo refuse.
 */
export async function installManagerFiles(
  account: Pick<ManagerAccount, 'programsDir' | 'sudoersFile'>,
  programs: readonly HostProgram[],
  sudoers: string,
  options: { unchecked?: boolean } = {},
): Promise<void> {
  const names = new Set(programs.map((p) => p.name));
  for (const name of await readdir(account.programsDir))
    if (!names.has(name)) await rm(join(account.programsDir, name), { recursive: true, force: true });
  for (const program of programs) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(program.name)) throw new Error(`bad program name ${program.name}`);
    await replaceFile(join(account.programsDir, program.name), program.text, 0o755);
  }
  if (options.unchecked !== true) {
    await execOk([VISUDO, '-c', '-f', '-'], { input: sudoers, timeoutMs: 10_000 }).catch((err: unknown) => {
      throw new Error(`sudoers for ${account.sudoersFile} does not parse: ${(err as Error).message}`);
    });
  }
  await replaceFile(account.sudoersFile, sudoers, 0o440);
}
