/**
 * What identifies an OpenSSH public key: its type and blob. The comment grants nothing, so two
 * lines that differ only there are the same key — for a person's keys and for host key pins.
 */
export function sshKeyId(line: string): string {
  return line.trim().split(/\s+/).slice(0, 2).join(' ');
}

/** The same keys, in any order, whatever their comments. */
export function sameSshKeys(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a.map(sshKeyId));
  const right = new Set(b.map(sshKeyId));
  return left.size === right.size && [...left].every((k) => right.has(k));
}
