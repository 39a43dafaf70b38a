import { Client } from 'ldapts';
import { normalizeDn } from '../../src/core/dn.ts';
import type { LocalDirectory } from './directory.ts';

/**
 * Another system writing to the directory (HR tooling, a script, a person with the admin
 * password): tests use it to put data into the directory that rac did not write.
 */
export async function asDirectoryRoot<T>(directory: LocalDirectory, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ url: directory.url, timeout: 10_000, connectTimeout: 10_000 });
  await client.bind(directory.rootDn, directory.rootPassword);
  try {
    return await fn(client);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** Normalised member DNs of a tier group, read as the directory root. */
export async function memberDns(directory: LocalDirectory, tier: keyof LocalDirectory['groups']): Promise<Set<string>> {
  return asDirectoryRoot(directory, async (c) => {
    const { searchEntries } = await c.search(directory.groups[tier], { scope: 'base', attributes: ['member'] });
    const values = searchEntries[0]?.['member'] ?? [];
    return new Set((Array.isArray(values) ? values : [values]).map((v) => normalizeDn(String(v))));
  });
}
