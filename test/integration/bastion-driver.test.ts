import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Bastion, sshLogin, startBastion } from '../../infra/local/bastion-host.ts';
import { cleanupAll, newRunId } from '../../infra/local/netns.ts';
import { createBastionDriver } from '../../src/adapters/gateways/bastion/driver.ts';
import { createSshShell } from '../../src/adapters/ssh/ssh-shell.ts';
import { Secret } from '../../src/core/secret.ts';
import { describeGatewayDriver } from '../support/gateway-contract.ts';

describeGatewayDriver('bastion', async () => {
  const bastion: Bastion = await startBastion({ name: 'bastion-c', runId: newRunId(), index: 5 });
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
  // connect() below holds a shell session (remote sleep): that needs login: shell.
  const driver = createBastionDriver({
    name: bastion.name,
    shell,
    timeoutMs: 30_000,
    adminUser: 'root',
    login: 'shell',
  });
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
  return {
    driver,
    people: uids,
    grant: (uid, variant = 0) => ({ uid, tier: 'vpn-bastion', keys: [keys.get(uid)?.[variant] as string] }),
    async connect(uid) {
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
});
