import type { Config } from '../config/schema.ts';
import type { CapacityLimit } from '../core/capacity.ts';
import type { Policy } from '../core/policy.ts';
import type { Clock, Directory, GatewayDriver, Logger, Store } from '../ports.ts';

/** What every use-case gets: ports, not adapters. Built by compose.ts. */
export interface ServiceDeps {
  readonly directory: Directory;
  /** Every configured gateway and bastion, in config order. */
  readonly gateways: readonly GatewayDriver[];
  readonly store: Store;
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly actor: string;
  /** Loaded on first use: revoke and rollback do not need the policy file. */
  readonly policy: () => Policy;
  readonly capacityLimit: () => CapacityLimit;
}
