/**
 * A full garbage collection between the phases of a large command. bin/rac runs Node with
 * --expose-gc: once a 50 000-person plan is built, the roster rows and directory entries it was
 * made from are garbage that V8 would otherwise carry into serialisation (measured by
 * npm run bench:cli: peak RSS ~250 MB without, ~220 MB with; one more collection between the
 * directory reads saved ~15 MB for ~50 ms). A no-op without the flag.
 */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
