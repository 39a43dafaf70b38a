import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bastion } from '../../infra/local/bastion-host.ts';
import { type CompanyPerson, generateCompany } from '../../infra/local/company.ts';
import { asDirectoryRoot } from '../../infra/local/ldap-root.ts';
import {
  createNamespace,
  deleteNamespace,
  type ExecResult,
  exec,
  linkNamespaces,
  makeDataDir,
  namespaceName,
} from '../../infra/local/netns.ts';
import { type SshHost, startSshHost } from '../../infra/local/ssh-host.ts';
import { type LocalStack, startStack } from '../../infra/local/stack.ts';
import { rosterFor } from '../../infra/local/workspace.ts';
import { JUMP_ONLY_OPTIONS } from '../../src/core/bastion/account-script.ts';
import type { ApplyReport } from '../../src/services/apply-plan.ts';
import type { DriftReport } from '../../src/services/drift.ts';
import type { RevokeReport } from '../../src/services/revoke-access.ts';
import { runRac } from '../support/rac-env.ts';

/**
 * What a bastion login may do, on the real stack: a bastion (its own namespace and sshd) and a
 * target host in ANOTHER namespace that only the bastion can reach (a veth pair between the two;
 * the root namespace has no route to it). People log in with the real OpenSSH client.
 */

const POLICY = 'default: { tier: public, max: vpn-bastion }\nrules: []\n';
const company = generateCompany(12, { seed: 808 });
const [ops, dev, newcomer] = company as [CompanyPerson, CompanyPerson, CompanyPerson];
// The link between the bastion and the target: addresses inside our own two namespaces only.
const BASTION_SIDE = '10.250.77.1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A public key line nobody holds the private half of. */
function strangerKey(): string {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  const part = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const blob = Buffer.concat([part(Buffer.from('ssh-ed25519')), part(Buffer.from(jwk.x ?? '', 'base64url'))]);
  return `ssh-ed25519 ${blob.toString('base64')} root@elsewhere`;
}
const TARGET_SIDE = '10.250.77.2';

describe('bastion.login on the real stack: ssh -J through, no shell unless configured', () => {
  let stack: LocalStack;
  let bastion: Bastion;
  let target: SshHost;
  let targetNamespace = '';
  let dir: string;
  let keyDir: string;
  const held: ChildProcess[] = [];
  const keyOf = new Map<string, { privateKeyFile: string; publicKey: string }>();
  const rac = (args: string[]) => runRac(dir, args);
  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);

  /** An ssh client config: the person's key only, both host keys pinned, batch mode. */
  const clientConfig = (uid: string): string => {
    const file = join(keyDir, `${uid}.config`);
    writeFileSync(
      file,
      [
        'Host *',
        `  IdentityFile ${keyOf.get(uid)?.privateKeyFile}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${join(keyDir, 'known_hosts')}`,
        '  GlobalKnownHostsFile /dev/null',
        '  StrictHostKeyChecking yes',
        '  UpdateHostKeys no',
        '  BatchMode yes',
        '  ConnectTimeout 5',
        '  LogLevel ERROR',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    return file;
  };
  /** `ssh <uid>@bastion <command…>` with the real client. */
  const onBastion = (uid: string, command: readonly string[], stdin = ''): Promise<ExecResult> =>
    exec(['ssh', '-F', clientConfig(uid), `${uid}@${bastion.address}`, '--', ...command], {
      timeoutMs: 20_000,
      input: stdin,
    });
  /** `ssh -J <uid>@bastion <uid>@target <command…>`: the jump that bastions are for. */
  const throughBastion = (uid: string, command: readonly string[]): Promise<ExecResult> =>
    exec(
      ['ssh', '-F', clientConfig(uid), '-J', `${uid}@${bastion.address}`, `${uid}@${TARGET_SIDE}`, '--', ...command],
      {
        timeoutMs: 20_000,
      },
    );
  const bastionKeys = (uid: string) => readFileSync(join(bastion.homeDir, uid, '.ssh/authorized_keys'), 'utf8');

  beforeAll(async () => {
    stack = await startStack({ people: company, gateways: 0, bastions: 1 });
    bastion = stack.bastions[0] as Bastion;
    dir = mkdtempSync(join(tmpdir(), 'rac-login-'));
    keyDir = mkdtempSync(join(tmpdir(), 'rac-login-keys-'));
    for (const p of [ops, dev, newcomer]) {
      const file = join(keyDir, p.uid);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${p.uid}@laptop`, '-f', file]);
      keyOf.set(p.uid, { privateKeyFile: file, publicKey: readFileSync(`${file}.pub`, 'utf8').trim() });
    }

    // The target: its own namespace, linked to the bastion's only, with its own sshd and /etc.
    targetNamespace = namespaceName(stack.runId, 'tg1');
    await createNamespace(targetNamespace);
    await linkNamespaces(bastion.namespace, `${BASTION_SIDE}/30`, targetNamespace, `${TARGET_SIDE}/30`);
    const targetDir = await makeDataDir('rac-target-');
    target = await startSshHost({
      namespace: targetNamespace,
      address: TARGET_SIDE,
      dataDir: targetDir,
      privateEtc: true,
      probeNamespace: bastion.namespace,
    });
    // ops has an account there (made by whoever runs the target, not by rac), with the same key.
    execFileSync('useradd', ['--prefix', targetDir, '-m', '-s', '/bin/sh', '-p', '*', ops.uid]);
    const home = join(targetDir, 'home', ops.uid);
    // The machine does not know the name: chown by the numbers from the target's own passwd.
    const entry = readFileSync(join(targetDir, 'etc/passwd'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${ops.uid}:`));
    const [, , uidNumber, gidNumber] = entry?.split(':') ?? [];
    execFileSync(
      'sh',
      [
        '-c',
        'mkdir -m 700 "$1/.ssh" && cat > "$1/.ssh/authorized_keys" && chown -R "$2" "$1/.ssh"',
        'sh',
        home,
        `${uidNumber}:${gidNumber}`,
      ],
      { input: `${keyOf.get(ops.uid)?.publicKey}\n` },
    );
    writeFileSync(join(keyDir, 'known_hosts'), `${bastion.ssh.hostKeyLine}\n${target.hostKeyLine}\n`, { mode: 0o600 });

    // No bastion section: rac's default applies.
    write('rac.yaml', stack.config({ sshTimeoutMs: 5000, bastionLogin: null }));
    write('policy.yaml', POLICY);
    write(
      'roster.csv',
      rosterFor([ops, dev], (p) => ({ tier: 'vpn-bastion', ssh_key: keyOf.get(p.uid)?.publicKey as string })),
    );
  }, 120_000);

  afterAll(async () => {
    for (const child of held) if (child.exitCode === null) child.kill('SIGKILL');
    await target?.stop();
    if (targetNamespace !== '') await deleteNamespace(targetNamespace);
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(keyDir, { recursive: true, force: true });
  });

  it('by default (jump-only), ssh -J reaches a target in another namespace, and a shell or command is refused', async () => {
    const out = await rac(['apply', 'roster.csv', '--yes', '--json']);
    expect(out.code, out.stderr).toBe(0);
    const { report } = out.json<{ report: ApplyReport }>();
    expect(report.systems.map((s) => [s.name, s.status, s.added])).toEqual([['bastion-1', 'applied', 2]]);
    const blob = keyOf.get(ops.uid)?.publicKey.split(' ')[1];
    expect(bastionKeys(ops.uid)).toBe(`${JUMP_ONLY_OPTIONS} ssh-ed25519 ${blob} rac:${ops.uid}\n`);

    const jumped = await throughBastion(ops.uid, ['id -un; echo "$SSH_CONNECTION"']);
    expect(jumped.code, jumped.stderr).toBe(0);
    const [who, connection] = jumped.stdout.trim().split('\n');
    expect(who).toBe(ops.uid);
    // The target saw the connection come from the bastion's end of the link, to its own address.
    expect(connection).toMatch(
      new RegExp(`^${BASTION_SIDE.replaceAll('.', '\\.')} \\d+ ${TARGET_SIDE.replaceAll('.', '\\.')} 22$`),
    );

    const command = await onBastion(ops.uid, ['id']);
    expect(command.code).not.toBe(0);
    expect(command.stdout).not.toContain('uid=');
    // No command: the shell sshd would start, fed commands on stdin (no PTY: restrict forbids one).
    const shell = await onBastion(ops.uid, [], 'id\necho shell-ran\n');
    expect(shell.code).not.toBe(0);
    expect(shell.stdout).not.toMatch(/uid=|shell-ran/);

    const drift = await rac(['drift', '--json']);
    expect(drift.code, drift.stdout).toBe(0);
    expect(drift.json<DriftReport>()).toMatchObject({ items: [], foreign: [] });
  });

  it('with login: shell, keys written in the other mode are drift; once fixed the shell works, and so does -J', async () => {
    write('rac.yaml', stack.config({ sshTimeoutMs: 5000, bastionLogin: 'shell' }));
    const found = await rac(['drift', '--json']);
    expect(found.code).toBe(5);
    expect(found.json<DriftReport>().items).toEqual(
      [ops, dev].map((p) => ({
        system: 'bastion-1',
        uid: p.uid,
        expected: 'vpn-bastion 1 key shell',
        observed: 'vpn-bastion 1 key jump-only',
      })),
    );
    const fixed = await rac(['drift', '--fix']);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    const blob = keyOf.get(ops.uid)?.publicKey.split(' ')[1];
    expect(bastionKeys(ops.uid)).toBe(`ssh-ed25519 ${blob} rac:${ops.uid}\n`);

    const login = await onBastion(ops.uid, ['id', '-un']);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout.trim()).toBe(ops.uid);
    expect((await throughBastion(ops.uid, ['id', '-un'])).stdout.trim()).toBe(ops.uid);
    expect((await rac(['drift', '--json'])).code).toBe(0);
  });

  it('a key with options in the directory never takes effect: command="echo bar" is refused before it reaches the host', async () => {
    // OpenSSH's own regress test (key-options.sh): with command="echo bar" on the key, `ssh host echo foo`
    // prints bar. Whatever the directory carries, a line rac writes must never let that happen.
    const before = await onBastion(dev.uid, ['echo', 'foo']);
    expect(before.stdout.trim()).toBe('foo');
    const forced = (uid: string) => `command="echo bar",no-pty ${keyOf.get(uid)?.publicKey}`;
    await asDirectoryRoot(stack.directory, async (c) => {
      for (const p of [dev, newcomer])
        await c.modify(stack.directory.dnOf(p.uid), [
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: 'sshPublicKey', values: [forced(p.uid)] }),
          }),
        ]);
      // newcomer joins the bastion tier in the directory, with only that key.
      await c.modify(stack.directory.groups['vpn-bastion'], [
        new Change({
          operation: 'add',
          modification: new Attribute({ type: 'member', values: [stack.directory.dnOf(newcomer.uid)] }),
        }),
      ]);
    });

    const drift = await rac(['drift', '--fix', '--json']);
    const report = drift.json<DriftReport>();
    expect(report.unusable.map((u) => u.uid).sort()).toEqual([dev.uid, newcomer.uid].sort());
    for (const u of report.unusable) expect(u.reason).toMatch(/options/);
    // dev keeps exactly what rac wrote before; newcomer gets no account at all.
    expect(bastionKeys(dev.uid)).toBe(`ssh-ed25519 ${keyOf.get(dev.uid)?.publicKey.split(' ')[1]} rac:${dev.uid}\n`);
    expect(bastionKeys(dev.uid)).not.toContain('bar');
    const after = await onBastion(dev.uid, ['echo', 'foo']);
    expect(after.stdout.trim()).toBe('foo');
    const stranger = await onBastion(newcomer.uid, ['echo', 'foo']);
    expect(stranger.code).toBe(255);
    expect(stranger.stdout).not.toContain('bar');
    expect(readFileSync(join(bastion.etcDir, 'passwd'), 'utf8')).not.toContain(`${newcomer.uid}:`);
  });

  it('back to jump-only: a held ssh -J connection is a session rac sees, and revoke ends it', async () => {
    write('rac.yaml', stack.config({ sshTimeoutMs: 5000, bastionLogin: null }));
    await rac(['drift', '--fix']); // rewrites every key in jump-only form (dev's unusable directory key aside)
    expect(bastionKeys(ops.uid).startsWith(`${JUMP_ONLY_OPTIONS} `)).toBe(true);
    const child = spawn(
      'ssh',
      [
        '-F',
        clientConfig(ops.uid),
        '-J',
        `${ops.uid}@${bastion.address}`,
        `${ops.uid}@${TARGET_SIDE}`,
        '--',
        'echo up; exec sleep 60',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    held.push(child);
    let output = '';
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
    for (let i = 0; i < 100 && !output.includes('up'); i++) await sleep(100);
    expect(output).toContain('up');

    const sessions = await rac(['sessions', '--json']);
    expect(sessions.code, sessions.stderr).toBe(0);
    expect(sessions.json<{ sessions: Array<{ uid: string; gateway: string }> }>().sessions).toEqual([
      expect.objectContaining({ uid: ops.uid, gateway: 'bastion-1' }),
    ]);
    const revoked = await rac(['revoke', ops.uid, '--json']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.json<RevokeReport>().verified).toBe(true);
    await Promise.race([exited, sleep(5_000)]);
    expect(child.exitCode ?? child.signalCode).not.toBeNull();
    expect((await throughBastion(ops.uid, ['id', '-un'])).code).toBe(255);
  });

  it('on the real bastion, rac never reads out a root-only file a user links in; the account is reported', async () => {
    // Root-only, key-looking lines on the bastion (its data directory is the same path inside its mount namespace).
    const secretDir = join(bastion.dataDir, 'root-only');
    mkdirSync(join(secretDir, '.ssh'), { recursive: true, mode: 0o700 });
    chmodSync(secretDir, 0o700);
    const secrets = [strangerKey(), strangerKey(), strangerKey()];
    writeFileSync(join(secretDir, '.ssh/authorized_keys'), `${secrets.join('\n')}\n`, { mode: 0o600 });
    // dev points ~/.ssh/authorized_keys at it; `handmade` (an account someone made in rac-bastion) points ~/.ssh at
    // its directory. Both links are in place before rac looks (the race itself is tested in bastion-script.test.ts).
    const home = join(bastion.homeDir, dev.uid);
    rmSync(join(home, '.ssh/authorized_keys'));
    symlinkSync(join(secretDir, '.ssh/authorized_keys'), join(home, '.ssh/authorized_keys'));
    const admin = (command: string) =>
      execFileSync(
        'ssh',
        [
          '-i',
          bastion.ssh.privateKeyFile,
          '-o',
          `UserKnownHostsFile=${bastion.ssh.knownHostsFile}`,
          '-o',
          'BatchMode=yes',
          `root@${bastion.address}`,
          command,
        ],
        { encoding: 'utf8' },
      );
    admin(`useradd -m -g rac-bastion -s /bin/bash -p '*' handmade && ln -s ${secretDir}/.ssh /home/handmade/.ssh`);

    const drift = await rac(['drift', '--json']);
    const status = await rac(['status', dev.uid, '--json']);
    for (const out of [drift, status])
      for (const line of secrets) expect(out.stdout + out.stderr).not.toContain(line.split(' ')[1]);
    expect(drift.json<DriftReport>().foreign).toEqual(
      expect.arrayContaining([
        { system: 'bastion-1', artifact: `${dev.uid}: ~/.ssh/authorized_keys is a symlink` },
        { system: 'bastion-1', artifact: 'handmade: ~/.ssh is a symlink' },
      ]),
    );
  });
});
