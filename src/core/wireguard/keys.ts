import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { Secret } from '../secret.ts';

/**
 * A WireGuard key as `wg` writes it: 32 bytes in standard base64, 44 characters with one '='.
 * The last character before '=' carries only 2 data bits, so it must be one of 16 letters:
 * anything else decodes to the same bytes under a lenient decoder but is not what `wg` prints,
 * and two spellings of one key would make two peers of one person.
 */
const WIREGUARD_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

export function isWireGuardKey(text: unknown): text is string {
  return typeof text === 'string' && WIREGUARD_KEY.test(text);
}

/** Why a roster or config value is not a WireGuard public key, or null when it is one. */
export function explainBadWireGuardKey(text: string): string | null {
  if (WIREGUARD_KEY.test(text)) return null;
  if (/^-----BEGIN/.test(text) || /^ssh-|^ecdsa-/.test(text))
    return 'is not a WireGuard key (that looks like an SSH or PEM key; give the output of `wg pubkey`)';
  if (text.length !== 44)
    return `must be 44 characters of base64 (32 bytes, as \`wg pubkey\` prints); got ${text.length}`;
  return 'must be 32 bytes in standard base64 ending in one "=", as `wg pubkey` prints it';
}

export interface WireGuardKeyPair {
  readonly publicKey: string;
  /** Never logged, stored or put in argv: it goes into the person's profile once. */
  readonly privateKey: Secret;
}

/** PKCS#8 DER of an X25519 private key, up to the 32 key bytes (RFC 8410). */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/**
 * A fresh X25519 key pair, as `wg genkey | wg pubkey` would make it: 32 random bytes clamped
 * the way Curve25519 expects (wg genkey clamps too; X25519 clamps again on use, so the public
 * key is the same either way), the public key derived by node:crypto. No process, no shell.
 */
export function generateWireGuardKeyPair(): WireGuardKeyPair {
  const raw = randomBytes(32);
  try {
    raw[0] = (raw[0] as number) & 248;
    raw[31] = ((raw[31] as number) & 127) | 64;
    const privateKey = new Secret(raw.toString('base64'));
    return { publicKey: publicKeyOf(privateKey), privateKey };
  } finally {
    raw.fill(0);
  }
}

/** The public key of a private key (both base64), what `wg pubkey` prints. */
export function publicKeyOf(privateKey: Secret): string {
  const d = Buffer.from(privateKey.reveal(), 'base64');
  try {
    if (d.length !== 32) throw new TypeError('a WireGuard private key is 32 bytes');
    const der = Buffer.concat([PKCS8_X25519_PREFIX, d]);
    try {
      const jwk = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({
        format: 'jwk',
      });
      return Buffer.from(String(jwk.x), 'base64url').toString('base64');
    } finally {
      der.fill(0);
    }
  } finally {
    d.fill(0);
  }
}
