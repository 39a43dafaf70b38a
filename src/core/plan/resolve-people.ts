import { normalizeDn } from '../dn.ts';
import { printable } from '../printable.ts';
import { parseSshPublicKey } from '../roster/ssh-public-key.ts';
import { TIERS, type Tier } from '../tiers.ts';
import { UID_PATTERN } from '../uid.ts';
import type { ObservedMemberships } from './plan.ts';

/** What the directory holds for one member DN (found under the users base), as read. */
export interface MemberEntry {
  /** The entry's DN as the server spells it. */
  readonly dn: string;
  /** Values of the configured uid attribute (`directory.uid_attribute`), as stored. */
  readonly uids: readonly string[];
  readonly sshPublicKeys: readonly string[];
}

/** A group member rac cannot act on, with the reason: it fails alone, never its host. */
export interface UnusableMember {
  readonly dn: string;
  /** The highest tier group the entry is in: which hosts it would have reached. */
  readonly tier: Tier;
  /** The uid when one could be read (for the report); null when there is none. */
  readonly uid: string | null;
  readonly reason: string;
}

export interface ResolvedPeople {
  /** Highest tier per usable person, by uid. */
  readonly tiers: Map<string, Tier>;
  /** DN (as read) of each usable person, by uid. */
  readonly dns: Map<string, string>;
  /** sshPublicKey values of each usable person, by uid, as stored in the directory. */
  readonly keys: Map<string, readonly string[]>;
  readonly unusable: readonly UnusableMember[];
  /** Members outside the users base (placeholders, service accounts): not people, ignored. */
  readonly outside: readonly string[];
}

/**
 * Tier group members → people, by the uid the directory gives each entry (never a DN's RDN).
 * Every member is judged on its own data only: one entry without a uid, with a uid that cannot
 * be an account name, or a uid two entries claim, is listed as unusable and nobody else is held.
 */
export function resolvePeople(input: {
  memberships: ObservedMemberships;
  entries: ReadonlyMap<string, MemberEntry>;
  usersBase: string;
  uidAttribute: string;
}): ResolvedPeople {
  const base = normalizeDn(input.usersBase);
  const tierByDn = new Map<string, Tier>();
  const outside: string[] = [];
  for (const tier of TIERS) {
    for (const dn of input.memberships[tier]) {
      if (dn === base || !dn.endsWith(`,${base}`)) {
        if (!outside.includes(dn)) outside.push(dn);
        continue;
      }
      tierByDn.set(dn, tier);
    }
  }
  const unusable: UnusableMember[] = [];
  const candidates = new Map<string, Array<{ dn: string; tier: Tier; entry: MemberEntry }>>();
  for (const [dn, tier] of tierByDn) {
    const entry = input.entries.get(dn);
    if (entry === undefined) {
      unusable.push({ dn, tier, uid: null, reason: 'member entry does not exist under the users base' });
      continue;
    }
    const values = [...new Set(entry.uids.map((u) => u.trim().toLowerCase()))];
    if (values.length === 0) {
      unusable.push({ dn: entry.dn, tier, uid: null, reason: `entry has no ${input.uidAttribute}` });
      continue;
    }
    if (values.length > 1) {
      unusable.push({
        dn: entry.dn,
        tier,
        uid: null,
        reason: `entry has ${values.length} values of ${input.uidAttribute}; it must have one`,
      });
      continue;
    }
    const uid = values[0] as string;
    if (!UID_PATTERN.test(uid)) {
      const raw = (entry.uids.find((u) => u.trim().toLowerCase() === uid) ?? uid).trim();
      unusable.push({
        dn: entry.dn,
        tier,
        uid: null,
        reason: `${input.uidAttribute} ${JSON.stringify(printable(raw))} cannot be an account name on a host (lower-case letters, digits, . _ -, at most 32, not starting with a digit, . or -)`,
      });
      continue;
    }
    const list = candidates.get(uid) ?? [];
    list.push({ dn, tier, entry });
    candidates.set(uid, list);
  }
  const tiers = new Map<string, Tier>();
  const dns = new Map<string, string>();
  const keys = new Map<string, readonly string[]>();
  for (const [uid, list] of candidates) {
    if (list.length > 1) {
      for (const c of list)
        unusable.push({
          dn: c.entry.dn,
          tier: c.tier,
          uid,
          reason: `${list.length} entries have ${input.uidAttribute} ${uid}`,
        });
      continue;
    }
    const [only] = list as [{ dn: string; tier: Tier; entry: MemberEntry }];
    tiers.set(uid, only.tier);
    dns.set(uid, only.entry.dn);
    keys.set(uid, only.entry.sshPublicKeys);
  }
  return { tiers, dns, keys, unusable, outside };
}

/**
 * A person's directory keys, as a bastion may use them: every key must be a plain OpenSSH key
 * (no options such as command=, no weak or malformed key). One bad key fails the person — a key
 * that was refused is never silently dropped and never reaches a host.
 */
export function usableKeys(keys: readonly string[]): { ok: true; keys: string[] } | { ok: false; reason: string } {
  const out: string[] = [];
  for (const [i, line] of keys.entries()) {
    const parsed = parseSshPublicKey(line);
    if (!parsed.ok) return { ok: false, reason: `sshPublicKey ${i + 1} of ${keys.length} ${parsed.reason}` };
    out.push(parsed.key.line);
  }
  return { ok: true, keys: out };
}
