import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { connect as netConnect } from 'node:net';
import { constants as osConstants } from 'node:os';
import type { Duplex } from 'node:stream';
import type { ClientChannel, ConnectConfig, ServerHostKeyAlgorithm, Client as SshClient } from 'ssh2';
import { AppError } from '../../core/errors.ts';
import type { Secret } from '../../core/secret.ts';
import { quoteArgv } from '../../core/shell-quote.ts';
import type { ExecOptions, ExecResult, RemoteShell } from '../../ports.ts';
import { hostLabel, type SshErrorContext, sshAbortedError, sshTimeoutError, toSshAppError } from './errors.ts';

/**
 * ssh2 is loaded on first use (it is CommonJS, so synchronously): commands that never reach a
 * gateway — a 50 000-person `rac plan` among them — do not carry its ~15 MB.
 */
const require = createRequire(import.meta.url);
let ssh2Module: typeof import('ssh2') | null = null;
const loadSsh2 = (): typeof import('ssh2') => {
  ssh2Module ??= require('ssh2') as typeof import('ssh2');
  return ssh2Module;
};

export interface SshShellOptions {
  name: string;
  host: string;
  port: number;
  user: string;
  /** PEM/OpenSSH private key text; encrypted keys need `passphrase`. Optional with `agent`. */
  privateKey?: Secret | undefined;
  /** The passphrase of an encrypted `privateKey`. */
  passphrase?: Secret | undefined;
  /** An ssh-agent socket (SSH_AUTH_SOCK) that holds the key: the key never enters rac. */
  agent?: string | undefined;
  /** Pinned: an OpenSSH public key line ("ssh-ed25519 AAAA… [comment]") or a fingerprint "SHA256:…". */
  hostKey: string;
  /** TCP connect + SSH handshake + authentication, default 10 000. */
  connectTimeoutMs?: number;
  /** Per exec (queue wait included), default 60 000. */
  defaultTimeoutMs?: number;
  /** Max concurrent execs/channels on this host, default 8 (sshd MaxSessions is often 10). */
  concurrency?: number;
  /**
   * TCP_NODELAY on the connection, default true (sequential execs ~47 ms → ~4 ms each). Exists
   * so the difference can be measured; leave it on.
   */
  tcpNoDelay?: boolean;
  /** SSH keepalive interval so a silently dead peer is noticed, default 15 000 (0 disables). */
  keepaliveIntervalMs?: number;
  /**
   * Run every command under coreutils `timeout`, so it ends on the host when rac gives up on it
   * (default true). sshd does not pass signals to a root session's command: without this, a
   * command that timed out here runs on there.
   */
  remoteTimeout?: boolean;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_EXEC_TIMEOUT_MS = 60_000;
const DEFAULT_CONCURRENCY = 8;
const DEFAULT_KEEPALIVE_MS = 15_000;
const STDERR_CAP = 64 * 1024;
/** Default bound on one command's stdout (a 50 000-file CCD tar is ~80 MB). */
const STDOUT_CAP = 256 * 1024 * 1024;
const STDIN_CHUNK = 64 * 1024;
/**
 * After a timeout or abort, how long a slot stays taken waiting for the server to close the channel.
 * sshd keeps the session (and its MaxSessions count) until the command exits, and refuses the KILL
 * signal request for root logins, so a hung command can hold a session for long: the slot follows
 * it for this long at most, then the queue moves on.
 */
const CLOSE_GRACE_MS = 5_000;

/** 'SHA256:…' of an SSH public key blob, as `ssh-keygen -l` prints it. */
export function fingerprintOfKey(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH public key blob (its first string), or null if malformed. */
function keyTypeOfBlob(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > blob.length) return null;
  const type = blob.subarray(4, 4 + length).toString('latin1');
  return /^[a-z0-9@.-]+$/.test(type) ? type : null;
}

type HostKeyPin =
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
function hostKeyAlgorithmsFor(pin: HostKeyPin): ServerHostKeyAlgorithm[] | undefined {
  if (pin.kind !== 'key') return undefined;
  if (pin.type === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  if (pin.type === 'ssh-ed25519' || /^ecdsa-sha2-nistp(256|384|521)$/.test(pin.type)) {
    return [pin.type as ServerHostKeyAlgorithm];
  }
  return undefined;
}

function checkPrivateKey(options: SshShellOptions): void {
  const invalid = (why: string) =>
    new AppError('RAC_SSH_PRIVATE_KEY_INVALID', `SSH client key for ${options.name} is unusable: ${why}`, {
      details: { host: options.name },
    });
  if (options.privateKey === undefined) {
    if (options.agent === undefined || options.agent === '')
      throw invalid(
        'no private key and no ssh-agent socket (set ssh.private_key_file, or ssh.agent with SSH_AUTH_SOCK)',
      );
    return;
  }
  const text = options.privateKey?.reveal?.();
  if (typeof text !== 'string' || text.trim() === '') throw invalid('it is empty');
  let parsed: ReturnType<typeof import('ssh2').utils.parseKey>;
  try {
    parsed = loadSsh2().utils.parseKey(text, options.passphrase?.reveal());
  } catch {
    throw invalid('it does not parse');
  }
  // Deliberately no `cause`: parser errors are not shown, in case one ever echoed input.
  if (parsed instanceof Error) {
    throw invalid(
      /encrypted|passphrase|decrypt/i.test(parsed.message)
        ? options.passphrase === undefined
          ? 'it is encrypted: give ssh.passphrase_file, or load it into ssh-agent and set ssh.agent: true'
          : 'it is encrypted and the passphrase does not open it'
        : 'not a private key in a supported format',
    );
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined || key.isPrivateKey() !== true) throw invalid('it is not a private key');
}

/** A counting semaphore with a FIFO queue; waiting can be aborted. */
class Limiter {
  readonly #max: number;
  #active = 0;
  readonly #queue: { grant: () => void; signal: AbortSignal; onAbort: () => void }[] = [];

  constructor(max: number) {
    this.#max = max;
  }

  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const release = this.#releaser();
    if (this.#active < this.#max) {
      this.#active++;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        signal,
        grant: () => {
          signal.removeEventListener('abort', waiter.onAbort);
          resolve(release);
        },
        onAbort: () => {
          const i = this.#queue.indexOf(waiter);
          if (i !== -1) this.#queue.splice(i, 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      if (next === undefined) this.#active--;
      else next.grant(); // the slot passes on
    };
  }
}

interface Connection {
  readonly client: SshClient;
  alive: boolean;
}

class TimeoutReason extends Error {}

/** Thrown internally when a channel could not even be opened on a connection that turned out dead. */
class StaleConnection extends Error {}

/**
 * A RemoteShell over one lazily opened, reused SSH connection to one host, with the host key pinned
 * (never accept-any), TCP_NODELAY, a per-host concurrency limit, and a deadline on every call.
 * Commands are argv arrays quoted by quoteArgv; the private key goes to ssh2 only.
 */
export function createSshShell(options: SshShellOptions): RemoteShell & AsyncDisposable {
  const pin = parseHostKeyPin(options.hostKey, options.name);
  checkPrivateKey(options);
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new AppError('RAC_SSH_CONFIG', `concurrency for ${options.name} must be a positive integer`);
  }
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  const limiter = new Limiter(concurrency);
  const base = { name: options.name, host: options.host, port: options.port };

  let current: Connection | null = null;
  let connecting: Promise<Connection> | null = null;

  function connect(): Promise<Connection> {
    return new Promise<Connection>((resolve, reject) => {
      const client = new (loadSsh2().Client)();
      const conn: Connection = { client, alive: false };
      let settled = false;
      let offeredFingerprint: string | undefined;
      const context = (): SshErrorContext => ({
        ...base,
        operation: 'connect',
        pinnedFingerprint: pin.fingerprint,
        ...(offeredFingerprint === undefined ? {} : { offeredFingerprint }),
      });
      const fail = (error: AppError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.destroy();
        reject(error);
      };
      const timer = setTimeout(() => {
        fail(
          new AppError(
            'RAC_SSH_UNAVAILABLE',
            `${hostLabel(base)} did not accept an SSH session within ${connectTimeoutMs} ms`,
            { details: { host: options.name, address: `${options.host}:${options.port}`, connectTimeoutMs } },
          ),
        );
      }, connectTimeoutMs);

      const sock = netConnect({ host: options.host, port: options.port });
      sock.setNoDelay(options.tcpNoDelay ?? true);

      client.on('ready', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        conn.alive = true;
        resolve(conn);
      });
      client.on('error', (err) => {
        conn.alive = false;
        fail(toSshAppError(err, context()));
      });
      const gone = () => {
        conn.alive = false;
        if (current === conn) current = null;
        fail(new AppError('RAC_SSH_UNAVAILABLE', `${hostLabel(base)} closed the connection during the SSH handshake`));
      };
      client.on('end', gone);
      client.on('close', gone);

      const keepalive = options.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_MS;
      const algorithms = hostKeyAlgorithmsFor(pin);
      const config: ConnectConfig = {
        sock,
        username: options.user,
        ...(options.privateKey === undefined ? {} : { privateKey: options.privateKey.reveal() }),
        ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase.reveal() }),
        ...(options.agent === undefined ? {} : { agent: options.agent }),
        readyTimeout: 0, // our own timer covers TCP connect, handshake and authentication
        keepaliveInterval: keepalive,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          offeredFingerprint = fingerprintOfKey(key);
          return pin.kind === 'key' ? pin.blob.equals(key) : offeredFingerprint === pin.fingerprint;
        },
        ...(algorithms === undefined ? {} : { algorithms: { serverHostKey: algorithms } }),
      };
      try {
        client.connect(config);
      } catch (err) {
        sock.destroy();
        fail(toSshAppError(err, context()));
      }
    });
  }

  /** The live connection, opening one if there is none; concurrent callers share one attempt. */
  async function connection(signal: AbortSignal): Promise<Connection> {
    if (current?.alive === true) return current;
    if (connecting === null) {
      const attempt = connect();
      connecting = attempt;
      attempt.then(
        (conn) => {
          if (connecting === attempt) connecting = null;
          // A connection that dropped while being handed out stays dropped.
          if (conn.alive) current = conn;
        },
        () => {
          if (connecting === attempt) connecting = null;
        },
      );
    }
    return abortable(connecting, signal);
  }

  /** Runs `run` on a connection; if the connection was stale before anything was sent, once more on a new one. */
  async function withConnection<T>(signal: AbortSignal, run: (conn: Connection) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const conn = await connection(signal);
      try {
        return await run(conn);
      } catch (err) {
        if (err instanceof StaleConnection && attempt === 0) {
          conn.alive = false;
          if (current === conn) current = null;
          continue;
        }
        if (err instanceof StaleConnection) {
          throw new AppError('RAC_SSH_UNAVAILABLE', `connection to ${hostLabel(base)} lost: ${err.message}`, {
            cause: err,
          });
        }
        throw err;
      }
    }
  }

  /** One budget for a call: the caller's signal plus the timeout; errors translated by reason. */
  async function budgeted<T>(
    operation: string,
    timeoutMs: number,
    callerSignal: AbortSignal | undefined,
    body: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const context = { ...base, operation };
    if (callerSignal?.aborted === true) throw sshAbortedError(context, callerSignal.reason);
    const budget = new AbortController();
    const timer = setTimeout(() => budget.abort(new TimeoutReason()), timeoutMs);
    const onCallerAbort = () => budget.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      return await body(budget.signal);
    } catch (err) {
      if (budget.signal.aborted && (err === budget.signal.reason || err instanceof TimeoutReason)) {
        throw budget.signal.reason instanceof TimeoutReason
          ? sshTimeoutError(context, timeoutMs)
          : sshAbortedError(context, budget.signal.reason);
      }
      throw toSshAppError(err, context);
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
  }

  /**
   * Runs one command on `conn`. `result` settles with the outcome (or the abort reason); `closed`
   * settles once the channel is closed, which is when its slot may go to the next call.
   */
  function startExec(
    conn: Connection,
    command: string,
    stdin: Uint8Array | undefined,
    signal: AbortSignal,
    maxStdout: number,
  ): { result: Promise<ExecResult>; closed: Promise<void> } {
    let channelClosed!: () => void;
    const closed = new Promise<void>((r) => {
      channelClosed = r;
    });
    const result = new Promise<ExecResult>((resolve, reject) => {
      let settled = false;
      let channel: ClientChannel | undefined;
      const finish = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        outcome();
      };
      const onAbort = () => {
        finish(() => reject(signal.reason));
        if (channel !== undefined) {
          // Kill the remote command (OpenSSH honours the 'signal' request), then close the channel.
          killRemote(channel);
          try {
            channel.close();
          } catch {}
        }
      };
      signal.addEventListener('abort', onAbort, { once: true });

      const onChannel = (err: Error | undefined, ch: ClientChannel) => {
        if (err !== undefined) {
          channelClosed();
          // Never opened: nothing ran, so the caller may retry on a fresh connection.
          if (/no response from server/i.test(err.message)) finish(() => reject(new StaleConnection(err.message)));
          else if (!conn.alive)
            finish(() =>
              reject(
                new AppError(
                  'RAC_SSH_UNAVAILABLE',
                  `connection to ${hostLabel(base)} lost while starting the command`,
                  { cause: err },
                ),
              ),
            );
          else finish(() => reject(err));
          return;
        }
        channel = ch;
        if (settled) {
          // Aborted while the channel was opening.
          ch.close();
          channelClosed();
          return;
        }
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        let stderrBytes = 0;
        let stderrDropped = 0;
        let exitCode: number | undefined;
        let stderrEnded = false;
        let chClosed = false;
        let stdoutBytes = 0;
        ch.on('data', (chunk: Buffer) => {
          stdoutBytes += chunk.length;
          if (stdoutBytes > maxStdout) {
            // Bounded like stderr, but never truncated: a cut tar or listing would be misread.
            finish(() =>
              reject(
                new AppError(
                  'RAC_SSH_OUTPUT_TOO_LARGE',
                  `${hostLabel(base)}: the command's output passed ${maxStdout} bytes; stopped it`,
                  { details: { host: options.name, limit: maxStdout } },
                ),
              ),
            );
            killRemote(ch);
            try {
              ch.close();
            } catch {}
            return;
          }
          stdout.push(chunk);
        });
        ch.stderr.on('data', (chunk: Buffer) => {
          const room = STDERR_CAP - stderrBytes;
          if (room > 0) {
            const kept = chunk.length <= room ? chunk : chunk.subarray(0, room);
            stderr.push(kept);
            stderrBytes += kept.length;
          }
          stderrDropped += Math.max(0, chunk.length - Math.max(room, 0));
        });
        const onExit = (code: number | null | undefined, signalName?: string) => {
          if (exitCode !== undefined) return;
          if (typeof code === 'number') exitCode = code;
          else if (typeof signalName === 'string') exitCode = 128 + signalNumber(signalName);
        };
        const maybeDone = () => {
          if (!chClosed || !stderrEnded) return;
          channelClosed();
          if (exitCode === undefined) {
            finish(() =>
              reject(
                conn.alive
                  ? new AppError('RAC_SSH_ERROR', `${hostLabel(base)} closed the channel without an exit status`)
                  : new AppError(
                      'RAC_SSH_UNAVAILABLE',
                      `connection to ${hostLabel(base)} lost before the command finished (it may have run)`,
                    ),
              ),
            );
            return;
          }
          let text = Buffer.concat(stderr).toString('utf8');
          if (stderrDropped > 0) text += `\n[rac: ${stderrDropped} more bytes of stderr dropped]`;
          const result: ExecResult = { code: exitCode, stdout: Buffer.concat(stdout), stderr: text };
          finish(() => resolve(result));
        };
        ch.on('exit', onExit);
        ch.on('close', (code: number | null | undefined, signalName?: string) => {
          onExit(code, signalName);
          chClosed = true;
          maybeDone();
        });
        ch.stderr.on('end', () => {
          stderrEnded = true;
          maybeDone();
        });
        ch.stderr.on('close', () => {
          stderrEnded = true;
          maybeDone();
        });
        // Write errors (the command exited without reading its stdin) are not the result: the exit status is.
        ch.on('error', () => {});
        void pumpStdin(ch, stdin);
      };

      try {
        conn.client.exec(command, onChannel);
      } catch (err) {
        channelClosed();
        // 'Not connected': the socket was already gone, nothing was sent.
        finish(() => reject(new StaleConnection(err instanceof Error ? err.message : String(err))));
      }
    });
    return { result, closed };
  }

  const shell: RemoteShell & AsyncDisposable = {
    name: options.name,

    async exec(argv: readonly string[], execOptions: ExecOptions = {}): Promise<ExecResult> {
      quoteArgv(argv); // RAC_SSH_BAD_ARGV before anything else happens
      const stdin =
        execOptions.stdin === undefined
          ? undefined
          : typeof execOptions.stdin === 'string'
            ? Buffer.from(execOptions.stdin, 'utf8')
            : execOptions.stdin;
      const timeoutMs = execOptions.timeoutMs ?? defaultTimeoutMs;
      // The host ends the command (and its children: timeout signals its own process group)
      // a little after rac stops waiting for it.
      const command = quoteArgv(
        options.remoteTimeout === false ? argv : ['timeout', '-k', '5', `${Math.ceil(timeoutMs / 1000) + 1}`, ...argv],
      );
      const program = argv[0] ?? '';
      const label = JSON.stringify(program.length > 60 ? `${program.slice(0, 60)}…` : program);
      return budgeted(`exec of ${label}`, timeoutMs, execOptions.signal, async (signal) => {
        const release = await limiter.acquire(signal);
        let held = true;
        try {
          return await withConnection(signal, async (conn) => {
            const run = startExec(conn, command, stdin, signal, execOptions.maxStdoutBytes ?? STDOUT_CAP);
            try {
              return await run.result;
            } catch (err) {
              // Timed out or aborted: the slot stays taken until the server closes the channel (bounded).
              if (signal.aborted && held) {
                held = false;
                releaseAfter(run.closed, release);
              }
              throw err;
            }
          });
        } finally {
          if (held) release();
        }
      });
    },

    async openUnixSocket(
      path: string,
      socketOptions: { signal?: AbortSignal; timeoutMs?: number } = {},
    ): Promise<Duplex> {
      if (typeof path !== 'string' || path === '' || path.includes('\0')) {
        throw new AppError('RAC_SSH_BAD_ARGV', `unix socket path ${JSON.stringify(path)} is invalid`);
      }
      const timeoutMs = socketOptions.timeoutMs ?? defaultTimeoutMs;
      const callerSignal = socketOptions.signal;
      const stream = await budgeted(`open of unix socket ${path}`, timeoutMs, callerSignal, async (signal) => {
        // The slot is held while the channel opens only: forwarding channels do not count
        // against sshd's MaxSessions, and holding one for a stream's life could starve execs.
        const release = await limiter.acquire(signal);
        try {
          return await withConnection(signal, (conn) => openStreamLocal(conn, path, signal));
        } finally {
          release();
        }
      });
      if (callerSignal !== undefined) {
        const onAbort = () =>
          stream.destroy(sshAbortedError({ ...base, operation: `unix socket ${path}` }, callerSignal.reason));
        callerSignal.addEventListener('abort', onAbort, { once: true });
        stream.once('close', () => callerSignal.removeEventListener('abort', onAbort));
      }
      return stream;
    },

    async close(): Promise<void> {
      const pending = connecting;
      const conn = current;
      current = null;
      const settled = pending === null ? null : await pending.catch(() => null);
      if (current === settled) current = null;
      await Promise.all([conn, settled].filter((c): c is Connection => c !== null).map(endConnection));
    },

    async [Symbol.asyncDispose]() {
      await shell.close();
    },
  };

  function openStreamLocal(conn: Connection, path: string, signal: AbortSignal): Promise<Duplex> {
    return new Promise<Duplex>((resolve, reject) => {
      let settled = false;
      const onAbort = () => {
        if (settled) return;
        settled = true;
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        conn.client.openssh_forwardOutStreamLocal(path, (err, channel) => {
          signal.removeEventListener('abort', onAbort);
          if (settled) {
            channel?.close();
            return;
          }
          settled = true;
          if (err === undefined) {
            resolve(channel);
            return;
          }
          if (/no response from server/i.test(err.message)) reject(new StaleConnection(err.message));
          else if (/channel open failure/i.test(err.message)) {
            reject(
              new AppError(
                'RAC_SSH_CHANNEL',
                `${hostLabel(base)} could not connect to unix socket ${path} (missing, refused, or stream-local forwarding disabled)`,
                { cause: err, details: { host: options.name, path } },
              ),
            );
          } else reject(err);
        });
      } catch (err) {
        settled = true;
        signal.removeEventListener('abort', onAbort);
        reject(new StaleConnection(err instanceof Error ? err.message : String(err)));
      }
    });
  }

  return shell;
}

/**
 * Sends SIGKILL to the remote command (RFC 4254 'signal' request; OpenSSH honours it for exec
 * sessions). ssh2's `channel.signal()` silently does nothing once our side of the channel has sent
 * EOF (stdin ended) — which is always the case here — so the request goes through its protocol
 * object. Best effort: if ssh2's internals ever change, the channel is still closed.
 */
function killRemote(channel: ClientChannel): void {
  const internals = channel as unknown as {
    type?: unknown;
    outgoing?: { id?: unknown; state?: unknown };
    _client?: { _protocol?: { signal?: unknown } };
  };
  const protocol = internals._client?._protocol;
  const id = internals.outgoing?.id;
  const state = internals.outgoing?.state;
  try {
    if (
      internals.type === 'session' &&
      (state === 'open' || state === 'eof') &&
      typeof id === 'number' &&
      typeof protocol?.signal === 'function'
    ) {
      protocol.signal(id, 'KILL');
    } else {
      channel.signal('KILL');
    }
  } catch {}
}

function releaseAfter(closed: Promise<void>, release: () => void): void {
  const timer = setTimeout(release, CLOSE_GRACE_MS);
  timer.unref();
  void closed.then(() => {
    clearTimeout(timer);
    release();
  });
}

function endConnection(conn: Connection): Promise<void> {
  conn.alive = false;
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      conn.client.destroy();
      resolve();
    }, 1_000);
    conn.client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    conn.client.end();
  });
}

/** Writes stdin in chunks, waiting for 'drain' (ssh2 applies the channel window), then ends it. */
async function pumpStdin(channel: ClientChannel, stdin: Uint8Array | undefined): Promise<void> {
  if (stdin === undefined || stdin.length === 0) {
    channel.end();
    return;
  }
  let closed = false;
  const onClose = () => {
    closed = true;
  };
  channel.once('close', onClose);
  try {
    for (let offset = 0; offset < stdin.length && !closed; offset += STDIN_CHUNK) {
      if (!channel.write(stdin.subarray(offset, offset + STDIN_CHUNK))) {
        await new Promise<void>((resolve) => {
          const done = () => {
            channel.off('drain', done);
            channel.off('close', done);
            resolve();
          };
          channel.on('drain', done);
          channel.on('close', done);
        });
      }
    }
    if (!closed) channel.end();
  } catch {
    // The channel went away; its close decides the outcome.
  } finally {
    channel.off('close', onClose);
  }
}

function signalNumber(name: string): number {
  const key = (name.startsWith('SIG') ? name : `SIG${name}`) as keyof typeof osConstants.signals;
  const n = osConstants.signals[key];
  return typeof n === 'number' ? n : 0;
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * For `rac trust`: connects, captures the host key offered in the handshake, and aborts before
 * authentication (no credentials are sent). Check the fingerprint out of band before pinning it.
 */
export async function scanHostKey(
  host: string,
  port: number,
  timeoutMs = DEFAULT_CONNECT_TIMEOUT_MS,
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
