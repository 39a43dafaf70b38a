import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Bastion, sshLogin, startBastion } from '../../infra/local/bastion-host.ts';
import { cleanupAll, newRunId } from '../../infra/local/netns.ts';
import { sshArgv } from '../../infra/local/ssh-host.ts';
import { createBastionDriver } from '../../src/adapters/gateways/bastion/driver.ts';
import { createSshShell } from '../../src/adapters/ssh/ssh-shell.ts';
import type { BastionLogin } from '../../src/core/bastion/account-script.ts';
import { Secret } from '../../src/core/secret.ts';
import { type ContractHost, describeGatewayDriver } from '../support/gateway-contract.ts';

/**
 * The contract against a real bastion, once per login mode. A person's live session is a shell
 * (remote sleep) with login: shell, and with jump-only what the bastion is for: a forwarded
 * connection (ssh -W, as ssh -J makes), here to the bastion's own sshd, whose banner says it is up.
 */
function bastionHost(login: BastionLogin, index: number) {
  return async (): Promise<ContractHost> => {
    const bastion: Bastion = await startBastion({ name: `bastion-${login}`, runId: newRunId(), index });
    const keyDir = mkdtempSync(join(tmpdir(), 'rac-bastion-keys-'));
    const uids = ['alice', 'bob', 'carol', 'dave'];
    const keys = new Map<string, string[]>();
    for (const uid of uids) {
      for (const v of [0, 1]) {
        const file = join(keyDir, `${uid}-${v}`);
        execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${uid}-${v}`, '-f', file]);
        keys.set(uid, [...(keys.get(uid) ?? []), readFileSync(`${file}.pub`, 'utf8').trim()]);
      }
    }
    const shell = createSshShell({
      name: bastion.name,
      host: bastion.address,
      port: bastion.ssh.port,
      user: 'root',
      privateKey: new Secret(bastion.ssh.privateKey),
      hostKey: bastion.ssh.hostKeyLine.split(' ').slice(1, 3).join(' '),
    });
    const driver = createBastionDriver({ name: bastion.name, shell, timeoutMs: 30_000, adminUser: 'root', login });
    const admin = (argv: string[]) =>
      execFileSync('ssh', [
        '-i',
        bastion.ssh.privateKeyFile,
        '-o',
        `UserKnownHostsFile=${bastion.ssh.knownHostsFile}`,
        '-o',
        'BatchMode=yes',
        `root@${bastion.address}`,
        ...argv,
      ]);
    const forward = async (uid: string) => {
      const target = {
        host: bastion.address,
        port: bastion.ssh.port,
        user: uid,
        privateKeyFile: join(keyDir, `${uid}-0`),
        knownHostsFile: bastion.ssh.knownHostsFile,
      };
      const [command, ...args] = sshArgv(target, ['-W', `${bastion.address}:22`]) as [string, ...string[]];
      const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'ignore'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString('latin1');
      });
      const exited = new Promise<boolean>((resolveExit) => child.once('exit', () => resolveExit(true)));
      const within = (ms: number) =>
        Promise.race([exited, new Promise<boolean>((r) => setTimeout(() => r(child.exitCode !== null), ms))]);
      for (let i = 0; i < 150 && !output.startsWith('SSH-2.0-'); i++) {
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      if (!output.startsWith('SSH-2.0-')) {
        child.kill('SIGKILL');
        throw new Error(`ssh -W as ${uid}: no forwarded connection`);
      }
      return {
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await within(3_000);
        },
        ended: () => within(5_000),
      };
    };
    return {
      driver,
      people: uids,
      grant: (uid, variant = 0) => ({ uid, tier: 'vpn-bastion', keys: [keys.get(uid)?.[variant] as string] }),
      async connect(uid) {
        if (login === 'jump-only') return await forward(uid);
        const held = await sshLogin({ bastion, user: uid, privateKeyFile: join(keyDir, `${uid}-0`), hold: true });
        return { stop: () => held.stop(), ended: () => held.waitForExit(5_000) };
      },
      async tamper(granted) {
        // Someone deletes an account by hand.
        admin(['userdel', '-r', granted[0] as string]);
      },
      async stop() {
        await bastion.stop();
        rmSync(keyDir, { recursive: true, force: true });
        await cleanupAll();
      },
    };
  };
}

describeGatewayDriver('bastion (login: shell)', bastionHost('shell', 5));
describeGatewayDriver('bastion (login: jump-only)', bastionHost('jump-only', 6));
