/**
 * A rejected value as echoed in an error message: control characters become '?' and it is cut
 * at 64 characters, so a hostile one cannot span lines or flood a log.
 */
export function printable(value: unknown): string {
  const shown = String(value).replace(/[\p{Cc}\u2028\u2029]/gu, '?');
  return shown.length > 64 ? `${shown.slice(0, 64)}…` : shown;
}
