import { fingerprintOf, type Topology, type TopologyHost } from '../../core/topology.ts';
import type { RecordedTopology } from '../../ports.ts';
import type { StoreContext } from './store-context.ts';

export type { RecordedTopology };

/**
 * The topologies rac was told about (`rac expand`), in order: the full description of every
 * enforcer, not only the fingerprint, so an older one can be compared with what the config says
 * now. The newest record is the current topology. Append only.
 */
export function createTopologyStore(parts: StoreContext) {
  const { db, transaction, writeAudit, now } = parts;
  const toRecord = (row: unknown): RecordedTopology => {
    const r = row as Record<string, unknown>;
    const hosts = JSON.parse(String(r['hosts'])) as TopologyHost[];
    const fingerprint = String(r['fingerprint']);
    if (fingerprintOf(hosts) !== fingerprint)
      throw new Error(`topology record ${String(r['seq'])}: its hosts do not match its fingerprint ${fingerprint}`);
    return {
      seq: Number(r['seq']),
      topology: { hosts, fingerprint },
      recordedAt: String(r['recorded_at']),
      actor: String(r['actor']),
    };
  };
  return {
    /** The topology recorded last, or null before the first `rac expand` (or check). */
    current(): RecordedTopology | null {
      const row = db.prepare('SELECT * FROM topology_records ORDER BY seq DESC LIMIT 1').get();
      return row === undefined ? null : toRecord(row);
    },

    /** Every recorded topology, newest first. */
    history(limit = 100): RecordedTopology[] {
      return db.prepare('SELECT * FROM topology_records ORDER BY seq DESC LIMIT ?').all(limit).map(toRecord);
    },

    /** Records `topology` as the current one and audits it with `detail` (what changed, and why). */
    record(topology: Topology, actor: string, detail: Record<string, unknown>): RecordedTopology {
      return transaction(() => {
        const at = now();
        const result = db
          .prepare('INSERT INTO topology_records (fingerprint, hosts, recorded_at, actor) VALUES (?, ?, ?, ?)')
          .run(topology.fingerprint, JSON.stringify(topology.hosts), at, actor);
        writeAudit({
          action: 'topology.recorded',
          actor,
          detail: { fingerprint: topology.fingerprint, hosts: topology.hosts, ...detail },
        });
        return { seq: Number(result.lastInsertRowid), topology, recordedAt: at, actor };
      });
    },
  };
}
