import { AppError } from '../core/errors.ts';
import type { Plan } from '../core/plan/plan.ts';
import type { ServiceDeps } from './deps.ts';

/**
 * Records the WireGuard public keys a roster gave (column wg_key) for people it grants a VPN
 * tier, before the gateways are brought to the directory's state, so their peers go out in the
 * same apply. A key that replaces another (one rac generated, or an older roster's) is a
 * rotation and audited as one. A key that belongs to someone else is refused for that person.
 */
export function recordRosterWireGuardKeys(
  deps: Pick<ServiceDeps, 'store' | 'actor' | 'logger'>,
  plan: Plan,
  batchId: string,
): Array<{ uid: string; error: string }> {
  const failed: Array<{ uid: string; error: string }> = [];
  for (const person of plan.people) {
    if (person.wgKey === undefined || (person.to !== 'vpn' && person.to !== 'vpn-bastion')) continue;
    try {
      deps.store.wireguard.setKey({
        uid: person.uid,
        publicKey: person.wgKey,
        source: 'roster',
        actor: deps.actor,
        batchId,
      });
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      failed.push({ uid: person.uid, error: err.message });
    }
  }
  if (failed.length > 0) deps.logger.warn({ failed }, 'WireGuard keys from the roster not recorded');
  return failed;
}
