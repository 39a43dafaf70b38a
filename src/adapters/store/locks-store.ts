import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { AppError } from '../../core/errors.ts';
import type { LockHandle, LockStore } from '../../ports.ts';
import { processAlive } from '../process-alive.ts';
import type { StoreContext } from './store-context.ts';

/** The apply lock (Terraform's state lock). */
export function createLockStore(ctx: StoreContext): LockStore {
  const { db, transaction, writeAudit, now } = ctx;
  const store: LockStore = {
    /**
     * One applying batch at a time (Terraform's state lock). A lock whose holder process is gone
     * from this host is taken over and the takeover is reported; a live holder refuses.
     */
    acquireLock(name: string, holder: string): LockHandle {
      return transaction(() => {
        const host = hostname();
        const existing = db.prepare('SELECT * FROM locks WHERE name = ?').get(name) as
          | { id: string; holder: string; pid: number; host: string; acquired_at: string }
          | undefined;
        let tookOverFrom: LockHandle['tookOverFrom'] = null;
        if (existing !== undefined) {
          if (existing.host !== host || processAlive(existing.pid)) {
            throw new AppError(
              'RAC_LOCKED',
              `another run holds the ${name} lock (id ${existing.id}, ${existing.holder}, pid ${existing.pid} on ${existing.host}, since ${existing.acquired_at})`,
              { details: { lock: existing.id } },
            );
          }
          tookOverFrom = {
            id: existing.id,
            holder: existing.holder,
            pid: existing.pid,
            acquiredAt: existing.acquired_at,
          };
          db.prepare('DELETE FROM locks WHERE name = ?').run(name);
          writeAudit({ action: 'lock.takeover', actor: holder, detail: { name, from: tookOverFrom } });
        }
        const id = randomBytes(6).toString('hex');
        db.prepare('INSERT INTO locks (name, id, holder, pid, host, acquired_at) VALUES (?, ?, ?, ?, ?, ?)').run(
          name,
          id,
          holder,
          process.pid,
          host,
          now(),
        );
        return { id, tookOverFrom };
      });
    },
    releaseLock(name: string, id: string): void {
      db.prepare('DELETE FROM locks WHERE name = ? AND id = ?').run(name, id);
    },
  };
  return store;
}
