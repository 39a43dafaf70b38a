import { createHash } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import type { ServerHostKeyAlgorithm } from 'ssh2';
import { AppError } from '../../core/errors.ts';
import { hostLabel, type SshErrorContext, toSshAppError } from './errors.ts';
import { loadSsh2 } from './ssh2-module.ts';

/** Pinned host keys: a key is compared by its blob, or by the SHA256 fingerprint ssh-keygen prints. */

const DEFAULT_SCAN_TIMEOUT_MS = 10_000;

/** 'SHA256:…' of an SSH public key blob, as `ssh-keygen -l` prints it. */
export function fingerprintOfKey(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH public key blob (its first string), or null if malformed. */
export function keyTypeOfBlob(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > blob.length) return null;
  const type = blob.subarray(4, 4 + length).toString('latin1');
  return /^[a-z0-9@.-]+$/.test(type) ? type : null;
}

export type HostKeyPin =
  | { readonly kind: 'key'; readonly type: string; readonly blob: Buffer; readonly fingerprint: string }
  | { readonly kind: 'fingerprint'; readonly fingerprint: string };

function pinInvalid(name: string, why: string): AppError {
  return new AppError(
    'RAC_SSH_HOST_KEY_PIN_INVALID',
    `pinned host key for ${name} is invalid: ${why}. Expected an OpenSSH public key line ("ssh-ed25519 AAAA…") or a fingerprint ("SHA256:…"); get it with rac trust or ssh-keyscan + ssh-keygen -l, checked out of band`,
    { details: { host: name } },
  );
}

/**
 * Parses a pin: a fingerprint `SHA256:<43 base64 chars>`, or a public key line — optionally with a
 * leading known_hosts/ssh-keyscan host field — whose blob must parse as an SSH public key of the
 * type the line names.
 */
export function parseHostKeyPin(pin: string, name: string): HostKeyPin {
  if (typeof pin !== 'string' || pin.trim() === '') throw pinInvalid(name, 'it is empty');
  const text = pin.trim();
  if (/^SHA256:/i.test(text)) {
    const b64 = text.slice('SHA256:'.length).replace(/=+$/, '');
    if (!/^[A-Za-z0-9+/]{43}$/.test(b64) || Buffer.from(b64, 'base64').length !== 32) {
      throw pinInvalid(name, 'the SHA256 fingerprint is not 43 base64 characters');
    }
    return { kind: 'fingerprint', fingerprint: `SHA256:${b64}` };
  }
  if (/^(MD5:)?([0-9a-f]{2}:){15}[0-9a-f]{2}$/i.test(text)) throw pinInvalid(name, 'MD5 fingerprints are not accepted');
  if (text.startsWith('@')) throw pinInvalid(name, 'known_hosts markers (@cert-authority, @revoked) are not accepted');
  const tokens = text.split(/\s+/);
  const at = tokens.findIndex((t) => /^(ssh-|ecdsa-sha2-|sk-)[a-z0-9@.-]+$/.test(t));
  const type = at === -1 ? undefined : tokens[at];
  const b64 = at === -1 ? undefined : tokens[at + 1];
  if (type === undefined || b64 === undefined) throw pinInvalid(name, 'no key type and base64 key found');
  if (at > 1) throw pinInvalid(name, 'unexpected text before the key type');
  if (type.includes('-cert-v01@')) throw pinInvalid(name, 'certificates are not accepted as pins');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw pinInvalid(name, 'the key is not base64');
  const blob = Buffer.from(b64, 'base64');
  if (keyTypeOfBlob(blob) !== type) throw pinInvalid(name, `the key blob is not a ${type} key`);
  const parsed = loadSsh2().utils.parseKey(`${type} ${b64}`);
  if (parsed instanceof Error || (Array.isArray(parsed) && parsed.length === 0)) {
    throw pinInvalid(name, 'the key does not parse');
  }
  return { kind: 'key', type, blob, fingerprint: fingerprintOfKey(blob) };
}

/** Host key algorithms to offer so the server presents the pinned key's type. */
export function hostKeyAlgorithmsFor(pin: HostKeyPin): ServerHostKeyAlgorithm[] | undefined {
  if (pin.kind !== 'key') return undefined;
  if (pin.type === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  if (pin.type === 'ssh-ed25519' || /^ecdsa-sha2-nistp(256|384|521)$/.test(pin.type)) {
    return [pin.type as ServerHostKeyAlgorithm];
  }
  return undefined;
}

/**
 * For `rac trust`: connects, captures the host key offered in the handshake, and aborts before
 * authentication (no credentials are sent). Check the fingerprint out of band before pinning it.
 */
export async function scanHostKey(
  host: string,
  port: number,
  timeoutMs = DEFAULT_SCAN_TIMEOUT_MS,
): Promise<{ keyLine: string; fingerprint: string }> {
  const context: SshErrorContext = { name: host, host, port, operation: 'host key scan' };
  return new Promise((resolve, reject) => {
    const client = new (loadSsh2().Client)();
    let settled = false;
    let captured: Buffer | undefined;
    const done = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.destroy();
      outcome();
    };
    const timer = setTimeout(() => {
      done(() =>
        reject(
          new AppError('RAC_SSH_UNAVAILABLE', `${hostLabel(context)} did not offer a host key within ${timeoutMs} ms`, {
            details: { address: `${host}:${port}` },
          }),
        ),
      );
    }, timeoutMs);
    const finishWithKey = () => {
      if (captured === undefined) return false;
      const key = captured;
      const type = keyTypeOfBlob(key);
      if (type === null) {
        done(() => reject(new AppError('RAC_SSH_PROTOCOL', `${hostLabel(context)} offered a malformed host key`)));
        return true;
      }
      done(() => resolve({ keyLine: `${type} ${key.toString('base64')}`, fingerprint: fingerprintOfKey(key) }));
      return true;
    };
    client.on('error', (err) => {
      if (!finishWithKey()) done(() => reject(toSshAppError(err, context)));
    });
    client.on('close', () => {
      if (!finishWithKey())
        done(() =>
          reject(
            new AppError(
              'RAC_SSH_UNAVAILABLE',
              `${hostLabel(context)} closed the connection before offering a host key`,
            ),
          ),
        );
    });
    const sock = netConnect({ host, port });
    sock.setNoDelay(true);
    try {
      client.connect({
        sock,
        username: 'rac-trust',
        readyTimeout: 0,
        // Refusing the key ends the handshake here: nothing past key exchange is ever sent.
        hostVerifier: (key: Buffer) => {
          captured = Buffer.from(key);
          return false;
        },
      });
    } catch (err) {
      sock.destroy();
      done(() => reject(toSshAppError(err, context)));
    }
  });
}
