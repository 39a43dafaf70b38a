import { connect as netConnect } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Attribute, Change, Client, type Entry, PresenceFilter } from 'ldapts';
import { AppError } from '../../core/errors.ts';
import type { Secret } from '../../core/secret.ts';
import type { DirectoryProbe, ProbeEntry } from '../../services/doctor/ports.ts';
import { strings } from './directory.ts';
import { toLdapAppError } from './errors.ts';

export interface DirectoryProbeOptions {
  readonly url: string;
  readonly bindDn: string;
  readonly bindPassword: Secret;
  readonly starttls: boolean;
  readonly ca?: Buffer | undefined;
  readonly timeoutMs: number;
}

/**
 * The directory as `rac doctor` looks at it: step by step (TCP, TLS, bind), so that each step's
 * failure is reported as itself. One ldapts connection; filters from filter classes only.
 */
export function createDirectoryProbe(options: DirectoryProbeOptions): DirectoryProbe & AsyncDisposable {
  const { url, timeoutMs } = options;
  const tlsOptions: ConnectionOptions = options.ca === undefined ? {} : { ca: options.ca };
  const ldaps = url.startsWith('ldaps://');
  const client = new Client({
    url,
    timeout: timeoutMs,
    connectTimeout: timeoutMs,
    // ldapts opens TLS at once whenever tlsOptions are given: only for ldaps:// (StartTLS gets them on the upgrade).
    ...(ldaps ? { tlsOptions } : {}),
  });
  const fail = (err: unknown, operation: string, dn?: string) =>
    toLdapAppError(err, { url, operation, ...(dn === undefined ? {} : { dn }) });

  const probe: DirectoryProbe & AsyncDisposable = {
    url,

    async reach() {
      const { host, port } = hostAndPort(url);
      await new Promise<void>((resolve, reject) => {
        const socket = netConnect({ host, port });
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new AppError('RAC_LDAP_UNAVAILABLE', `no TCP connection to ${host}:${port} within ${timeoutMs} ms`));
        }, timeoutMs);
        socket.once('connect', () => {
          clearTimeout(timer);
          socket.end();
          resolve();
        });
        socket.once('error', (err) => {
          clearTimeout(timer);
          reject(fail(err, 'connect'));
        });
      });
    },

    async secure() {
      try {
        if (options.starttls) {
          await client.startTLS(tlsOptions);
          return 'starttls';
        }
        if (!ldaps) return 'none';
        // The first operation opens the TLS connection; the root DSE may be closed to anonymous
        // readers, and any LDAP answer at all proves the handshake (and the certificate) passed.
        await client.search('', { scope: 'base', attributes: ['supportedLDAPVersion'] }).catch((err: unknown) => {
          if (client.isConnected) return;
          throw err;
        });
        return 'ldaps';
      } catch (err) {
        throw fail(err, options.starttls ? 'StartTLS' : 'TLS handshake');
      }
    },

    async bind() {
      try {
        await client.bind(options.bindDn, options.bindPassword.reveal());
      } catch (err) {
        throw fail(err, 'bind', options.bindDn);
      }
    },

    async readEntry(dn, attributes) {
      try {
        const { searchEntries } = await client.search(dn, { scope: 'base', attributes: [...attributes] });
        const entry = searchEntries[0];
        return entry === undefined ? null : toProbeEntry(entry);
      } catch (err) {
        const mapped = fail(err, 'read', dn);
        if (mapped.code === 'RAC_LDAP_NO_SUCH_OBJECT') return null;
        throw mapped;
      }
    },

    async findWithAttribute(base, attribute, attributes, limit) {
      try {
        const { searchEntries } = await client.search(base, {
          scope: 'sub',
          filter: new PresenceFilter({ attribute }),
          attributes: [...attributes],
          sizeLimit: limit,
        });
        return searchEntries.slice(0, limit).map(toProbeEntry);
      } catch (err) {
        throw fail(err, `search (${attribute}=*)`, base);
      }
    },

    async countPaged(base, attribute, stopAfter, pageSize) {
      let count = 0;
      try {
        const pages = client.searchPaginated(base, {
          scope: 'sub',
          filter: new PresenceFilter({ attribute }),
          attributes: ['1.1'],
          paged: { pageSize },
        });
        for await (const page of pages) {
          count += page.searchEntries.length;
          // Enough to prove the limit is not in the way; the rest of a large directory is not read.
          if (count > stopAfter) break;
        }
      } catch (err) {
        throw fail(err, `paged search (${attribute}=*) after ${count} entries`, base);
      }
      return count;
    },

    async modify(dn, changes) {
      try {
        await client.modify(
          dn,
          changes.map(
            (c) =>
              new Change({
                operation: c.operation,
                modification: new Attribute({ type: c.attribute, values: [c.value] }),
              }),
          ),
        );
      } catch (err) {
        throw fail(err, `modify ${changes.map((c) => `${c.operation} ${c.attribute}`).join(', ')}`, dn);
      }
    },

    async schemaNames() {
      try {
        const root = await client.search('', { scope: 'base', attributes: ['subschemaSubentry'] });
        const subschema = strings(root.searchEntries[0]?.['subschemaSubentry'])[0] ?? 'cn=Subschema';
        const { searchEntries } = await client.search(subschema, {
          scope: 'base',
          filter: new PresenceFilter({ attribute: 'objectClass' }),
          attributes: ['attributeTypes', 'objectClasses'],
        });
        const entry = searchEntries[0];
        return {
          attributeTypes: schemaNameSet(strings(entry?.['attributeTypes'])),
          objectClasses: schemaNameSet(strings(entry?.['objectClasses'])),
        };
      } catch (err) {
        throw fail(err, 'read schema');
      }
    },

    async close() {
      await client.unbind().catch(() => undefined);
    },

    async [Symbol.asyncDispose]() {
      await probe.close();
    },
  };
  return probe;
}

function hostAndPort(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const port = parsed.port === '' ? (parsed.protocol === 'ldaps:' ? 636 : 389) : Number(parsed.port);
  return { host, port };
}

function toProbeEntry(entry: Entry): ProbeEntry {
  const attributes = new Map<string, string[]>();
  for (const [key, value] of Object.entries(entry)) {
    if (key === 'dn') continue;
    attributes.set(key.toLowerCase(), strings(value));
  }
  return { dn: entry.dn, attributes };
}

/** Lower-cased NAMEs of schema definitions: `( 1.2.3 NAME ( 'a' 'b' ) …` or `NAME 'a'`. */
function schemaNameSet(definitions: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const definition of definitions) {
    const match = /\bNAME\s+(\(([^)]*)\)|'([^']*)')/i.exec(definition);
    if (match === null) continue;
    const list = match[2] ?? `'${match[3]}'`;
    for (const name of list.matchAll(/'([^']*)'/g)) names.add((name[1] as string).toLowerCase());
  }
  return names;
}
