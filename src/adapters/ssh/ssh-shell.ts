import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ConnectConfig } from 'ssh2';
import { AppError } from '../../core/errors.ts';
import type { Secret } from '../../core/secret.ts';
import { quoteArgv } from '../../core/shell-quote.ts';
import type { ExecOptions, ExecResult, RemoteShell } from '../../ports.ts';
import {
  abortable,
  type Connection,
  endConnection,
  openStreamLocal,
  releaseAfter,
  STDOUT_CAP,
  StaleConnection,
  startExec,
} from './channel.ts';
import { hostLabel, type SshErrorContext, sshAbortedError, sshTimeoutError, toSshAppError } from './errors.ts';
import { fingerprintOfKey, hostKeyAlgorithmsFor, parseHostKeyPin } from './host-key-pin.ts';
import { Limiter } from './limiter.ts';
import { loadSsh2 } from './ssh2-module.ts';

export { fingerprintOfKey, parseHostKeyPin, scanHostKey } from './host-key-pin.ts';

/** The reason a budget's timer aborts a call with. */
class TimeoutReason extends Error {}

/**
 * A RemoteShell over ssh2: one connection per host, the host key pinned (host-key-pin.ts), a
 * per-host limit on concurrent calls (limiter.ts), every call on a budget, its channels in
 * channel.ts.
 */

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

  const shell: RemoteShell & AsyncDisposable = {
    name: options.name,

    async exec(argv: readonly string[], execOptions: ExecOptions = {}): Promise<ExecResult> {
      const quoted = quoteArgv(argv); // RAC_SSH_BAD_ARGV before anything else happens
      const stdin =
        execOptions.stdin === undefined
          ? undefined
          : typeof execOptions.stdin === 'string'
            ? Buffer.from(execOptions.stdin, 'utf8')
            : execOptions.stdin;
      const timeoutMs = execOptions.timeoutMs ?? defaultTimeoutMs;
      // The host ends the command (and its children: timeout signals its own process group)
      // a little after rac stops waiting for it.
      const command =
        options.remoteTimeout === false
          ? quoted
          : `${quoteArgv(['timeout', '-k', '5', `${Math.ceil(timeoutMs / 1000) + 1}`])} ${quoted}`;
      const program = argv[0] ?? '';
      const label = JSON.stringify(program.length > 60 ? `${program.slice(0, 60)}…` : program);
      return budgeted(`exec of ${label}`, timeoutMs, execOptions.signal, async (signal) => {
        const release = await limiter.acquire(signal);
        let held = true;
        try {
          return await withConnection(signal, async (conn) => {
            const run = startExec(base, conn, command, stdin, signal, execOptions.maxStdoutBytes ?? STDOUT_CAP);
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
          return await withConnection(signal, (conn) => openStreamLocal(base, conn, path, signal));
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

  return shell;
}
