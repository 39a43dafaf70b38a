import { generateKeyPairSync } from 'node:crypto';

/**
 * A fresh ed25519 public key as an OpenSSH line, for synthetic rosters (the private half is
 * discarded: nobody logs in with it). For a key someone logs in with, use ssh-keygen.
 */
export function generateOpensshPublicKey(comment: string): string {
  const raw = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const type = Buffer.from('ssh-ed25519');
  const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  return `ssh-ed25519 ${Buffer.concat([u32(type.length), type, u32(raw.length), raw]).toString('base64')} ${comment}`;
}
