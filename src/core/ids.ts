import { randomBytes } from 'node:crypto';

/** Sortable, readable ids: `b-20261126-214500-3f9a1c`. */
export function newId(prefix: 'p' | 'b', at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${prefix}-${stamp}-${randomBytes(3).toString('hex')}`;
}
