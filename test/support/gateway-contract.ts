import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayDriver, GatewayGrant } from '../../src/ports.ts';

/** What a driver's real test host offers the shared contract. */
export interface ContractHost {
  readonly driver: GatewayDriver;
  /** A grant for person `uid` (with an address or keys, as the kind needs). */
  grant(uid: string, variant?: number): GatewayGrant;
  /** People of this host whose connection the suite may start (they are granted first). */
  readonly people: readonly string[];
  /** Opens a real session of `uid` (a VPN client, an ssh login) and resolves once it is live. */
  connect(uid: string): Promise<{ stop(): Promise<void>; ended(): Promise<boolean> }>;
  /** Changes the host by hand, behind rac's back (a stray file, a deleted account). */
  tamper(granted: readonly string[]): Promise<void>;
  stop(): Promise<void>;
}

/**
 * One contract every gateway driver passes against its real server: the port means the same
 * thing for OpenVPN and for a bastion.
 */
export function describeGatewayDriver(kind: string, start: () => Promise<ContractHost>): void {
  describe(`GatewayDriver contract: ${kind}`, () => {
    let host: ContractHost;
    const desired = (uids: readonly string[], variant = 0) => new Map(uids.map((u) => [u, host.grant(u, variant)]));

    beforeAll(async () => {
      host = await start();
    }, 120_000);

    afterAll(async () => {
      await host?.driver.close();
      await host?.stop();
    });

    it('reports the host up', async () => {
      const health = await host.driver.probe();
      expect(health).toMatchObject({ up: true });
    });

    it('applies a desired set and observes exactly it', async () => {
      const people = host.people.slice(0, 3);
      const report = await host.driver.apply({ desired: desired(people) });
      expect(report).toMatchObject({ wrote: true, failed: [] });
      expect([...report.added].sort()).toEqual([...people].sort());
      const observed = await host.driver.observe();
      expect([...observed.grants.keys()].sort()).toEqual([...people].sort());
      for (const uid of people) expect(observed.grants.get(uid)?.tier).toBe(host.grant(uid).tier);
    });

    it('writes nothing when the host already matches', async () => {
      const report = await host.driver.apply({ desired: desired(host.people.slice(0, 3)) });
      expect(report).toMatchObject({ wrote: false, added: [], changed: [], removed: [], unchanged: 3 });
    });

    it('changes and removes exactly what differs', async () => {
      const [a, b, c] = host.people as [string, string, string];
      const next = desired([a, b]);
      next.set(b, host.grant(b, 1));
      const report = await host.driver.apply({ desired: next });
      expect(report.changed).toEqual([b]);
      expect(report.removed).toEqual([c]);
      expect(report.unchanged).toBe(1);
      const observed = await host.driver.observe();
      expect([...observed.grants.keys()].sort()).toEqual([a, b].sort());
    });

    it('converges after a change made by hand on the host', async () => {
      const people = host.people.slice(0, 2);
      await host.driver.apply({ desired: desired(people) });
      await host.tamper(people);
      const report = await host.driver.apply({ desired: desired(people) });
      expect(report.wrote).toBe(true);
      const observed = await host.driver.observe();
      expect([...observed.grants.keys()].sort()).toEqual([...people].sort());
      expect(observed.foreign).toEqual([]);
    });

    it('lists a live session and ends it on disconnect', async () => {
      const uid = host.people[0] as string;
      await host.driver.apply({ desired: desired(host.people.slice(0, 2)) });
      const session = await host.connect(uid);
      try {
        const live = await host.driver.listSessions();
        expect(live.filter((s) => s.uid === uid)).toHaveLength(1);
        expect(live[0]).toMatchObject({ gateway: host.driver.name, kind: host.driver.kind });
        const report = await host.driver.disconnect([uid]);
        expect(report.disconnected).toEqual([{ uid, sessions: 1 }]);
        expect(await session.ended()).toBe(true);
        expect((await host.driver.listSessions()).filter((s) => s.uid === uid)).toEqual([]);
      } finally {
        await session.stop();
      }
    });

    it('takes exactly the revoked people off and nobody else', async () => {
      const people = host.people.slice(0, 3);
      await host.driver.apply({ desired: desired(people) });
      const [gone, ...kept] = people as [string, ...string[]];
      if (host.driver.revoke !== undefined) {
        const report = await host.driver.revoke([gone]);
        expect(report).toMatchObject({ removed: [gone], failed: [] });
        expect((await host.driver.revoke([gone])).wrote).toBe(false);
      } else {
        const observed = await host.driver.observe();
        await host.driver.apply({ desired: new Map([...observed.grants].filter(([uid]) => uid !== gone)) });
      }
      expect([...(await host.driver.observe()).grants.keys()].sort()).toEqual([...kept].sort());
      // Asked about some people, a driver tells about them (it may tell more).
      const asked = await host.driver.observe(undefined, { only: [kept[0] as string, gone] });
      expect(asked.grants.has(kept[0] as string)).toBe(true);
      expect(asked.grants.has(gone)).toBe(false);
    });

    it('removes everyone when nobody is desired', async () => {
      const report = await host.driver.apply({ desired: new Map() });
      expect(report.removed.length).toBeGreaterThan(0);
      expect((await host.driver.observe()).grants.size).toBe(0);
    });
  });
}
