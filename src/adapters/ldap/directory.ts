import type { ConnectionOptions } from 'node:tls';
import {
  Attribute,
  Change,
  Client,
  type Entry,
  EqualityFilter,
  InvalidCredentialsError,
  OrFilter,
  PresenceFilter,
} from 'ldapts';
import { normalizeDn } from '../../core/dn.ts';
import { AppError } from '../../core/errors.ts';
import type { DirectoryPerson, ObservedMemberships } from '../../core/plan/plan.ts';
import type { MemberEntry } from '../../core/plan/resolve-people.ts';
import type { Secret } from '../../core/secret.ts';
import { TIERS, type Tier } from '../../core/tiers.ts';
import type { Directory } from '../../ports.ts';
import { toLdapAppError } from './errors.ts';

export interface LdapDirectoryOptions {
  url: string;
  bindDn: string;
  bindPassword: Secret;
  usersBase: string;
  groups: Readonly<Record<Tier, string>>;
  /** The attribute holding a person's login name (uid; sAMAccountName for Active Directory). */
  uidAttribute?: string;
  /** Where department and title are read: the first attribute of each list a person has. */
  attributes?: { readonly department: readonly string[]; readonly title: readonly string[] };
  timeoutMs: number;
  pageSize: number;
  starttls?: boolean;
  /** PEM of the CA that signed the server's certificate (ldaps:// or StartTLS). */
  ca?: string | Buffer;
}

/**
 * Member DNs up to this many are read one by one (base searches); beyond, one paged scan of the
 * users base is cheaper.
 */
const READ_MEMBERS_ONE_BY_ONE = 64;
/**
 * uids per OR filter. slapd's cost per OR term grows with the filter's size (measured: 10 000
 * uids take 0.25 s in filters of 100, 0.56 s of 500, 1.7 s of 2000), so filters stay small.
 */
const UIDS_PER_SEARCH = 100;
const PARALLEL_SEARCHES = 4;
/**
 * From this many uids on, one paged scan of the users base is cheaper than OR filters
 * (measured: 50 000 people scanned in 0.6 s, against 1.2 s through filters of 100).
 */
const SCAN_FROM = 15_000;
const DN_CACHE_MS = 5 * 60_000;
const DN_CACHE_SIZE = 50_000;

/**
 * Directory over one bound ldapts connection, opened lazily. Filters are built from filter
 * classes (which escape), never from strings.
 */
export function createLdapDirectory(options: LdapDirectoryOptions): Directory & AsyncDisposable {
  let client: Client | null = null;
  let connecting: Promise<Client> | null = null;
  const tlsOptions: ConnectionOptions | undefined = options.ca === undefined ? undefined : { ca: options.ca };
  const uidAttribute = options.uidAttribute ?? 'uid';
  const departmentAttributes = options.attributes?.department ?? ['departmentNumber', 'ou'];
  const titleAttributes = options.attributes?.title ?? ['title'];
  const personAttributes = [
    ...new Set([uidAttribute, 'cn', 'displayName', ...departmentAttributes, ...titleAttributes, 'sshPublicKey']),
  ];
  const firstOf = (entry: Entry, names: readonly string[]): string | null => {
    for (const name of names) {
      const value = first(attributeOf(entry, name));
      if (value !== null && value.trim() !== '') return value;
    }
    return null;
  };
  const toPerson = (entry: Entry, wanted: ReadonlySet<string>): DirectoryPerson | null => {
    const uid = wantedUid(attributeOf(entry, uidAttribute), wanted);
    if (uid === null) return null;
    return {
      uid,
      dn: entry.dn,
      name: first(attributeOf(entry, 'displayName')) ?? first(attributeOf(entry, 'cn')),
      department: firstOf(entry, departmentAttributes),
      title: firstOf(entry, titleAttributes),
      sshPublicKeys: strings(attributeOf(entry, 'sshPublicKey')),
    };
  };
  const toMember = (entry: Entry): MemberEntry => ({
    dn: entry.dn,
    uids: strings(attributeOf(entry, uidAttribute)),
    sshPublicKeys: strings(attributeOf(entry, 'sshPublicKey')),
  });

  /** A new, unbound client for the configured server. */
  function newClient(): Client {
    return new Client({
      url: options.url,
      timeout: options.timeoutMs,
      connectTimeout: options.timeoutMs,
      // ldapts opens a TLS socket whenever tlsOptions are given, so they go to the client only
      // for ldaps://; StartTLS gets them on the upgrade.
      ...(tlsOptions === undefined || !options.url.startsWith('ldaps://') ? {} : { tlsOptions }),
    });
  }

  async function connect(): Promise<Client> {
    const c = newClient();
    try {
      if (options.starttls === true) await c.startTLS(tlsOptions ?? {});
      await c.bind(options.bindDn, options.bindPassword.reveal());
    } catch (err) {
      await c.unbind().catch(() => undefined);
      throw toLdapAppError(err, { url: options.url, operation: 'bind', dn: options.bindDn });
    }
    return c;
  }

  async function session(): Promise<Client> {
    if (client?.isConnected) return client;
    client = null;
    connecting ??= connect().finally(() => {
      connecting = null;
    });
    client = await connecting;
    return client;
  }

  async function run<T>(operation: string, dn: string | undefined, fn: (c: Client) => Promise<T>): Promise<T> {
    const c = await session();
    try {
      return await fn(c);
    } catch (err) {
      throw toLdapAppError(err, { url: options.url, operation, ...(dn === undefined ? {} : { dn }) });
    }
  }

  async function findChunk(uids: readonly string[]): Promise<Entry[]> {
    const filter = new OrFilter({
      filters: uids.map((uid) => new EqualityFilter({ attribute: uidAttribute, value: uid })),
    });
    const { searchEntries } = await run('search people', options.usersBase, (c) =>
      c.search(options.usersBase, {
        scope: 'sub',
        filter,
        attributes: personAttributes,
        paged: { pageSize: options.pageSize },
      }),
    );
    return searchEntries;
  }

  /** Streams the users base page by page, keeping only the people asked for. */
  async function scanPeople(wanted: ReadonlySet<string>): Promise<Map<string, DirectoryPerson>> {
    const found = new Map<string, DirectoryPerson>();
    const c = await session();
    let next: Promise<unknown> | undefined;
    try {
      const pages = c.searchPaginated(options.usersBase, {
        scope: 'sub',
        filter: new PresenceFilter({ attribute: uidAttribute }),
        attributes: personAttributes,
        paged: { pageSize: options.pageSize },
      });
      // The next page is asked for before this one is read: the server finds it meanwhile.
      let request = pages.next();
      next = request;
      for (let page = await request; page.done !== true; page = await request) {
        request = pages.next();
        next = request;
        for (const entry of page.value.searchEntries) {
          const person = toPerson(entry, wanted);
          if (person !== null) found.set(person.uid, person);
        }
      }
    } catch (err) {
      throw toLdapAppError(err, { url: options.url, operation: 'search people', dn: options.usersBase });
    } finally {
      // A page asked for ahead and never awaited (the loop stopped on an error) must not fail unheard.
      next?.catch(() => undefined);
    }
    return found;
  }

  /**
   * Sign-ins look a person's DN up with the service account, then bind as that DN on a connection
   * of its own. DNs (never passwords) are kept a few minutes: at 50 sign-ins at once the lookup
   * was a third of a sign-in. A cached DN that refuses the password is looked up again.
   */
  const dnCache = new Map<string, { dn: string; until: number }>();
  async function findDn(uid: string): Promise<string | null> {
    const { searchEntries } = await run('find person', options.usersBase, (c) =>
      c.search(options.usersBase, {
        scope: 'sub',
        filter: new EqualityFilter({ attribute: uidAttribute, value: uid }),
        attributes: ['1.1'],
        sizeLimit: 2,
      }),
    );
    return searchEntries.length === 1 ? (searchEntries[0] as Entry).dn : null;
  }
  async function bindAs(dn: string, password: string): Promise<boolean> {
    const own = newClient();
    try {
      if (options.starttls === true) await own.startTLS(tlsOptions ?? {});
      await own.bind(dn, password);
      return true;
    } catch (err) {
      if (err instanceof InvalidCredentialsError) return false;
      throw toLdapAppError(err, { url: options.url, operation: 'bind as person', dn });
    } finally {
      await own.unbind().catch(() => undefined);
    }
  }

  const directory: Directory & AsyncDisposable = {
    url: options.url,

    async findPeople(uids) {
      const wanted = new Set(uids.map((u) => u.toLowerCase()));
      if (wanted.size >= SCAN_FROM) return scanPeople(wanted);
      const chunks: string[][] = [];
      const list = [...wanted];
      for (let i = 0; i < list.length; i += UIDS_PER_SEARCH) chunks.push(list.slice(i, i + UIDS_PER_SEARCH));
      const found = new Map<string, DirectoryPerson>();
      let next = 0;
      const worker = async () => {
        while (next < chunks.length) {
          const chunk = chunks[next++] as string[];
          for (const entry of await findChunk(chunk)) {
            const person = toPerson(entry, wanted);
            if (person !== null) found.set(person.uid, person);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(PARALLEL_SEARCHES, chunks.length) }, worker));
      return found;
    },

    async readMemberships() {
      const entries = await Promise.all(
        TIERS.map((tier) =>
          run('read group', options.groups[tier], (c) =>
            c.search(options.groups[tier], { scope: 'base', attributes: ['member'] }),
          ),
        ),
      );
      const out = {} as Record<Tier, Set<string>>;
      TIERS.forEach((tier, i) => {
        const entry = entries[i]?.searchEntries[0];
        if (entry === undefined)
          throw toLdapAppError(new Error('group not found'), {
            url: options.url,
            operation: 'read group',
            dn: options.groups[tier],
          });
        out[tier] = new Set(strings(entry['member']).map(normalizeDn));
      });
      return out as ObservedMemberships;
    },

    async resolveMembers(dns) {
      const found = new Map<string, MemberEntry>();
      const base = normalizeDn(options.usersBase);
      const wanted = [...new Set([...dns].map(normalizeDn))].filter((dn) => dn.endsWith(`,${base}`));
      if (wanted.length === 0) return found;
      if (wanted.length <= READ_MEMBERS_ONE_BY_ONE) {
        let next = 0;
        const worker = async () => {
          while (next < wanted.length) {
            const dn = wanted[next++] as string;
            try {
              const { searchEntries } = await run('read person', dn, (c) =>
                c.search(dn, { scope: 'base', attributes: [uidAttribute, 'sshPublicKey'] }),
              );
              const entry = searchEntries[0];
              if (entry !== undefined) found.set(normalizeDn(entry.dn), toMember(entry));
            } catch (err) {
              if (err instanceof AppError && err.code === 'RAC_LDAP_NO_SUCH_OBJECT') continue;
              throw err;
            }
          }
        };
        await Promise.all(Array.from({ length: Math.min(PARALLEL_SEARCHES, wanted.length) }, worker));
        return found;
      }
      const want = new Set(wanted);
      const c = await session();
      try {
        const pages = c.searchPaginated(options.usersBase, {
          scope: 'sub',
          filter: new PresenceFilter({ attribute: 'objectClass' }),
          attributes: [uidAttribute, 'sshPublicKey'],
          paged: { pageSize: options.pageSize },
        });
        for await (const page of pages) {
          for (const entry of page.searchEntries) {
            const dn = normalizeDn(entry.dn);
            if (want.has(dn)) found.set(dn, toMember(entry));
          }
        }
      } catch (err) {
        throw toLdapAppError(err, { url: options.url, operation: 'read people', dn: options.usersBase });
      }
      return found;
    },

    async modifyMembers(tier, operation, dns) {
      if (dns.length === 0) return;
      const group = options.groups[tier];
      await run(`${operation} members`, group, (c) =>
        c.modify(group, new Change({ operation, modification: new Attribute({ type: 'member', values: [...dns] }) })),
      );
    },

    async replaceSshPublicKeys(dn, keys) {
      await run('replace sshPublicKey', dn, (c) =>
        c.modify(
          dn,
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: 'sshPublicKey', values: [...keys] }),
          }),
        ),
      );
    },

    async verifyPassword(uid, password) {
      // An empty password would be an unauthenticated bind, which slapd accepts: refused here.
      if (password.length === 0 || uid.length === 0) return null;
      const key = uid.toLowerCase();
      const cached = dnCache.get(key);
      if (cached !== undefined && cached.until > Date.now()) {
        if (await bindAs(cached.dn, password)) return { dn: cached.dn };
        dnCache.delete(key); // moved or renamed since? look it up again
      }
      const dn = await findDn(uid);
      if (dn === null) return null;
      if (dnCache.size >= DN_CACHE_SIZE) dnCache.clear();
      dnCache.set(key, { dn, until: Date.now() + DN_CACHE_MS });
      if (dn === cached?.dn) return null; // the same DN refused the password a moment ago
      return (await bindAs(dn, password)) ? { dn } : null;
    },

    async findEmails(uids) {
      const wanted = new Set(uids.map((u) => u.toLowerCase()));
      const out = new Map<string, string>();
      const list = [...wanted];
      for (let i = 0; i < list.length; i += UIDS_PER_SEARCH) {
        const filter = new OrFilter({
          filters: list
            .slice(i, i + UIDS_PER_SEARCH)
            .map((uid) => new EqualityFilter({ attribute: uidAttribute, value: uid })),
        });
        const { searchEntries } = await run('search mail', options.usersBase, (c) =>
          c.search(options.usersBase, {
            scope: 'sub',
            filter,
            attributes: [uidAttribute, 'mail'],
            paged: { pageSize: options.pageSize },
          }),
        );
        for (const entry of searchEntries) {
          const uid = strings(attributeOf(entry, uidAttribute)).find((u) => wanted.has(u.toLowerCase()));
          const mail = first(attributeOf(entry, 'mail'));
          if (uid !== undefined && mail !== null) out.set(uid.toLowerCase(), mail);
        }
      }
      return out;
    },

    async close() {
      const c = client;
      client = null;
      if (c?.isConnected) await c.unbind().catch(() => undefined);
    },

    async [Symbol.asyncDispose]() {
      await directory.close();
    },
  };
  return directory;
}

/** Attribute names are case-insensitive: the server may spell them otherwise than the config. */
function attributeOf(entry: Entry, name: string): Entry[string] | undefined {
  const direct = entry[name];
  if (direct !== undefined) return direct;
  const lower = name.toLowerCase();
  for (const key of Object.keys(entry)) if (key.toLowerCase() === lower) return entry[key];
  return undefined;
}

/** An attribute's values as text (binary values read as UTF-8). */
export function strings(value: Entry[string] | undefined): string[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map(text);
}

/**
 * The first of an entry's uids that is wanted, lower-cased; strings() without its arrays, as first():
 * it runs for every entry of a scan.
 */
function wantedUid(value: Entry[string] | undefined, wanted: ReadonlySet<string>): string | null {
  if (!Array.isArray(value)) {
    const uid = value === undefined ? null : text(value).toLowerCase();
    return uid !== null && wanted.has(uid) ? uid : null;
  }
  for (const v of value) {
    const uid = text(v).toLowerCase();
    if (wanted.has(uid)) return uid;
  }
  return null;
}

/** An attribute's first value as text (strings() without its arrays: it runs 250 000 times a scan). */
function first(value: Entry[string] | undefined): string | null {
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined ? null : text(v);
}

/** A value as text (binary values read as UTF-8). */
function text(value: Buffer | string): string {
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}
