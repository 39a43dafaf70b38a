/**
 * npm run bench:revocation — only case E2 of bench:onboard: revocation of connected people while a
 * 5000-person apply runs on the same directory and gateways (goal p95 ≤ 2 s).
 */
import { benchRevokeDuringApply } from './gateways.ts';

await benchRevokeDuringApply();
process.exit(0);
