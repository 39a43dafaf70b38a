import type { LockHandle } from '../ports.ts';
import type { ServiceDeps } from './deps.ts';

/** The one lock of everything that writes hosts from the directory's state: apply, rollback, drift --fix. */
export const APPLY_LOCK = 'apply';

/**
 * Runs `body` holding the apply lock (Terraform's state lock). A live holder refuses with
 * RAC_LOCKED and the holder's lock id (exit 8, "busy"); a lock left by a dead process on this
 * host is taken over, audited and logged. Revocations never take it.
 */
export async function withApplyLock<T>(deps: ServiceDeps, body: (lock: LockHandle) => Promise<T>): Promise<T> {
  const lock = deps.store.acquireLock(APPLY_LOCK, deps.actor);
  if (lock.tookOverFrom !== null)
    deps.logger.warn({ lock: lock.tookOverFrom }, 'took over the apply lock of a process that is gone');
  try {
    return await body(lock);
  } finally {
    deps.store.releaseLock(APPLY_LOCK, lock.id);
  }
}
