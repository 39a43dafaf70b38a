import { Attribute, Change, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCompany } from '../../infra/local/company.ts';
import { sshaHash } from '../../infra/local/directory.ts';
import type { Services } from '../../src/compose.ts';
import { type RacEnv, startRacEnv } from '../support/rac-env.ts';

const company = generateCompany(6, { seed: 8 });
const [alice, bob] = company as [(typeof company)[0], (typeof company)[0]];

describe('verifyPassword: a bind as the person, on a real slapd', () => {
  let env: RacEnv;
  let services: Services;
  beforeAll(async () => {
    env = await startRacEnv({ people: company });
    services = env.services();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('accepts the right password and refuses a wrong, an empty or another person’s password', async () => {
    expect(await services.directory.verifyPassword(alice.uid, alice.password)).toEqual({
      dn: env.directory.dnOf(alice.uid),
    });
    expect(await services.directory.verifyPassword(alice.uid.toUpperCase(), alice.password)).not.toBeNull();
    expect(await services.directory.verifyPassword(alice.uid, `${alice.password}x`)).toBeNull();
    expect(await services.directory.verifyPassword(alice.uid, '')).toBeNull();
    expect(await services.directory.verifyPassword(alice.uid, bob.password)).toBeNull();
    expect(await services.directory.verifyPassword('nobody', 'x')).toBeNull();
    expect(await services.directory.verifyPassword('*', alice.password)).toBeNull(); // escaped, not a wildcard
  });

  it('follows a password change at once: the DN is cached, the password never is', async () => {
    expect(await services.directory.verifyPassword(bob.uid, bob.password)).not.toBeNull();
    const root = new Client({ url: env.directory.url });
    await root.bind(env.directory.rootDn, env.directory.rootPassword);
    await root.modify(
      env.directory.dnOf(bob.uid),
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'userPassword', values: [sshaHash('n3w-Passw0rd')] }),
      }),
    );
    await root.unbind();
    expect(await services.directory.verifyPassword(bob.uid, bob.password)).toBeNull();
    expect(await services.directory.verifyPassword(bob.uid, 'n3w-Passw0rd')).not.toBeNull();
  });

  it('finds mail addresses for the mail-merge list', async () => {
    const mails = await services.directory.findEmails([alice.uid, bob.uid, 'nobody']);
    expect(mails.get(alice.uid)).toBe(alice.mail);
    expect(mails.size).toBe(2);
  });
});
