/**
 * The local gateway stack with real servers: network namespaces, an OpenVPN 2.6 gateway with the
 * LDAP auth script, real OpenVPN clients, sshd's for the gateway and the bastion, the system ssh.
 * The gateway is managed as the stack manages it by default: by the account rac, through sudo.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bastion, type HeldSession, sshLogin, startBastion } from '../../infra/local/bastion-host.ts';
import { type CompanyPerson, generateCompany } from '../../infra/local/company.ts';
import { type LocalDirectory, type SeedTier, startDirectory } from '../../infra/local/directory.ts';
import { installManagerFiles, type ManagerAccount } from '../../infra/local/manager.ts';
import { cleanupAll, exec, execOk, isAlive, newRunId } from '../../infra/local/netns.ts';
import {
  managementCommand,
  type OpenVpnGateway,
  parseClientList,
  startOpenVpnGateway,
} from '../../infra/local/openvpn-gateway.ts';
import { type SshTarget, sshArgv, sshRun } from '../../infra/local/ssh-host.ts';
import {
  connectVpnClient,
  connectVpnClients,
  deleteClientsNamespace,
  stopVpnClients,
  type VpnClient,
} from '../../infra/local/vpn-clients.ts';

const AUTH_SCRIPT = fileURLToPath(new URL('../../infra/openvpn/auth-ldap.sh', import.meta.url));
const PARALLEL = 20;

describe('gateway stack (namespaces, OpenVPN 2.6, sshd)', () => {
  const people = generateCompany(PARALLEL + 6, { seed: 7 });
  const vpnPeople = people.slice(0, PARALLEL + 3); // 0: main person, 1: no CCD, 2: swap test, 3..: parallel
  const [alice, noCcd, swapPerson] = vpnPeople as [CompanyPerson, CompanyPerson, CompanyPerson];
  const publicPerson = people[PARALLEL + 3] as CompanyPerson;
  const memberships = new Map<string, SeedTier>([
    ...vpnPeople.map((p) => [p.uid, 'vpn'] as [string, SeedTier]),
    [publicPerson.uid, 'public'],
  ]);
  const runId = newRunId();
  let directory: LocalDirectory;
  let gateway: OpenVpnGateway;
  let bastion: Bastion;
  let scratch: string;
  const clients: VpnClient[] = [];
  const held: HeldSession[] = [];
  const timings: Record<string, number> = {};

  const connect = async (person: { uid: string; password: string }, timeoutMs = 15_000): Promise<VpnClient> => {
    const c = await connectVpnClient({ gateway, username: person.uid, password: person.password, timeoutMs });
    clients.push(c);
    return c;
  };
  const grant = async (uid: string): Promise<void> => writeFile(join(gateway.ccdDir, uid), '');
  const serverLogSince = async (offset: number): Promise<string> =>
    (await readFile(gateway.logFile)).subarray(offset).toString('utf8');
  const logSize = async (): Promise<number> => (await readFile(gateway.logFile)).length;

  /** What the hosts' accounts and programs must never change on the machine. */
  const machineState = async () => ({
    passwd: await readFile('/etc/passwd', 'utf8'),
    group: await readFile('/etc/group', 'utf8'),
    sudoers: await readdir('/etc/sudoers.d'),
    usrLocal: await readdir('/usr/local'),
  });
  let machineBefore: Awaited<ReturnType<typeof machineState>>;

  beforeAll(async () => {
    machineBefore = await machineState();
    scratch = await mkdtemp(join(tmpdir(), 'rac-stack-test-'));
    directory = await startDirectory({ people, memberships });
    let t = performance.now();
    gateway = await startOpenVpnGateway({ name: 'gw1', directory, index: 1, runId, manager: 'rac' });
    timings['gateway start ms'] = Math.round(performance.now() - t);
    t = performance.now();
    bastion = await startBastion({ name: 'bastion1', runId, index: 1 });
    timings['bastion start ms'] = Math.round(performance.now() - t);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(held.map((h) => h.stop()));
    await stopVpnClients(clients);
    const pids = [gateway?.serverPid(), gateway?.ssh.pid, bastion?.ssh.pid].filter((p): p is number => p !== undefined);
    await gateway?.stop();
    await bastion?.stop();
    await deleteClientsNamespace(runId);
    await directory?.stop();
    await cleanupAll();
    if (scratch) await rm(scratch, { recursive: true, force: true });
    console.log(`gateway stack timings: ${JSON.stringify(timings)}`);

    // No leftovers: namespaces, root-side links, processes, data directories.
    const namespaces = await execOk(['ip', 'netns', 'list']);
    expect(namespaces.stdout).not.toContain(`rac-${runId}-`);
    if (gateway) {
      const prefix = gateway.address.split('.').slice(0, 3).join('.');
      const addrs = await execOk(['ip', '-4', '-o', 'addr', 'show']);
      expect(addrs.stdout).not.toContain(`inet ${prefix}.`);
      await expect(readFile(gateway.configFile)).rejects.toThrow();
    }
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  }, 60_000);

  it('starts the gateway and the bastion in their own namespaces', () => {
    expect(gateway.namespace).toBe(`rac-${runId}-gw1`);
    expect(bastion.namespace).toBe(`rac-${runId}-bh1`);
    expect(gateway.address).toMatch(/^10\.231\.\d+\.6$/);
    expect(bastion.address).toMatch(/^10\.231\.\d+\.70$/);
    expect(gateway.vpnAddress).toBe('10.232.1.1');
    expect(gateway.serverSubnet).toBe('10.81.0.0/16');
    expect(gateway.ssh.hostKeyLine).toMatch(new RegExp(`^${gateway.address.replaceAll('.', '\\.')} ssh-ed25519 `));
    expect(gateway.ssh.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(timings['gateway start ms']).toBeLessThan(10_000);
  });

  it('root-namespace ssh (the system client, pinned host key) reaches both hosts as root with the admin key', async () => {
    const gw = await sshRun(gateway.ssh, ['sh', '-c', 'id -u; ip -4 -o addr show | grep -c 10.232.1.1/30']);
    expect(gw.stderr).toBe('');
    expect(gw.stdout.split('\n')).toEqual(['0', '1', '']);
    const bh = await sshRun(bastion.ssh, ['id', '-un']);
    expect(bh.stdout.trim()).toBe('root');

    // The pin matters: another key under the same address is refused.
    const wrongKnownHosts = join(scratch, 'wrong_known_hosts');
    await writeFile(wrongKnownHosts, `${gateway.address} ${bastion.ssh.hostKeyLine.split(' ').slice(1).join(' ')}\n`);
    const refused = await sshRun({ ...gateway.ssh, knownHostsFile: wrongKnownHosts }, ['true']);
    expect(refused.code).toBe(255);
    expect(refused.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  it('connects a vpn person with a CCD file; the management socket lists them; client-kill HALT ends the client', async () => {
    await grant(alice.uid);
    const client = await connect(alice);
    expect(client.outcome, client.log).toBe('connected');

    const status = await managementCommand(gateway.managementSocket, 'status 3');
    const sessions = parseClientList(status);
    const mine = sessions.find((s) => s.username === alice.uid);
    expect(mine, status).toBeDefined();
    expect(mine?.commonName).toBe(alice.uid);
    expect(mine?.virtualAddress).toMatch(/^10\.81\./);
    expect(mine?.realAddress).toMatch(/^10\.232\.1\.2:/);

    // Credentials went through tmp-dir, a tmpfs only the server's mount namespace sees.
    expect(await readdir(join(gateway.dataDir, 'tmp'))).toEqual([]);
    // The management socket: for rac alone (`management-client-user rac`), in a directory of
    // root's that only rac's group may enter, under a dataDir that others may pass but not list.
    const managementDir = await stat(dirname(gateway.managementSocket));
    expect([managementDir.mode & 0o777, managementDir.uid, managementDir.gid]).toEqual([
      0o750,
      0,
      gateway.ssh.manager?.gid,
    ]);
    expect((await stat(gateway.dataDir)).mode & 0o777).toBe(0o711);
    expect(await readFile(gateway.configFile, 'utf8')).toMatch(/^management-client-user rac$/m);

    const answer = await managementCommand(gateway.managementSocket, `client-kill ${mine?.clientId} HALT`);
    expect(answer).toMatch(/^SUCCESS:/);
    expect(await client.waitForExit(10_000)).toBe(true);
    expect(client.log).toMatch(/Halt command was pushed by server/);
    // The server drops the session when the client's exit notification arrives (or after ~5 s).
    let listed = true;
    for (let i = 0; i < 100 && listed; i++) {
      const after = parseClientList(await managementCommand(gateway.managementSocket, 'status 3'));
      listed = after.some((s) => s.username === alice.uid);
      if (listed) await sleep(100);
    }
    expect(listed).toBe(false);
  });

  /** `load-stats` through SSH stream-local forwarding as `target`'s user (the way rac reaches the socket). */
  const loadStatsForwarded = async (target: SshTarget, local: string): Promise<string> => {
    const [command, ...args] = sshArgv(target, [
      '-N',
      '-o',
      'ExitOnForwardFailure=yes',
      '-L',
      `${local}:${gateway.managementSocket}`,
    ]);
    const forward = spawn(command as string, args, { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !existsSync(local); i++) await sleep(50);
      return await managementCommand(local, 'load-stats').catch((err: Error) => err.message);
    } finally {
      const gone = new Promise((r) => forward.once('exit', r));
      forward.kill('SIGTERM');
      await Promise.race([gone, sleep(5_000)]);
    }
  };

  it('answers on the management socket through SSH stream-local forwarding as rac, and refuses root', async () => {
    const rac = gateway.ssh.manager as ManagerAccount;
    expect(await loadStatsForwarded(rac, join(scratch, 'mgmt-rac.sock'))).toMatch(/^SUCCESS: nclients=\d+,/);
    // OpenVPN checks the peer's uid: the forward as root connects, and is closed at once.
    expect(await loadStatsForwarded(gateway.ssh, join(scratch, 'mgmt-root.sock'))).toMatch(/closed before answering/);
    expect(await readFile(gateway.logFile, 'utf8')).toMatch(
      new RegExp(`UID of socket peer \\(0\\) doesn't match required value \\(${rac.uid}\\)`),
    );
  });

  it('gives each host an account rac (key login, sudo for exactly the installed rules) without touching the machine', async () => {
    for (const host of [gateway.ssh, bastion.ssh]) {
      const rac = host.manager as ManagerAccount;
      const who = await sshRun(rac, [
        'sh',
        '-c',
        'id -un; id -u; id -gn; stat -c "%a %U" "$HOME" "$HOME/.ssh/authorized_keys"',
      ]);
      expect(who.stdout.split('\n'), who.stderr).toEqual(['rac', String(rac.uid), 'rac', '700 rac', '600 rac', '']);

      await installManagerFiles(
        rac,
        [{ name: 'rac-probe', text: '#!/bin/sh\nid -un\ncat\n' }],
        'rac ALL=(root) NOPASSWD: /usr/local/libexec/rac/rac-probe ""\n',
      );
      const listed = await sshRun(rac, ['sudo', '-n', '-l']);
      expect(listed.stdout, listed.stderr).toMatch(/\(root\) NOPASSWD: \/usr\/local\/libexec\/rac\/rac-probe ""/);
      const probe = await sshRun(rac, ['sudo', '-n', '--', '/usr/local/libexec/rac/rac-probe'], {
        input: 'on stdin\n',
      });
      expect(probe.stdout, probe.stderr).toBe('root\non stdin\n');
      for (const argv of [
        ['sudo', '-n', '/bin/sh', '-c', 'id'],
        ['sudo', '-n', '/usr/local/libexec/rac/rac-probe', 'extra'],
      ]) {
        const refused = await sshRun(rac, argv);
        expect(refused.code, argv.join(' ')).toBe(1);
        expect(refused.stderr).toMatch(/a password is required/);
      }
      // A rule that does not parse: sudo refuses everything.
      await installManagerFiles(rac, [], 'rac ALL=(root NOPASSWD: /bin/true\n', { unchecked: true });
      const broken = await sshRun(rac, ['sudo', '-n', '-l']);
      expect(broken.code).toBe(1);
      expect(broken.stderr).toMatch(/syntax error/);
      await expect(installManagerFiles(rac, [], 'rac ALL=(root NOPASSWD: /bin/true\n')).rejects.toThrow(
        /does not parse/,
      );
    }
    // The gateway admits only root and rac; the bastion's people log in too.
    expect(await readFile(gateway.ssh.configFile, 'utf8')).toMatch(/^AllowUsers root rac$/m);
    expect(await readFile(bastion.ssh.configFile, 'utf8')).not.toMatch(/^AllowUsers/m);
    expect(await machineState()).toEqual(machineBefore);
  });

  it('refuses a vpn person without a CCD file (ccd-exclusive)', async () => {
    const offset = await logSize();
    const client = await connect(noCcd);
    expect(client.outcome, client.log).toBe('auth-failed');
    expect(client.exited || (await client.waitForExit(5_000))).toBe(true);
    const log = await serverLogSince(offset);
    expect(log).toContain(`auth-ldap: accepted ${noCcd.uid}`); // password and group were fine ...
    expect(log).toContain(`--client-config-dir authentication failed for common name '${noCcd.uid}'`);
  });

  it('refuses a public person (not in the vpn group) even with a CCD file', async () => {
    await grant(publicPerson.uid);
    const offset = await logSize();
    const client = await connect(publicPerson);
    expect(client.outcome, client.log).toBe('auth-failed');
    expect(await serverLogSince(offset)).toContain(`auth-ldap: refused: ${publicPerson.uid} is not a member of`);
  });

  it('refuses a wrong password', async () => {
    const offset = await logSize();
    const client = await connect({ uid: alice.uid, password: `${alice.password}x` });
    expect(client.outcome, client.log).toBe('auth-failed');
    expect(await serverLogSince(offset)).toContain(`auth-ldap: refused: invalid credentials for ${alice.uid}`);
  });

  it('refuses a hostile username before any LDAP tool runs', async () => {
    const canary = join(scratch, 'canary');
    for (const username of ['a;id', `a$(touch ${canary})`, 'a)(uid=*', 'Alice']) {
      await writeFile(join(gateway.ccdDir, username.replaceAll('/', '_')), '').catch(() => {});
      const offset = await logSize();
      const client = await connect({ uid: username, password: 'whatever' });
      expect(client.outcome, client.log).toBe('auth-failed');
      const log = await serverLogSince(offset);
      expect(log).toMatch(/auth-ldap: refused: invalid username \(\d+ bytes\)/);
      expect(log).not.toMatch(/auth-ldap: (accepted|refused: (invalid credentials|LDAP))/);
    }
    await expect(readFile(canary)).rejects.toThrow();
  });

  it('auth-ldap.sh: no LDAP tool ever sees an invalid username or an empty password (fake tools record calls)', async () => {
    const bin = join(scratch, 'fake-bin');
    const calls = join(scratch, 'calls');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'ldapsearch'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${calls}'\necho 'dn: cn=x'\n`);
    await chmod(join(bin, 'ldapsearch'), 0o755);
    const conf = join(scratch, 'auth.conf');
    await writeFile(
      conf,
      `LDAP_URI='ldapi://%2Fnowhere'\nUSERS_BASE='ou=people,dc=corp,dc=example'\nGROUP_DN='cn=g,dc=corp,dc=example'\nLDAP_BIN_DIR='${bin}'\n`,
    );
    const tryLogin = async (user: string, password: string): Promise<number | null> => {
      const via = join(scratch, 'via');
      await writeFile(via, `${user}\n${password}\n`, { mode: 0o600 });
      return (await exec(['/bin/sh', AUTH_SCRIPT, conf, via], { timeoutMs: 10_000 })).code;
    };
    const hostile = [
      'a;id',
      '$(id)',
      '`id`',
      'a b',
      'a)(uid=*',
      'a*',
      'a,ou=x',
      'Ab',
      '-x',
      '1abc',
      'ä',
      '',
      'a'.repeat(33),
    ];
    for (const user of hostile) expect(await tryLogin(user, 'pw'), user).toBe(1);
    expect(await tryLogin('alice', '')).toBe(1); // an empty password would be an anonymous bind
    await expect(readFile(calls, 'utf8')).rejects.toThrow(); // never called
    expect(await tryLogin('a'.repeat(32), 'pw')).toBe(0);
    expect(await tryLogin('_svc.x-1', 'pw')).toBe(0);
    const recorded = await readFile(calls, 'utf8');
    expect(recorded).toContain(`-D uid=${'a'.repeat(32)},ou=people,dc=corp,dc=example -y `);
    expect(recorded).not.toContain(' pw'); // the password is passed in a file, never argv
  });

  it(`connects ${PARALLEL} clients in parallel`, async () => {
    const batch = vpnPeople.slice(3, 3 + PARALLEL);
    await Promise.all(batch.map((p) => grant(p.uid)));
    const t = performance.now();
    const many = await connectVpnClients(
      gateway,
      batch.map((p) => ({ username: p.uid, password: p.password })),
      { concurrency: PARALLEL, timeoutMs: 20_000 },
    );
    timings[`${PARALLEL} clients connect ms`] = Math.round(performance.now() - t);
    clients.push(...many);
    expect(many.map((c) => c.outcome)).toEqual(batch.map(() => 'connected'));
    const sessions = parseClientList(await managementCommand(gateway.managementSocket, 'status 3'));
    // UNDEF = a session mid-handshake or refused (earlier tests' clients in their delayed exit).
    const names = new Set(sessions.map((s) => s.username).filter((u) => u !== 'UNDEF'));
    expect(names).toEqual(new Set(batch.map((p) => p.uid)));
    await stopVpnClients(many);
  });

  it('swaps the CCD directory atomically with mv -T over the gateway admin session', async () => {
    await grant(alice.uid);
    // A new generation that grants only swapPerson, then one rename of the symlink.
    const script = [
      'set -e',
      `cd ${gateway.dataDir}`,
      'mkdir ccd.d/1',
      `: > ccd.d/1/${swapPerson.uid}`,
      'ln -s ccd.d/1 ccd.new',
      'mv -T ccd.new ccd',
      'readlink ccd',
    ].join('\n');
    const swapped = await sshRun(gateway.ssh, script);
    expect(swapped.stdout.trim(), swapped.stderr).toBe('ccd.d/1');
    expect((await connect(swapPerson)).outcome).toBe('connected');
    expect((await connect(alice)).outcome).toBe('auth-failed');
  });

  it('stopServer takes the gateway down and startServer brings it back', async () => {
    // Earlier clients would reconnect by themselves with their auth token (auth-gen-token-secret
    // keeps it valid across the restart) and, as the same person, push the new client out.
    await stopVpnClients(clients);
    const t = performance.now();
    await gateway.stopServer();
    timings['stopServer ms'] = Math.round(performance.now() - t);
    expect(gateway.serverPid()).toBeUndefined();
    const down = await connect(swapPerson, 3_000);
    expect(down.outcome).toBe('timeout');
    await down.stop();

    const t2 = performance.now();
    await gateway.startServer();
    timings['startServer ms'] = Math.round(performance.now() - t2);
    expect(gateway.serverPid()).toBeGreaterThan(0);
    expect((await connect(swapPerson)).outcome).toBe('connected');
    expect(await managementCommand(gateway.managementSocket, 'load-stats')).toMatch(/^SUCCESS: nclients=1,/);
  });

  describe('bastion', () => {
    const user = 'rac_u1';
    let keyFile: string;
    let admin: SshTarget;

    beforeAll(async () => {
      admin = bastion.ssh;
      keyFile = join(scratch, 'user_ed25519');
      await execOk(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', user, '-f', keyFile]);
      const publicKey = await readFile(`${keyFile}.pub`, 'utf8');
      // As the product would: an account in the bastion's private /etc, key only ('*': not locked).
      const created = await sshRun(
        admin,
        [
          'set -e',
          `useradd -m -s /bin/sh -p '*' ${user}`,
          `install -d -m 700 -o ${user} -g ${user} /home/${user}/.ssh`,
          `cat > /home/${user}/.ssh/authorized_keys`,
          `chown ${user}: /home/${user}/.ssh/authorized_keys`,
          `chmod 600 /home/${user}/.ssh/authorized_keys`,
          `getent passwd ${user}`,
        ].join('\n'),
        { input: publicKey },
      );
      expect(created.code, created.stderr).toBe(0);
    });

    it('lets a user created with useradd in the private /etc log in with their key; the machine never sees the account', async () => {
      const login = await sshLogin({
        bastion,
        user,
        privateKeyFile: keyFile,
        command: ['sh', '-c', 'id -un; echo $HOME'],
      });
      expect(login.code, login.stderr).toBe(0);
      expect(login.stdout).toBe(`${user}\n/home/${user}\n`);

      expect(await readFile('/etc/passwd', 'utf8')).not.toMatch(new RegExp(`^${user}:`, 'm'));
      expect(await readFile('/etc/shadow', 'utf8')).not.toMatch(new RegExp(`^${user}:`, 'm'));
      expect(await readFile(join(bastion.etcDir, 'passwd'), 'utf8')).toMatch(new RegExp(`^${user}:`, 'm'));
      await expect(readFile(join(bastion.homeDir, user, '.ssh', 'authorized_keys'), 'utf8')).resolves.toMatch(
        /^ssh-ed25519 /,
      );
      await expect(readFile(join('/home', user, '.ssh', 'authorized_keys'))).rejects.toThrow();

      // Another key is refused; so is the admin key for this user.
      const wrong = await sshLogin({ bastion, user, privateKeyFile: bastion.ssh.privateKeyFile, command: ['true'] });
      expect(wrong.code).toBe(255);
    });

    it('holds a live session, and pkill -KILL -u <user> through the admin session ends it', async () => {
      const session = await sshLogin({ bastion, user, privateKeyFile: keyFile, hold: true, timeoutMs: 120_000 });
      held.push(session);
      expect(session.exited).toBe(false);
      const seen = await sshRun(admin, ['pgrep', '-u', user, '-a']);
      expect(seen.stdout).toMatch(/sleep 120/);

      const killed = await sshRun(admin, ['pkill', '-KILL', '-u', user]);
      expect(killed.code).toBe(0);
      expect(await session.waitForExit(10_000)).toBe(true);
      for (let i = 0; i < 50; i++) {
        if ((await sshRun(admin, ['pgrep', '-u', user])).code === 1) break;
        await sleep(100);
      }
      expect((await sshRun(admin, ['pgrep', '-u', user])).code).toBe(1);
    });
  });
});
