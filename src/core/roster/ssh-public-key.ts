import { createHash } from 'node:crypto';

export interface SshPublicKey {
  type: string;
  /** The key blob, canonical base64. */
  blob: string;
  comment: string;
  /** Key size as `ssh-keygen -l` prints it. */
  bits: number | null;
  /** 'SHA256:…' exactly as `ssh-keygen -l` prints it (base64 without padding). */
  fingerprint: string;
  /** 'type blob comment' with single spaces, or 'type blob' when there is no comment. */
  line: string;
}

export type SshPublicKeyResult = { ok: true; key: SshPublicKey } | { ok: false; reason: string };

export const SSH_KEY_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;
export type SshKeyType = (typeof SSH_KEY_TYPES)[number];

/** NIST guidance and OpenSSH's own default; anything shorter is factorable by a motivated attacker. */
export const MIN_RSA_BITS = 2048;
/** OpenSSH refuses larger moduli (SSHBUF_MAX_BIGNUM); huge ones only cost verification time. */
const MAX_RSA_BITS = 16384;

const ECDSA_CURVES: Readonly<Record<string, { curve: string; bits: number; pointBytes: number }>> = {
  'ecdsa-sha2-nistp256': { curve: 'nistp256', bits: 256, pointBytes: 65 },
  'ecdsa-sha2-nistp384': { curve: 'nistp384', bits: 384, pointBytes: 97 },
  'ecdsa-sha2-nistp521': { curve: 'nistp521', bits: 521, pointBytes: 133 },
  'sk-ecdsa-sha2-nistp256@openssh.com': { curve: 'nistp256', bits: 256, pointBytes: 65 },
};

/** Words that open an authorized_keys options list (sshd(8) AUTHORIZED_KEYS FILE FORMAT). */
const OPTION_WORDS = new Set([
  'agent-forwarding',
  'cert-authority',
  'command',
  'environment',
  'expiry-time',
  'from',
  'no-agent-forwarding',
  'no-port-forwarding',
  'no-pty',
  'no-user-rc',
  'no-x11-forwarding',
  'no-touch-required',
  'permitlisten',
  'permitopen',
  'port-forwarding',
  'principals',
  'pty',
  'restrict',
  'tunnel',
  'user-rc',
  'verify-required',
  'x11-forwarding',
]);

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Reads one OpenSSH public key line ('type base64-blob [comment]'). The line ends up in authorized_keys or
 * LDAP, so anything that would change what sshd does with it is refused: options (command=, from=, …),
 * control characters that could start a second line, and blobs that do not hold the key they claim to.
 */
export function parseSshPublicKey(text: string): SshPublicKeyResult {
  const read = checkSshPublicKey(text);
  if (!read.ok) return read;
  const { type, blob, comment, bits, bytes, line } = read;
  const fingerprint = `SHA256:${createHash('sha256').update(bytes).digest('base64').replace(/=+$/, '')}`;
  return { ok: true, key: { type, blob, comment, bits, fingerprint, line } };
}

/** A key as checkSshPublicKey reads it: no fingerprint, the decoded blob instead. */
export type CheckedSshPublicKey = Omit<SshPublicKey, 'fingerprint'> & { bytes: Uint8Array };

/** Checks a key line as parseSshPublicKey does, without the fingerprint a roster's thousands of keys do not need. */
export function checkSshPublicKey(text: string): ({ ok: true } & CheckedSshPublicKey) | { ok: false; reason: string } {
  // Checked before control characters so a pasted multi-line private key gets the reason that matters.
  if (looksLikePrivateKey(text)) {
    return fail('this is a private key; never share it. Give the public key instead (the .pub file)');
  }
  if (text.includes('-----BEGIN') || text.includes('---- BEGIN')) {
    return fail(
      'this is a PEM/RFC 4716 block, not an OpenSSH public key line; convert it with ' +
        "'ssh-keygen -i -f key.pub' (add '-m PKCS8' for '-----BEGIN PUBLIC KEY-----')",
    );
  }
  const control = findControlCharacter(text);
  if (control !== null) {
    return fail(`contains a control character (${control}); a key must be a single line of printable text`);
  }

  const trimmed = trimAsciiSpaces(text);
  if (trimmed === '') return fail('is empty');
  const firstSpace = trimmed.indexOf(' ');
  const type = firstSpace === -1 ? trimmed : trimmed.slice(0, firstSpace);
  const rest = firstSpace === -1 ? '' : trimmed.slice(firstSpace + 1).replace(/^ +/, '');

  if (!isSshKeyType(type)) return fail(explainUnknownType(type, trimmed));

  const secondSpace = rest.indexOf(' ');
  const encoded = secondSpace === -1 ? rest : rest.slice(0, secondSpace);
  const comment = secondSpace === -1 ? '' : rest.slice(secondSpace + 1).replace(/^ +/, '');
  if (encoded === '') return fail(`has the type '${type}' but no key data after it`);

  const bytes = decodeBase64(encoded);
  if (bytes === null) return fail('the key data is not valid base64 (was the key cut or wrapped when copied?)');

  const read = readKeyBlob(type, bytes);
  if (!read.ok) return read;

  // decodeBase64 only accepts the canonical spelling, so the text is already the normalised blob.
  const blob = encoded;
  const line = comment === '' ? `${type} ${blob}` : `${type} ${blob} ${comment}`;
  return { ok: true, type, blob, comment, bits: read.bits, bytes, line };
}

export function isSshKeyType(value: string): value is SshKeyType {
  return (SSH_KEY_TYPES as readonly string[]).includes(value);
}

/** A loop, not /^ +| +$/: that regex backtracks quadratically on a long run of inner spaces. */
function trimAsciiSpaces(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) === 0x20) start++;
  while (end > start && text.charCodeAt(end - 1) === 0x20) end--;
  return text.slice(start, end);
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

/** For callers that echo rejected input: a private key must never end up in a report or a log. */
export function looksLikePrivateKey(text: string): boolean {
  return (
    text.includes('PRIVATE KEY') ||
    text.includes('PuTTY-User-Key-File') ||
    // base64 of "openssh-key-v1\0": the body of an OpenSSH private key pasted without its armour.
    text.includes('b3BlbnNzaC1rZXktdjE')
  );
}

/** C0 controls (NUL, tab, CR, LF, …), DEL, C1 controls, and the Unicode line/paragraph separators. */
function findControlCharacter(text: string): string | null {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) {
      return `U+${c.toString(16).toUpperCase().padStart(4, '0')} at position ${i + 1}`;
    }
  }
  return null;
}

function explainUnknownType(type: string, line: string): string {
  if (type === 'ssh-dss') return 'DSA keys (ssh-dss) are obsolete and not accepted; generate an ed25519 key';
  const words = line.split(' ');
  const optionName = (type.split(/[=,]/)[0] ?? '').toLowerCase();
  if (words.slice(1).some(isSshKeyType) || OPTION_WORDS.has(optionName) || /[=,"]/.test(type)) {
    return "authorized_keys options (command=, from=, no-pty, …) are not allowed; give only 'type key comment'";
  }
  if (type.includes('-cert-v01@openssh.com')) return 'certificates are not accepted; give the plain public key';
  const shown = type.length > 40 ? `${type.slice(0, 40)}…` : type;
  return `unknown or unsupported key type '${shown}'; accepted: ${SSH_KEY_TYPES.join(', ')}`;
}

/** Strict: the text must be exactly what encoding the bytes back produces, so one key has one spelling. */
function decodeBase64(text: string): Uint8Array | null {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) return null;
  return bytes;
}

type BlobRead = { ok: true; bits: number } | { ok: false; reason: string };

/** Walks the SSH wire format (RFC 4253 §6.6, RFC 5656 §3.1, OpenSSH PROTOCOL.u2f) for the declared type. */
function readKeyBlob(type: SshKeyType, bytes: Uint8Array): BlobRead {
  const reader = new WireReader(bytes);
  const embedded = reader.readString();
  if (embedded === null) return fail('the key data is truncated');
  const embeddedType = readAscii(embedded);
  if (embeddedType !== type) {
    const shown = /^[\x20-\x7e]{1,64}$/.test(embeddedType) ? `'${embeddedType}'` : 'something unreadable';
    return fail(`the line says '${type}' but the key data holds ${shown}`);
  }

  let bits: number;
  if (type === 'ssh-ed25519' || type === 'sk-ssh-ed25519@openssh.com') {
    const pk = reader.readString();
    if (pk === null) return fail('the key data is truncated');
    if (pk.length !== 32) return fail(`an ed25519 public key is 32 bytes, this one is ${pk.length}`);
    bits = 256;
  } else if (type === 'ssh-rsa') {
    const e = reader.readString();
    const modulus = reader.readString();
    if (e === null || modulus === null) return fail('the key data is truncated');
    // An mpint with its top bit set is negative; no RSA key has a negative exponent or modulus.
    if (((e[0] ?? 0) & 0x80) !== 0 || ((modulus[0] ?? 0) & 0x80) !== 0) return fail('the RSA key data is malformed');
    if (bitLength(e) === 0) return fail('the RSA public exponent is zero');
    bits = bitLength(modulus);
    if (bits < MIN_RSA_BITS) return fail(`RSA key is ${bits} bits; at least ${MIN_RSA_BITS} are required`);
    if (bits > MAX_RSA_BITS) return fail(`RSA key is ${bits} bits; at most ${MAX_RSA_BITS} are supported`);
  } else {
    const curve = ECDSA_CURVES[type];
    if (curve === undefined) return fail(`unsupported key type '${type}'`);
    const name = reader.readString();
    const point = reader.readString();
    if (name === null || point === null) return fail('the key data is truncated');
    if (readAscii(name) !== curve.curve) {
      return fail(`the key data names a different curve than '${type}'`);
    }
    // OpenSSH only writes (and accepts) uncompressed points: 0x04 || X || Y.
    if (point.length !== curve.pointBytes || point[0] !== 0x04) return fail('the ECDSA public point is malformed');
    bits = curve.bits;
  }

  if (type.startsWith('sk-')) {
    const application = reader.readString();
    if (application === null) return fail('the key data is truncated');
  }
  if (reader.remaining !== 0) return fail('the key data has unexpected bytes after the key');
  return { ok: true, bits };
}

class WireReader {
  readonly #bytes: Uint8Array;
  #at = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  get remaining(): number {
    return this.#bytes.length - this.#at;
  }

  /** An SSH 'string': uint32 big-endian length, then that many bytes; null when the blob ends early. */
  readString(): Uint8Array | null {
    if (this.remaining < 4) return null;
    const b = this.#bytes;
    const at = this.#at;
    const length = (b[at] ?? 0) * 0x1000000 + (b[at + 1] ?? 0) * 0x10000 + (b[at + 2] ?? 0) * 0x100 + (b[at + 3] ?? 0);
    if (length > this.remaining - 4) return null;
    this.#at = at + 4 + length;
    return b.subarray(at + 4, at + 4 + length);
  }
}

/** Type and curve names are short ASCII; anything else comes out as '\ufffd' and simply fails to match. */
function readAscii(bytes: Uint8Array): string {
  if (bytes.length > 64) return '\ufffd';
  let text = '';
  for (const byte of bytes) text += byte < 0x80 ? String.fromCharCode(byte) : '\ufffd';
  return text;
}

/** Bit length of an unsigned big-endian integer (an SSH mpint's leading zero byte counts for nothing). */
function bitLength(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  const top = bytes[i];
  if (top === undefined) return 0;
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(top));
}
