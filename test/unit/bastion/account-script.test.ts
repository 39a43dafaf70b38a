import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  JUMP_ONLY_OPTIONS,
  parseAccountReport,
  parseObservedAccounts,
  renderAccountManifest,
} from '../../../src/core/bastion/account-script.ts';
import { AppError } from '../../../src/core/errors.ts';
import { parseSshPublicKey } from '../../../src/core/roster/ssh-public-key.ts';

function sshString(data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, data]);
}
function ed25519(comment = 'alice@laptop'): string {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  const blob = Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(Buffer.from(jwk.x ?? '', 'base64url'))]);
  return `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
}
const blobOf = (line: string) => line.split(' ')[1];

const KEY_A = ed25519();
const KEY_B = ed25519('second key with spaces');

function refusal(accounts: Parameters<typeof renderAccountManifest>[0]): AppError {
  try {
    renderAccountManifest(accounts, 'shell');
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('RAC_BASTION_MANIFEST');
    return err as AppError;
  }
  throw new Error('expected the manifest to be refused');
}

describe('renderAccountManifest', () => {
  it('writes one record per line with normalised keys and an end count', () => {
    const text = renderAccountManifest(
      [
        { uid: 'alice', state: 'present', keys: [KEY_A, `  ${KEY_B}  `, KEY_A] },
        { uid: 'bob', state: 'locked', keys: [KEY_A] },
        { uid: 'carol_1.x-y', state: 'present', keys: [] },
      ],
      'shell',
    );
    expect(text).toBe(
      [
        'rac-bastion-manifest 1',
        'account\talice\tpresent',
        `key\talice\tssh-ed25519 ${blobOf(KEY_A)} rac:alice`,
        `key\talice\tssh-ed25519 ${blobOf(KEY_B)} rac:alice`,
        'account\tbob\tlocked',
        'account\tcarol_1.x-y\tpresent',
        'end\t3',
        '',
      ].join('\n'),
    );
  });

  it('writes an empty manifest that changes nothing', () => {
    expect(renderAccountManifest([], 'jump-only')).toBe('rac-bastion-manifest 1\nend\t0\n');
  });

  it("with login jump-only, writes every key behind rac's own options and nothing else", () => {
    const text = renderAccountManifest([{ uid: 'alice', state: 'present', keys: [KEY_A, KEY_B] }], 'jump-only');
    expect(text.split('\n').filter((l) => l.startsWith('key'))).toEqual([
      `key\talice\trestrict,port-forwarding,command="/bin/false" ssh-ed25519 ${blobOf(KEY_A)} rac:alice`,
      `key\talice\trestrict,port-forwarding,command="/bin/false" ssh-ed25519 ${blobOf(KEY_B)} rac:alice`,
    ]);
    // A directory key cannot bring options of its own along, in either mode.
    expect(() =>
      renderAccountManifest([{ uid: 'alice', state: 'present', keys: [`${JUMP_ONLY_OPTIONS} ${KEY_A}`] }], 'jump-only'),
    ).toThrow(/options .* are not allowed/);
  });

  it('refuses a login mode it does not know', () => {
    expect(() => renderAccountManifest([], 'full' as 'shell')).toThrow(/login 'full' is neither/);
  });

  it('refuses a key with authorized_keys options (forced command, from=, …)', () => {
    const error = refusal([{ uid: 'alice', state: 'present', keys: [`command="echo pwned" ${KEY_A}`] }]);
    expect(error.message).toMatch(/^alice: key 1 authorized_keys options .* are not allowed/);
    expect(refusal([{ uid: 'alice', state: 'present', keys: [`no-pty,from="*" ${KEY_A}`] }]).message).toMatch(
      /options/,
    );
  });

  it('refuses a key that would start a second line, and never echoes the key', () => {
    const error = refusal([{ uid: 'alice', state: 'present', keys: [`${KEY_A}\nssh-ed25519 AAAA evil`] }]);
    expect(error.message).toMatch(/control character/);
    const privateKey =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
    const leaked = refusal([{ uid: 'alice', state: 'present', keys: [privateKey] }]);
    expect(leaked.message).toMatch(/private key/);
    expect(leaked.message).not.toContain('b3BlbnNzaC1rZXktdjE');
  });

  it.each(['root\nend\t0', 'Alice', '-rf', 'a b', '', 'x'.repeat(33), '$(id)'])('refuses the uid %j', (uid) => {
    expect(refusal([{ uid, state: 'present', keys: [] }]).message).toMatch(/is not a valid account name/);
  });

  it('refuses a uid listed twice and an unknown state', () => {
    expect(
      refusal([
        { uid: 'alice', state: 'present', keys: [] },
        { uid: 'alice', state: 'locked', keys: [] },
      ]).message,
    ).toBe('alice is listed twice');
    expect(refusal([{ uid: 'alice', state: 'deleted' as 'locked', keys: [] }]).message).toMatch(/state 'deleted'/);
  });
});

describe('parseAccountReport', () => {
  it('reads one line per account and ignores anything else', () => {
    const stdout =
      'alice\tcreated\tuid 1001, 2 keys\nbob\tlocked\tlocked; keys removed; processes killed;\n' +
      'carol\tconflict\taccount exists and is not in group rac-bastion; not touched\n' +
      'newusers: something odd\n\ndave\tweird\tx\nerin\tunchanged\t1 keys\r\n';
    expect(parseAccountReport(stdout)).toEqual([
      { uid: 'alice', status: 'created', detail: 'uid 1001, 2 keys' },
      { uid: 'bob', status: 'locked', detail: 'locked; keys removed; processes killed;' },
      { uid: 'carol', status: 'conflict', detail: 'account exists and is not in group rac-bastion; not touched' },
      { uid: 'erin', status: 'unchanged', detail: '1 keys' },
    ]);
  });
});

describe('parseObservedAccounts', () => {
  it('groups keys and problems per account, with fingerprints, sorted by uid', () => {
    const a = parseSshPublicKey(KEY_A);
    if (!a.ok) throw new Error('test key');
    const stdout = [
      'account\tzoe\tlocked',
      'account\talice\tactive',
      `key\talice\tssh-ed25519 ${blobOf(KEY_A)} rac:alice`,
      'key\talice\tssh-ed25519 AAAAnotreally',
      'problem\talice\t1 authorized_keys lines carry options or are not keys',
      'problem\tzoe\t~/.ssh is a symlink',
      `key\tnobody\t${KEY_A}`,
      '',
    ].join('\n');
    const observed = parseObservedAccounts(stdout);
    expect(observed.map((o) => o.uid)).toEqual(['alice', 'zoe']);
    expect(observed[0]).toEqual({
      uid: 'alice',
      locked: false,
      keys: [`ssh-ed25519 ${blobOf(KEY_A)} rac:alice`],
      login: 'shell',
      fingerprints: [a.key.fingerprint],
      problems: [
        expect.stringMatching(/^an authorized_keys line is not a key as rac writes it/),
        '1 authorized_keys lines carry options or are not keys',
      ],
    });
    expect(observed[1]).toMatchObject({
      uid: 'zoe',
      locked: true,
      keys: [],
      login: null,
      problems: ['~/.ssh is a symlink'],
    });
  });

  it("recognises rac's jump-only options exactly; any other options are a problem, never a key", () => {
    const key = `ssh-ed25519 ${blobOf(KEY_A)} rac:alice`;
    const other = `ssh-ed25519 ${blobOf(KEY_B)} rac:alice`;
    const observe = (...lines: string[]) =>
      parseObservedAccounts(['account\talice\tactive', ...lines.map((l) => `key\talice\t${l}`)].join('\n'))[0];
    expect(observe(`${JUMP_ONLY_OPTIONS} ${key}`)).toMatchObject({ keys: [key], login: 'jump-only', problems: [] });
    expect(observe(key)).toMatchObject({ keys: [key], login: 'shell', problems: [] });
    expect(observe(`${JUMP_ONLY_OPTIONS} ${key}`, other)).toMatchObject({ keys: [key, other], login: 'mixed' });
    for (const forged of [
      `restrict,port-forwarding ${key}`,
      `${JUMP_ONLY_OPTIONS},command="/bin/sh" ${key}`,
      `command="echo bar" ${key}`,
      `${JUMP_ONLY_OPTIONS}  ${key}`,
      `restrict,port-forwarding,command="/bin/false",permitopen="*:*" ${key}`,
    ]) {
      const seen = observe(forged);
      expect(seen?.keys, forged).toEqual([]);
      expect(seen?.login, forged).toBeNull();
      expect(seen?.problems, forged).toEqual([expect.stringMatching(/^an authorized_keys line is not a key as rac/)]);
    }
  });
});
