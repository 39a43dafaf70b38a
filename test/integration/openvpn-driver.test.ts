import { generateCompany } from '../../infra/local/company.ts';
import { type LocalDirectory, startDirectory } from '../../infra/local/directory.ts';
import { cleanupAll, execIn, newRunId } from '../../infra/local/netns.ts';
import { type OpenVpnGateway, startOpenVpnGateway } from '../../infra/local/openvpn-gateway.ts';
import { connectVpnClient } from '../../infra/local/vpn-clients.ts';
import { createOpenVpnDriver } from '../../src/adapters/gateways/openvpn/driver.ts';
import { createSshShell } from '../../src/adapters/ssh/ssh-shell.ts';
import { Secret } from '../../src/core/secret.ts';
import { describeGatewayDriver } from '../support/gateway-contract.ts';

const people = generateCompany(6, { seed: 31 });

describeGatewayDriver('openvpn', async () => {
  const runId = newRunId();
  // Everyone is in the vpn group: the CCD file alone decides who gets in (ccd-exclusive).
  const directory: LocalDirectory = await startDirectory({
    people,
    memberships: new Map(people.map((p) => [p.uid, 'vpn' as const])),
  });
  let gateway: OpenVpnGateway;
  try {
    gateway = await startOpenVpnGateway({ name: 'gw-c', directory, index: 7, runId });
  } catch (err) {
    await directory.stop();
    throw err;
  }
  const [a, b] = gateway.serverSubnet.split('.') as [string, string];
  const shell = createSshShell({
    name: gateway.name,
    host: gateway.address,
    port: gateway.ssh.port,
    user: 'root',
    privateKey: new Secret(gateway.ssh.privateKey),
    hostKey: gateway.ssh.hostKeyLine,
  });
  const driver = createOpenVpnDriver({
    name: gateway.name,
    shell,
    timeoutMs: 15_000,
    openvpn: {
      ccd_dir: gateway.ccdDir,
      management: gateway.managementSocket,
      server_network: gateway.serverSubnet,
      pools: { vpn: `${a}.${b}.0.0/20`, 'vpn-bastion': `${a}.${b}.16.0/24` },
      routes: { vpn: ['10.100.0.0/16'], 'vpn-bastion': ['10.100.0.0/16', '10.101.0.0/16'] },
      remote: { host: gateway.vpnAddress, port: gateway.vpnPort, proto: 'udp' },
    },
  });
  const uids = people.map((p) => p.uid);
  return {
    driver,
    people: uids,
    grant: (uid, variant = 0) => {
      const i = uids.indexOf(uid);
      return variant === 0
        ? { uid, tier: 'vpn', address: `${a}.${b}.0.${10 + i}` }
        : { uid, tier: 'vpn-bastion', address: `${a}.${b}.16.${10 + i}` };
    },
    async connect(uid) {
      const person = people.find((p) => p.uid === uid);
      const client = await connectVpnClient({
        gateway,
        username: uid,
        password: person?.password as string,
        timeoutMs: 15_000,
      });
      if (client.outcome !== 'connected') throw new Error(`client of ${uid}: ${client.outcome}\n${client.log}`);
      return { stop: () => client.stop(), ended: () => client.waitForExit(5_000) };
    },
    async tamper() {
      // Someone adds a file by hand for a person rac never granted.
      await execIn(gateway.namespace, [
        'sh',
        '-c',
        `printf 'ifconfig-push 10.0.0.9 255.255.0.0\\n' > ${gateway.ccdDir}/intruder`,
      ]);
    },
    async stop() {
      await gateway.stop();
      await directory.stop();
      await cleanupAll();
    },
  };
});
