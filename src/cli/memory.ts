/**
 * A full garbage collection between the phases of a large command. bin/rac runs Node with
 * --expose-gc: a 50 000-person plan leaves ~150 MB of parsed LDAP responses and roster rows behind
 * once the plan is built, and V8 would otherwise carry them into serialisation (measured by
 * npm run bench:onboard: peak RSS ~290 MiB without, ~260 MiB with). A no-op without the flag.
 */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
