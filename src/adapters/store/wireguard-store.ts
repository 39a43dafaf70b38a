import { AppError } from '../../core/errors.ts';
import { isWireGuardKey } from '../../core/wireguard/keys.ts';
import type { WireGuardKeyRecord, WireGuardKeySource } from '../../ports.ts';
import type { StoreContext } from './store-context.ts';

export type { WireGuardKeyRecord, WireGuardKeySource };

/**
 * People's WireGuard PUBLIC keys and their gateway assignments. There is no column for a
 * private key: rac hands a generated one out once, in the profile, and keeps only its public
 * half. Every key change is audited with the key's public value, never more.
 */
export function createWireGuardStore(parts: StoreContext) {
  const { db, transaction, writeAudit, now } = parts;
  const toKey = (row: unknown): WireGuardKeyRecord => {
    const r = row as Record<string, unknown>;
    return {
      uid: String(r['uid']),
      publicKey: String(r['public_key']),
      source: r['source'] as WireGuardKeySource,
      issuedAt: String(r['issued_at']),
    };
  };
  return {
    getKey(uid: string): WireGuardKeyRecord | null {
      const row = db.prepare('SELECT * FROM wireguard_keys WHERE uid = ?').get(uid);
      return row === undefined ? null : toKey(row);
    },

    /** Every person's public key, by uid. */
    listKeys(): Map<string, WireGuardKeyRecord> {
      return new Map(
        db
          .prepare('SELECT * FROM wireguard_keys')
          .all()
          .map((row) => {
            const k = toKey(row);
            return [k.uid, k] as const;
          }),
      );
    },

    /**
     * Records a person's public key. `expectIssuedAt` makes it a compare-and-set: the key is
     * replaced only if the stored one is still the one the caller saw (null: none), so two
     * concurrent `rac profile` runs cannot both hand out a key. Returns false when it lost.
     */
    setKey(input: {
      uid: string;
      publicKey: string;
      source: WireGuardKeySource;
      actor: string;
      expect?: { issuedAt: string | null };
      batchId?: string | null;
    }): boolean {
      if (!isWireGuardKey(input.publicKey))
        throw new AppError('RAC_WIREGUARD_KEY_INVALID', `${input.uid}: not a WireGuard public key`);
      return transaction(() => {
        const before = db.prepare('SELECT * FROM wireguard_keys WHERE uid = ?').get(input.uid);
        const old = before === undefined ? null : toKey(before);
        if (input.expect !== undefined && (old?.issuedAt ?? null) !== input.expect.issuedAt) return false;
        if (old !== null && old.publicKey === input.publicKey && old.source === input.source) return true;
        const holder = db
          .prepare('SELECT uid FROM wireguard_keys WHERE public_key = ? AND uid != ?')
          .get(input.publicKey, input.uid) as { uid: string } | undefined;
        if (holder !== undefined)
          throw new AppError(
            'RAC_WIREGUARD_KEY_IN_USE',
            `${input.uid}: that WireGuard public key belongs to ${holder.uid} already`,
          );
        const at = now();
        db.prepare(
          `INSERT INTO wireguard_keys (uid, public_key, source, issued_at) VALUES (?, ?, ?, ?)
           ON CONFLICT(uid) DO UPDATE SET public_key = excluded.public_key, source = excluded.source, issued_at = excluded.issued_at`,
        ).run(input.uid, input.publicKey, input.source, at);
        writeAudit({
          action: old === null ? 'wireguard.key.set' : 'wireguard.key.rotated',
          actor: input.actor,
          uid: input.uid,
          batchId: input.batchId ?? null,
          detail: {
            source: input.source,
            publicKey: input.publicKey,
            ...(old === null ? {} : { previousPublicKey: old.publicKey, previousSource: old.source }),
          },
        });
        return true;
      });
    },

    getAssignments(): Map<string, string> {
      const rows = db.prepare('SELECT uid, gateway FROM wireguard_assignments').all() as {
        uid: string;
        gateway: string;
      }[];
      return new Map(rows.map((r) => [r.uid, r.gateway]));
    },

    saveAssignments(assignments: ReadonlyMap<string, string>, changed: readonly string[], released: readonly string[]) {
      if (changed.length === 0 && released.length === 0) return;
      transaction(() => {
        const at = now();
        const remove = db.prepare('DELETE FROM wireguard_assignments WHERE uid = ?');
        for (const uid of released) remove.run(uid);
        const upsert = db.prepare(
          `INSERT INTO wireguard_assignments (uid, gateway, assigned_at) VALUES (?, ?, ?)
           ON CONFLICT(uid) DO UPDATE SET gateway = excluded.gateway, assigned_at = excluded.assigned_at`,
        );
        for (const uid of changed) {
          const gateway = assignments.get(uid);
          if (gateway !== undefined) upsert.run(uid, gateway, at);
        }
      });
    },
  };
}
